"""What the table says about each configuration path, read with one aggregate query.

The query is Athena SQL, so the same read works on Athena and on the local
DuckDB warehouse; it touches only the columns the brain needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from pathprover.core.dimensions import DIMENSIONS, DimensionValueError, normalise_value
from pathprover.core.errors import InputError
from pathprover.protocols import ResultsStore

Key = tuple[str | int, ...]
"""A normalised six-dimension tuple in DIMENSIONS order."""

_DIMS_SQL: Final = "deployment_config, model_family, instance_family, quantization, tp_degree, deployment_target"

COMPLETED_SQL: Final = f"""
SELECT {_DIMS_SQL}, COUNT(*) AS completed_rows, MAX(run_timestamp) AS completed_at
FROM mlcc_ci.benchmark_results
WHERE status = 'completed'
GROUP BY {_DIMS_SQL}
"""
"""Proven configs: the bulk of a large table, so only the two columns the brain needs."""

_CONFIG_FAILED: Final = "status = 'failed' AND COALESCE(failure_scope, 'config') = 'config'"
_ACCOUNT_FAILED: Final = "status = 'failed' AND failure_scope = 'account'"

OUTCOMES_SQL: Final = f"""
SELECT {_DIMS_SQL},
       COUNT_IF(status = 'unfeasible') AS unfeasible_rows,
       MAX(run_timestamp) FILTER (WHERE status = 'unfeasible') AS unfeasible_at,
       MAX_BY(failure_reason, run_timestamp) FILTER (WHERE status = 'unfeasible') AS unfeasible_reason,
       COUNT_IF({_CONFIG_FAILED}) AS failed_rows,
       COUNT_IF({_CONFIG_FAILED} AND failure_category = 'timeout') AS timeout_failures,
       COUNT_IF({_CONFIG_FAILED} AND COALESCE(failure_category, 'unknown') = 'unknown') AS unknown_failures,
       MAX(run_timestamp) FILTER (WHERE {_CONFIG_FAILED}) AS last_failure_at,
       MAX_BY(COALESCE(failure_category, 'unknown'), run_timestamp) FILTER (WHERE {_CONFIG_FAILED})
           AS last_failure_category,
       MAX_BY(failure_reason, run_timestamp) FILTER (WHERE {_CONFIG_FAILED}) AS last_failure_reason,
       MAX(run_timestamp) FILTER (WHERE {_ACCOUNT_FAILED}) AS account_failure_at,
       MAX_BY(failure_reason, run_timestamp) FILTER (WHERE {_ACCOUNT_FAILED}) AS account_failure_reason
FROM mlcc_ci.benchmark_results
WHERE status IN ('unfeasible', 'failed') AND NOT COALESCE(tuned, FALSE)
GROUP BY {_DIMS_SQL}
"""
"""Recorded failures per config. Both queries are Athena SQL: the same read works on Athena and DuckDB.

A tuned prove's failure (a training job out of memory, an adapter the engine cannot load) says nothing
about serving the base model, which is what the six dimensions and the brain's gaps describe: those
rows never hold an inference config back (nor record it unfeasible for the brain).

Only the configuration's own failures (scope `config`; rows written before the
scope existed count as such) decide retries, timeouts and cooldowns. A
`harness` failure is ignored: it says nothing about the config. An `account`
failure only holds the config back for a cooldown (the latest one is kept).
"""


class HistoryError(InputError, ValueError):
    """The table cannot be used by the brain (empty, or a malformed row)."""

    code = "table"


@dataclass(slots=True)
class ConfigHistory:
    """Everything recorded about one configuration path."""

    key: Key
    completed_at: datetime | None = None
    completed_rows: int = 0
    unfeasible_reason: str | None = None
    unfeasible_at: datetime | None = None
    failures: dict[str, int] = field(default_factory=dict)
    last_failure_category: str | None = None
    last_failure_at: datetime | None = None
    last_failure_reason: str | None = None
    account_failure_at: datetime | None = None
    account_failure_reason: str | None = None

    @property
    def completed(self) -> bool:
        return self.completed_rows > 0

    @property
    def attempts(self) -> int:
        return sum(self.failures.values()) + (1 if self.completed else 0)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NAT: Final = np.iinfo(np.int64).min
"""NaT's int64 view: smaller than any time, so a maximum ignores it."""


@dataclass
class CompletedColumns:
    """The proven configs as arrays, one row per distinct normalised config (no Python object per config).

    ``values[d]`` lists dimension d's distinct normalised values; ``codes[:, d]`` indexes into it.
    """

    values: tuple[list[str | int], ...]
    codes: npt.NDArray[np.int32]
    rows: npt.NDArray[np.int64]
    at_us: npt.NDArray[np.int64]
    """Latest completed run, microseconds since the epoch (UTC); NaT's int64 where unknown."""

    @classmethod
    def empty(cls) -> CompletedColumns:
        return cls(
            values=tuple([] for _ in DIMENSIONS),
            codes=np.zeros((0, len(DIMENSIONS)), dtype=np.int32),
            rows=np.zeros(0, dtype=np.int64),
            at_us=np.zeros(0, dtype=np.int64),
        )

    def __len__(self) -> int:
        return int(self.rows.size)

    def flat(self, codes: npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.int64]:
        """One int64 per code tuple (mixed radix over the value lists): these rows', or ``codes``'."""
        return _flat(self.codes if codes is None else codes, self.values)

    def keys(self) -> list[Key]:
        columns = [[self.values[d][int(c)] for c in self.codes[:, d].tolist()] for d in range(len(DIMENSIONS))]
        return list(zip(*columns, strict=True))

    def entries(self) -> list[ConfigHistory]:
        ats = [None if us == _NAT else _EPOCH + timedelta(microseconds=us) for us in self.at_us.tolist()]
        return [
            ConfigHistory(key=key, completed_at=at, completed_rows=rows)
            for key, at, rows in zip(self.keys(), ats, self.rows.tolist(), strict=True)
        ]


def _flat(codes: npt.NDArray[Any], values: Sequence[Sequence[object]]) -> npt.NDArray[np.int64]:
    flat = np.zeros(codes.shape[0], dtype=np.int64)
    for d, domain in enumerate(values):
        flat = flat * max(len(domain), 1) + codes[:, d]
    return flat


class History:
    """Everything recorded, per config. Proven configs with nothing else recorded stay in arrays
    (``columns``); a config with a failure or unfeasible row (or one given directly) is a ConfigHistory
    in ``entries``. ``configs`` is the merged mapping, built on first use."""

    def __init__(
        self,
        configs: dict[Key, ConfigHistory] | None = None,
        total_rows: int = 0,
        *,
        columns: CompletedColumns | None = None,
    ) -> None:
        self.entries: dict[Key, ConfigHistory] = dict(configs or {})
        self.columns = columns if columns is not None else CompletedColumns.empty()
        self.total_rows = total_rows
        self._configs: dict[Key, ConfigHistory] | None = None
        self._completed: list[ConfigHistory] | None = None
        self._column_index: dict[Key, int] | None = None

    @property
    def configs(self) -> dict[Key, ConfigHistory]:
        if self._configs is None:
            merged = {entry.key: entry for entry in self.columns.entries()}
            merged.update(self.entries)
            self._configs = merged
        return self._configs

    def get(self, key: Key) -> ConfigHistory | None:
        """One config's history, without building the whole mapping."""
        entry = self.entries.get(key)
        if entry is not None:
            return entry
        if self._configs is not None:
            return self._configs.get(key)
        if self._column_index is None:
            self._column_index = {k: i for i, k in enumerate(self.columns.keys())}
        i = self._column_index.get(key)
        if i is None:
            return None
        at_us = int(self.columns.at_us[i])
        return ConfigHistory(
            key=key,
            completed_at=None if at_us == _NAT else _EPOCH + timedelta(microseconds=at_us),
            completed_rows=int(self.columns.rows[i]),
        )

    def completed(self) -> list[ConfigHistory]:
        if self._completed is None:
            self._completed = self.columns.entries() + [e for e in self.entries.values() if e.completed]
        return self._completed

    def completed_count(self) -> int:
        return len(self.columns) + sum(1 for e in self.entries.values() if e.completed)


def _count(value: Any) -> int:
    """A count from the table: NULL is none; anything else must be a whole number."""
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise HistoryError(f"malformed row: count {value!r} is not a number") from exc


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if type(value) is datetime and value.tzinfo is None:  # DuckDB's TIMESTAMP: naive UTC
        return value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise HistoryError(f"run_timestamp {value!r} is not a timestamp") from exc
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise HistoryError(f"run_timestamp {value!r} is not a timestamp")


class _Normaliser:
    """Normalises each distinct raw value of a dimension once."""

    def __init__(self) -> None:
        self.caches: list[dict[Any, Any]] = [{} for _ in DIMENSIONS]

    def __call__(self, position: int, value: Any) -> Any:
        cache = self.caches[position]
        try:
            return cache[value]
        except KeyError:
            try:
                cache[value] = normalise_value(DIMENSIONS[position], value)
            except DimensionValueError as exc:
                raise HistoryError(f"malformed row: {exc}") from exc
            return cache[value]
        except TypeError as exc:  # unhashable value from a foreign table
            raise HistoryError(f"malformed row: {DIMENSIONS[position]} {value!r}") from exc


def _as_list(column: Any) -> list[Any]:
    """A column as a Python list (a masked array's NULLs as None)."""
    return column.tolist() if hasattr(column, "tolist") else list(column)


def _timestamps_us(column: Any) -> npt.NDArray[np.int64]:
    """Timestamps as microseconds since the epoch (UTC), NaT's int64 for NULL."""
    if isinstance(column, np.ndarray) and column.dtype.kind == "M":
        values = column.astype("datetime64[us]")
        if isinstance(column, np.ma.MaskedArray):
            values = np.ma.filled(values, np.datetime64("NaT"))
        return np.asarray(values).view(np.int64)
    out = np.full(len(column), _NAT, dtype=np.int64)
    for i, value in enumerate(_as_list(column)):
        at = value
        if at is not None:
            at = at.replace(tzinfo=UTC) if type(at) is datetime and at.tzinfo is None else _as_utc(at)
        if at is not None:
            out[i] = (at - _EPOCH) // timedelta(microseconds=1)
    return out


def completed_columns(columns: Sequence[Any], norm: _Normaliser | None = None) -> CompletedColumns:
    """COMPLETED_SQL's result as columns (six dimensions, completed_rows, completed_at): normalised,
    configs that normalise alike (`1`/`"1"`, `fp16`/`none`) merged, all in arrays."""
    norm = norm or _Normaliser()
    n = len(columns[6]) if len(columns) > 6 else 0
    if n == 0:
        return CompletedColumns.empty()
    values: list[list[str | int]] = []
    codes = np.empty((n, len(DIMENSIONS)), dtype=np.int32)
    for d in range(len(DIMENSIONS)):
        column = _as_list(columns[d])
        try:
            distinct = list(dict.fromkeys(column))  # in C: each distinct raw value once, in order
        except TypeError as exc:  # unhashable value from a foreign table
            raise HistoryError(f"malformed row: {DIMENSIONS[d]} {columns[d]!r}") from exc
        raw_code = {value: i for i, value in enumerate(distinct)}
        raw = np.fromiter(map(raw_code.__getitem__, column), dtype=np.int64, count=len(column))
        normalised: dict[Any, int] = {}
        to_code = np.empty(len(distinct), dtype=np.int32)
        for i, value in enumerate(distinct):
            to_code[i] = normalised.setdefault(norm(d, value), len(normalised))
        values.append(list(normalised))
        codes[:, d] = to_code[raw]
    counts = columns[6]
    if isinstance(counts, np.ndarray) and not isinstance(counts, np.ma.MaskedArray) and counts.dtype.kind in "iu":
        rows = counts.astype(np.int64)
    else:
        rows = np.asarray([_count(v) for v in _as_list(counts)], dtype=np.int64)
    at_us = _timestamps_us(columns[7])
    # Merge configs whose raw values normalise alike: one row per distinct code tuple.
    unique, first, inverse = np.unique(_flat(codes, values), return_index=True, return_inverse=True)
    if unique.size != n:
        merged_rows = np.bincount(inverse, weights=rows, minlength=unique.size).astype(np.int64)
        merged_at = np.full(unique.size, _NAT, dtype=np.int64)
        np.maximum.at(merged_at, inverse, at_us)
        codes, rows, at_us = codes[first], merged_rows, merged_at
    return CompletedColumns(values=tuple(values), codes=codes, rows=rows, at_us=at_us)


def build_history(completed: Iterable[Any], outcomes: Iterable[list[Any]] = ()) -> History:
    """Fold COMPLETED_SQL rows (or its columns, :func:`history_from_columns`) and OUTCOMES_SQL rows.

    Raw values that normalise to the same config (`1`/`"1"`, `fp16`/`none`) merge.
    """
    rows = list(completed)
    columns: list[Any] = [list(c) for c in zip(*rows, strict=True)] if rows else []
    return history_from_columns(columns, outcomes)


def history_from_columns(  # noqa: C901, PLR0912  the brain's hot fold: one pass over both result sets, per-column caches; a helper per branch would add a call per config
    completed: Sequence[Any], outcomes: Iterable[list[Any]] = ()
) -> History:
    """The history from COMPLETED_SQL's columns (arrays or lists) and OUTCOMES_SQL's rows."""
    norm = _Normaliser()
    columns = completed_columns(completed, norm)
    configs: dict[Key, ConfigHistory] = {}
    total = int(columns.rows.sum())
    rows = list(outcomes)
    # Normalise each dimension's distinct raw values once, then build the keys in C (map/zip).
    raw_columns = list(zip(*(row[:6] for row in rows), strict=True)) if rows else []
    lookups = []
    for d, column in enumerate(raw_columns):
        try:
            lookups.append({value: norm(d, value) for value in dict.fromkeys(column)})
        except TypeError as exc:  # unhashable value from a foreign table
            raise HistoryError(f"malformed row: {DIMENSIONS[d]} {column!r}") from exc
    keys = zip(*(map(lookups[d].__getitem__, raw_columns[d]) for d in range(len(lookups))), strict=True)
    for key, row in zip(keys, rows, strict=True):
        (
            unfeasible_rows,
            unfeasible_at,
            unfeasible_reason,
            failed_rows,
            timeouts,
            unknowns,
            failure_at,
            failure_category,
            failure_reason,
            account_at,
            account_reason,
        ) = row[6:17]
        # Counts can be NULL where a foreign table lacks the column a condition reads (DuckDB's COUNT_IF).
        unfeasible_rows, failed_rows, timeouts, unknowns = (
            value if type(value) is int else _count(value)
            for value in (unfeasible_rows, failed_rows, timeouts, unknowns)
        )
        total += unfeasible_rows + failed_rows
        entry = configs.get(key)
        if entry is None:
            entry = configs[key] = ConfigHistory(key=key)
        account_at = _as_utc(account_at)
        if account_at is not None and (entry.account_failure_at is None or account_at > entry.account_failure_at):
            entry.account_failure_at = account_at
            entry.account_failure_reason = account_reason
        if unfeasible_rows:
            at = _as_utc(unfeasible_at)
            if entry.unfeasible_reason is None or (
                at is not None and entry.unfeasible_at is not None and at > entry.unfeasible_at
            ):
                entry.unfeasible_at = at
                entry.unfeasible_reason = unfeasible_reason or "recorded unfeasible (no reason given)"
        if failed_rows:
            for category, count in (
                ("timeout", timeouts),
                ("unknown", unknowns),
                ("other", failed_rows - timeouts - unknowns),
            ):
                if count:
                    entry.failures[category] = entry.failures.get(category, 0) + int(count)
            at = _as_utc(failure_at)
            if entry.last_failure_category is None or (
                at is not None and entry.last_failure_at is not None and at > entry.last_failure_at
            ):
                entry.last_failure_at = at
                entry.last_failure_category = failure_category
                entry.last_failure_reason = failure_reason
    if configs and len(columns):
        # A proven config with failures too is one ConfigHistory, its proven rows moved out of the arrays.
        lookup = [{v: i for i, v in enumerate(values)} for values in columns.values]
        wanted: list[Key] = []
        wanted_codes: list[list[int]] = []
        for wanted_key in configs:
            try:
                wanted_codes.append([lookup[d][v] for d, v in enumerate(wanted_key)])
            except KeyError:  # a value no proven config has: this config is not proven
                continue
            wanted.append(wanted_key)
        flat = columns.flat()
        order = np.argsort(flat, kind="stable")
        wanted_flat = columns.flat(np.array(wanted_codes, dtype=np.int64).reshape(-1, len(DIMENSIONS)))
        found = np.searchsorted(flat, wanted_flat, sorter=order) if wanted else np.zeros(0, dtype=np.int64)
        moved: list[int] = []
        for wanted_key, pos, target in zip(wanted, found.tolist(), wanted_flat.tolist(), strict=True):
            if pos >= flat.size or flat[order[pos]] != target:
                continue
            i = int(order[pos])
            moved.append(i)
            entry = configs[wanted_key]
            entry.completed_rows = int(columns.rows[i])
            at_us = int(columns.at_us[i])
            entry.completed_at = None if at_us == _NAT else _EPOCH + timedelta(microseconds=at_us)
        if moved:
            keep = np.ones(len(columns), dtype=bool)
            keep[moved] = False
            columns = CompletedColumns(
                values=columns.values, codes=columns.codes[keep], rows=columns.rows[keep], at_us=columns.at_us[keep]
            )
    return History(configs=configs, total_rows=total, columns=columns)


def read_history(store: ResultsStore) -> History:
    """Both queries; a store that can return columns (the local warehouse) skips the per-row objects."""
    query_columns = getattr(store, "query_columns", None)
    if query_columns is not None:
        # Both queries are DuckDB SQL as written (max_by, count_if, FILTER): no transpiling needed.
        completed, outcomes = query_columns(COMPLETED_SQL, OUTCOMES_SQL, portable=True, as_rows=(False, True))
        return history_from_columns(completed, outcomes)
    return build_history(store.query(COMPLETED_SQL).rows, store.query(OUTCOMES_SQL).rows)


@dataclass(frozen=True)
class PriorAttempts:
    """What earlier proves of one config count for the next: its attempt number and its timeout."""

    attempts: int = 0
    timeouts: int = 0


def prior_attempts_sql(config_ids: Iterable[str]) -> str:
    """Per config: the highest attempt recorded, the executions that proved it, its own timeouts.

    The attempt is the larger of MAX(attempt) and the number of executions: rows written while every
    attempt was recorded as 1 still count. Works on a row per prove or a row per level alike.
    """
    ids = sorted(set(config_ids))
    for config_id in ids:
        if not re.fullmatch(r"[0-9a-f]{8,64}", config_id):
            raise ValueError(f"not a config id: {config_id!r}")
    listed = ", ".join(f"'{c}'" for c in ids)
    return f"""
SELECT config_id, MAX(attempt) AS last_attempt, COUNT(DISTINCT execution_id) AS executions,
       COUNT_IF({_CONFIG_FAILED} AND failure_category = 'timeout') AS timeouts
FROM mlcc_ci.benchmark_results
WHERE run_type = 'path_prove' AND config_id IN ({listed})
GROUP BY config_id
"""


def read_prior_attempts(store: ResultsStore, config_ids: Iterable[str]) -> dict[str, PriorAttempts]:
    ids = list(config_ids)
    if not ids:
        return {}
    prior: dict[str, PriorAttempts] = {}
    for config_id, last_attempt, executions, timeouts in store.query(prior_attempts_sql(ids)).rows:
        prior[str(config_id)] = PriorAttempts(
            attempts=max(_count(last_attempt), _count(executions)), timeouts=_count(timeouts)
        )
    return prior
