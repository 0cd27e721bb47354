"""Tuned proves end to end on the local runtime: tune -> adapter -> test by name -> benchmark, within budget."""

import io
import json
import tarfile
from pathlib import Path

from typer.testing import CliRunner

from pathprover.adapters.local.fleet import simulated_adapter
from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.brain.history import read_history
from pathprover.cli.app import app
from pathprover.runtime.local import LocalRuntime
from pathprover.stages.lifecycle import ADAPTER_NAME
from tests.e2e.conftest import rows_for

TUNED_STAGES = ["generate", "build", "push", "deploy", "test", "tune", "adapter", "benchmark", "clean"]
QWEN_4B = {"model_name": "Qwen/Qwen3-4B", "instance_type": "ml.g6.xlarge"}


def _outcomes(prove: dict) -> list[tuple[str, str]]:
    return [(s["stage"], s["outcome"]) for s in prove["stages"]]


def test_a_tuned_prove_completes_within_its_reservation_and_the_budget(seeded):
    # Given the issue's target: Qwen3-4B on ml.g6.xlarge with tune and adapter, and a $5 budget
    with LocalRuntime(seeded) as runtime:
        trained: list = []
        start_training = runtime.fleet.start_training
        runtime.fleet.start_training = lambda spec: trained.append(spec) or start_training(spec)  # type: ignore[method-assign]
        # When the run proves it
        outcome = runtime.run({"TARGETS": [{**QWEN_4B, "stages": TUNED_STAGES}], "MAX_COST_PER_RUN": 5})
        alive = runtime.fleet.alive({})
        source = runtime.artifacts.get_bytes(json.loads(trained[0].hyperparameters["sagemaker_submit_directory"]))
    summary = outcome.summary
    prove = summary["proves"][0]
    planned = summary["planned"][0]
    # Then it completes with every stage succeeded, the adapter tested by name and benchmarked
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert prove["status"] == "completed", prove["failure_reason"]
    assert _outcomes(prove) == [
        ("generate", "succeeded"),
        ("build", "succeeded"),
        ("push", "succeeded"),
        ("deploy", "succeeded"),
        ("test", "succeeded"),
        ("tune", "succeeded"),
        ("adapter", "succeeded"),
        ("test", "succeeded"),
        ("benchmark", "succeeded"),
        ("register", "succeeded"),
        ("clean", "succeeded"),
    ]
    assert prove["stages"][7]["note"] == f"HTTP 200, adapter {ADAPTER_NAME}"
    # And what it cost stays within what it reserved and within MAX_COST_PER_RUN, with nothing left alive
    assert prove["actual_cost_usd"] <= planned["reserved_usd"] <= 5
    assert summary["actual_cost_usd"] <= 5 and alive == []
    # And the reservation covers the training job and the adapter endpoint (more than an untuned prove)
    assert planned["tuned"] is True and planned["estimated_hours"] > 2.0
    # And the training job was sent the entry point and its source, which holds the script and the data
    assert json.loads(trained[0].hyperparameters["sagemaker_program"]) == "train.py"
    with tarfile.open(fileobj=io.BytesIO(source), mode="r:gz") as tar:
        assert {"train.py", "requirements.txt", "data/train.jsonl"} <= set(tar.getnames())
    # And the rows are completed and say the prove was tuned
    rows = rows_for(seeded, outcome.execution_name, "status, tuned")
    assert rows and {(r["status"], r["tuned"]) for r in rows} == {("completed", True)}


def test_the_cli_run_of_the_issue_target_ends_completed(tmp_path: Path):
    # Given the issue's targets file
    targets = tmp_path / "tune.yaml"
    targets.write_text(
        "- model_name: Qwen/Qwen3-4B\n  instance_type: ml.g6.xlarge\n"
        "  stages: [generate, build, push, deploy, test, tune, adapter, benchmark, clean]\n"
    )
    # When `pathprover run --targets FILE --json` runs it
    result = CliRunner().invoke(
        app,
        ["run", "--targets", str(targets), "--warehouse", str(tmp_path / "w"), "--max-cost", "5", "--json"],
        catch_exceptions=False,
    )
    # Then it ends completed, tune / adapter / benchmark succeeded, within --max-cost
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    prove = summary["proves"][0]
    assert prove["status"] == "completed", prove["failure_reason"]
    stages = dict(_outcomes(prove))
    assert stages["tune"] == stages["adapter"] == stages["benchmark"] == "succeeded"
    assert summary["actual_cost_usd"] <= 5


def test_an_adapter_stage_validates_a_given_adapter(seeded):
    # Given an existing PEFT adapter for Qwen3-1.7B in S3 and a target that validates it (no tune)
    with LocalRuntime(seeded) as runtime:
        uri = runtime.artifacts.put_bytes("adapters/qwen3-1.7b/model.tar.gz", simulated_adapter("Qwen/Qwen3-1.7B", 16))
        target = {"model_name": "Qwen/Qwen3-1.7B", "instance_type": "ml.g5.xlarge", "adapter_s3_uri": uri}
        # When the run proves it
        outcome = runtime.run({"TARGETS": [target], "MAX_COST_PER_RUN": 10})
    prove = outcome.summary["proves"][0]
    # Then the adapter is deployed and tested by name, then benchmarked; nothing is trained
    assert prove["status"] == "completed", prove["failure_reason"]
    stages = _outcomes(prove)
    assert ("adapter", "succeeded") in stages and "tune" not in dict(stages)
    assert stages.count(("test", "succeeded")) == 2 and ("benchmark", "succeeded") in stages


def test_an_adapter_trained_for_another_model_fails_the_adapter_stage(seeded):
    # Given an adapter trained for Llama 3.2 1B, given to validate on Qwen3-1.7B
    with LocalRuntime(seeded) as runtime:
        uri = runtime.artifacts.put_bytes(
            "adapters/llama/model.tar.gz", simulated_adapter("meta-llama/Llama-3.2-1B-Instruct", 8)
        )
        target = {"model_name": "Qwen/Qwen3-1.7B", "instance_type": "ml.g5.xlarge", "adapter_s3_uri": uri}
        outcome = runtime.run({"TARGETS": [target], "MAX_COST_PER_RUN": 10})
        alive = runtime.fleet.alive({})
    prove = outcome.summary["proves"][0]
    # Then the adapter stage fails as the engine's failure to load the adapter, and nothing is left alive
    assert prove["status"] != "completed" and prove["failure_stage"] == "adapter"
    assert prove["failure_category"] == "model_incompatibility", prove
    assert alive == []


def test_bad_tune_and_adapter_requests_are_refused_at_plan_time_and_create_nothing(seeded):
    bad = {
        "adapter without tune or adapter_s3_uri": (
            {**QWEN_4B, "stages": ["generate", "build", "push", "deploy", "test", "adapter", "clean"]},
            "no adapter to serve",
        ),
        "an adapter URI that is not S3": (
            {**QWEN_4B, "adapter_s3_uri": "https://example.com/adapter.tar.gz"},
            "must be an s3://",
        ),
        "an engine that cannot serve LoRA": (
            {**QWEN_4B, "deployment_config": "tensorrt-llm", "stages": TUNED_STAGES},
            "tensorrt-llm cannot serve LoRA adapters",
        ),
        "a non-realtime target": (
            {**QWEN_4B, "deployment_target": "async-inference", "stages": TUNED_STAGES},
            "realtime-inference only",
        ),
        "a mixture-of-experts model": (
            {"model_name": "Qwen/Qwen3-30B-A3B", "instance_type": "ml.g6e.12xlarge", "stages": TUNED_STAGES},
            "mixture-of-experts",
        ),
    }
    with LocalRuntime(seeded) as runtime:
        for case, (target, words) in bad.items():
            outcome = runtime.run({"TARGETS": [target], "MAX_COST_PER_RUN": 10})
            # Then the execution fails in its first state with a clear reason, and nothing is created
            assert outcome.status == "FAILED", case
            assert words in (outcome.cause or ""), (case, outcome.cause)
            assert rows_for(seeded, outcome.execution_name) == [], case
        assert runtime.fleet.alive({}) == []


def test_a_model_the_instance_cannot_train_is_unfeasible_to_tune_but_not_to_serve(seeded):
    # Given Qwen3-14B in fp8, which serves on one 22 GiB L4 but cannot be trained there in bf16
    target = {
        "model_name": "Qwen/Qwen3-14B",
        "instance_type": "ml.g6.xlarge",
        "quantization": "fp8",
        "stages": TUNED_STAGES,
    }
    with LocalRuntime(seeded) as runtime:
        outcome = runtime.run({"TARGETS": [target], "MAX_COST_PER_RUN": 10})
        alive = runtime.fleet.alive({})
    history = read_history(LocalWarehouse(seeded))
    prove = outcome.summary["proves"][0]
    # Then the tune stage fails with the training job's CUDA OOM: unfeasible to tune, nothing left alive
    assert (prove["status"], prove["failure_stage"], prove["failure_category"]) == ("unfeasible", "tune", "oom")
    assert prove["actual_cost_usd"] <= outcome.summary["planned"][0]["reserved_usd"] and alive == []
    # And the brain does not hold the inference config back: a tuned failure says nothing about serving it
    key = tuple(prove["dimensions"].values())
    assert key not in history.configs or history.configs[key].unfeasible_at is None
