"""cli/table_cmds.py end to end: seed, sql, mark-unfeasible on a local warehouse, and a malformed table."""

import json

import duckdb
import pytest

from pathprover.cli.app import app
from pathprover.reports import REPORTS
from tests.integration.cli.conftest import run, runner


def test_seed_is_idempotent(warehouse):
    again = json.loads(run("seed", "--warehouse", str(warehouse), "--json").stdout)
    assert (again["written"], again["levels_written"], again["skipped_duplicates"]) == (0, 0, 18)


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_the_guides_queries_through_sql(warehouse, name):
    payload = json.loads(run("sql", "--warehouse", str(warehouse), "--json", REPORTS[name]).stdout)
    assert set(payload) == {"schema_version", "columns", "rows"}
    if name != "recent":
        assert payload["rows"]


def test_mark_unfeasible_then_gap_is_excluded(tmp_path):
    root = str(tmp_path)
    run("seed", "--warehouse", root)
    args = ["--deployment-config", "tensorrt-llm", "--model-family", "qwen3", "--instance-family", "g5"]
    result = run("mark-unfeasible", "--warehouse", root, *args, "--reason", "licence forbids", "--json")
    assert json.loads(result.stdout)["written"] == 1
    again = json.loads(
        run("mark-unfeasible", "--warehouse", root, *args, "--reason", "licence forbids", "--json").stdout
    )
    assert again["written"] == 0
    gaps = json.loads(run("gaps", "--warehouse", root, "--json", "--limit", "100000").stdout)["gaps"]
    marked = [
        g
        for g in gaps
        if (
            g["deployment_config"],
            g["model_family"],
            g["instance_family"],
            g["quantization"],
            g["tp_degree"],
            g["deployment_target"],
        )
        == ("tensorrt-llm", "qwen3", "g5", "none", 1, "realtime-inference")
    ]
    assert marked and not marked[0]["feasible"] and "licence forbids" in marked[0]["reason"]
    unfeasible = json.loads(run("report", "unfeasible", "--warehouse", root, "--json").stdout)
    assert any(r[-1] == "licence forbids" for r in unfeasible["rows"])


def test_malformed_row_is_reported_with_the_row(tmp_path):
    path = tmp_path / "bad.parquet"
    duckdb.sql(
        "COPY (SELECT 'transformers-vllm' AS deployment_config, 'qwen3' AS model_family, 'g5' AS instance_family,"
        " 'none' AS quantization, 1 AS tp_degree, 'realtime-inference' AS deployment_target, 'done' AS status) "
        f"TO '{path}' (FORMAT parquet)"
    )
    result = runner.invoke(app, ["gaps", "--table", str(path)])
    assert result.exit_code == 2
    assert "status must be one of" in result.output and "'done'" in result.output


def test_sql_on_a_missing_warehouse_says_so(tmp_path):
    result = runner.invoke(app, ["sql", "--warehouse", str(tmp_path / "nothing"), "SELECT 1"])
    assert result.exit_code == 2 and "the table is empty" in result.output
