"""First state: validate the input and plan the run (gaps or explicit targets, within both limits)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pathprover.handlers._powertools import entry_point, logger, record


@entry_point
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Imported on the first call, not at import: the cold import stays the Powertools stack alone.
    from pathprover.services import get_services
    from pathprover.workflow.planning import plan_execution
    from pathprover.workflow.tasks import retry_transient

    # A throttle or a busy dependency is retried by the state machine (TransientError), not a failed plan.
    plan = retry_transient(
        lambda: plan_execution(event.get("input"), str(event.get("execution_id") or "local"), get_services())
    )
    record(name="PlannedProves", unit=MetricUnit.Count, value=len(plan.selected))
    logger.info(
        "planned",
        extra={
            "selected": len(plan.selected),
            "excluded": plan.excluded_total,
            "estimated_usd": plan.estimated_total_usd,
        },
    )
    return plan.model_dump(mode="json")
