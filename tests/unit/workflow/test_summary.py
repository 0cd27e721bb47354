"""The run's summary: what each lane did, what went wrong, what is left, and the history it took."""

from __future__ import annotations

import json
from typing import Any

from pathprover.protocols import Services
from pathprover.stages.state import LANE_EVENTS, RUN_EVENTS_FIXED, prove_events
from pathprover.workflow.models import ExecutionPlan, LaneTask, RunSummary
from pathprover.workflow.summary import history_events_of, store_summary, summarise_run
from pathprover.workflow.tasks import run_step, settle_and_next
from tests.unit.conftest import NewProve


def _plan(lanes: list[dict[str, Any]]) -> dict[str, Any]:
    plan = ExecutionPlan(
        execution_id="run-1",
        dry_run=False,
        max_proves=10,
        max_cost_usd=50.0,
        lanes=[LaneTask.model_validate(lane) for lane in lanes],
        selected=[],
        excluded=[],
    )
    return plan.model_dump(mode="json")


def _lane(new_prove: NewProve, *models: str) -> dict[str, Any]:
    proves = [new_prove(model=m, execution_id="run-1") for m in models]
    lane = LaneTask(execution_id="run-1", lane=0, max_cost_usd=50.0, queue=proves[1:])
    lane.prove, lane.has_prove, lane.status = proves[0], True, "begin"
    return lane.model_dump(mode="json")


def _skipped_lane(svc: Services, new_prove: NewProve) -> tuple[dict[str, Any], str]:
    """A lane whose one prove was skipped (another execution holds its lease) and settled."""
    lane = _lane(new_prove, "Qwen/Qwen3-4B")
    prove = LaneTask.model_validate(lane).prove
    assert prove is not None
    assert svc.ledger.acquire_lease(prove.config_id, "someone-else", 3600, svc.clock.now())
    return settle_and_next(run_step(lane, "begin", svc), svc), prove.config_id


def test_a_settled_lane_is_summed_up_with_its_history_events(svc: Services, new_prove: NewProve) -> None:
    lane, config_id = _skipped_lane(svc, new_prove)
    summary = summarise_run(_plan([]), [lane], svc)
    assert summary.skipped == [config_id] and summary.proved == summary.failed == summary.unfeasible == []
    assert summary.errors == [] and not summary.has_errors and summary.simulated
    [prove] = summary.proves
    assert summary.history_events == RUN_EVENTS_FIXED + LANE_EVENTS + prove_events(
        prove.lambda_invocations, prove.transitions
    )
    assert summary.history_events == history_events_of(summary.proves, 1)
    assert summary.max_state_bytes == len(json.dumps({"plan": _plan([]), "lanes": [lane]}, separators=(",", ":")))


def test_a_lane_that_stopped_early_and_a_crashed_lane_are_errors(svc: Services, new_prove: NewProve) -> None:
    # Given a lane stopped with one prove in flight and one never begun, and a Map that crashed
    lane = run_step(_lane(new_prove, "Qwen/Qwen3-4B", "Qwen/Qwen3-8B"), "begin", svc)
    lane["error"] = {"Error": "States.Timeout", "Cause": "the task timed out"}
    summary = summarise_run(_plan([]), [lane], svc, map_error={"Error": "States.Runtime", "Cause": "boom"})
    # Then each is reported, and the run has errors
    assert summary.has_errors
    assert any("in flight: States.Timeout" in e for e in summary.errors)
    assert any("was never attempted" in e for e in summary.errors)
    assert any(e.startswith("a lane crashed: States.Runtime") for e in summary.errors)
    assert summary.error_report is not None and "never attempted" in summary.error_report


def test_the_stored_summary_keeps_the_stage_detail_the_output_drops(svc: Services, new_prove: NewProve) -> None:
    lane, _ = _skipped_lane(svc, new_prove)
    summary = summarise_run(_plan([]), [lane], svc)
    summary.proves[0].stages = [{"stage": "build", "outcome": "succeeded"}]
    output = store_summary(summary, svc)
    assert output.proves[0].stages == []
    assert output.summary_uri is not None
    stored = RunSummary.model_validate_json(svc.artifacts.get_bytes(output.summary_uri))
    assert stored.proves[0].stages == [{"stage": "build", "outcome": "succeeded"}]
