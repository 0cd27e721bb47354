"""`pathprover report coverage --html FILE`: the same page as `pathprover report html` (one report, not two).

The page used to be a status grid of its own that counted configs while `report coverage` counted rows;
it is now the full report (lambdas/pathprover/reporting/html.py), whose cells give both and say which
is which.
"""

from __future__ import annotations

from pathprover.catalog import Catalog
from pathprover.protocols import ResultsStore
from pathprover.reporting.html import render_html_report


def render_heatmap(store: ResultsStore, catalog: Catalog) -> str:
    """The HTML report as one self-contained page (kept for `report coverage --html`)."""
    return render_html_report(store, catalog)
