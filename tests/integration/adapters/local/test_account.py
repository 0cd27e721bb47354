"""The simulated account behaves like AWS, not like the brain.

The fleet decides with its own memory truth (so the brain can be wrong and learn it), gated
models need staged weights or a token, staged weights need ``model_data_uri``, endpoint quotas
come from the account profile, and durations vary around the catalog figures, seeded.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime
from typing import Any

import pytest

from pathprover.adapters.local.account import (
    ESTABLISHED,
    NEW_ACCOUNT_DEFAULT_ENDPOINT_QUOTA,
    NEW_ACCOUNT_ENDPOINT_QUOTAS,
    AccountProfile,
    fresh_account,
)
from pathprover.adapters.local.endpoint import SimulatedEndpointServer
from pathprover.adapters.local.faults import FaultPlan
from pathprover.adapters.local.fleet import (
    DURATION_JITTER_BOUNDS,
    LOAD_FRACTION,
    SimulatedFleet,
    duration_factor,
    gated_repo_error,
)
from pathprover.adapters.local.truth import load_facts, training_run
from pathprover.brain.sizing import estimate_fit
from pathprover.catalog import Catalog
from pathprover.classifier import classify
from pathprover.clock import VirtualClock
from pathprover.stages.jobs import JobRef, JobState
from pathprover.stages.specs import TrainingSpec
from tests.support.simulated_fleet import ROLE, deploy_spec, run_until_done


def fleet_for(clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer, **kw: Any) -> SimulatedFleet:
    return SimulatedFleet(clock, catalog, FaultPlan(), server, **kw)


def deployed(fleet: SimulatedFleet, clock: VirtualClock, **kw: Any) -> tuple[JobRef, JobState]:
    ref = fleet.start_deploy(deploy_spec(**kw))
    assert ref.start_failure is None, ref.start_failure
    return ref, run_until_done(fleet, clock, ref)


def log_line(state: JobState) -> str:
    """The container's log line inside SageMaker's failure text."""
    text = state.failure_text or ""
    assert "did not pass the ping health check" in text
    return text.split("(simulated): ", 1)[1].rsplit("\nSageMaker endpoint", 1)[0]


# --------------------------------------------------------------------------- the brain can be wrong


def test_a_config_the_brain_thinks_fits_fails_at_start_and_is_classified_oom(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given Qwen3-8B on one A10G with vLLM: the brain's rule (4096-token KV reserve) says it fits
    model, instance = catalog.model("Qwen/Qwen3-8B"), catalog.instance("ml.g5.2xlarge")
    assert estimate_fit(catalog, model, "none", instance, 1).fits
    fleet = fleet_for(clock, catalog, server)

    # When the runtime deploys it with the container's defaults (no --max-model-len)
    ref, state = deployed(fleet, clock, model=model.name, instance_type=instance.name, config_id="a11ce00000000001")

    # Then vLLM refuses to serve 40960 tokens it cannot cache, after loading, and the verdict is oom
    assert state.status == "failed" and state.failure_stage == "deploy"
    line = log_line(state)
    assert line.startswith("ValueError: To serve at least one request with the models's max seq len (40960)")
    verdict = classify(state.failure_text or "", stage="deploy")
    assert verdict.category == "oom" and not verdict.retryable
    assert fleet.billed_seconds(ref) == pytest.approx(float(ref.meta["simulated_duration_s"]) * LOAD_FRACTION, abs=1)
    fleet.clean([ref], keep=False)

    # And told the context to use, the same model serves
    ref2, ok = deployed(
        fleet,
        clock,
        model=model.name,
        instance_type=instance.name,
        config_id="a11ce00000000002",
        env={"SM_VLLM_MAX_MODEL_LEN": "8192"},
    )
    assert ok.status == "succeeded" and ok.detail["endpoint_url"]
    fleet.clean([ref2], keep=False)


def test_sglang_serves_where_vllm_refuses_the_long_context(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    fleet = fleet_for(clock, catalog, server)
    ref, state = deployed(
        fleet,
        clock,
        model="Qwen/Qwen3-8B",
        instance_type="ml.g5.2xlarge",
        deployment_config="transformers-sglang",
        config_id="a11ce00000000003",
    )
    assert state.status == "succeeded"
    fleet.clean([ref], keep=False)


# --------------------------------------------------------------------------- gated models and staged weights


def test_a_gated_model_read_from_the_hub_without_a_token_fails_with_the_hubs_401(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given a gated model deployed straight from the Hub (no staged weights, no token)
    fleet = fleet_for(clock, catalog, server)
    model = "meta-llama/Llama-3.2-1B-Instruct"
    assert catalog.model(model).gated
    ref, state = deployed(fleet, clock, model=model, staged=False, config_id="a11ce00000000011")

    # Then the container dies on huggingface_hub's GatedRepoError, an account failure (not the config's)
    assert state.status == "failed"
    line = log_line(state)
    assert line.startswith("huggingface_hub.errors.GatedRepoError: 401 Client Error.")
    assert (
        f"Cannot access gated repo for url https://huggingface.co/{model}/resolve/main/config.json.\n"
        f"Access to model {model} is restricted. You must have access to it and be authenticated to access it. "
        "Please log in."
    ) in line
    assert line == gated_repo_error(model)
    text = state.failure_text or ""
    verdict = classify(text, stage="deploy")
    assert verdict.category == "service_limitation"
    assert verdict.failure_scope == "account"
    fleet.clean([ref], keep=False)


@pytest.mark.parametrize(
    ("staged", "env"),
    [(True, {}), (False, {"HF_TOKEN": "hf_simulated"})],
    ids=["weights-staged-in-s3", "token-in-the-container"],
)
def test_a_gated_model_starts_from_staged_weights_or_with_a_token(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer, staged: bool, env: dict[str, str]
) -> None:
    fleet = fleet_for(clock, catalog, server)
    ref, state = deployed(
        fleet, clock, model="meta-llama/Llama-3.2-1B-Instruct", staged=staged, env=env, config_id="a11ce00000000012"
    )
    assert state.status == "succeeded", state.failure_text
    fleet.clean([ref], keep=False)


def test_model_source_s3_without_model_data_uri_fails_like_start_sh(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given staged weights announced in the environment but no ModelDataSource in the request
    fleet = fleet_for(clock, catalog, server)
    env = {"MODEL_SOURCE": "s3", "MODEL_S3_URI": "s3://pp-bucket/weights/Qwen/Qwen3-0.6B/"}
    ref, state = deployed(fleet, clock, staged=False, env=env, config_id="a11ce00000000013")

    # Then the container's start.sh refuses: /opt/ml/model is empty
    assert state.status == "failed"
    assert log_line(state) == (
        "start.sh: error: MODEL_SOURCE=s3 but /opt/ml/model has no config.json: the deploy request must set "
        "PrimaryContainer.ModelDataSource.S3DataSource to s3://pp-bucket/weights/Qwen/Qwen3-0.6B/"
    )
    fleet.clean([ref], keep=False)


# --------------------------------------------------------------------------- endpoint quotas


def test_a_new_account_has_no_quota_for_large_gpus(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given the stack right after cdk deploy in a new account
    fleet = fleet_for(clock, catalog, server, account=fresh_account())

    # When a p4d endpoint is created
    ref = fleet.start_deploy(deploy_spec("Qwen/Qwen3-8B", "ml.p4d.24xlarge", tp=8, config_id="a11ce00000000021"))

    # Then CreateEndpoint is refused with SageMaker's ResourceLimitExceeded text, an account failure
    assert ref.start_failure == (
        "CreateEndpoint failed: ResourceLimitExceeded: The account-level service limit 'ml.p4d.24xlarge for "
        "endpoint usage' is 0 Instances, with current utilization of 0 Instances and a request delta of 1 "
        "Instances. Please use AWS Service Quotas to request an increase for this quota. If AWS Service Quotas is "
        "not available, contact AWS support to request an increase for this quota. (simulated)"
    )
    verdict = classify(ref.start_failure, stage="deploy", origin="api")
    assert verdict.category == "service_limitation"
    assert verdict.failure_scope == "account"
    state = fleet.check(ref)
    assert state.status == "failed" and state.detail["start_failed"]
    assert fleet.billed_seconds(ref) == 0.0
    # Nothing billing was created (the model and endpoint config were, as on AWS, and clean removes them)
    assert fleet.alive({}, billing_only=True) == []
    assert fleet.clean([ref], keep=False).ok and fleet.alive({}) == []


def test_quota_counts_the_instances_still_held(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given an account allowed two ml.g5.xlarge for endpoint usage
    account = AccountProfile(name="two-g5", endpoint_quotas={"ml.g5.xlarge": 2}, default_endpoint_quota=None)
    fleet = fleet_for(clock, catalog, server, account=account)
    first = fleet.start_deploy(deploy_spec(config_id="a11ce00000000031"))
    second = fleet.start_deploy(deploy_spec(config_id="a11ce00000000032"))
    assert first.start_failure is None and second.start_failure is None

    # When a third endpoint asks for one more
    third = fleet.start_deploy(deploy_spec(config_id="a11ce00000000033"))

    # Then it is refused with the current utilization
    assert "is 2 Instances, with current utilization of 2 Instances and a request delta of 1 Instances" in (
        third.start_failure or ""
    )
    # And a request for two instances at once is refused as soon as it would not fit
    fleet.clean([third], keep=False)
    fleet.clean([first], keep=False)
    pair = fleet.start_deploy(deploy_spec(config_id="a11ce00000000034", instance_count=2))
    assert "current utilization of 1 Instances and a request delta of 2 Instances" in (pair.start_failure or "")
    fleet.clean([pair], keep=False)

    # And a deleted endpoint frees its instance; another instance type is not limited
    again = fleet.start_deploy(deploy_spec(config_id="a11ce00000000035"))
    other = fleet.start_deploy(deploy_spec(instance_type="ml.g6.xlarge", config_id="a11ce00000000036"))
    assert again.start_failure is None and other.start_failure is None
    fleet.clean([second, again, other], keep=False)


def test_a_failed_endpoint_releases_its_instances(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given a quota of one ml.g5.xlarge and an endpoint whose container fails (not deleted yet)
    account = AccountProfile(name="one-g5", endpoint_quotas={"ml.g5.xlarge": 1})
    fleet = fleet_for(clock, catalog, server, account=account)
    failing = fleet.start_deploy(deploy_spec("meta-llama/Llama-3.1-70B-Instruct", config_id="a11ce00000000041"))
    assert failing.start_failure is None
    assert "current utilization of 1 Instances" in (
        fleet.start_deploy(deploy_spec(config_id="a11ce00000000042")).start_failure or ""
    )

    # When the failure surfaces (SageMaker releases a Failed endpoint's instances)
    assert run_until_done(fleet, clock, failing).status == "failed"

    # Then the next endpoint of that type is admitted before any clean-up
    admitted = fleet.start_deploy(deploy_spec(config_id="a11ce00000000043"))
    assert admitted.start_failure is None
    fleet.clean([failing, admitted], keep=False)


def test_the_established_account_is_not_limited_and_transforms_are_not_counted(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    assert ESTABLISHED.endpoint_quota("ml.p5.48xlarge") is None
    fleet = fleet_for(clock, catalog, server)
    refs = [fleet.start_deploy(deploy_spec(config_id=f"a11ce000000000{50 + i}")) for i in range(6)]
    assert all(ref.start_failure is None for ref in refs)
    fleet.clean(refs, keep=False)
    # Batch transform uses '<type> for transform job usage', which the simulation does not limit.
    fresh = fleet_for(clock, catalog, server, account=fresh_account())
    batch = fresh.start_deploy(
        deploy_spec("Qwen/Qwen3-8B", "ml.p4d.24xlarge", tp=8, config_id="a11ce00000000059", target="batch-transform")
    )
    assert batch.start_failure is None
    fresh.clean([batch], keep=False)


def test_new_account_quotas_cover_the_catalog_small_types_usable_large_ones_zero(catalog: Catalog) -> None:
    account = fresh_account()
    for name in catalog.instances:
        assert name in NEW_ACCOUNT_ENDPOINT_QUOTAS, f"{name}: no new-account quota (sourced or assumption)"
    assert NEW_ACCOUNT_DEFAULT_ENDPOINT_QUOTA == 0
    for usable in ("ml.g5.xlarge", "ml.g5.2xlarge", "ml.g6.xlarge", "ml.g6e.xlarge"):
        assert (account.endpoint_quota(usable) or 0) >= 1, usable
    for zero in ("ml.p4d.24xlarge", "ml.p4de.24xlarge", "ml.p5.48xlarge", "ml.g5.48xlarge", "ml.g6.48xlarge"):
        assert account.endpoint_quota(zero) == 0, zero
    assert account.endpoint_quota("ml.x99.unknown") == 0


# --------------------------------------------------------------------------- durations


def test_durations_are_jittered_deterministically_around_the_catalog_figure(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    factors = [duration_factor(f"{i:016x}", 1, "endpoint") for i in range(2000)]
    low, high = DURATION_JITTER_BOUNDS
    assert all(low <= f <= high for f in factors)
    assert statistics.median(factors) == pytest.approx(1.0, abs=0.03)
    spread = statistics.pstdev([math.log(f) for f in factors])
    assert spread == pytest.approx(0.2, abs=0.02)
    # Same (config, attempt, kind): same factor; a retry or another kind of job draws again.
    assert duration_factor("c0ffee0000000001", 1, "endpoint") == duration_factor("c0ffee0000000001", 1, "endpoint")
    assert duration_factor("c0ffee0000000001", 2, "endpoint") != duration_factor("c0ffee0000000001", 1, "endpoint")
    assert duration_factor("c0ffee0000000001", 1, "training-job") != duration_factor("c0ffee0000000001", 1, "endpoint")
    assert duration_factor("c0ffee0000000001", 1, "endpoint", sigma=0.0) == 1.0

    # The fleet applies it to deploys and training jobs; sigma 0 gives the catalog figure exactly.
    minutes = catalog.search_space.timing.minutes("deploy", 0.6)
    jittered = fleet_for(clock, catalog, server).start_deploy(deploy_spec(config_id="a11ce00000000061"))
    exact = fleet_for(clock, catalog, server, duration_jitter_sigma=0.0).start_deploy(
        deploy_spec(config_id="a11ce00000000062")
    )
    assert int(jittered.meta["simulated_duration_s"]) == int(
        minutes * 60 * duration_factor("a11ce00000000061", 1, "endpoint")
    )
    assert int(exact.meta["simulated_duration_s"]) == int(minutes * 60)
    training = fleet_for(clock, catalog, server).start_training(
        TrainingSpec(
            execution_id="local-exec-1",
            config_id="a11ce00000000063",
            job_name="pp-tune-jitter",
            training_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/pp-tune:1",
            hyperparameters={"model_id": "Qwen/Qwen3-0.6B"},
            role_arn=ROLE,
            instance_type="ml.g5.2xlarge",
            output_s3="s3://pp-bucket/tune/",
            expiry=datetime(2026, 11, 24, tzinfo=UTC),
        )
    )
    # Training time is the fleet's own truth (steps, batch, model size), not the catalog's tune minutes.
    tune_s = training_run(
        catalog.model("Qwen/Qwen3-0.6B"),
        catalog.instance("ml.g5.2xlarge"),
        max_steps=50,
        lora_rank=8,
        batch_size=4,
        seq_len=512,
        weights_from_s3=False,
        facts=load_facts(catalog),
    ).duration_s
    assert int(training.meta["simulated_duration_s"]) == int(
        tune_s * duration_factor("a11ce00000000063", 1, "training-job")
    )
    with pytest.raises(ValueError, match="duration_jitter_sigma"):
        fleet_for(clock, catalog, server, duration_jitter_sigma=-0.1)
