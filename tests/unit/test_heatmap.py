"""heatmap.py: `report coverage --html` writes the same page as `report html`."""

from __future__ import annotations

import re

from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.catalog import Catalog
from pathprover.heatmap import render_heatmap
from pathprover.reporting.html import render_html_report

STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


def test_the_heatmap_is_the_html_report_but_for_when_it_was_made(seeded: LocalWarehouse, catalog: Catalog):
    # Given the seeded table / When both pages are rendered
    heatmap = render_heatmap(seeded, catalog)
    report = render_html_report(seeded, catalog)
    # Then they are the same page, the time they were generated aside
    assert STAMP.search(heatmap) is not None
    assert STAMP.sub("<time>", heatmap) == STAMP.sub("<time>", report)


def test_an_empty_table_still_renders_a_page(tmp_path, catalog: Catalog):
    page = render_heatmap(LocalWarehouse(tmp_path / "empty"), catalog)
    assert page.lstrip().lower().startswith("<!doctype html")
