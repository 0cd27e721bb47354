"""The per-prove tasks of a lane: each parses the lane, runs one lifecycle step and mirrors the status up."""

from __future__ import annotations

from typing import Any

from pathprover.protocols import Services, TransientFailure
from pathprover.stages import lifecycle
from pathprover.stages.state import ProveState
from pathprover.workflow.models import DoneRef, LaneTask, ProveSummary
from pathprover.workflow.planning import load_next, run_key
from pathprover.workflow.substitute import capacity_substitute, push_front

TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalFailure",
        "TransactionConflictException",
    }
)


class TransientError(Exception):
    """A dependency said 'try again' (throttling, a busy database): the state machine retries the task."""


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientFailure):
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code")) in TRANSIENT_CODES
    text = str(exc).lower()
    return "database is locked" in text or "could not connect to the endpoint" in text


def retry_transient(action: Any) -> Any:
    """Run a step; a transient dependency error becomes TransientError, the only error the ASL retries."""
    try:
        return action()
    except TransientError:
        raise
    except Exception as exc:
        if _transient(exc):
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        raise


def _run(lane: LaneTask, step: str, svc: Services) -> LaneTask:
    prove = lane.prove
    if prove is None:
        raise ValueError(f"{step}: the lane has no prove in flight")
    prove.lambda_invocations += 1
    prove.steps[step] = prove.steps.get(step, 0) + 1
    if lane.error is not None and step == "clean" and prove.failure is not None and prove.failure.category is None:
        # The failure handler itself crashed: the prove is still cleaned, and the crash is reported.
        prove.notes.append(f"failure handler error: {lane.error.get('Error')}: {lane.error.get('Cause')}"[:500])
        prove.outcome = "error"
    if step == "begin":
        prove = lifecycle.begin(prove, svc)
    elif step == "advance":
        prove = lifecycle.advance(prove, svc)
    elif step == "check":
        prove = lifecycle.check(prove, svc)
    elif step == "failure":
        prove = lifecycle.handle_failure(prove, svc, lane.error)
    elif step == "clean":
        prove = lifecycle.clean(prove, svc)
    else:
        raise ValueError(f"unknown step {step!r}")
    lane.error = None
    lane.prove = prove
    lane.status = prove.status
    lane.wait_seconds = prove.wait_seconds
    return lane


def run_step(event: dict[str, Any], step: str, svc: Services) -> dict[str, Any]:
    lane = LaneTask.model_validate(event)
    return retry_transient(lambda: _run(lane, step, svc)).model_dump(mode="json")


def settle_and_next(event: dict[str, Any], svc: Services) -> dict[str, Any]:
    """Settle the prove in flight, file its summary, and load the lane's next prove."""
    lane = LaneTask.model_validate(event)
    prove = lane.prove
    if prove is None:
        raise ValueError("settle: the lane has no prove in flight")
    prove.lambda_invocations += 1
    prove.steps["settle"] = prove.steps.get("settle", 0) + 1
    if lane.error is not None and prove.outcome == "pending":
        prove.notes.append(f"task error before settle: {lane.error.get('Error')}: {lane.error.get('Cause')}"[:500])
        prove.outcome = "error"
    prove = retry_transient(lambda: lifecycle.settle(prove, svc))
    substitute, why = retry_transient(lambda: capacity_substitute(prove, svc))
    if why is not None:
        prove.notes.append(why)
    lane.done.append(_file_summary(lane, summarise(prove, svc), svc))
    if substitute is not None:
        retry_transient(lambda: push_front(lane, substitute, svc))
    return retry_transient(lambda: load_next(lane, svc)).model_dump(mode="json")


def _file_summary(lane: LaneTask, summary: ProveSummary, svc: Services) -> DoneRef:
    """The prove's full summary goes to the store (by key); the lane keeps one line of it."""
    key = run_key(lane.execution_id, f"proves/{lane.lane}-{len(lane.done)}-{summary.config_id}.json")
    uri = svc.artifacts.put_bytes(key, summary.model_dump_json().encode())
    return DoneRef(
        config_id=summary.config_id,
        status=summary.status,
        failure_category=summary.failure_category,
        failure_scope=summary.failure_scope,
        skip_reason=(summary.skip_reason or "")[:200] or None,
        actual_cost_usd=summary.actual_cost_usd,
        summary_uri=uri,
    )


def drop_and_next(event: dict[str, Any], svc: Services) -> dict[str, Any]:
    """Settle failed for good: report the prove as an error (its lease expires) and let the lane go on.

    One lane's broken prove must never stop the other lanes before they clean up.
    """
    lane = LaneTask.model_validate(event)
    prove = lane.prove
    if prove is None:
        return load_next(lane, svc).model_dump(mode="json")
    prove.lambda_invocations += 1
    prove.steps["drop"] = prove.steps.get("drop", 0) + 1
    error = lane.error or {}
    prove.notes.append(f"settle failed, reservation left open: {error.get('Error')}: {error.get('Cause')}"[:500])
    prove.outcome = "error"
    lane.done.append(_file_summary(lane, summarise(prove, svc), svc))
    return load_next(lane, svc).model_dump(mode="json")


def summarise(prove: ProveState, svc: Services) -> ProveSummary:
    failure = prove.failure
    started = prove.started_at
    finished = prove.finished_at
    return ProveSummary(
        config_id=prove.config_id,
        status=prove.outcome,
        failure_category=failure.category if failure else None,
        failure_scope=failure.scope if failure else None,
        failure_action=failure.action if failure else None,
        failure_stage=failure.stage if failure else None,
        failure_reason=failure.reason[:500] if failure else None,
        skip_reason=prove.skip_reason,
        attempt=prove.attempt,
        substitute_of=prove.substitute_of,
        notes=list(prove.notes),
        tuned=prove.run.tuning is not None,
        transitions=prove.transitions,
        lambda_invocations=prove.lambda_invocations,
        polls=prove.polls,
        detection_latency_s=prove.detection_latency_s,
        estimated_cost_usd=prove.run.estimated_cost_usd or 0.0,
        actual_cost_usd=round(prove.actual_cost_usd, 4),
        model_name=prove.run.model_name,
        instance_type=prove.run.instance_type,
        lane=prove.lane,
        dimensions=prove.run.vector.as_dict(),
        stages=[
            {
                "stage": h.stage,
                "outcome": h.outcome,
                "polls": h.polls,
                "seconds": round((h.finished_at - h.started_at).total_seconds(), 1) if h.finished_at else None,
                "note": h.note,
            }
            for h in prove.history
        ],
        kept_resources=prove.kept_resources,
        records_written=prove.records_written,
        virtual_seconds=round((finished - started).total_seconds(), 1) if started and finished else 0.0,
    )
