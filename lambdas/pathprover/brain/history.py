"""What the table says about each configuration path, read with one aggregate query.

The query is Athena SQL, so the same read works on Athena and on the local
DuckDB warehouse; it touches only the columns the brain needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from pathprover.core.dimensions import DIMENSIONS, DimensionValueError, normalise_value
from pathprover.ports import ResultsStore

Key = tuple[str | int, ...]
"""A normalised six-dimension tuple in DIMENSIONS order."""

HISTORY_SQL: Final = """
SELECT deployment_config, model_family, instance_family, quantization, tp_degree, deployment_target,
       status, failure_category, COUNT(*) AS row_count, MAX(run_timestamp) AS last_at,
       MAX_BY(failure_reason, run_timestamp) AS last_reason
FROM mlcc_ci.benchmark_results
GROUP BY deployment_config, model_family, instance_family, quantization, tp_degree, deployment_target,
         status, failure_category
"""


class HistoryError(ValueError):
    """The table cannot be used by the brain (empty, or a malformed row)."""


@dataclass
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

    def completed(self) -> list[ConfigHistory]:
        return [c for c in self.configs.values() if c.completed]


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise HistoryError(f"run_timestamp {value!r} is not a timestamp")


def build_history(rows: Iterable[list[Any]]) -> History:
    """Fold aggregate rows (HISTORY_SQL's columns) into one ConfigHistory per normalised config."""
    cache: dict[tuple[str, Any], Any] = {}

    def norm(dimension: str, value: Any) -> Any:
        marker = (dimension, value)
        if marker not in cache:
            try:
                cache[marker] = normalise_value(dimension, value)
            except DimensionValueError as exc:
                raise HistoryError(f"malformed row: {exc}") from exc
        return cache[marker]

    configs: dict[Key, ConfigHistory] = {}
    total = 0
    for row in rows:
        dims, (status, category, count, last_at, last_reason) = row[:6], row[6:11]
        key: Key = tuple(norm(d, v) for d, v in zip(DIMENSIONS, dims, strict=True))
        entry = configs.get(key)
        if entry is None:
            entry = configs[key] = ConfigHistory(key=key)
        count = int(count)
        total += count
        at = _as_utc(last_at)
        if status == "completed":
            entry.completed_rows += count
            if at is not None and (entry.completed_at is None or at > entry.completed_at):
                entry.completed_at = at
        elif status == "unfeasible":
            if entry.unfeasible_at is None or (at is not None and at > entry.unfeasible_at):
                entry.unfeasible_at = at
                entry.unfeasible_reason = last_reason or f"recorded unfeasible ({category or 'no category'})"
        elif status == "failed":
            cat = category or "unknown"
            entry.failures[cat] = entry.failures.get(cat, 0) + count
            if entry.last_failure_at is None or (at is not None and at > entry.last_failure_at):
                entry.last_failure_at = at
                entry.last_failure_category = cat
                entry.last_failure_reason = last_reason
        else:
            raise HistoryError(f"malformed row: status {status!r} for {dict(zip(DIMENSIONS, key, strict=True))}")
    return History(configs=configs, total_rows=total)


def read_history(store: ResultsStore) -> History:
    result = store.query(HISTORY_SQL)
    return build_history(result.rows)
