"""The rows behind the metrics people read: attempts of `benchmark_results` and their levels in
`benchmark_levels`, read with Athena SQL, and one formatting of each metric for the terminal.

Timestamps come back as UTC ISO 8601 strings, so every output built from these rows is JSON as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from pathprover.core.dimensions import DIMENSIONS
from pathprover.protocols import QueryResult, ResultsStore

HEADLINE_METRICS: Final[tuple[str, ...]] = (
    "ttft_p50_ms",
    "ttft_p99_ms",
    "itl_p50_ms",
    "peak_output_token_throughput_tps",
    "cost_per_1m_tokens",
)
"""What a summary shows of a completed attempt (docs/schema.md: latency at the lowest level, throughput
and cost at the peak)."""

METRIC_CONTEXT: Final[tuple[str, ...]] = (
    "latency_concurrency",
    "peak_concurrency",
    "levels_benchmarked",
    "error_rate",
    "e2e_latency_p50_ms",
    "e2e_latency_p99_ms",
    "itl_p99_ms",
    "peak_request_throughput_rps",
)
"""Read with the headline metrics: the levels they come from, and the rest of the headline."""

ATTEMPT_COLUMNS: Final[tuple[str, ...]] = (
    "record_id",
    "config_id",
    "run_type",
    "status",
    "run_timestamp",
    *DIMENSIONS,
    "model_name",
    "instance_type",
    "execution_id",
    "attempt",
    "failure_category",
    "failure_scope",
    "failure_stage",
    "failure_reason",
    "estimated_cost_usd",
    "actual_cost_usd",
    "duration_seconds",
    "tuned",
    "simulated",
    *HEADLINE_METRICS,
    *METRIC_CONTEXT,
)

LEVEL_COLUMNS: Final[tuple[str, ...]] = (
    "record_id",
    "concurrency",
    "mode",
    "requests",
    "errors",
    "error_rate",
    "output_token_throughput_tps",
    "request_throughput_rps",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "itl_p50_ms",
    "itl_p99_ms",
    "tpot_p50_ms",
    "e2e_latency_p50_ms",
    "e2e_latency_p99_ms",
    "cost_per_1m_tokens",
)

_HEX: Final = re.compile(r"[0-9a-f]{1,64}")
_EXECUTION_ID: Final = re.compile(r"[A-Za-z0-9_:.#/@+=-]{1,200}")
_MAX_IN_LIST: Final = 1000


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _hex_list(values: Iterable[str], what: str) -> str:
    listed = sorted(set(values))
    for value in listed:
        if not _HEX.fullmatch(value):
            raise ValueError(f"not a {what}: {value!r}")
    return ", ".join(_literal(v) for v in listed)


def attempts_sql(
    *,
    config_ids: Iterable[str] | None = None,
    config_id_prefix: str | None = None,
    execution_id: str | None = None,
    model_names: Iterable[str] | None = None,
    model_family: str | None = None,
    status: str | None = None,
) -> str:
    """The attempts matching every filter given, oldest first (Athena SQL)."""
    where = []
    if config_ids is not None:
        ids = list(config_ids)
        where.append(f"config_id IN ({_hex_list(ids, 'config id')})" if ids else "FALSE")
    if config_id_prefix is not None:
        if not _HEX.fullmatch(config_id_prefix):
            raise ValueError(f"not a config id: {config_id_prefix!r}")
        where.append(f"config_id LIKE {_literal(config_id_prefix + '%')}")
    if execution_id is not None:
        if not _EXECUTION_ID.fullmatch(execution_id):
            raise ValueError(f"not an execution id: {execution_id!r}")
        where.append(f"execution_id = {_literal(execution_id)}")
    if model_names is not None:
        names = sorted({n.lower() for n in model_names})
        where.append(f"LOWER(model_name) IN ({', '.join(_literal(n) for n in names)})" if names else "FALSE")
    if model_family is not None:
        where.append(f"model_family = {_literal(model_family)}")
    if status is not None:
        where.append(f"status = {_literal(status)}")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return (
        f"SELECT {', '.join(ATTEMPT_COLUMNS)} FROM mlcc_ci.benchmark_results {clause} "
        "ORDER BY run_timestamp, config_id, attempt, record_id"
    )


def levels_sql(record_ids: Iterable[str]) -> str:
    """The levels of these attempts, lowest concurrency first (Athena SQL)."""
    listed = _hex_list(record_ids, "record id")
    return (
        f"SELECT {', '.join(LEVEL_COLUMNS)} FROM mlcc_ci.benchmark_levels WHERE record_id IN ({listed}) "
        "ORDER BY record_id, concurrency"
    )


def rows_of(result: QueryResult) -> list[dict[str, Any]]:
    """Query rows as dicts, timestamps as UTC ISO 8601 strings."""
    return [{c: _plain(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        at = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return at.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return value.item()
    return value


def read_attempts(store: ResultsStore, **filters: Any) -> list[dict[str, Any]]:
    return rows_of(store.query(attempts_sql(**filters)))


def read_levels(store: ResultsStore, record_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Levels per record_id (every id given has a list, empty when the table holds none)."""
    ids = sorted(set(record_ids))
    by_record: dict[str, list[dict[str, Any]]] = {r: [] for r in ids}
    for start in range(0, len(ids), _MAX_IN_LIST):
        for row in rows_of(store.query(levels_sql(ids[start : start + _MAX_IN_LIST]))):
            by_record.setdefault(str(row["record_id"]), []).append(row)
    return by_record


def headline_of(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """A completed attempt's headline metrics (None for an attempt that did not complete)."""
    if row.get("status") != "completed":
        return None
    return {
        "record_id": row.get("record_id"),
        **{name: row.get(name) for name in HEADLINE_METRICS},
        **{name: row.get(name) for name in METRIC_CONTEXT},
    }


def metrics_by_attempt(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """Headline metrics of the completed attempts, by (config_id, attempt)."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        metrics = headline_of(row)
        if metrics is not None:
            found[(str(row["config_id"]), int(row.get("attempt") or 1))] = metrics
    return found


# --------------------------------------------------------------------------- formatting
NONE_SHOWN: Final = "—"


def fmt_ms(value: Any) -> str:
    return NONE_SHOWN if value is None else f"{float(value):,.0f}" if float(value) >= 100 else f"{float(value):.1f}"


def fmt_rate(value: Any) -> str:
    return NONE_SHOWN if value is None else f"{float(value):,.1f}"


def fmt_usd(value: Any) -> str:
    return NONE_SHOWN if value is None else f"{float(value):,.2f}" if float(value) >= 0.1 else f"{float(value):.3f}"


def fmt_pct(value: Any) -> str:
    return NONE_SHOWN if value is None else f"{float(value) * 100:.1f}%"


def fmt_int(value: Any) -> str:
    return NONE_SHOWN if value is None else str(int(value))


def latest_completed(rows: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Per config_id, its most recent completed attempt (ties: the higher attempt, then record_id)."""
    latest: dict[str, Mapping[str, Any]] = {}

    def order(row: Mapping[str, Any]) -> tuple[str, int, str]:
        return (str(row.get("run_timestamp") or ""), int(row.get("attempt") or 0), str(row.get("record_id") or ""))

    for row in rows:
        if row.get("status") != "completed":
            continue
        key = str(row["config_id"])
        if key not in latest or order(row) > order(latest[key]):
            latest[key] = row
    return latest
