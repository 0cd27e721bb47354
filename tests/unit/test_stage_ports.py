"""Stage ports: the poll interval, deterministic resource names, tags and the spec/state models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pathprover.stages.jobs import MAX_WAIT_SECONDS, MIN_WAIT_SECONDS, JobState, suggest_wait
from pathprover.stages.naming import SAGEMAKER_NAME, resource_names, standard_tags
from pathprover.stages.specs import DeploySpec, TrainingSpec

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/pp"

seconds = st.floats(min_value=0, max_value=10 * 24 * 3600, allow_nan=False)


# --------------------------------------------------------------------------- suggest_wait


@given(seconds, seconds, st.booleans())
def test_suggest_wait_is_bounded(elapsed: float, expected: float, billing: bool) -> None:
    assert MIN_WAIT_SECONDS <= suggest_wait(elapsed, expected, billing) <= MAX_WAIT_SECONDS


@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True), st.booleans())
def test_suggest_wait_survives_any_float(elapsed: float, expected: float, billing: bool) -> None:
    assert MIN_WAIT_SECONDS <= suggest_wait(elapsed, expected, billing) <= MAX_WAIT_SECONDS


@given(seconds, seconds)
def test_billing_never_waits_longer(elapsed: float, expected: float) -> None:
    assert suggest_wait(elapsed, expected, True) <= suggest_wait(elapsed, expected, False)


@given(st.floats(min_value=1, max_value=86400), st.data(), st.booleans())
def test_wait_shrinks_as_the_expected_end_approaches(expected: float, data: st.DataObject, billing: bool) -> None:
    a = data.draw(st.floats(min_value=0, max_value=expected))
    b = data.draw(st.floats(min_value=a, max_value=expected))
    if b < expected:
        assert suggest_wait(b, expected, billing) <= suggest_wait(a, expected, billing)


def test_suggest_wait_examples() -> None:
    # early in a two-hour tune job: poll rarely
    assert suggest_wait(0, 7200, billing=True) == 600
    assert suggest_wait(0, 7200, billing=False) == 600
    # a 12-minute build: wait out the expected time in two polls
    assert suggest_wait(0, 720, billing=False) == 600
    assert suggest_wait(600, 720, billing=False) == 120
    # a billing endpoint: 90 % of the time left, then straight to the expected end
    assert suggest_wait(0, 600, billing=True) == 540
    assert suggest_wait(540, 600, billing=True) == 60
    assert suggest_wait(880, 900, billing=True) == 20
    # overdue: a tenth of the time taken so far (plus 15 s / 30 s), capped
    assert suggest_wait(901, 900, billing=True) == 106
    assert suggest_wait(100_000, 900, billing=True) == 120
    assert suggest_wait(100_000, 900, billing=False) == 300
    # a deploy half again as long as expected is seen within a few polls
    elapsed, polls = 600.0, 0
    while elapsed < 900:
        elapsed += suggest_wait(elapsed, 600, billing=True)
        polls += 1
    assert polls <= 4 and elapsed - 900 <= 120
    # unknown expectation
    assert suggest_wait(50, 0, billing=True) == 30
    assert suggest_wait(-5, float("nan"), billing=False) == 60


@given(st.floats(min_value=60, max_value=4 * 3600), st.booleans())
def test_polls_to_reach_the_expected_end_are_few(expected: float, billing: bool) -> None:
    # Given a job that ends exactly when expected / When polled with the suggested waits
    elapsed, polls = 0.0, 0
    while elapsed < expected:
        elapsed += suggest_wait(elapsed, expected, billing)
        polls += 1
    # Then it is seen within a handful of polls and soon after it ended
    assert polls <= expected / 600 + 8
    assert elapsed - expected <= 600


# --------------------------------------------------------------------------- resource names


@given(st.text(max_size=500), st.text(max_size=80), st.integers(min_value=1, max_value=10**9), st.text(max_size=20))
def test_resource_names_are_valid_and_short(execution: str, config_id: str, attempt: int, variant: str) -> None:
    names = resource_names(execution, config_id, attempt, variant)
    for name in names.model_dump().values():
        assert len(name) <= 63
        assert SAGEMAKER_NAME.match(name)
        assert name.startswith("pp-")
    assert resource_names(execution, config_id, attempt, variant) == names  # deterministic
    assert len(set(names.model_dump().values())) == 5


@given(st.text(max_size=100), st.text(max_size=40), st.integers(min_value=1, max_value=1000))
def test_a_new_attempt_or_variant_gets_new_names(execution: str, config_id: str, attempt: int) -> None:
    names = resource_names(execution, config_id, attempt)
    assert resource_names(execution, config_id, attempt + 1).endpoint != names.endpoint
    assert resource_names(execution, config_id, attempt, "adapter").endpoint != names.endpoint


def test_resource_names_pin() -> None:
    names = resource_names("exec-1", "0123456789abcdef", 1)
    assert names.endpoint.startswith("pp-0123456789ab-") and names.endpoint.endswith("-ep")
    assert len(names.endpoint) == len("pp-0123456789ab-") + 16 + 3


# --------------------------------------------------------------------------- tags and models


def test_standard_tags() -> None:
    tags = standard_tags("arn:aws:states:us-east-1:1:execution:sm:run#1", "abc", NOW + timedelta(hours=2))
    assert tags == {
        "managed-by": "path-prover",
        "pathprover:execution": "arn:aws:states:us-east-1:1:execution:sm:run_1",
        "pathprover:config_id": "abc",
        "pathprover:expiry": "2026-11-23T14:00:00Z",
    }


def test_specs_tag_their_stack() -> None:
    from pathprover.adapters.aws.sagemaker import endpoint_config_request, training_job_request

    assert "pathprover:stack" not in deploy().all_tags
    spec = deploy(stack="MlccCiHarnessStack-blue", tags={"pathprover:stack": "forged"})
    assert spec.all_tags["pathprover:stack"] == "MlccCiHarnessStack-blue"
    assert {"Key": "pathprover:stack", "Value": "MlccCiHarnessStack-blue"} in endpoint_config_request(spec)["Tags"]
    training = TrainingSpec(
        execution_id="e",
        config_id="c",
        job_name=resource_names("e", "c", 1).training_job,
        training_image="img",
        role_arn=ROLE,
        instance_type="ml.g5.2xlarge",
        output_s3="s3://bkt/out/",
        expiry=NOW,
        stack="MlccCiHarnessStack",
    )
    assert {"Key": "pathprover:stack", "Value": "MlccCiHarnessStack"} in training_job_request(training)["Tags"]


def test_job_state_invariants() -> None:
    assert JobState.running(3).wait_seconds == MIN_WAIT_SECONDS
    assert JobState.running(9999).wait_seconds == MAX_WAIT_SECONDS
    assert JobState.succeeded().done
    with pytest.raises(ValidationError):
        JobState(done=True, status="failed", wait_seconds=0)  # a failure needs its text
    with pytest.raises(ValidationError):
        JobState(done=True, status="running", wait_seconds=10)


def deploy(**overrides: object) -> DeploySpec:
    values: dict[str, object] = {
        "execution_id": "e",
        "config_id": "c",
        "names": resource_names("e", "c", 1),
        "image_uri": "img",
        "instance_type": "ml.g5.xlarge",
        "target": "realtime-inference",
        "role_arn": ROLE,
        "expiry": NOW,
    }
    values.update(overrides)
    return DeploySpec(**values)


def test_deploy_spec_requires_the_fields_of_its_target() -> None:
    deploy()
    with pytest.raises(ValidationError, match="async_output_s3"):
        deploy(target="async-inference")
    with pytest.raises(ValidationError, match="batch_input_s3"):
        deploy(target="batch-transform", batch_output_s3="s3://bkt/out/")
    with pytest.raises(ValidationError, match="capacity reservation"):
        deploy(
            target="batch-transform",
            batch_input_s3="s3://bkt/in/",
            batch_output_s3="s3://bkt/out/",
            capacity_reservation_arn="arn:aws:sagemaker:us-east-1:123456789012:training-plan/x",
        )
    with pytest.raises(ValidationError):
        deploy(model_data_uri="https://example.com/model.tar.gz")


def test_training_spec_turns_hyperparameters_into_strings() -> None:
    spec = TrainingSpec(
        execution_id="e",
        config_id="c",
        job_name=resource_names("e", "c", 1).training_job,
        training_image="img",
        hyperparameters={"lora_rank": 8, "lr": 0.0002, "merge": True, "model": "Qwen/Qwen3-0.6B"},
        role_arn=ROLE,
        instance_type="ml.g5.2xlarge",
        output_s3="s3://bkt/out/",
        expiry=NOW,
    )
    assert spec.hyperparameters == {"lora_rank": "8", "lr": "0.0002", "merge": "true", "model": "Qwen/Qwen3-0.6B"}
