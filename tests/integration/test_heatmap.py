"""pathprover/heatmap.py: `report coverage --html` writes the same page as `report html`, over the same table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.catalog import Catalog
from pathprover.heatmap import render_heatmap
from pathprover.reporting.html import render_html_report
from pathprover.seed import seed_records


def test_the_coverage_page_is_the_html_report_of_the_table(tmp_path: Path, catalog: Catalog) -> None:
    # Given a warehouse holding the seed's rows
    store = LocalWarehouse(tmp_path / "wh")
    rows, levels = seed_records(datetime(2026, 12, 6, tzinfo=UTC), {}, {})
    store.append(rows, levels)
    # When the coverage page is rendered
    page = render_heatmap(store, catalog)
    # Then it is one self-contained HTML page, the report's own, and it names the seed's models
    assert page.startswith("<!doctype html>") and page == render_html_report(store, catalog)
    assert rows[0].model_family in page
