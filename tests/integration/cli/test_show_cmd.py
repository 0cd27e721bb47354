"""cli/show_cmd.py end to end after a run: a config's attempts with metrics per level, failures, unknown ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli.conftest import json_of, sql
from tests.integration.cli.conftest import run as invoke


@pytest.fixture
def warehouse(run_warehouse: Path) -> Path:
    """The warehouse the session's run wrote to (tests/integration/cli/conftest.py)."""
    return run_warehouse


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
