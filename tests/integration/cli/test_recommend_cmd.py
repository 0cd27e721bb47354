"""cli/recommend_cmd.py end to end after a run: the cheapest config meeting the SLOs, or the nearest misses
and a targets file `run --dry-run` accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.integration.cli.conftest import json_of, sql
from tests.integration.cli.conftest import run as invoke


@pytest.fixture
def warehouse(run_warehouse: Path) -> Path:
    """The warehouse the session's run wrote to (tests/integration/cli/conftest.py)."""
    return run_warehouse


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


def test_recommend_and_show_mark_simulated_rows(warehouse):
    # Given a warehouse whose rows are all simulated (the seed's and the local runtime's)
    rec = json_of(invoke("recommend", "--model-name", "Qwen/Qwen3-8B", "--warehouse", str(warehouse), "--json"))
    # Then the recommendation says it was not measured on AWS, in JSON and in words
    assert rec["recommendation"]["simulated"] is True
    text = invoke("recommend", "--model-name", "Qwen/Qwen3-8B", "--warehouse", str(warehouse)).stdout
    assert "SIMULATED" in text
    # And show marks each simulated attempt
    shown = json_of(invoke("show", rec["recommendation"]["config_id"], "--warehouse", str(warehouse), "--json"))
    assert all(a["simulated"] is True for a in shown["attempts"])
