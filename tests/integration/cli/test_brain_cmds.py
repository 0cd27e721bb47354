"""cli/brain_cmds.py end to end: gaps, plan and nearest on a seeded warehouse and on an empty one."""

import json

import duckdb

from tests.integration.cli.conftest import json_of, run, sql


def test_gaps_json_interface(warehouse):
    payload = json.loads(run("gaps", "--warehouse", str(warehouse), "--json", "--limit", "5").stdout)
    assert payload["total"] > 0 and len(payload["gaps"]) == 5
    first = payload["gaps"][0]
    for key in (
        "config_id",
        "deployment_config",
        "model_family",
        "instance_family",
        "quantization",
        "tp_degree",
        "deployment_target",
        "neighbors",
        "feasible",
        "reason",
    ):
        assert key in first
    assert isinstance(first["tp_degree"], int) and isinstance(first["neighbors"], int)
    neighbours = [g["neighbors"] for g in payload["gaps"] if g["feasible"]]
    assert neighbours == sorted(neighbours, reverse=True)


def test_plan_json_interface_and_limits(warehouse):
    payload = json.loads(
        run("plan", "--warehouse", str(warehouse), "--max-proves", "3", "--max-cost", "5", "--json").stdout
    )
    assert len(payload["selected"]) <= 3 and payload["estimated_total_usd"] <= 5
    for s in payload["selected"]:
        for key in ("config_id", "model_name", "instance_type", "estimated_hours", "estimated_cost_usd", "tp_degree"):
            assert key in s
    assert payload["excluded"] and all(e["reason"] for e in payload["excluded"])
    assert len(payload["selected"]) + payload["excluded_total"] == payload["gaps_total"]


def test_nearest_gives_the_guides_order(warehouse):
    result = run(
        "nearest",
        "--warehouse",
        str(warehouse),
        "--json",
        "--deployment-config",
        "transformers-sglang",
        "--model-family",
        "qwen3",
        "--instance-family",
        "g5",
        "--quantization",
        "fp16",
        "--tp-degree",
        "1",
        "--deployment-target",
        "async-inference",
    )
    payload = json.loads(result.stdout)
    assert payload["message"] is None
    got = [(s["distance"], s["changed"]) for s in payload["substitutions"]]
    assert got == [
        (1, ["deployment_config"]),
        (1, ["deployment_target"]),
        (2, ["deployment_config", "deployment_target"]),
    ]
    assert set(payload["substitutions"][0]["config"]) >= {"config_id", "run_timestamp", "model_family"}


def test_nearest_with_model_and_instance_names(warehouse):
    payload = json.loads(
        run(
            "nearest",
            "--warehouse",
            str(warehouse),
            "--json",
            "--deployment-config",
            "sglang",
            "--model-name",
            "Qwen/Qwen3-8B",
            "--instance-type",
            "ml.g5.xlarge",
            "--deployment-target",
            "async-inference",
        ).stdout
    )
    assert payload["substitutions"][0]["changed"] == ["deployment_config"]


def test_nearest_no_coverage_message(warehouse, tmp_path):
    # Given a table with only qwen3 proofs
    (tmp_path / "t.parquet").unlink(missing_ok=True)
    duckdb.sql(
        "COPY (SELECT 'transformers-vllm' AS deployment_config, 'qwen3' AS model_family, 'g5' AS instance_family,"
        " 'none' AS quantization, 1 AS tp_degree, 'realtime-inference' AS deployment_target) "
        f"TO '{tmp_path / 't.parquet'}' (FORMAT parquet)"
    )
    payload = json.loads(
        run(
            "nearest",
            "--table",
            str(tmp_path / "t.parquet"),
            "--json",
            "--deployment-config",
            "vllm",
            "--model-family",
            "gemma",
            "--instance-family",
            "g6",
        ).stdout
    )
    assert payload["substitutions"] == []
    assert payload["message"] == "no coverage — nearest proven config is 2 dimensions away"


def test_on_an_empty_warehouse_gaps_and_plan_start_from_the_catalog(tmp_path):
    # Given a warehouse with no rows (a first run) / When asking for the plan
    result = run("plan", "--max-proves", "5", "--max-cost", "25", "--warehouse", str(tmp_path / "empty"), "--json")
    # Then the brain plans from the catalog's search space instead of refusing
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert len(plan["selected"]) == 5
    assert len({(s["model_family"], s["instance_family"]) for s in plan["selected"]}) == 5
    assert plan["reserved_total_usd"] <= 25


# --------------------------------------------------------------------------- nearest
NEAREST = [
    "nearest",
    "--deployment-config",
    "sglang",
    "--model-name",
    "Qwen/Qwen3-8B",
    "--instance-type",
    "ml.g5.xlarge",
    "--deployment-target",
    "async-inference",
]


def test_nearest_names_model_instance_and_metrics_of_each_suggestion(run_warehouse, run_summary):
    # When asking for the guide's substitution
    payload = json_of(run(*NEAREST, "--warehouse", str(run_warehouse), "--json"))
    # Then the old keys are there and each suggestion adds the model, instance and metrics of its latest row
    assert payload["substitutions"]
    for s in payload["substitutions"]:
        assert {"distance", "changed", "config", "explanation"} <= set(s)
        row = sql(
            run_warehouse,
            "SELECT model_name, instance_type, cost_per_1m_tokens FROM mlcc_ci.benchmark_results "
            f"WHERE config_id = '{s['config']['config_id']}' AND status = 'completed' "
            "ORDER BY run_timestamp DESC LIMIT 1",
        )[0]
        assert (s["model_name"], s["instance_type"]) == (row["model_name"], row["instance_type"])
        assert s["metrics"]["cost_per_1m_tokens"] == row["cost_per_1m_tokens"]
    # And a person sees them too
    human = run(*NEAREST, "--warehouse", str(run_warehouse)).stdout
    assert "Proven with Qwen/" in human and "per 1M tokens" in human and "TTFT p50" in human
