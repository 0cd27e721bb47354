"""What the table says about each configuration path, read with one aggregate query.

The query is Athena SQL, so the same read works on Athena and on the local
DuckDB warehouse; it touches only the columns the brain needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

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


@dataclass
class History:
    configs: dict[Key, ConfigHistory]
    total_rows: int
    _completed: list[ConfigHistory] | None = field(default=None, repr=False)

    def completed(self) -> list[ConfigHistory]:
        if self._completed is None:
            self._completed = [c for c in self.configs.values() if c.completed]
        return self._completed


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
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise HistoryError(f"run_timestamp {value!r} is not a timestamp")


def build_history(completed: Iterable[list[Any]], outcomes: Iterable[list[Any]] = ()) -> History:  # noqa: C901  the brain's hot loop: one pass over both result sets with per-column caches; helpers would add a call per cell
    """Fold COMPLETED_SQL and OUTCOMES_SQL rows into one ConfigHistory per normalised config.

    Raw values that normalise to the same config (`1`/`"1"`, `fp16`/`none`) merge.
    """
    caches: list[dict[Any, Any]] = [{} for _ in DIMENSIONS]

    def norm(position: int, value: Any) -> Any:
        cache = caches[position]
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

    configs: dict[Key, ConfigHistory] = {}
    total = 0
    rows = list(completed)
    if rows:
        # Column-wise: normalise each distinct raw value once, build the keys in C (map/zip).
        columns = list(zip(*rows, strict=True))
        lookups = [{value: norm(i, value) for value in set(columns[i])} for i in range(len(DIMENSIONS))]
        keys = zip(*(map(lookups[i].__getitem__, columns[i]) for i in range(len(DIMENSIONS))), strict=True)
        for key, count, at in zip(keys, columns[6], columns[7], strict=True):
            if at is not None:
                at = at.replace(tzinfo=UTC) if type(at) is datetime and at.tzinfo is None else _as_utc(at)
            total += count
            entry = configs.get(key)
            if entry is None:
                configs[key] = ConfigHistory(key=key, completed_at=at, completed_rows=count)
                continue
            entry.completed_rows += count
            if at is not None and (entry.completed_at is None or at > entry.completed_at):
                entry.completed_at = at
    for row in outcomes:
        key = (norm(0, row[0]), norm(1, row[1]), norm(2, row[2]), norm(3, row[3]), norm(4, row[4]), norm(5, row[5]))
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
            _count(unfeasible_rows),
            _count(failed_rows),
            _count(timeouts),
            _count(unknowns),
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
    return History(configs=configs, total_rows=total)


def read_history(store: ResultsStore) -> History:
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
