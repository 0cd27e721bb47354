"""The CLI's JSON contract (docs/cli-json.md): one object on stdout, success or error, with
`schema_version`; exit 2 for usage and input errors; the same refusal of a typo everywhere."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pathprover.cli.app import app
from pathprover.cli.common import SCHEMA_VERSION

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def one_object(stdout: str) -> dict:
    """Exactly one JSON object on stdout (nothing else)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, stdout
    payload = json.loads(lines[0])
    assert payload["schema_version"] == SCHEMA_VERSION
    return payload


NEAREST = [
    "--deployment-config",
    "sglang",
    "--model-name",
    "Qwen/Qwen3-8B",
    "--instance-type",
    "ml.g5.xlarge",
]


@pytest.mark.parametrize(
    "command",
    [
        ["gaps"],
        ["plan"],
        ["nearest", *NEAREST],
        ["report", "coverage"],
        ["report", "recent"],
        ["report", "html", "--out", "never-written"],
        ["sql", "SELECT 1"],
        ["show", "0123456789abcdef"],
        ["recommend", "--model-name", "Qwen/Qwen3-8B"],
    ],
    ids=lambda c: c[0] if c[0] != "report" else "-".join(c),
)
def test_a_missing_table_is_an_error_object_and_exit_2(tmp_path: Path, command: list[str]):
    # Given a --table that does not exist
    missing = tmp_path / "MISSING.parquet"
    # When a reading command runs with --json
    result = invoke(*command, "--table", str(missing), "--json")
    # Then stdout holds one error object naming the file, and the exit code is 2
    assert result.exit_code == 2
    payload = one_object(result.stdout)
    assert payload["error"]["code"] == "table"
    assert str(missing) in payload["error"]["message"]


def test_a_usage_error_under_json_is_an_error_object(tmp_path: Path):
    # Given an unknown option and a value out of range
    for args in (["gaps", "--bogus", "--json"], ["gaps", "--limit", "-3", "--json"]):
        result = invoke(*args)
        # Then each is one error object with code "usage" and exit code 2
        assert result.exit_code == 2, args
        assert one_object(result.stdout)["error"]["code"] == "usage"


def test_without_json_errors_stay_on_stderr(tmp_path: Path):
    # Given the same missing table without --json
    result = subprocess.run(
        [sys.executable, "-m", "pathprover.cli.app", "gaps", "--table", str(tmp_path / "x.parquet")],
        capture_output=True,
        text=True,
        check=False,
    )
    # Then stdout is empty and stderr says it in one line
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no table at" in result.stderr


def test_success_objects_carry_the_schema_version(tmp_path: Path):
    # Given a seeded warehouse
    warehouse = str(tmp_path / "wh")
    seeded = invoke("seed", "--warehouse", warehouse, "--json")
    assert seeded.exit_code == 0
    one_object(seeded.stdout)
    # When the reading commands answer with --json
    for args in (["gaps", "--limit", "2"], ["plan"], ["report", "coverage"], ["nearest", *NEAREST]):
        result = invoke(*args, "--warehouse", warehouse, "--json")
        # Then each prints one object with schema_version and exits 0
        assert result.exit_code == 0, (args, result.stdout)
        one_object(result.stdout)


def test_classify_json_lines_carry_the_schema_version():
    # Given two JSON Lines on stdin
    lines = '{"id": "a", "text": "CUDA out of memory"}\n{"id": "b", "text": "AccessDenied"}\n'
    result = runner.invoke(app, ["classify"], input=lines)
    # Then each answer line carries the schema version
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["a", "b"]
    assert all(a["schema_version"] == SCHEMA_VERSION for a in answers)


@pytest.mark.parametrize(
    "args",
    [
        ["nearest", "--deployment-config", "sglang", "--model-name", "Qwen/Qwen3-8B", "--instance-type", "ml.g5.xlarg"],
        [
            "mark-unfeasible",
            "--deployment-config",
            "sglang",
            "--model-family",
            "qwen3",
            "--instance-family",
            "g55",
            "--reason",
            "x",
        ],
        ["gaps", "--instance-family", "g55"],
    ],
    ids=["nearest", "mark-unfeasible", "gaps"],
)
def test_a_typo_is_refused_the_same_way_everywhere(tmp_path: Path, args: list[str]):
    # Given a seeded warehouse and a misspelt instance type or family
    warehouse = str(tmp_path / "wh")
    assert invoke("seed", "--warehouse", warehouse).exit_code == 0
    # When a command gets it
    result = invoke(*args, "--warehouse", warehouse, "--json")
    # Then it is refused with exit 2 and a message naming the value
    assert result.exit_code == 2, result.stdout
    message = one_object(result.stdout)["error"]["message"]
    assert "g55" in message or "ml.g5.xlarg" in message
