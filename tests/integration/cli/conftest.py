"""What the CLI's integration tests share: the typer runner and a seeded local warehouse."""

import json
from pathlib import Path

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
