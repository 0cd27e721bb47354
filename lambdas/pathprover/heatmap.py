"""Coverage as a heatmap a person can open: model_family x instance_family, proven / unfeasible / gap."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from pathprover.catalog import Catalog
from pathprover.protocols import ResultsStore

HEATMAP_SQL = """
SELECT model_family, instance_family,
       COUNT(DISTINCT config_id) FILTER (WHERE status = 'completed') AS proven,
       COUNT(DISTINCT config_id) FILTER (WHERE status = 'unfeasible') AS unfeasible,
       COUNT(DISTINCT config_id) FILTER (WHERE status = 'failed') AS failed,
       COUNT(*) FILTER (WHERE run_type = 'path_prove') AS path_prove_rows
FROM mlcc_ci.benchmark_results
GROUP BY model_family, instance_family
"""


def coverage_cells(store: ResultsStore) -> dict[tuple[str, str], dict[str, int]]:
    cells = {}
    for family, instance_family, proven, unfeasible, failed, proves in store.query(HEATMAP_SQL).rows:
        cells[(str(family), str(instance_family))] = {
            "proven": int(proven or 0),
            "unfeasible": int(unfeasible or 0),
            "failed": int(failed or 0),
            "path_prove_rows": int(proves or 0),
        }
    return cells


def _state(cell: dict[str, int] | None) -> str:
    if not cell:
        return "gap"
    if cell["proven"]:
        return "proven"
    if cell["unfeasible"]:
        return "unfeasible"
    return "failed" if cell["failed"] else "gap"


def render_heatmap(store: ResultsStore, catalog: Catalog, title: str = "Path Prover coverage") -> str:
    cells = coverage_cells(store)
    families = sorted({str(v) for v in catalog.values("model_family")} | {k[0] for k in cells})
    instances = sorted({str(v) for v in catalog.values("instance_family")} | {k[1] for k in cells})
    head = "".join(f"<th>{html.escape(i)}</th>" for i in instances)
    rows = []
    for family in families:
        tds = []
        for inst in instances:
            cell = cells.get((family, inst))
            state = _state(cell)
            text = (
                ""
                if not cell
                else f"{cell['proven']}✓ {cell['unfeasible']}✗" + (f" {cell['failed']}↻" if cell["failed"] else "")
            )
            tip = f"{family} on {inst}: {state}" + (
                ""
                if not cell
                else f" — {cell['proven']} proven, {cell['unfeasible']} unfeasible, {cell['failed']} failed configs"
            )
            tds.append(f'<td class="{state}" title="{html.escape(tip)}">{html.escape(text)}</td>')
        rows.append(f"<tr><th>{html.escape(family)}</th>{''.join(tds)}</tr>")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: .45rem .7rem; text-align: center; font-size: .9rem; }}
td.proven {{ background: #2e7d32; color: #fff; }}
td.unfeasible {{ background: #c62828; color: #fff; }}
td.failed {{ background: #f9a825; }}
td.gap {{ background: #eeeeee; color: #777; }}
.legend span {{ display: inline-block; padding: .2rem .6rem; margin-right: .5rem; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Configs per model family and instance family in <code>mlcc_ci.benchmark_results</code>
(✓ proven, ✗ unfeasible, ↻ failed and retryable). Generated {stamp} from {html.escape(store.describe())}.</p>
<p class="legend"><span class="proven" style="background:#2e7d32;color:#fff">proven</span>
<span style="background:#c62828;color:#fff">unfeasible only</span>
<span style="background:#f9a825">failed (retryable) only</span>
<span style="background:#eee">gap</span></p>
<table><thead><tr><th>model family \\ instance family</th>{head}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
</body></html>
"""


def heatmap_summary(store: ResultsStore, catalog: Catalog) -> dict[str, Any]:
    cells = coverage_cells(store)
    return {f"{k[0]}/{k[1]}": {**v, "state": _state(v)} for k, v in sorted(cells.items())}
