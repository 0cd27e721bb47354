"""The lane's per-prove Lambda handlers: each runs its lifecycle step on the installed services, and the
failure and settle handlers count what happened in EMF metrics the stack alarms on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pathprover.handlers import prove
from pathprover.protocols import Services
from pathprover.runtime.moto_patches import LambdaContext
from tests.unit.conftest import NewProve
from tests.unit.handlers.conftest import emf, lane_event

CONTEXT = LambdaContext("pathprover-begin")


def test_begin_and_advance_run_their_steps_on_the_installed_services(installed: Services, new_prove: NewProve) -> None:
    # Given a lane with a prove in flight
    event = lane_event(new_prove)
    # When Begin and two Advances run, as the state machine calls them
    event = prove.begin(event, CONTEXT)
    assert event["status"] == "next"
    event = prove.advance(prove.advance(event, CONTEXT), CONTEXT)
    # Then the prove's build was started on the installed (simulated) builder: a job to poll
    assert event["status"] == "polling" and event["wait_seconds"] > 0
    assert event["prove"]["steps"] == {"begin": 1, "advance": 2}
    installed.clock.advance(event["wait_seconds"])  # type: ignore[attr-defined]
    event = prove.check(event, CONTEXT)
    assert event["prove"]["steps"]["check"] == 1


def test_a_task_error_is_handled_counted_by_category_and_scope_then_settled(
    installed: Services, new_prove: NewProve, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a lane whose task failed (the state machine's Catch puts the error on the lane)
    event: dict[str, Any] = prove.begin(lane_event(new_prove), CONTEXT)
    event["error"] = {"Error": "States.TaskFailed", "Cause": "boom"}
    capsys.readouterr()
    # When Failure, Clean and Settle run
    event = prove.failure(event, CONTEXT)
    failed = emf(capsys.readouterr().out)
    event = prove.clean(event, CONTEXT)
    event = prove.settle(event, CONTEXT)
    settled = emf(capsys.readouterr().out)
    # Then the failure was classified and counted with its category and scope, each as its own dimension
    failure = event["done"][-1]
    assert failure["status"] == "failed" and failure["failure_scope"] == "harness"
    assert failed["ProveFailed"]["category"] == failure["failure_category"]
    assert failed["ProveFailureScope"]["scope"] == "harness"
    # And the settled outcome and its cost were counted
    assert settled["ProveOutcome"]["outcome"] == "failed"
    assert settled["ProveActualCost"]["ProveActualCost"] == [0.0]
    assert event["status"] == "idle" and event["prove"] is None


def test_drop_reports_the_prove_as_an_error_and_frees_the_lane(installed: Services, new_prove: NewProve) -> None:
    event = prove.begin(lane_event(new_prove), CONTEXT)
    event["error"] = {"Error": "Lambda.Unknown", "Cause": "settle crashed"}
    event = prove.drop(event, CONTEXT)
    assert event["done"][-1]["status"] == "error" and event["prove"] is None


def test_an_event_that_is_not_a_lane_is_refused(installed: Services) -> None:
    with pytest.raises(ValidationError):
        prove.begin({"execution_id": "run-1", "lane": "first"}, CONTEXT)
