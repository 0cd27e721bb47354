"""The lifecycle driven stage by stage, as the lane runs it, on the local adapters and a virtual clock.

Each test calls ``begin``, ``advance``, ``check``, ``handle_failure``, ``clean`` and ``settle`` directly
(``run_lane`` in conftest.py follows the state machine's transitions), so a prove that can never complete,
a stage that never starts or a resource left billing shows here, not only end to end.
"""

from __future__ import annotations

from pathlib import Path

from pathprover.adapters.local.faults import Fault
from pathprover.deployment import ARTIFACT_AREAS
from pathprover.protocols import Services
from pathprover.stages import lifecycle
from pathprover.stages.lifecycle import stage_plan
from tests.unit.conftest import TUNED, NewProve, RunLane, run_for

TUNED_STAGES = ("generate", "build", "push", "deploy", "test", "tune", "benchmark", "register", "clean")


def _rows(svc: Services, execution_id: str) -> list[tuple]:
    return [
        tuple(row)
        for row in svc.store.query(
            "SELECT status, failure_stage, failure_scope, tuned FROM mlcc_ci.benchmark_results "
            f"WHERE execution_id = '{execution_id}'"
        ).rows
    ]


def _alive(svc: Services, execution_id: str) -> list[str]:
    return [r.label for r in svc.fleet.inventory() if r.execution == execution_id]


def _started(steps: list[str]) -> list[str]:
    return [step.split(":", 1)[1] for step in steps if step.startswith("advance:") and step != "advance:-"]


def test_a_realtime_prove_runs_every_stage_in_order_and_completes(
    svc: Services, new_prove: NewProve, run_lane: RunLane
) -> None:
    # Given a realtime prove of a small model on a fresh simulated account
    state = new_prove()
    assert state.plan == ["generate", "build", "push", "deploy", "test", "benchmark", "register", "clean"]
    # When the lane runs it from Begin to Settle
    state, steps = run_lane(state)
    # Then every stage started once, in plan order, and the long ones were polled
    assert _started(steps) == state.plan
    assert any(step == "check:deploy" for step in steps) and any(step == "check:build" for step in steps)
    assert [record.stage for record in state.history] == state.plan
    assert all(record.outcome == "succeeded" for record in state.history)
    # And the prove completed with one completed row, nothing left running, the lease and budget settled
    assert (state.status, state.outcome) == ("finished", "completed")
    assert _rows(svc, "e1") == [("completed", None, None, False)]
    assert _alive(svc, "e1") == []
    assert state.actual_cost_usd is not None and state.actual_cost_usd > 0
    spent, reserved = svc.ledger.totals("e1")
    assert reserved == 0 and spent == state.actual_cost_usd
    assert svc.ledger.acquire_lease(state.config_id, "another-execution", 60, svc.clock.now())
    # And everything it stored is under one of the areas the stack grants (the runner source is the test's;
    # `simulated/` is what the simulated CodeBuild and SageMaker write in place of the real services)
    root: Path = svc.artifacts.root  # type: ignore[attr-defined]
    areas = {path.relative_to(root).parts[0] for path in root.rglob("*") if path.is_file()}
    assert areas - {"runner", "simulated"} <= set(ARTIFACT_AREAS)
    assert {"bundles", "benchmarks"} <= areas


def test_a_tuned_prove_deploys_tunes_serves_the_adapter_and_completes(
    svc: Services, new_prove: NewProve, run_lane: RunLane
) -> None:
    # Given a prove that asks for a tune
    state = new_prove(execution_id="e-tune", stages=TUNED_STAGES)
    assert state.run.tuning is not None
    assert state.plan[state.plan.index("tune") :][:3] == ["tune", "adapter", "test"]
    # When the lane runs it
    state, steps = run_lane(state)
    # Then base deploy, its test, the training job, the adapter endpoint and its test all ran, in order
    assert _started(steps) == state.plan
    assert "check:tune" in steps and "check:adapter" in steps
    # And the prove completed as a tuned row, with nothing left billing
    assert (state.status, state.outcome) == ("finished", "completed")
    assert _rows(svc, "e-tune") == [("completed", None, None, True)]
    assert _alive(svc, "e-tune") == []


def test_a_failure_at_deploy_is_recorded_once_and_cleaned_up(
    svc: Services, new_prove: NewProve, run_lane: RunLane
) -> None:
    # Given a fleet on which every deploy fails as the container runs out of memory
    svc.fleet.faults.add(  # type: ignore[attr-defined]
        Fault(match={}, stage="deploy", error="torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    )
    state = new_prove(execution_id="e-fail")
    # When the lane runs the prove
    state, steps = run_lane(state)
    # Then it stopped at deploy and took the failure path: HandleFailure, Clean, Settle
    assert _started(steps) == ["generate", "build", "push", "deploy"]
    assert steps[-3:] == ["failure", "clean", "settle"]
    assert state.failure is not None and state.failure.stage == "deploy"
    # And one row says why, nothing the prove made is left, and the lease is free again
    [(status, stage, scope, tuned)] = _rows(svc, "e-fail")
    assert (stage, scope, tuned) == ("deploy", "config", False) and status in ("failed", "unfeasible")
    assert _alive(svc, "e-fail") == []
    assert state.leaked_resources == []
    assert svc.ledger.totals("e-fail")[1] == 0
    assert svc.ledger.acquire_lease(state.config_id, "another-execution", 60, svc.clock.now())


def test_a_config_another_execution_holds_is_skipped_and_settled_without_a_row(
    svc: Services, new_prove: NewProve, run_lane: RunLane
) -> None:
    state = new_prove(execution_id="e-late")
    assert svc.ledger.acquire_lease(state.config_id, "someone-else", 3600, svc.clock.now())
    state, steps = run_lane(state)
    assert steps == ["begin", "settle"]
    assert state.outcome == "skipped" and "lease held" in (state.skip_reason or "")
    assert _rows(svc, "e-late") == []


def test_advance_refuses_a_state_that_is_not_ready_for_it(svc: Services, new_prove: NewProve) -> None:
    state = lifecycle.begin(new_prove(execution_id="e-x"), svc)
    state = lifecycle.advance(state, svc)  # generate
    state = lifecycle.advance(state, svc)  # build: now polling
    assert state.status == "polling"
    try:
        lifecycle.advance(state, svc)
    except lifecycle.StageError as exc:
        assert "polling" in str(exc)
    else:
        raise AssertionError("advance accepted a polling state")


def test_a_tuned_target_plans_tune_then_the_adapter_and_its_test():
    run = run_for(stages=TUNED)
    assert run.tuning is not None and run.serves_adapter
    assert stage_plan(run) == [
        "generate", "build", "push", "deploy", "test", "tune", "adapter", "test", "benchmark", "register", "clean"
    ]  # fmt: skip


def test_an_adapter_uri_without_stages_asks_for_its_validation():
    run = run_for(adapter_s3_uri="s3://bucket/adapters/a/model.tar.gz")
    plan = stage_plan(run)
    assert run.tuning is None and "tune" not in plan
    assert plan[plan.index("adapter") + 1] == "test" and plan.index("adapter") < plan.index("benchmark")
