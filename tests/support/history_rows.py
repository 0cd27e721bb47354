"""Build rows in the shape of brain.history.HISTORY_SQL for unit tests (one row per config and outcome)."""

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
    ]
