"""Tune and adapter requests, the training entry point and its source, the estimate and the LoRA flags."""

import importlib.util
import io
import os
import subprocess
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from pathprover.adapters.local.fleet import simulated_adapter
from pathprover.brain.feasibility import Placement
from pathprover.brain.plan import estimate
from pathprover.catalog import default_catalog
from pathprover.core.runconfig import RunConfig
from pathprover.core.targets import TargetError, parse_targets, to_run_config
from pathprover.generate.render import RenderError, render_bundle
from pathprover.stages.lifecycle import stage_plan

REPO = Path(__file__).resolve().parents[2]
CATALOG = default_catalog()
TUNED = ["generate", "build", "push", "deploy", "test", "tune", "adapter", "benchmark", "clean"]


def run_for(**target: object) -> RunConfig:
    values = {"model_name": "Qwen/Qwen3-4B", "instance_type": "ml.g6.xlarge", **target}
    return to_run_config(parse_targets(values)[0], CATALOG)


def train_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pp_train", REPO / "containers/training/train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------ requests
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


def test_a_runconfig_never_drops_an_adapter_stage_silently():
    run = run_for()
    with pytest.raises(ValueError, match="no adapter to serve"):
        RunConfig.model_validate({**run.model_dump(), "stages": [*run.stages, "adapter"]})


# ------------------------------------------------------------------------------------ estimate
def test_the_tuned_estimate_counts_training_and_the_adapter_endpoint():
    placement = Placement(model=CATALOG.model("Qwen/Qwen3-4B"), instance=CATALOG.instance("ml.g6.xlarge"))
    timing = CATALOG.search_space.timing
    plain = estimate(CATALOG, placement, "realtime-inference")
    tuned = estimate(CATALOG, placement, "realtime-inference", tune=True, adapter=True)
    extra = (timing.minutes("tune", 4.02) + timing.minutes("deploy", 4.02) + timing.minutes("test", 4.02)) / 60
    assert tuned.hours == pytest.approx(plain.hours + extra, abs=1e-3)


# ------------------------------------------------------------------------------------ the training script


def test_the_training_script_parses_its_hyperparameters_without_torch():
    # Given the entry point, imported where torch is not installed (heavy imports are deferred into train())
    train = train_module()
    # When SageMaker passes hyperparameters (underscores) or a person dashes
    args = train.parse_args(["--model_id", "Qwen/Qwen3-4B", "--max_steps", "7", "--lora-rank", "16"], env={})
    # Then they are read, with the defaults and the derived alpha
    assert (args.model_id, args.max_steps, args.lora_rank, args.lora_alpha, args.seed) == (
        "Qwen/Qwen3-4B",
        7,
        16,
        32,
        42,
    )
    assert args.model_dir == "/opt/ml/model" and args.gradient_checkpointing is True
    with pytest.raises(SystemExit):
        train.parse_args(["--model_id", "x/y", "--lora_rank", "0"], env={})
    with pytest.raises(SystemExit):
        train.parse_args(["--max_steps", "5"], env={})


def test_the_training_script_prefers_staged_weights_and_refuses_an_empty_channel(tmp_path):
    train = train_module()
    args = train.parse_args(["--model_id", "a/b"], env={"SM_CHANNEL_MODEL": str(tmp_path)})
    with pytest.raises(SystemExit, match=r"no config\.json"):
        train.model_source(args)
    (tmp_path / "config.json").write_text("{}")
    assert train.model_source(args) == str(tmp_path)
    assert train.model_source(train.parse_args(["--model_id", "a/b"], env={})) == "a/b"
    assert len(train.load_pairs(train.train_file(args))) >= 50


# ------------------------------------------------------------------------------------ serving flags
PRINT_COMMAND = 'printf "%s\\n" "${PP_ENGINE_CMD[@]}"'


def _engine_command(bundle_text: str, tmp_path: Path, adapter_rank: int | None) -> list[str]:
    adapter_dir = tmp_path / "adapter"
    script = tmp_path / "start.sh"
    script.write_text(bundle_text.replace("/opt/ml/additional-model-data-sources/adapter", str(adapter_dir)))
    env = {"PATH": os.environ["PATH"], "PATHPROVER_MODEL_ID": "Qwen/Qwen3-4B", "PATHPROVER_ENGINE_PORT": "8081"}
    if adapter_rank is not None:
        adapter_dir.mkdir(exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(simulated_adapter("Qwen/Qwen3-4B", adapter_rank)), mode="r:gz") as tar:
            tar.extractall(adapter_dir, filter="data")
        env["PATHPROVER_ADAPTER_NAME"] = "pathprover-lora"
    out = subprocess.run(
        [
            "bash",
            "-c",
            f'set -euo pipefail; source {script}; pp_engine_command; printf "%s\\n" "${{PP_ENGINE_CMD[@]}}"',
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return out.stdout.splitlines()


def test_a_tuned_vllm_bundle_starts_the_engine_with_the_adapter(tmp_path):
    bundle = render_bundle(run_for(stages=TUNED), CATALOG)
    start = bundle.text("serving/start.sh")
    assert "--enable-lora" in start and "--lora-modules" in start and "--max-lora-rank" in start
    # When the deploy names the adapter (rank 24): vLLM's smallest accepted max rank above it is 32
    command = _engine_command(start, tmp_path, 24)
    assert command[-7:] == [
        "--enable-lora", "--max-loras", "1", "--max-lora-rank", "32",
        "--lora-modules", f"pathprover-lora={tmp_path / 'adapter'}",
    ]  # fmt: skip
    # And without an adapter the same image serves the base model only
    assert "--enable-lora" not in _engine_command(start, tmp_path, None)


def test_a_tuned_sglang_bundle_passes_lora_paths(tmp_path):
    start = render_bundle(run_for(stages=TUNED, deployment_config="transformers-sglang"), CATALOG).text(
        "serving/start.sh"
    )
    command = _engine_command(start, tmp_path, 8)
    assert command[-6:] == [
        "--lora-paths", f"pathprover-lora={tmp_path / 'adapter'}", "--max-loras-per-batch", "1", "--max-lora-rank", "8"
    ]  # fmt: skip


def test_an_untuned_bundle_has_no_lora_and_a_lora_incapable_engine_is_not_rendered():
    assert "lora" not in render_bundle(run_for(), CATALOG).text("serving/start.sh").lower()
    run = run_for(deployment_config="tensorrt-llm")
    tuned = run.model_copy(update={"tuning": run_for(stages=TUNED).tuning})
    with pytest.raises(RenderError, match="cannot serve LoRA"):
        render_bundle(tuned, CATALOG)


@pytest.mark.parametrize(
    "text",
    [
        "AlgorithmError: ExecuteUserScriptError:\nExitCode 2\nErrorMessage \"python3: can't open file "
        "'/opt/ml/code/train.py': [Errno 2] No such file or directory\"",
        "Failed to download model data for the additional model data source 'adapter' (s3://b/a/model.tar.gz).",
        "start.sh: error: PATHPROVER_ADAPTER_NAME=x but /opt/ml/additional-model-data-sources/adapter has no "
        "adapter_config.json: s3://b/a/ is not a PEFT adapter",
    ],
)
def test_the_tune_stages_own_plumbing_failing_is_the_harness_never_the_config(text):
    from pathprover.classifier import classify

    verdict = classify(text, stage="tune", origin="job")
    assert verdict.failure_scope == "harness", verdict
