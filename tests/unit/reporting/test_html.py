"""reporting/html.py: which rows are simulated, and the report's data from a table (counts, cells, failures)."""

from __future__ import annotations

from pathlib import Path

from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.catalog import Catalog
from pathprover.reporting.html import DATA_ELEMENT_ID, build_report_data, simulated_marks, write_html_report
from tests.unit.conftest import SEED_NOW as NOW

LOCAL_RUN = "run-20261206T120000-abc123"
AWS_RUN = "pp-scheduled-2026-12-06"


def test_without_the_column_the_local_runtimes_marks_decide() -> None:
    # Given rows of a table written before the `simulated` column existed
    rows = [
        {"artifacts_uri": "s3://pathprover-local/x", "execution_id": AWS_RUN},
        {"artifacts_uri": None, "execution_id": LOCAL_RUN},
        {"artifacts_uri": None, "execution_id": "seed-ci-001"},
        {"artifacts_uri": "s3://my-results/x", "execution_id": AWS_RUN},
    ]
    # Then the local alias, a local run name and the seed's executions mark them simulated
    flags, _ = simulated_marks(rows, has_column=False)
    assert flags == [True, True, True, True]  # AWS_RUN shares an execution with a local-alias row
    flags, _ = simulated_marks(rows[3:], has_column=False)
    assert flags == [False]


def test_the_simulated_column_wins_when_present() -> None:
    rows = [
        {"simulated": False, "artifacts_uri": "s3://pathprover-local/x", "execution_id": LOCAL_RUN},
        {"simulated": True, "artifacts_uri": "s3://bucket/x", "execution_id": AWS_RUN},
        {"simulated": None, "artifacts_uri": None, "execution_id": "seed-ci-001"},
        {"simulated": None, "artifacts_uri": None, "execution_id": AWS_RUN},
    ]
    flags, method = simulated_marks(rows, has_column=True)
    assert flags == [False, True, True, False]
    assert "simulated column" in method


def test_the_report_counts_the_tables_rows_configs_and_failures(seeded: LocalWarehouse, catalog: Catalog):
    # Given the seeded table / When the report's data is built
    data = build_report_data(seeded, catalog, now=NOW)
    totals = data["totals"]
    # Then it counts every row and config, the completed ones as the guide's coverage query does
    assert (totals["rows"], totals["configs"], totals["proven_configs"]) == (18, 18, 17)
    assert totals["completed_rows"] == 17 and totals["unfeasible_rows"] == 1 and totals["failed_rows"] == 0
    assert data["generated_at"] == "2026-12-06 12:00 UTC"
    # And the seed's rows are all marked simulated, by the column
    assert data["simulated"] == {"rows": 18, "total": 18, "method": data["simulated"]["method"], "column": True}
    # And each cell's rows add up to the table's, families and instances listed once
    assert sum(c["rows"] for c in data["cells"].values()) == 18
    assert len(data["families"]) == len(set(data["families"]))


def test_an_empty_table_is_a_report_of_nothing(tmp_path: Path, catalog: Catalog):
    data = build_report_data(LocalWarehouse(tmp_path / "empty"), catalog, now=NOW)
    assert data["totals"]["rows"] == 0 and data["totals"]["proven_configs"] == 0


def test_the_page_is_written_with_its_data_embedded(seeded: LocalWarehouse, catalog: Catalog, tmp_path: Path):
    path = write_html_report(seeded, catalog, tmp_path / "out", now=NOW)
    page = path.read_text(encoding="utf-8")
    assert path.name == "index.html"
    assert f'id="{DATA_ELEMENT_ID}"' in page and "Path Prover report" in page and "2026-12-06 12:00 UTC" in page
