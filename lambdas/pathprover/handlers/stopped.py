"""Clean up the moment an execution ends without finishing: an EventBridge rule on the state machine's
"Step Functions Execution Status Change" events (FAILED, TIMED_OUT, ABORTED) calls this.

Its resources are deleted, its builds stopped, each prove in flight gets one `failed` row (scope
`harness`), its reservations are settled and its leases freed
(:func:`pathprover.workflow.stopped.clean_up_stopped`), so nothing waits for the hourly janitor or a
lease's expiry. Emits ``StoppedCleanups`` and ``StoppedCleanupErrors``; a partial clean-up raises, so
EventBridge retries it (every step is idempotent).
"""

from __future__ import annotations

from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict

from pathprover.deployment import EndedStatus
from pathprover.handlers._powertools import entry_point_for, logger, record
from pathprover.services import get_services
from pathprover.workflow.stopped import clean_up_stopped

"""The statuses the rule forwards; SUCCEEDED executions cleaned up after themselves."""
STATUS_WORDS: Final = {"FAILED": "failed", "TIMED_OUT": "timed out", "ABORTED": "was stopped"}


class ExecutionStatusDetail(BaseModel):
    """The `detail` of a Step Functions "Execution Status Change" event (the fields this handler reads)."""

    model_config = ConfigDict(extra="ignore")

    executionArn: str  # the event's own spelling
    stateMachineArn: str
    name: str
    status: EndedStatus


class ExecutionEnded(EventBridgeModel):
    detail: ExecutionStatusDetail


def execution_ended_event(execution_arn: str, status: str, at: str = "1970-01-01T00:00:00Z") -> dict[str, Any]:
    """The EventBridge event Step Functions sends when ``execution_arn`` ends with ``status`` (the local
    runtime hands its ended executions to this handler in the same shape)."""
    _, _, _, region, account, _, machine, name = execution_arn.split(":", 7)
    state_machine = f"arn:aws:states:{region}:{account}:stateMachine:{machine}"
    return {
        "version": "0",
        "id": f"{name}-{status}",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": account,
        "time": at,
        "region": region,
        "resources": [execution_arn],
        "detail": {"executionArn": execution_arn, "stateMachineArn": state_machine, "name": name, "status": status},
    }


class CleanupIncomplete(RuntimeError):
    """Some of the clean-up failed: raised so EventBridge invokes the function again."""


@entry_point_for("detail.name")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ended = parse(event=event, model=ExecutionEnded)
    detail = ended.detail
    svc = get_services()
    reason = f"the execution {STATUS_WORDS[detail.status]} ({detail.status}) before the prove finished"
    report = clean_up_stopped(detail.name, svc, reason=reason)
    for line in report.lines():
        logger.info(line)
    record(name="StoppedCleanups", unit=MetricUnit.Count, value=1)
    record(name="StoppedCleanupErrors", unit=MetricUnit.Count, value=len(report.errors))
    if report.errors:
        raise CleanupIncomplete(f"clean-up of {detail.name} incomplete: {'; '.join(report.errors)[:1000]}")
    return {
        "execution_id": report.execution_id,
        "status": detail.status,
        "deleted": report.deleted,
        "builds_stopped": report.builds_stopped,
        "recorded": report.recorded,
        "leases_released": report.leases_released,
        "reservations_settled": report.reservations_settled,
    }
