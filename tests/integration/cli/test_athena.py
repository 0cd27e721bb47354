"""`--athena` on the commands that read the table: they query the real table through the Athena reader.

The reader itself (pyathena over a result file, the stack's outputs) is tested in
tests/integration/adapters/aws/test_athena_reader.py; here its ``query`` answers canned rows, so these tests
check the wiring: which SQL reaches Athena, and
what the commands make of the answers.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from pathprover.adapters.aws import athena_reader
from pathprover.adapters.aws.athena_reader import AthenaReadError
from pathprover.brain.history import COMPLETED_SQL, OUTCOMES_SQL
from pathprover.cli.app import app
from pathprover.protocols import QueryResult
from pathprover.reports import REPORTS
from pathprover.results.metrics import ATTEMPT_COLUMNS, LEVEL_COLUMNS

runner = CliRunner()

DIMS = ["deployment_config", "model_family", "instance_family", "quantization", "tp_degree", "deployment_target"]
PROVEN = [
    ["transformers-vllm", "qwen3", "g5", "none", 1, "realtime-inference", 2, datetime(2026, 11, 20, 8, 0)],
    ["transformers-sglang", "qwen3", "g6", "none", 1, "realtime-inference", 1, datetime(2026, 11, 21, 8, 0)],
]


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every query the CLI sends to Athena, as (workgroup, sql); the history queries answer PROVEN."""
    sent: list[tuple[str, str]] = []

    def query(self: athena_reader.AthenaReader, sql: str) -> QueryResult:
        sent.append((str(self.target.workgroup), sql))
        if sql == COMPLETED_SQL:
            return QueryResult(columns=[*DIMS, "completed_rows", "completed_at"], rows=[list(r) for r in PROVEN])
        if sql == OUTCOMES_SQL:
            return QueryResult(columns=[*DIMS, "unfeasible_rows"], rows=[])
        if sql.startswith(f"SELECT {', '.join(ATTEMPT_COLUMNS)} FROM"):  # no attempt has metrics here
            return QueryResult(columns=list(ATTEMPT_COLUMNS), rows=[])
        if sql.startswith(f"SELECT {', '.join(LEVEL_COLUMNS)} FROM"):
            return QueryResult(columns=list(LEVEL_COLUMNS), rows=[])
        return QueryResult(columns=["model_family", "n"], rows=[["qwen3", 3]])

    monkeypatch.setattr(athena_reader.AthenaReader, "query", query)
    monkeypatch.delenv("PATHPROVER_ATHENA_WORKGROUP", raising=False)
    return sent


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_sql_athena_runs_the_query_on_athena(athena: list[tuple[str, str]]) -> None:
    sql = "SELECT model_family, COUNT(*) AS n FROM mlcc_ci.benchmark_results GROUP BY 1"
    result = run("sql", "--athena", "--workgroup", "pathprover", sql, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["columns"], payload["rows"]) == (["model_family", "n"], [["qwen3", 3]])
    assert athena == [("pathprover", sql)]  # as written: Athena runs Trino SQL itself


def test_the_workgroup_can_come_from_the_settings(athena: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATHPROVER_ATHENA_WORKGROUP", "from-env")
    result = run("report", "recent", "--athena", "--json")
    assert result.exit_code == 0, result.output
    assert athena == [("from-env", REPORTS["recent"])]


@pytest.mark.parametrize(
    "command",
    [
        ["gaps"],
        ["plan", "--max-proves", "2"],
        [
            "nearest",
            "--deployment-config",
            "sglang",
            "--model-family",
            "qwen3",
            "--instance-family",
            "g5",
        ],
    ],
    ids=lambda c: c[0],
)
def test_brain_commands_read_the_history_from_athena(athena: list[tuple[str, str]], command: list[str]) -> None:
    result = run(*command, "--athena", "--workgroup", "wg", "--json")
    assert result.exit_code == 0, result.output
    # The brain's two history queries, exactly as its Lambda sends them (nearest then asks for the
    # suggestions' metrics)
    assert [sql for _, sql in athena][:2] == [COMPLETED_SQL, OUTCOMES_SQL]
    assert len(athena) == (3 if command[0] == "nearest" else 2)
    payload = json.loads(result.stdout)
    if command[0] == "nearest":
        assert payload["substitutions"], payload  # the proven sglang config on g6 is one step away
    if command[0] == "gaps":
        assert payload["completed"] == 2


def test_athena_options_without_athena_and_with_table_are_refused(athena: list[tuple[str, str]]) -> None:
    result = run("gaps", "--workgroup", "wg", "--json")
    assert result.exit_code == 2
    assert "--workgroup goes only with --athena" in json.loads(result.stdout)["error"]["message"]
    result = run("sql", "--athena", "--workgroup", "wg", "--table", "x.parquet", "SELECT 1", "--json")
    assert result.exit_code == 2
    assert "--table or --athena, not both" in json.loads(result.stdout)["error"]["message"]
    assert athena == []


def test_an_athena_failure_is_one_error_object(monkeypatch: pytest.MonkeyPatch) -> None:
    def query(self: athena_reader.AthenaReader, sql: str) -> QueryResult:
        raise AthenaReadError("Athena query q-1 FAILED: line 1:8: Column 'nope' cannot be resolved")

    monkeypatch.setattr(athena_reader.AthenaReader, "query", query)
    result = run("sql", "--athena", "--workgroup", "wg", "SELECT nope", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error == {"code": "athena", "message": "Athena query q-1 FAILED: line 1:8: Column 'nope' cannot be resolved"}
    result = run("sql", "--athena", "--workgroup", "wg", "SELECT nope")
    assert result.exit_code == 2 and "cannot be resolved" in result.stderr


def test_recommend_and_show_query_athena(athena: list[tuple[str, str]]) -> None:
    # recommend: the model's completed attempts, then (none qualifies) the brain's history for the gaps
    result = run("recommend", "--model-name", "Qwen/Qwen3-8B", "--athena", "--workgroup", "wg", "--json")
    assert result.exit_code == 0, result.output
    sent = [sql for _, sql in athena]
    assert sent[0].startswith(f"SELECT {', '.join(ATTEMPT_COLUMNS)} FROM mlcc_ci.benchmark_results")
    assert "LOWER(model_name) IN ('qwen/qwen3-8b')" in sent[0]
    assert sent[1:] == [COMPLETED_SQL, OUTCOMES_SQL]
    payload = json.loads(result.stdout)
    assert payload["recommendation"] is None and payload["gaps"]  # the gaps come from the Athena history
    # show: one config's attempts (none here: an error naming it, exit 2)
    athena.clear()
    result = run("show", "abcd1234", "--athena", "--workgroup", "wg", "--json")
    assert next(sql for _, sql in athena).endswith(
        "WHERE config_id LIKE 'abcd1234%' ORDER BY run_timestamp, config_id, attempt, record_id"
    )
    assert result.exit_code == 2 and "abcd1234" in json.loads(result.stdout)["error"]["message"]
