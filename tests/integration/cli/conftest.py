"""What the CLI's integration tests share: the typer runner and a seeded local warehouse."""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pathprover.cli.app import app

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wh")
    result = run("seed", "--warehouse", str(root), "--json")
    assert result.exit_code == 0, result.output
    seeded = json.loads(result.stdout)
    # One row per seeded run (17 proven configs, 1 unfeasible), their three levels each alongside
    assert (seeded["written"], seeded["levels_written"]) == (18, 51)
    return root


def json_of(result) -> dict[str, Any]:
    """The one JSON object a --json command printed."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def sql(warehouse: Path, query: str) -> list[dict[str, Any]]:
    payload = json_of(run("sql", query, "--warehouse", str(warehouse), "--json"))
    return [dict(zip(payload["columns"], row, strict=True)) for row in payload["rows"]]


@pytest.fixture(scope="session")
def run_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded warehouse that run_summary's run then writes to (session-wide: the run takes ~15 s)."""
    root = tmp_path_factory.mktemp("results-wh")
    assert run("seed", "--warehouse", str(root)).exit_code == 0
    return root


@pytest.fixture(scope="session")
def run_summary(run_warehouse: Path) -> dict[str, Any]:
    result = run(
        "run", "--max-proves", "3", "--max-cost", "20", "--lanes", "3", "--warehouse", str(run_warehouse), "--json"
    )
    assert result.exit_code == 0, result.stdout
    return json_of(result)
