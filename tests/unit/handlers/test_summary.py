"""The Summary Lambda handler: the run's summary from the plan and the lanes, stored, and returned lean."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pathprover.handlers.summary import handler
from pathprover.protocols import Services
from pathprover.runtime.moto_patches import LambdaContext
from pathprover.workflow.models import ExecutionPlan, LaneTask, RunSummary
from pathprover.workflow.tasks import run_step, settle_and_next
from tests.unit.conftest import NewProve
from tests.unit.handlers.conftest import lane_event

CONTEXT = LambdaContext("pathprover-summary")


def _plan() -> dict[str, Any]:
    plan = ExecutionPlan(
        execution_id="run-1", dry_run=False, max_proves=10, max_cost_usd=50.0, lanes=[], selected=[], excluded=[]
    )
    return plan.model_dump(mode="json")


def test_the_summary_of_a_settled_lane_is_stored_and_returned(installed: Services, new_prove: NewProve) -> None:
    # Given a lane whose prove was skipped (another execution holds the config's lease) and settled
    lane = lane_event(new_prove)
    config_id = LaneTask.model_validate(lane).prove.config_id  # type: ignore[union-attr]
    assert installed.ledger.acquire_lease(config_id, "someone-else", 3600, installed.clock.now())
    lane = settle_and_next(run_step(lane, "begin", installed), installed)
    # When the Summary state runs
    output = handler({"execution_id": "run-1", "plan": _plan(), "lanes": [lane]}, CONTEXT)
    # Then it reports the skip, and the whole summary is in the artifact store
    assert output["skipped"] == [config_id] and output["errors"] == []
    stored = RunSummary.model_validate_json(installed.artifacts.get_bytes(output["summary_uri"]))
    assert stored.skipped == [config_id]
    json.dumps(output)  # the execution output is plain JSON


def test_a_crashed_map_is_an_error_of_the_run(installed: Services) -> None:
    output = handler({"plan": _plan(), "lanes": [], "map_error": {"Error": "States.Runtime", "Cause": "boom"}}, CONTEXT)
    assert any(e.startswith("a lane crashed: States.Runtime") for e in output["errors"])


def test_an_event_without_the_plan_is_refused(installed: Services) -> None:
    with pytest.raises(KeyError, match="plan"):
        handler({"lanes": []}, CONTEXT)
