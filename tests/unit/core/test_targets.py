"""core/targets.py: targets are parsed strictly, named in every refusal, and filled from the catalog."""

import json

import pytest

from pathprover.catalog import default_catalog
from pathprover.core.targets import TargetError, ValidationTarget, load_targets, parse_targets, to_run_config
from tests.unit.conftest import TUNED, run_for

CATALOG = default_catalog()


def test_a_capacity_only_target_without_a_plan_is_refused_clearly():
    target = ValidationTarget(model_name="google/gemma-4-31B-it", instance_type="ml.p6-b200.48xlarge")
    with pytest.raises(TargetError, match=r"ml\.p6-b200\.48xlarge is capacity-only.*capacity_reservation_arn"):
        to_run_config(target, CATALOG)


def test_a_target_is_filled_from_the_catalog():
    # Given the guide's simplest target: a model and an instance
    [target] = parse_targets({"model_name": "Qwen/Qwen3-8B", "instance_type": "ml.g5.xlarge"})
    # When it becomes a run config
    run = to_run_config(target, CATALOG)
    # Then the dimensions come from the catalog and the defaults
    assert (run.vector.model_family, run.vector.instance_family) == ("qwen3", "g5")
    assert (run.vector.deployment_config, run.vector.deployment_target) == ("transformers-vllm", "realtime-inference")
    assert run.model_name == "Qwen/Qwen3-8B" and run.instance_type == "ml.g5.xlarge"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (None, "targets: no targets (the document is empty)"),
        ([], "targets: no targets"),
        (["Qwen/Qwen3-8B"], "targets[0]: a target must be a mapping, got str"),
        ([{"model_name": "Qwen/Qwen3-8B", "instance_typo": "ml.g5.xlarge"}], "targets[0]"),
        ({"model_name": "Qwen/Qwen3-8B", "tp_degree": "2"}, "tp_degree must be a whole number"),
    ],
)
def test_bad_targets_are_refused_naming_where(data, words):
    with pytest.raises(
        TargetError, match=words.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")
    ):
        parse_targets(data)


def test_an_unknown_model_is_refused():
    target = ValidationTarget(model_name="nobody/NoSuchModel-1B", instance_type="ml.g5.xlarge")
    with pytest.raises(ValueError, match="NoSuchModel"):
        to_run_config(target, CATALOG)


def test_targets_load_from_a_json_file_and_a_missing_file_is_a_target_error(tmp_path):
    path = tmp_path / "targets.json"
    path.write_text(json.dumps([{"model_name": "Qwen/Qwen3-8B", "instance_type": "ml.g5.xlarge"}]))
    [target] = load_targets(path)
    assert target.model_name == "Qwen/Qwen3-8B"
    with pytest.raises(TargetError):
        load_targets(tmp_path / "nothing-here.yaml")


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ({"stages": ["generate", "build", "deploy", "test", "adapter"]}, "no adapter to serve"),
        ({"adapter_s3_uri": "https://example.com/a.tar.gz"}, "must be an s3://"),
        ({"adapter_s3_uri": "s3://bucket/adapters/weights.bin"}, "model.tar.gz"),
        ({"adapter_s3_uri": "s3://bucket/a/", "stages": TUNED}, "both given"),
        ({"adapter_s3_uri": "s3://bucket/a/", "stages": ["generate", "build", "deploy", "test"]}, "do not include"),
        ({"stages": TUNED, "deployment_target": "batch-transform"}, "realtime-inference only"),
        ({"stages": TUNED, "deployment_config": "tensorrt-llm"}, "lora_request"),
        ({"stages": TUNED, "deployment_config": "http-flask"}, "cannot serve LoRA"),
        ({"stages": TUNED, "model_name": "openai/gpt-oss-20b", "instance_type": "ml.g6e.xlarge"}, "mxfp4"),
        ({"stages": TUNED, "instance_type": "ml.inf2.xlarge", "tp_degree": 2}, "GPU instance"),
        ({"tuning": {"lora_rank": 300}, "stages": TUNED}, "less than or equal to 256"),
    ],
)
def test_bad_tune_and_adapter_requests_are_refused_with_the_reason(target, words):
    with pytest.raises((TargetError, ValueError)) as refused:
        run_for(**target)
    assert words in str(refused.value)
