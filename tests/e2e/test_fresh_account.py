"""Day one: the stack right after `cdk deploy` (empty table, runner image not built, token secret present)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from pathprover.adapters.local.account import fresh_account
from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.catalog import default_catalog
from pathprover.cli.app import app
from pathprover.runtime.local import LocalRuntime

CATALOG = default_catalog()


def _rows(warehouse: Path) -> list[dict]:
    result = LocalWarehouse(warehouse).query(
        "SELECT config_id, model_name, status, failure_scope FROM mlcc_ci.benchmark_results"
    )
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_the_guides_first_run_on_a_fresh_account_proves_configurations(tmp_path):
    # Given a fresh stack: no rows, no runner image yet, the token secret present
    warehouse = tmp_path / "warehouse"
    # When the guide's first run starts (5 proves, $50), as `pathprover run --fresh-account` does
    result = CliRunner().invoke(
        app,
        ["run", "--fresh-account", "--max-proves", "5", "--max-cost", "50", "--json", "--warehouse", str(warehouse)],
        catch_exceptions=False,
    )
    # Then it succeeds, proving at least three configs, one of them a gated model
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "SUCCEEDED" and summary["simulated_account"] == "fresh"
    rows = _rows(warehouse)
    proved = {r["model_name"] for r in rows if r["status"] == "completed"}
    assert len({r["config_id"] for r in rows if r["status"] == "completed"}) >= 3
    assert any(CATALOG.model(m).gated for m in proved)
    # And no unfeasible verdict is written for what is not the configuration's fault
    assert all(r["failure_scope"] in (None, "config") for r in rows if r["status"] == "unfeasible")
    # And gated weights came from S3 (the stage step ran), and the runner image was built before a benchmark
    gated = [p for p in summary["proves"] if CATALOG.model(p["model_name"]).gated and p["status"] == "completed"]
    assert all(p["stages"][0]["stage"] == "stage" for p in gated)
    benchmarked = [p for p in summary["proves"] if any(s["stage"] == "benchmark" for s in p["stages"])]
    assert benchmarked, "the first run should include a realtime prove that benchmarks"
    assert summary["fleet_alive_after_run"] == []


def test_a_gated_target_without_the_token_secret_is_refused_at_plan_time_naming_the_secret(tmp_path):
    # Given an account without the Hugging Face token secret
    account = fresh_account(token_secret=False)
    target = {
        "deployment_config": "vllm",
        "model_name": "meta-llama/Llama-3.2-1B-Instruct",
        "instance_type": "ml.g5.xlarge",
    }
    with LocalRuntime(tmp_path / "warehouse", account=account) as runtime:
        # When a run asks for a gated model
        outcome = runtime.run({"TARGETS": [target], "MAX_COST_PER_RUN": 20})
        # Then the plan fails, naming the secret, and nothing was created
        assert outcome.status == "FAILED"
        assert "pathprover/huggingface-token" in (outcome.cause or "")
        assert "does not exist" in (outcome.cause or "")
        assert runtime.fleet.inventory() == []
        assert runtime.builder.image_exists(runtime.settings.runner_image_uri) is False
    assert not LocalWarehouse(tmp_path / "warehouse").exists()


def test_a_first_run_without_the_token_secret_proves_only_open_models(tmp_path):
    # Given a fresh account whose token secret was never created
    with LocalRuntime(tmp_path / "warehouse", account=fresh_account(token_secret=False)) as runtime:
        # When the guide's first run plans from the catalog
        outcome = runtime.run({"MAX_PROVES_PER_RUN": 4, "MAX_COST_PER_RUN": 25})
    # Then it succeeds without any gated model, and says why gated ones were left out
    assert outcome.status == "SUCCEEDED", outcome.cause
    summary = outcome.summary or {}
    assert summary["proves"] and not any(CATALOG.model(p["model_name"]).gated for p in summary["proves"])
    assert summary["excluded_counts"].get("needs_secret", 0) > 0


def test_a_fifty_prove_run_stays_well_inside_step_functions_limits(seeded):
    # Given the largest run the input allows, in 16 lanes
    with LocalRuntime(seeded) as runtime:
        # When it runs on the interpreter that enforces Step Functions' limits
        outcome = runtime.run({"MAX_PROVES_PER_RUN": 50, "MAX_COST_PER_RUN": 1000, "PARALLEL_LANES": 16})
    # Then it succeeds, with its largest state and its history far from 256 KB and 25,000 events
    assert outcome.status == "SUCCEEDED", outcome.cause
    summary = outcome.summary or {}
    assert len(summary["proves"]) == 50
    assert outcome.limit_exceeded is None
    assert 0 < summary["max_state_bytes"] < 200_000
    assert 0 < summary["history_events"] < 20_000
    # And the summary's own estimates (what it reports on AWS) agree with what the interpreter measured
    assert abs(summary["history_events_estimated"] - summary["history_events"]) <= 0.05 * summary["history_events"]
    assert abs(summary["max_state_bytes_estimated"] - summary["max_state_bytes"]) <= 0.05 * summary["max_state_bytes"]


def _targets(*pairs: tuple[str, str]) -> list[dict]:
    return [{"deployment_config": "vllm", "model_name": m, "instance_type": i} for m, i in pairs]


def test_the_plan_keeps_each_lane_within_the_executions_timeout(tmp_path):
    from pathprover.workflow.planning import EXECUTION_TIMEOUT_S, plan_execution

    # Given eight proves of a 671B model (about 11 h each at the deadline factor) for one lane
    big = _targets(("deepseek-ai/DeepSeek-R1", "ml.p5e.48xlarge"))[0]
    targets = [
        {**big, "deployment_config": engine, "quantization": q}
        for engine in ("vllm", "sglang")
        for q in ("none", "fp8", "awq", "gptq")
    ]
    with LocalRuntime(tmp_path / "warehouse") as runtime:
        plan = plan_execution({"TARGETS": targets, "MAX_COST_PER_RUN": 100_000}, "e-time", runtime.services)
    # Then what cannot finish before TimeoutSeconds is left out, saying so, before anything starts
    over = [e for e in plan.excluded if e["kind"] == "over_time"]
    assert over and len(plan.selected) + len(over) == 8
    assert f"{EXECUTION_TIMEOUT_S / 3600:.0f} h" in over[0]["reason"]


def test_a_type_with_a_quota_of_one_runs_in_one_lane(tmp_path):
    from pathprover.workflow.planning import plan_execution

    # Given a fresh account (ml.g6.xlarge: 1 instance for endpoint usage) and three proves on it in three lanes
    targets = [
        {**t, "quantization": q}
        for t, q in zip(_targets(*[("Qwen/Qwen3-0.6B", "ml.g6.xlarge")] * 3), ["none", "fp8", "awq"], strict=True)
    ]
    with LocalRuntime(tmp_path / "warehouse", account=fresh_account()) as runtime:
        plan = plan_execution({"TARGETS": targets, "PARALLEL_LANES": 3}, "e-quota", runtime.services)
    # Then they queue in one lane instead of racing each other for the one instance
    busy = [lane for lane in plan.lanes if lane.has_prove]
    assert len(plan.selected) == 3 and len(busy) == 1 and busy[0].queue_total == 3


def test_a_model_too_large_for_any_staging_path_is_left_out_with_the_reason(tmp_path):
    from pathprover.workflow.planning import plan_execution

    # Given a gated model whose checkpoint (810 GB) no stage build can hold, and one that fits a 2XLARGE build
    targets = _targets(
        ("meta-llama/Llama-3.1-405B-Instruct", "ml.p5e.48xlarge"),
        ("meta-llama/Llama-3.1-70B-Instruct", "ml.p4d.24xlarge"),
    )
    with LocalRuntime(tmp_path / "warehouse") as runtime:
        plan = plan_execution({"TARGETS": targets, "MAX_COST_PER_RUN": 10_000}, "e-big", runtime.services)
    # Then the first is excluded saying why, and the second is planned (staged on the larger build)
    [excluded] = [e for e in plan.excluded if e["kind"] == "too_large_to_stage"]
    assert excluded["model_family"] == "llama3" and "810 GB" in excluded["reason"]
    assert [s["model_name"] for s in plan.selected] == ["meta-llama/Llama-3.1-70B-Instruct"]


def test_a_token_in_a_failure_leaves_no_piece_of_it_in_the_table_or_the_summary(seeded):
    from pathprover.adapters.local.faults import parse_faults

    # Given a deploy failure whose log holds a Hugging Face token ~100 characters before the error phrase
    token = "hf_" + "Qx7" * 11 + "K"
    error = (
        "The primary container for production variant AllTraffic did not pass the ping health check.\n"
        f"loading weights with HF_TOKEN={token} from the hub, sharded into safetensors files (4 of 4) ........ "
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB."
    )
    faults = parse_faults([{"match": {"model_name": "Qwen/Qwen3-0.6B"}, "stage": "deploy", "error": error}], "f")
    with LocalRuntime(seeded, faults=faults) as runtime:
        outcome = runtime.run({"TARGETS": _targets(("Qwen/Qwen3-0.6B", "ml.g5.xlarge"))})
    # Then the row, its notes and the run summary hold no piece of it
    result = LocalWarehouse(seeded).query(
        f"SELECT * FROM mlcc_ci.benchmark_results WHERE execution_id = '{outcome.execution_name}'"
    )
    everything = json.dumps([result.rows, outcome.summary], default=str)
    assert "OutOfMemoryError" in everything  # the evidence is there...
    for piece in (token[3:11], token[11:19], token[-8:]):
        assert piece not in everything  # ...the token is not
