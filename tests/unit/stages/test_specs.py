"""stages/specs.py: the deploy and training specs validate their fields and carry the stack tag."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pathprover.stages.naming import resource_names
from pathprover.stages.specs import DeploySpec, TrainingSpec

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/pp"


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
