"""Shared set-up for end-to-end runs of the local runtime."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pathprover.cli.app import app


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A warehouse with the starter table of proven CI rows."""
    warehouse = tmp_path / "warehouse"
    result = CliRunner().invoke(app, ["seed", "--warehouse", str(warehouse)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return warehouse
