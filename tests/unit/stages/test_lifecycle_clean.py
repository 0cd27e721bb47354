"""Clean finds what the prove made even when its state lost track of it (called directly)."""

from __future__ import annotations

from datetime import timedelta

from pathprover.protocols import Services
from pathprover.stages import lifecycle
from pathprover.stages.state import ProveState, StageRecord
from tests.unit.conftest import NewProve


def _prove(svc: Services, new_prove: NewProve, target: str = "realtime-inference") -> ProveState:
    return lifecycle.begin(new_prove(execution_id="run-lost", deployment_target=target), svc)


def _alive(svc: Services) -> list[str]:
    return [r.label for r in svc.fleet.inventory() if r.execution == "run-lost"]


def test_an_endpoint_whose_ref_was_lost_is_deleted_by_its_name(svc: Services, new_prove: NewProve) -> None:
    # Given a deploy that created the endpoint, but the task timed out before the ref was stored
    state = _prove(svc, new_prove)
    now = svc.clock.now()
    state.artifacts["image_uri"] = "000000000000.dkr.ecr.us-east-1.amazonaws.com/pathprover:abc"
    state.current = "deploy"
    state.history.append(StageRecord(stage="deploy", started_at=now))
    svc.fleet.start_deploy(lifecycle._deploy_spec(state, svc, now))
    assert state.resources == [] and _alive(svc)
    # When the failure path cleans the prove
    state = lifecycle.clean(state, svc)
    # Then the endpoint, its config and its model are gone all the same
    assert _alive(svc) == []
    assert state.leaked_resources == []


def test_a_clean_before_any_deploy_touches_no_sagemaker_name(svc: Services, new_prove: NewProve) -> None:
    state = _prove(svc, new_prove)
    state.history.append(StageRecord(stage="build", started_at=svc.clock.now()))
    calls: list[object] = []
    real = svc.fleet.clean
    svc.fleet.clean = lambda refs, keep: calls.append(refs) or real(refs, keep)  # type: ignore[method-assign]
    lifecycle.clean(state, svc)
    assert calls == []


def test_a_build_still_running_at_its_deadline_is_stopped_on_the_failure_path(
    svc: Services, new_prove: NewProve
) -> None:
    # Given a prove whose build is still running when its deadline passes (the execution's own end is
    # near, so the stage's deadline comes before CodeBuild's timeout)
    state = lifecycle.advance(_prove(svc, new_prove), svc)  # generate
    state.run_deadline = svc.clock.now() + timedelta(minutes=10)
    state = lifecycle.advance(state, svc)  # build
    assert state.status == "polling" and state.job is not None and state.deadline is not None
    svc.clock.advance((state.deadline - svc.clock.now()).total_seconds() + 1)
    state = lifecycle.check(state, svc)
    assert state.status == "failed" and state.failure is not None and "exceeded its timeout" in state.failure.text
    # When the failure is recorded and the prove cleaned
    state = lifecycle.handle_failure(state, svc)
    assert svc.builder.running("run-lost", svc.settings.build_project)
    state = lifecycle.clean(state, svc)
    # Then the build was stopped, not left to run to CodeBuild's own timeout
    assert svc.builder.running("run-lost", svc.settings.build_project) == []
    assert timedelta(0) <= svc.clock.now() - state.started_at  # type: ignore[operator]


def test_the_stopped_execution_clean_up_deletes_only_its_own_deployments_resources(
    svc: Services, new_prove: NewProve
) -> None:
    from pathprover.stages.naming import resource_names
    from pathprover.workflow.stopped import clean_up_stopped

    # Given this deployment ("blue") and another one ("green") each with an endpoint for an execution of
    # the same name
    svc.settings = svc.settings.model_copy(update={"stack": "blue"})
    state = _prove(svc, new_prove)
    now = svc.clock.now()
    state.artifacts["image_uri"] = "000000000000.dkr.ecr.us-east-1.amazonaws.com/pathprover:abc"
    mine = lifecycle._deploy_spec(state, svc, now)
    assert mine.stack == "blue"
    theirs = mine.model_copy(
        update={"stack": "green", "names": resource_names("run-lost", state.config_id, state.attempt, "green")}
    )
    svc.fleet.start_deploy(mine)
    svc.fleet.start_deploy(theirs)
    # When blue's clean-up runs for that execution name
    report = clean_up_stopped("run-lost", svc)
    # Then only blue's endpoint (and its config and model) went; green's is untouched
    assert report.deleted and all(theirs.names.endpoint not in label for label in report.deleted)
    left = [r for r in svc.fleet.inventory() if r.execution == "run-lost"]
    assert left and {r.stack for r in left} == {"green"}
