"""Last state: the run's summary (the execution output)."""

from __future__ import annotations

from typing import Any

from pathprover.handlers._powertools import entry_point, logger
from pathprover.services import get_services
from pathprover.workflow.summary import store_summary, summarise_run
from pathprover.workflow.tasks import retry_transient


@entry_point
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A throttle or a busy dependency is retried by the state machine (TransientError), not a failed run.
    summary = retry_transient(
        lambda: summarise_run(event["plan"], event.get("lanes") or [], get_services(), event.get("map_error"))
    )
    logger.info(
        "summary",
        extra={
            "proved": len(summary.proved),
            "failed": len(summary.failed),
            "unfeasible": len(summary.unfeasible),
            "skipped": len(summary.skipped),
            "actual_usd": summary.actual_cost_usd,
            "errors": summary.errors,
        },
    )
    return retry_transient(lambda: store_summary(summary, get_services())).model_dump(mode="json")
