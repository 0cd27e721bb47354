"""The hourly janitor: delete Path Prover resources whose execution is over or whose expiry has passed.

Invoked by a schedule (the event is ignored) or by hand with ``{"dry_run": true}`` (report
only) and optionally ``{"grace_minutes": N}``. Emits ``JanitorDeleted`` (how many resources
were deleted) and ``JanitorErrors`` (how many could not be dealt with) in the PathProver
namespace, and returns the :class:`~pathprover.workflow.janitor.JanitorReport`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pathprover.deployment import JANITOR_DELETED_METRIC, JANITOR_ERRORS_METRIC
from pathprover.handlers._powertools import entry_point, logger, record
from pathprover.services import get_services
from pathprover.workflow.janitor import DEFAULT_GRACE, sweep


def _grace(event: dict[str, Any]) -> timedelta:
    raw = event.get("grace_minutes")
    if raw is None or isinstance(raw, bool):
        return DEFAULT_GRACE
    try:
        return timedelta(minutes=max(0.0, float(raw)))
    except (TypeError, ValueError):
        logger.warning("ignoring an unreadable grace_minutes", extra={"grace_minutes": raw})
        return DEFAULT_GRACE


@entry_point
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    event = event if isinstance(event, dict) else {}
    svc = get_services()
    dry_run = str(event.get("dry_run", "")).strip().lower() in {"true", "1", "yes"}
    if svc.executions is None:
        logger.warning("no execution lookup (PATHPROVER_STATE_MACHINE_ARN unset): only expired resources go")
    projects = (svc.settings.build_project, svc.settings.stage_project, svc.settings.benchmark_project)
    report = sweep(
        svc.fleet,
        svc.executions,
        svc.clock.now(),
        grace=_grace(event),
        dry_run=dry_run,
        builder=svc.builder,
        projects=tuple(p for p in projects if p),
        stack=svc.settings.stack,
    )
    for decision in report.deleted + report.would_delete:
        logger.warning(
            "would delete" if dry_run else "deleted",
            extra={"resource": decision.resource, "execution": decision.execution, "reason": decision.reason},
        )
    for decision in report.kept:
        logger.info(
            "kept", extra={"resource": decision.resource, "execution": decision.execution, "reason": decision.reason}
        )
    for line in report.builds_stopped + report.builds_would_stop:
        logger.warning("would stop build" if dry_run else "stopped build", extra={"build": line})
    for error in report.errors:
        logger.error("janitor error", extra={"error": error})
    logger.info(
        "janitor sweep",
        extra={
            "dry_run": dry_run,
            "examined": report.examined,
            "deleted": len(report.deleted),
            "would_delete": len(report.would_delete),
            "kept": len(report.kept),
            "already_gone": len(report.already_gone),
            "builds_stopped": len(report.builds_stopped),
            "errors": len(report.errors),
        },
    )
    record(name=JANITOR_DELETED_METRIC, unit=MetricUnit.Count, value=len(report.deleted) + len(report.builds_stopped))
    record(name=JANITOR_ERRORS_METRIC, unit=MetricUnit.Count, value=len(report.errors))
    return report.model_dump(mode="json")
