"""The deployment's stack reaches every SageMaker resource a prove creates (Settings.stack -> pathprover:stack)."""

from __future__ import annotations

import dataclasses

from pathprover.core.targets import ValidationTarget, to_run_config
from pathprover.protocols import Services
from pathprover.settings import Settings
from pathprover.stages import lifecycle
from pathprover.stages.naming import TAG_STACK
from pathprover.stages.state import ProveState, StageRecord


def _deploy(svc: Services) -> None:
    run = to_run_config(ValidationTarget(model_name="Qwen/Qwen3-4B", instance_type="ml.g6.xlarge"), svc.catalog)
    state = lifecycle.begin(ProveState(execution_id="run-tag", run=run, plan=lifecycle.stage_plan(run)), svc)
    now = svc.clock.now()
    state.artifacts["image_uri"] = "000000000000.dkr.ecr.us-east-1.amazonaws.com/pathprover:abc"
    state.current = "deploy"
    state.history.append(StageRecord(stage="deploy", started_at=now))
    svc.fleet.start_deploy(lifecycle._deploy_spec(state, svc, now))


def test_a_deployments_resources_carry_its_stack(svc: Services) -> None:
    svc = dataclasses.replace(svc, settings=svc.settings.model_copy(update={"stack": "MlccCiHarnessStack-blue"}))
    _deploy(svc)
    resources = [r for r in svc.fleet.inventory() if r.execution == "run-tag"]
    assert {r.kind for r in resources} == {"model", "endpoint-config", "endpoint"}
    assert {r.stack for r in resources} == {"MlccCiHarnessStack-blue"}


def test_without_a_stack_no_stack_tag_is_written(svc: Services) -> None:
    assert svc.settings.stack is None
    _deploy(svc)
    assert all(TAG_STACK not in r.tags for r in svc.fleet.inventory())


def test_the_stack_comes_from_the_environment() -> None:
    assert Settings.from_env({"PATHPROVER_STACK": "MlccCiHarnessStack"}).stack == "MlccCiHarnessStack"
    assert Settings.from_env({}).stack is None
