"""Build history for unit tests: rows in the shape of brain.history.COMPLETED_SQL and OUTCOMES_SQL."""

from datetime import datetime, timedelta
from typing import Any


def history_row(
    dc: str,
    family: str,
    inst: str,
    q: str = "none",
    tp: int = 1,
    target: str = "realtime-inference",
    *,
    now: datetime,
    status: str = "completed",
    hours: float = 48.0,
    category: str | None = None,
    reason: str | None = None,
    count: int = 1,
) -> list[Any]:
    at = now - timedelta(hours=hours)
    completed = count if status == "completed" else 0
    unfeasible = count if status == "unfeasible" else 0
    failed = count if status == "failed" else 0
    return [
        dc,
        family,
        inst,
        q,
        tp,
        target,
        completed,
        at if completed else None,
        unfeasible,
        at if unfeasible else None,
        reason if unfeasible else None,
        failed,
        count if failed and category == "timeout" else 0,
        count if failed and category in (None, "unknown") else 0,
        at if failed else None,
        (category or "unknown") if failed else None,
        reason if failed else None,
        None,  # account_failure_at: these rows are the configs' own
        None,  # account_failure_reason
    ]


def split(rows: list[list[Any]]) -> tuple[list[list[Any]], list[list[Any]]]:
    """history_row() rows as (COMPLETED_SQL rows, OUTCOMES_SQL rows)."""
    completed = [[*r[:6], r[6], r[7]] for r in rows if r[6]]
    outcomes = [r[:6] + r[8:] for r in rows if r[8] or r[11]]
    return completed, outcomes


def history_of(rows: list[list[Any]]):  # type: ignore[no-untyped-def]
    from pathprover.brain.history import build_history

    return build_history(*split(rows))
