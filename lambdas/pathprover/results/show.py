"""One config's history (`pathprover show CONFIG_ID`): its dimensions, every attempt with its outcome,
cost and headline metrics, and each completed attempt's levels. Pure functions over rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from pathprover.core.dimensions import DIMENSIONS, DimensionValueError, normalise_value
from pathprover.core.errors import InputError
from pathprover.results.metrics import HEADLINE_METRICS, METRIC_CONTEXT

MIN_PREFIX: Final = 4
"""A config id may be given by a prefix this long (tables print ids cut short)."""

ATTEMPT_KEYS: Final[tuple[str, ...]] = (
    "record_id",
    "run_timestamp",
    "run_type",
    "status",
    "simulated",
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
)


class UnknownConfig(InputError, LookupError):
    """No attempt of that config in the table (or a prefix that names several)."""

    code = "not_found"


def check_config_id(text: str) -> str:
    """The config id (or prefix) as typed, lower-cased; InputError when it cannot be one."""
    value = text.strip().lower()
    if not (MIN_PREFIX <= len(value) <= 64) or any(c not in "0123456789abcdef" for c in value):
        raise InputError(
            f"{text!r} is not a config id: give its 16 hex digits (or the first {MIN_PREFIX} or more), "
            "as `pathprover gaps`, `run` or `report recent` print it"
        )
    return value


def resolve(prefix: str, rows: Iterable[Mapping[str, Any]]) -> str:
    """The one config id the rows (read by prefix) have; UnknownConfig when none or several."""
    ids = sorted({str(r["config_id"]) for r in rows if str(r["config_id"]).startswith(prefix)})
    if not ids:
        raise UnknownConfig(f"unknown config id {prefix!r}: no row of mlcc_ci.benchmark_results has it")
    if len(ids) > 1:
        shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
        raise UnknownConfig(f"config id prefix {prefix!r} matches {len(ids)} configs ({shown}): give more digits")
    return ids[0]


def _dimension(name: str, values: Iterable[Any]) -> Any:
    for value in values:
        if value is None:
            continue
        try:
            return normalise_value(name, value)
        except DimensionValueError:
            return value
    return None


def config_history(
    config_id: str, attempts: Sequence[Mapping[str, Any]], levels: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, Any]:
    """The config's dimensions, its attempts oldest first (each completed one with its levels), and counts."""
    mine = [a for a in attempts if a.get("config_id") == config_id]
    entries = []
    for row in mine:
        entry: dict[str, Any] = {key: row.get(key) for key in ATTEMPT_KEYS}
        if row.get("status") == "completed":
            entry["metrics"] = {name: row.get(name) for name in (*HEADLINE_METRICS, *METRIC_CONTEXT)}
            entry["levels"] = [
                {k: v for k, v in level.items() if k != "record_id"}
                for level in sorted(
                    levels.get(str(row.get("record_id")), []),
                    key=lambda lvl: (lvl.get("concurrency") is None, lvl.get("concurrency") or 0),
                )
            ]
        else:
            entry["metrics"] = None
            entry["levels"] = []
        entries.append(entry)
    counts = Counter(str(a.get("status")) for a in mine)
    completed = [e for e in entries if e["status"] == "completed"]
    costs = [float(a["actual_cost_usd"]) for a in mine if a.get("actual_cost_usd") is not None]
    return {
        "config_id": config_id,
        "dimensions": {d: _dimension(d, (a.get(d) for a in mine)) for d in DIMENSIONS},
        "counts": {status: counts.get(status, 0) for status in ("completed", "failed", "unfeasible")},
        "total_cost_usd": round(sum(costs), 4) if costs else None,
        "latest_completed": completed[-1]["record_id"] if completed else None,
        "attempts": entries,
    }
