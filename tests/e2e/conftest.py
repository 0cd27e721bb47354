"""Shared set-up for end-to-end runs of the local runtime."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.cli.app import app

ROW_COLUMNS = "record_id, config_id, status, failure_category, failure_stage, failure_reason, levels_benchmarked, notes"


def rows_for(warehouse: Path, execution: str, columns: str = ROW_COLUMNS) -> list[dict]:
    """The rows one execution wrote, as dicts of the given columns."""
    result = LocalWarehouse(warehouse).query(
        f"SELECT {columns} FROM mlcc_ci.benchmark_results WHERE execution_id = '{execution}'"
    )
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A warehouse with the starter table of proven CI rows."""
    warehouse = tmp_path / "warehouse"
    result = CliRunner().invoke(app, ["seed", "--warehouse", str(warehouse)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return warehouse
