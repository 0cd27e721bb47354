"""Lifecycle steps a first real run depends on, called directly on the local adapters."""

from __future__ import annotations

from datetime import timedelta

from pathprover.core.targets import ValidationTarget, to_run_config
from pathprover.protocols import Services
from pathprover.stages import lifecycle
from pathprover.stages.jobs import JobState
from pathprover.stages.state import ProveState
from pathprover.workflow.planning import events_allowance
from tests.support.local_services import CATALOG, RUNNER


def _state(model: str, instance: str, svc: Services, **extra) -> ProveState:
    run = to_run_config(
        ValidationTarget(deployment_config="vllm", model_name=model, instance_type=instance), svc.catalog
    )
    run = lifecycle.with_required_stages(run, svc)
    return ProveState(execution_id="e1", run=run, plan=lifecycle.stage_plan(run), **extra)


def _until_not_polling(state: ProveState, svc: Services, limit: int = 200) -> ProveState:
    for _ in range(limit):
        if state.status != "polling":
            return state
        svc.clock.advance(state.wait_seconds)  # type: ignore[attr-defined]
        state = lifecycle.check(state, svc)
    raise AssertionError("still polling")


def test_a_gated_model_is_staged_first_and_deployed_from_s3_with_both_startup_timeouts(svc):
    # Given a gated model: its plan starts with the stage step
    state = _state("meta-llama/Llama-3.1-8B-Instruct", "ml.g5.xlarge", svc)
    assert state.plan[0] == "stage"
    state.artifacts["model_s3_uri"] = "s3://pathprover-local/models/abc/"
    state.artifacts["image_ref"] = "000000000000.dkr.ecr.us-east-1.amazonaws.com/pathprover@sha256:" + "0" * 64
    # When its deploy request is made
    spec = lifecycle._deploy_spec(state, svc, svc.clock.now())
    # Then SageMaker copies the S3 prefix (ModelDataSource) and the token is nowhere in the request
    assert spec.model_data_uri == "s3://pathprover-local/models/abc/"
    assert spec.env["MODEL_SOURCE"] == "s3"
    assert not any("TOKEN" in key for key in spec.env)
    # And both startup timeouts are sent
    assert spec.model_download_timeout_s and spec.startup_health_check_timeout_s


def test_startup_timeouts_grow_with_the_model_and_stay_within_what_sagemaker_accepts(svc):
    small = lifecycle.startup_timeouts(svc, _state("Qwen/Qwen3-0.6B", "ml.g5.xlarge", svc).run)
    large = lifecycle.startup_timeouts(svc, _state("meta-llama/Llama-3.1-70B-Instruct", "ml.p4d.24xlarge", svc).run)
    assert small["model_download_timeout_s"] == 600 and small["startup_health_check_timeout_s"] < 700
    assert large["model_download_timeout_s"] > small["model_download_timeout_s"]
    assert large["startup_health_check_timeout_s"] > small["startup_health_check_timeout_s"]
    assert all(600 <= v <= 3600 for v in (*small.values(), *large.values()))


def test_a_missing_runner_image_is_built_before_the_endpoint_bills(svc):
    # Given a realtime prove whose build just finished, on an account where the runner image is not built yet
    state = _state("Qwen/Qwen3-0.6B", "ml.g5.xlarge", svc)
    assert "benchmark" in state.plan
    state.status = "next"
    state.index = state.plan.index("build")
    state.artifacts.update({"bundle_uri": "s3://pathprover-local/bundles/x.zip", "bundle_digest": "d" * 64})
    state = lifecycle.advance(state, svc)
    assert not svc.builder.image_exists(RUNNER)
    # When the build stage is polled to its end
    state = _until_not_polling(lifecycle.check(state, svc) if state.status == "polling" else state, svc)
    # Then the runner image was built inside the build stage (no endpoint yet), and the stage succeeded
    assert svc.builder.image_exists(RUNNER)
    assert state.status == "next" and state.plan[state.index] == "push"
    assert not state.resources  # nothing billing was created
    assert any("runner image" in (h.note or "") for h in state.history)


def test_a_runner_build_that_lost_the_race_still_counts_when_the_image_is_there(svc):
    # Given another lane pushed the same tag first, so this lane's build failed (tags are immutable)
    state = _state("Qwen/Qwen3-0.6B", "ml.g5.xlarge", svc)
    state.history.append(lifecycle.StageRecord(stage="build", started_at=svc.clock.now()))
    state.current = "build"
    svc.builder._images.add(RUNNER)  # type: ignore[attr-defined]
    failed = JobState.failed("tag invalid: The image tag 'runner-abc' already exists", "build")
    # Then the stage finishes: what matters is that the image exists
    state = lifecycle._runner_done(state, svc, svc.clock.now(), failed)
    assert state.status == "next" and state.failure is None


def test_a_runner_image_that_cannot_be_built_is_the_harnesss_failure(svc):
    state = _state("Qwen/Qwen3-0.6B", "ml.g5.xlarge", svc)
    state.history.append(lifecycle.StageRecord(stage="build", started_at=svc.clock.now()))
    state.current = "build"
    failed = JobState.failed("phase BUILD FAILED: COMMAND_EXECUTION_ERROR", "build")
    state = lifecycle._runner_done(state, svc, svc.clock.now(), failed)
    assert state.status == "failed" and state.failure is not None and state.failure.origin == "harness"


def test_a_slow_stage_polls_less_often_to_stay_within_its_share_of_history_events(svc):
    # Given a prove in a 50-prove run, deploying, its share of events nearly used
    state = _state("Qwen/Qwen3-0.6B", "ml.g5.xlarge", svc, events_allowance=events_allowance(50, 16))
    now = svc.clock.now()
    state.index = state.plan.index("deploy")
    state.deadline = now + timedelta(hours=2)
    state.lambda_invocations = 70
    state.steps = {"check": 60}
    # When the next wait is chosen
    floor = lifecycle._event_floor_wait(state, now)
    # Then the polls left are spread over the time left (at most a few polls in two hours)
    assert floor >= 1800
    # And early in the prove, with its share unused, dozens of polls remain for the same two hours
    state.lambda_invocations, state.steps = 3, {"check": 1}
    assert lifecycle._event_floor_wait(state, now) <= 2 * 3600 / 30


def test_begin_skips_a_prove_that_could_not_finish_before_the_executions_timeout(svc):
    now = svc.clock.now()
    state = _state("Qwen/Qwen3-0.6B", "ml.g5.xlarge", svc, run_deadline=now + timedelta(minutes=30), max_cost_usd=50)
    state = lifecycle.begin(state, svc)
    assert state.status == "skipped" and "not enough time left" in (state.skip_reason or "")
    # And the lease is free again for the next run
    assert svc.ledger.acquire_lease(state.config_id, "other", 60, now)


def test_the_engine_holds_the_context_the_plan_sized_for_unless_the_target_says_otherwise(svc):
    # Given Llama 3.1 (128K context) on vLLM with no max_model_len in the target
    state = _state("meta-llama/Llama-3.1-8B-Instruct", "ml.g5.xlarge", svc)
    # Then the engine is told the catalog's KV reserve, which is what the brain sized the config for
    reserve = svc.catalog.search_space.sizing.kv_reserve_tokens
    assert state.run.serving_params["max_model_len"] == reserve
    assert lifecycle.serving_env(svc, state.run)["SM_VLLM_MAX_MODEL_LEN"] == str(reserve)
    # And a target's own value is kept
    run = to_run_config(
        ValidationTarget(
            deployment_config="vllm",
            model_name="meta-llama/Llama-3.1-8B-Instruct",
            instance_type="ml.g5.xlarge",
            serving_params={"max_model_len": 16384},
        ),
        svc.catalog,
    )
    assert lifecycle.with_required_stages(run, svc).serving_params["max_model_len"] == 16384
    # And a model whose own context is shorter keeps its own
    small = _state("google/gemma-3-1b-it", "ml.g5.xlarge", svc)
    assert small.run.serving_params["max_model_len"] == min(
        reserve, CATALOG.model("google/gemma-3-1b-it").context_length
    )
