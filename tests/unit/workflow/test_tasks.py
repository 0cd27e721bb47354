"""The lane tasks the prove handlers call: one lifecycle step per task, the lane's JSON in and out."""

from __future__ import annotations

from typing import Any

import pytest

from pathprover.protocols import Services, TransientFailure
from pathprover.workflow.models import LaneTask
from pathprover.workflow.tasks import TransientError, drop_and_next, retry_transient, run_step, settle_and_next
from tests.unit.conftest import NewProve


class _ClientError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(f"An error occurred ({code})")
        self.response = {"Error": {"Code": code}}


def _lane(new_prove: NewProve, *queued: str) -> dict[str, Any]:
    """A lane as the plan hands it over: its first prove in flight, the rest queued inline."""
    proves = [new_prove(execution_id="run-1"), *(new_prove(model=m, execution_id="run-1") for m in queued)]
    lane = LaneTask(execution_id="run-1", lane=0, max_cost_usd=50.0, queue=proves[1:])
    lane.prove, lane.has_prove, lane.status = proves[0], True, "begin"
    return lane.model_dump(mode="json")


@pytest.mark.parametrize(
    "error",
    [
        _ClientError("ThrottlingException"),
        TransientFailure("cancelled by a conflicting transaction"),
        OSError("database is locked"),
    ],
)
def test_a_transient_dependency_error_becomes_the_one_error_the_workflow_retries(error: Exception) -> None:
    def fail() -> None:
        raise error

    with pytest.raises(TransientError):
        retry_transient(fail)


def test_any_other_error_is_raised_as_it_is() -> None:
    def fail() -> None:
        raise _ClientError("AccessDeniedException")

    with pytest.raises(_ClientError):
        retry_transient(fail)
    assert retry_transient(lambda: 7) == 7


def test_a_step_runs_the_lifecycle_and_mirrors_the_status_up(svc: Services, new_prove: NewProve) -> None:
    event = run_step(_lane(new_prove), "begin", svc)
    assert event["status"] == event["prove"]["status"] == "next"
    event = run_step(event, "advance", svc)  # generate
    event = run_step(event, "advance", svc)  # build: a job to poll
    assert event["status"] == "polling" and event["wait_seconds"] == event["prove"]["wait_seconds"] > 0
    assert event["prove"]["steps"] == {"begin": 1, "advance": 2}
    assert event["prove"]["lambda_invocations"] == 3


def test_a_step_refuses_a_lane_without_a_prove_and_an_unknown_step(svc: Services, new_prove: NewProve) -> None:
    idle = LaneTask(execution_id="run-1", lane=0, max_cost_usd=50.0).model_dump(mode="json")
    with pytest.raises(ValueError, match="no prove in flight"):
        run_step(idle, "advance", svc)
    with pytest.raises(ValueError, match="unknown step"):
        run_step(_lane(new_prove), "deploy", svc)


def test_settle_files_the_summary_by_key_and_loads_the_next_prove(svc: Services, new_prove: NewProve) -> None:
    # Given a lane whose first prove was skipped (another execution holds its lease), one more queued
    event = _lane(new_prove, "Qwen/Qwen3-8B")
    first = LaneTask.model_validate(event).prove
    assert first is not None
    assert svc.ledger.acquire_lease(first.config_id, "someone-else", 3600, svc.clock.now())
    event = run_step(event, "begin", svc)
    assert event["status"] == "skipped"
    # When Settle runs
    event = settle_and_next(event, svc)
    # Then the lane carries one line for it, its full summary is in the store, and the next prove is in flight
    [done] = event["done"]
    assert done["config_id"] == first.config_id and done["status"] == "skipped"
    assert "lease held" in done["skip_reason"]
    assert b'"status":"skipped"' in svc.artifacts.get_bytes(done["summary_uri"])
    assert event["has_prove"] and event["status"] == "begin" and event["queue"] == []
    assert event["prove"]["run"]["model_name"] == "Qwen/Qwen3-8B" != first.run.model_name


def test_a_task_error_before_settle_is_reported_as_an_error(svc: Services, new_prove: NewProve) -> None:
    event = run_step(_lane(new_prove), "begin", svc)
    event["error"] = {"Error": "Lambda.Unknown", "Cause": "the Advance task timed out"}
    event = settle_and_next(event, svc)
    [done] = event["done"]
    assert done["status"] == "error"
    assert not event["has_prove"] and event["status"] == "idle"


def test_drop_reports_the_prove_as_an_error_and_lets_the_lane_go_on(svc: Services, new_prove: NewProve) -> None:
    event = run_step(_lane(new_prove, "Qwen/Qwen3-8B"), "begin", svc)
    event["error"] = {"Error": "States.TaskFailed", "Cause": "settle kept failing"}
    event = drop_and_next(event, svc)
    [done] = event["done"]
    assert done["status"] == "error"
    assert event["has_prove"] and event["prove"]["run"]["model_name"] == "Qwen/Qwen3-8B"
    idle = LaneTask(execution_id="run-1", lane=0, max_cost_usd=50.0).model_dump(mode="json")
    assert drop_and_next(idle, svc)["status"] == "idle"


def test_the_workflow_retries_a_transient_failure():
    from pathprover.protocols import TransientFailure
    from pathprover.workflow.tasks import TransientError, retry_transient

    def conflict() -> None:
        raise TransientFailure("reserve c1: DynamoDB transaction cancelled (TransactionConflict); retry")

    with pytest.raises(TransientError):
        retry_transient(conflict)
