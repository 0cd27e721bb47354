"""generate/training.py: the training job's source archive and its script-mode hyperparameters."""

import io
import json
import tarfile

import pytest

from pathprover.generate.training import (
    decode_hyperparameter,
    script_mode_hyperparameters,
    source_tarball,
    training_source,
)


# ------------------------------------------------------------------------------------ training source
def test_the_source_tarball_holds_script_requirements_and_data():
    bundle = training_source()
    with tarfile.open(fileobj=io.BytesIO(source_tarball(bundle)), mode="r:gz") as tar:
        names = set(tar.getnames())
        requirements = tar.extractfile("requirements.txt").read().decode()  # type: ignore[union-attr]
        pairs = tar.extractfile("data/train.jsonl").read().decode().splitlines()  # type: ignore[union-attr]
    assert {"train.py", "requirements.txt", "data/train.jsonl"} <= names
    assert "peft==" in requirements
    assert len(pairs) >= 50 and all(json.loads(p)["instruction"] and json.loads(p)["response"] for p in pairs)


def test_script_mode_hyperparameters_are_json_as_the_sdk_sends_them():
    hyper = script_mode_hyperparameters("s3://b/src.tar.gz", "us-east-1", {"max_steps": 50, "model_id": "a/b"})
    assert hyper["sagemaker_program"] == '"train.py"'
    assert hyper["sagemaker_submit_directory"] == '"s3://b/src.tar.gz"'
    assert hyper["max_steps"] == "50" and json.loads(hyper["model_id"]) == "a/b"


@pytest.mark.parametrize(
    ("text", "value"), [('"train.py"', "train.py"), ("50", 50), ("true", True), ("plain words", "plain words")]
)
def test_a_hyperparameter_is_read_back_as_json_or_else_as_text(text, value):
    assert decode_hyperparameter(text) == value


def test_every_encoded_hyperparameter_decodes_to_what_was_given():
    arguments = {"max_steps": 50, "model_id": "a/b", "lora_rank": 16, "gradient_checkpointing": False}
    encoded = script_mode_hyperparameters("s3://b/src.tar.gz", "eu-west-1", arguments)
    assert {k: decode_hyperparameter(v) for k, v in encoded.items() if k in arguments} == arguments
    assert decode_hyperparameter(encoded["sagemaker_region"]) == "eu-west-1"
