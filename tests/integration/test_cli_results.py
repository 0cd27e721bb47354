"""Metrics in view, end to end on a seeded warehouse after a run: the run summary's metrics table,
`nearest` with metrics, `show CONFIG_ID` with its levels, and `recommend` (the cheapest proven config
at a level that meets the SLOs, or the nearest misses and a targets file `run --dry-run` accepts)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from pathprover.cli.app import app
from pathprover.cli.run_cmd import _print_summary

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def json_of(result) -> dict[str, Any]:
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results-wh")
    assert invoke("seed", "--warehouse", str(root)).exit_code == 0
    return root


@pytest.fixture(scope="module")
def run_summary(warehouse: Path) -> dict[str, Any]:
    result = invoke(
        "run", "--max-proves", "3", "--max-cost", "20", "--lanes", "3", "--warehouse", str(warehouse), "--json"
    )
    assert result.exit_code == 0, result.stdout
    return json_of(result)


def sql(warehouse: Path, query: str) -> list[dict[str, Any]]:
    payload = json_of(invoke("sql", query, "--warehouse", str(warehouse), "--json"))
    return [dict(zip(payload["columns"], row, strict=True)) for row in payload["rows"]]


# --------------------------------------------------------------------------- run summary
def test_the_run_json_carries_each_proves_metrics_as_its_row_holds_them(warehouse, run_summary):
    # Given a run of three proves on the simulated fleet
    proves = run_summary["proves"]
    assert proves and any(p["status"] == "completed" for p in proves)
    # Then each completed prove carries the headline metrics of its row, the others none
    rows = {
        (r["config_id"], r["attempt"]): r
        for r in sql(
            warehouse, f"SELECT * FROM mlcc_ci.benchmark_results WHERE execution_id = '{run_summary['execution_id']}'"
        )
    }
    for p in proves:
        if p["status"] != "completed":
            assert p["metrics"] is None
            continue
        row = rows[(p["config_id"], p["attempt"])]
        for key in (
            "ttft_p50_ms",
            "ttft_p99_ms",
            "itl_p50_ms",
            "peak_output_token_throughput_tps",
            "cost_per_1m_tokens",
        ):
            assert p["metrics"][key] == row[key], key
        assert p["metrics"]["cost_per_1m_tokens"] > 0


def test_the_human_run_summary_ends_on_the_metrics_table(run_summary):
    # Given the run's summary, printed as a person sees it
    buffer = io.StringIO()
    _print_summary(Console(file=buffer, width=250), run_summary)
    text = buffer.getvalue()
    # Then it ends on a table of the metrics per prove, one line per prove with its cost per 1M tokens
    table = text[text.index("Metrics per prove") :]
    for header in ("TTFT p50 ms", "TTFT p99 ms", "ITL p50 ms", "peak tok/s", "$ / 1M tok", "status", "scope"):
        assert header in table
    for p in run_summary["proves"]:
        line = next(line for line in table.splitlines() if p["config_id"] in line)
        if p["metrics"]:
            cost = p["metrics"]["cost_per_1m_tokens"]
            assert (f"{cost:,.2f}" if cost >= 0.1 else f"{cost:.3f}") in line
        assert p["status"] in line


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


def test_nearest_names_model_instance_and_metrics_of_each_suggestion(warehouse, run_summary):
    # When asking for the guide's substitution
    payload = json_of(invoke(*NEAREST, "--warehouse", str(warehouse), "--json"))
    # Then the old keys are there and each suggestion adds the model, instance and metrics of its latest row
    assert payload["substitutions"]
    for s in payload["substitutions"]:
        assert {"distance", "changed", "config", "explanation"} <= set(s)
        row = sql(
            warehouse,
            "SELECT model_name, instance_type, cost_per_1m_tokens FROM mlcc_ci.benchmark_results "
            f"WHERE config_id = '{s['config']['config_id']}' AND status = 'completed' "
            "ORDER BY run_timestamp DESC LIMIT 1",
        )[0]
        assert (s["model_name"], s["instance_type"]) == (row["model_name"], row["instance_type"])
        assert s["metrics"]["cost_per_1m_tokens"] == row["cost_per_1m_tokens"]
    # And a person sees them too
    human = invoke(*NEAREST, "--warehouse", str(warehouse)).stdout
    assert "Proven with Qwen/" in human and "per 1M tokens" in human and "TTFT p50" in human


# --------------------------------------------------------------------------- show
def test_show_gives_a_configs_attempts_and_its_metrics_per_level(warehouse, run_summary):
    # Given a config the run proved
    proved = next(p for p in run_summary["proves"] if p["status"] == "completed")
    # When showing it by a prefix of its id
    payload = json_of(invoke("show", proved["config_id"][:8], "--warehouse", str(warehouse), "--json"))
    # Then its dimensions, its attempt and every level (with the measuring mode) are there
    assert payload["config_id"] == proved["config_id"]
    assert payload["dimensions"] == proved["dimensions"]
    attempt = payload["attempts"][-1]
    assert (attempt["status"], attempt["run_type"], attempt["attempt"]) == (
        "completed",
        "path_prove",
        proved["attempt"],
    )
    levels = sql(
        warehouse,
        f"SELECT concurrency, mode, cost_per_1m_tokens FROM mlcc_ci.benchmark_levels "
        f"WHERE record_id = '{attempt['record_id']}' ORDER BY concurrency",
    )
    assert [(lv["concurrency"], lv["mode"], lv["cost_per_1m_tokens"]) for lv in attempt["levels"]] == [
        (lv["concurrency"], lv["mode"], lv["cost_per_1m_tokens"]) for lv in levels
    ]
    assert len(levels) == attempt["metrics"]["levels_benchmarked"] and all(lv["mode"] for lv in levels)
    # And the human view has the attempts table and one levels table
    human = invoke("show", proved["config_id"], "--warehouse", str(warehouse)).stdout
    assert "Attempts (oldest first)" in human and "Levels of path_prove attempt" in human and "$ / 1M tok" in human


def test_show_lists_a_failure_with_its_category_scope_and_reason(warehouse):
    unfeasible = sql(
        warehouse,
        "SELECT config_id, failure_category, failure_reason FROM mlcc_ci.benchmark_results "
        "WHERE status = 'unfeasible' LIMIT 1",
    )[0]
    payload = json_of(invoke("show", unfeasible["config_id"], "--warehouse", str(warehouse), "--json"))
    failed = [a for a in payload["attempts"] if a["status"] == "unfeasible"]
    assert failed[0]["failure_category"] == unfeasible["failure_category"]
    assert failed[0]["failure_reason"] == unfeasible["failure_reason"] and failed[0]["levels"] == []


@pytest.mark.parametrize(("config_id", "code"), [("ffffffffffffffff", "not_found"), ("nothex", "invalid_input")])
def test_show_refuses_an_unknown_config_id_with_exit_2(warehouse, config_id, code):
    result = invoke("show", config_id, "--warehouse", str(warehouse), "--json")
    assert result.exit_code == 2
    assert json_of(result)["error"]["code"] == code
    plain = invoke("show", config_id, "--warehouse", str(warehouse))
    assert plain.exit_code == 2 and plain.stdout == ""


# --------------------------------------------------------------------------- recommend
def cheapest_by_hand(warehouse: Path, model: str, max_ttft_p99_ms: float) -> tuple[float, set[str]]:
    """The answer computed independently from the rows: every level of each configuration's latest
    completed attempt that meets the SLO (and has at most 5% errors), the lowest cost among them."""
    rows = sql(
        warehouse,
        "SELECT r.config_id, r.instance_type, r.record_id, r.run_timestamp, l.ttft_p99_ms, l.error_rate, "
        "l.cost_per_1m_tokens FROM mlcc_ci.benchmark_results r JOIN mlcc_ci.benchmark_levels l "
        f"ON l.record_id = r.record_id WHERE r.status = 'completed' AND r.model_name = '{model}'",
    )
    latest: dict[tuple[str, str], str] = {}
    for r in sorted(rows, key=lambda r: r["run_timestamp"]):
        latest[(r["config_id"], r["instance_type"])] = r["record_id"]
    meeting = [
        r
        for r in rows
        if r["record_id"] in latest.values()
        and r["ttft_p99_ms"] is not None
        and r["ttft_p99_ms"] <= max_ttft_p99_ms
        and (r["error_rate"] or 0) <= 0.05
    ]
    cheapest = min(r["cost_per_1m_tokens"] for r in meeting)
    return cheapest, {r["config_id"] for r in meeting if r["cost_per_1m_tokens"] == cheapest}


def test_recommend_returns_the_cheapest_proven_config_that_meets_the_slo(warehouse, run_summary):
    # Given the seeded and proved table, and a latency SLO
    # When asking for the cheapest Qwen/Qwen3-8B config with TTFT p99 <= 2000 ms
    result = invoke(
        "recommend",
        "--model-name",
        "Qwen/Qwen3-8B",
        "--max-ttft-p99-ms",
        "2000",
        "--warehouse",
        str(warehouse),
        "--json",
    )
    assert result.exit_code == 0, result.stdout
    payload = json_of(result)
    rec = payload["recommendation"]
    # Then it is a proven config of that model, at a level that meets the SLO, priced per 1M tokens
    assert rec["model_name"] == "Qwen/Qwen3-8B" and rec["ttft_p99_ms"] <= 2000 and rec["concurrency"] >= 1
    # And no level of any proven config of the model that meets the SLO is cheaper (computed from the rows)
    cheapest, winners = cheapest_by_hand(warehouse, "Qwen/Qwen3-8B", 2000)
    assert rec["cost_per_1m_tokens"] == cheapest and rec["config_id"] in winners
    costs = [o["cost_per_1m_tokens"] for o in [rec, *payload["runners_up"]]]
    assert costs == sorted(costs)
    assert payload["nearest"] == [] and payload["gaps"] == [] and payload["targets_file"] is None
    # And a person reads the same answer
    human = invoke(
        "recommend", "--model-name", "Qwen/Qwen3-8B", "--max-ttft-p99-ms", "2000", "--warehouse", str(warehouse)
    )
    assert "Recommended:" in human.stdout and rec["config_id"] in human.stdout


def test_an_impossible_slo_gives_the_nearest_misses_and_a_targets_file_run_accepts(warehouse, run_summary, tmp_path):
    # Given an SLO no proven config meets
    out = tmp_path / "answer.yaml"
    result = invoke(
        "recommend",
        "--model-name",
        "Qwen/Qwen3-8B",
        "--max-ttft-p99-ms",
        "5",
        "--max-gaps",
        "3",
        "--targets-out",
        str(out),
        "--warehouse",
        str(warehouse),
        "--json",
    )
    assert result.exit_code == 0, result.stdout
    payload = json_of(result)
    # Then nothing is recommended; the nearest say which SLO they miss and by how much
    assert payload["recommendation"] is None and payload["nearest"]
    for near in payload["nearest"]:
        miss = next(m for m in near["misses"] if m["slo"] == "max_ttft_p99_ms")
        assert miss["limit"] == 5 and miss["by"] == pytest.approx(near["ttft_p99_ms"] - 5)
    # And the gaps (unproven, feasible, realtime: the only target measuring TTFT) are written as targets
    assert len(payload["gaps"]) == 3 and payload["targets_file"] == str(out)
    proven = {
        r["config_id"]
        for r in sql(warehouse, "SELECT config_id FROM mlcc_ci.benchmark_results WHERE status = 'completed'")
    }
    assert not proven & {g["config_id"] for g in payload["gaps"]}
    entries = yaml.safe_load(out.read_text())
    assert [e["model_name"] for e in entries] == ["Qwen/Qwen3-8B"] * 3
    assert {e["deployment_target"] for e in entries} == {"realtime-inference"}
    # And `run --targets FILE --dry-run` accepts the file and plans exactly those configs
    dry = invoke("run", "--targets", str(out), "--dry-run", "--warehouse", str(warehouse), "--json")
    assert dry.exit_code == 0, dry.stdout
    planned = json_of(dry)["planned"]
    assert [p["config_id"] for p in planned] == [g["config_id"] for g in payload["gaps"]]


def test_without_targets_out_the_targets_file_is_printed(warehouse):
    result = invoke(
        "recommend", "--model-family", "qwen3", "--max-usd-per-1m-tokens", "0.0001", "--warehouse", str(warehouse)
    )
    assert result.exit_code == 0
    assert "Nearest proven configurations" in result.stdout
    text = result.stdout[result.stdout.index("targets file") :]
    assert "- model_name: Qwen/" in text and "pathprover run --targets" in text


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (["--model-name", "Qwen/Qwen3-8b-typo"], "catalog", "Qwen/Qwen3-8b-typo"),
        (["--model-family", "qwen33"], "invalid_input", "qwen33"),
        (["--model-name", "Qwen/Qwen3-8B", "--deployment-target", "realtime-inferenc"], "invalid_input", "inferenc"),
        (["--model-name", "Qwen/Qwen3-8B", "--model-family", "llama3"], "invalid_input", "llama3"),
        ([], "invalid_input", "--model-name"),
        (["--model-name", "Qwen/Qwen3-8B", "--max-ttft-p99-ms", "-1"], "usage", "--max-ttft-p99-ms"),
    ],
    ids=["model-typo", "family-typo", "target-typo", "name-not-in-family", "no-model", "negative-slo"],
)
def test_recommend_refuses_typos_with_exit_2(warehouse, args, code, named):
    result = invoke("recommend", *args, "--warehouse", str(warehouse), "--json")
    assert result.exit_code == 2, result.stdout
    error = json_of(result)["error"]
    assert error["code"] == code and named in error["message"]


def test_recommend_and_show_mark_simulated_rows(warehouse, run_summary):
    # Given a warehouse whose rows are all simulated (the seed's and the local runtime's)
    rec = json_of(invoke("recommend", "--model-name", "Qwen/Qwen3-8B", "--warehouse", str(warehouse), "--json"))
    # Then the recommendation says it was not measured on AWS, in JSON and in words
    assert rec["recommendation"]["simulated"] is True
    text = invoke("recommend", "--model-name", "Qwen/Qwen3-8B", "--warehouse", str(warehouse)).stdout
    assert "SIMULATED" in text
    # And show marks each simulated attempt
    shown = json_of(invoke("show", rec["recommendation"]["config_id"], "--warehouse", str(warehouse), "--json"))
    assert all(a["simulated"] is True for a in shown["attempts"])
