"""Leases and resource expiry follow the prove's own deadlines (called directly on the local adapters)."""

from __future__ import annotations

from datetime import timedelta

from pathprover.core.targets import ValidationTarget, to_run_config
from pathprover.protocols import Services
from pathprover.stages import lifecycle
from pathprover.stages.state import ProveState
from pathprover.workflow.janitor import decide


def _long_prove(svc: Services) -> ProveState:
    """A 32B model with a x8 timeout multiplier: its stage deadlines add up to far more than 12 hours."""
    run = to_run_config(ValidationTarget(model_name="Qwen/Qwen3-32B", instance_type="ml.g5.12xlarge"), svc.catalog)
    run = run.model_copy(update={"timeout_multiplier": 8.0, "estimated_cost_usd": 5.0})
    return ProveState(execution_id="run-long", run=run, plan=lifecycle.stage_plan(run), max_cost_usd=500.0)


def _budget_s(svc: Services, state: ProveState) -> float:
    return sum(lifecycle._stage_budget(svc, state, stage) for stage in state.plan)


def test_the_lease_outlasts_every_stage_deadline_of_a_long_prove(svc: Services) -> None:
    # Given a prove whose stage deadlines add up to far more than the old fixed 12-hour lease
    state = _long_prove(svc)
    total = _budget_s(svc, state)
    assert total > 18 * 3600
    # When it begins
    start = svc.clock.now()
    state = lifecycle.begin(state, svc)
    assert state.status == "next"
    # Then another execution cannot take the config at any point before the last deadline
    later = start + timedelta(seconds=total - 60)
    assert not svc.ledger.acquire_lease(state.config_id, "run-other#0", 3600, later)
    # But can once the prove's horizon (the deadlines plus the margin) has passed
    after = start + timedelta(seconds=total) + lifecycle.HORIZON_MARGIN + timedelta(minutes=1)
    assert svc.ledger.acquire_lease(state.config_id, "run-other#0", 3600, after)


def test_every_check_renews_the_lease_when_the_plan_runs_later(svc: Services) -> None:
    # Given a prove polling its build, its lease taken to the horizon of its plan
    state = lifecycle.begin(_long_prove(svc), svc)
    state = lifecycle.advance(state, svc)  # generate
    state = lifecycle.advance(state, svc)  # build
    assert state.status == "polling" and state.current == "build" and state.deadline is not None
    horizon_at_begin = lifecycle.prove_horizon(state, svc, svc.clock.now())
    # When the build ends near its deadline and the benchmark runner image must be built first (the
    # build stage runs past the deadline its plan had), and the prove checks that build
    svc.clock.advance((state.deadline - svc.clock.now()).total_seconds() - 600)
    state = lifecycle.check(state, svc)
    assert state.current == "build" and any("runner image" in note for note in state.notes)
    svc.clock.advance(60)
    state = lifecycle.check(state, svc)
    # Then the lease now lasts to the later horizon, past where the first one ended
    horizon = lifecycle.prove_horizon(state, svc, svc.clock.now())
    assert horizon > horizon_at_begin + timedelta(minutes=5)
    assert not svc.ledger.acquire_lease(state.config_id, "run-other#0", 60, horizon - timedelta(minutes=5))


def test_a_check_that_finds_its_lease_taken_stops_as_a_harness_failure(svc: Services) -> None:
    state = lifecycle.begin(_long_prove(svc), svc)
    state = lifecycle.advance(lifecycle.advance(state, svc), svc)
    # Given the lease lapsed and another execution took the config (an operator removed it by hand)
    svc.ledger.release_lease(state.config_id, "run-long#0")
    assert svc.ledger.acquire_lease(state.config_id, "run-other#0", 3600, svc.clock.now())
    # When the prove checks its job, Then it stops instead of racing the other execution
    state = lifecycle.check(state, svc)
    assert state.status == "failed"
    assert state.failure is not None and state.failure.origin == "harness"
    assert "lease was lost" in state.failure.text


def test_the_janitor_keeps_a_running_proves_resources_until_its_horizon(svc: Services) -> None:
    # Given the expiry a long prove tags its resources with when it deploys
    state = lifecycle.begin(_long_prove(svc), svc)
    now = svc.clock.now()
    state.index = state.plan.index("deploy")
    state.current = "deploy"
    state.deadline = now + timedelta(seconds=lifecycle._stage_budget(svc, state, "deploy"))
    expiry = lifecycle.prove_horizon(state, svc, now)
    later = sum(lifecycle._stage_budget(svc, state, s) for s in state.plan[state.index + 1 :])
    # Then it covers the deploy's deadline and every later stage's, beyond the old fixed 12 hours
    assert expiry >= state.deadline + timedelta(seconds=later)
    assert expiry - now > timedelta(hours=12)
    from pathprover.stages.jobs import ManagedResource
    from pathprover.stages.naming import standard_tags

    resource = ManagedResource(
        kind="endpoint",
        name="pp-x-ep",
        arn="arn:aws:sagemaker:us-east-1:111111111111:endpoint/pp-x-ep",
        tags=standard_tags("run-long", state.config_id, expiry),
        created_at=now,
    )
    # And the janitor keeps it while the execution runs, right up to that expiry
    keep_at = expiry - timedelta(minutes=1)
    assert decide(resource, keep_at, timedelta(minutes=30), lambda _: "RUNNING")[0] is False
