"""`pathprover report html`: one static, self-contained HTML report of the warehouse.

The page works offline: its CSS, its JavaScript (hand-written SVG charts, no library) and its data
(one JSON document) are inlined into ``index.html``. It shows

* a coverage heatmap, model family x instance family, shaded by the fraction of the catalog's
  *feasible* configs that are proven; cells the brain's feasibility rules rule out entirely are
  hatched, untested cells are outlined, and every cell gives its denominator. The "rows" figure of a
  cell is the number `pathprover report coverage` prints (the guide's query, run verbatim here);
* Pareto charts per model: output tokens per GPU-hour (or per dollar) against interactivity
  (TTFT p50, tokens/s per user), one point per proven config and concurrency level, frontier drawn;
* failures by category and by failure_scope;
* a drill-down per heatmap cell (the configs, their rows, status and metrics), from the embedded JSON;
* a banner when any row is simulated (the `simulated` column where the table has it, else the marks
  the local runtime and `pathprover seed` leave on their rows).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jinja2
from markupsafe import Markup

from pathprover.brain.feasibility import FeasibilityRules, Placement
from pathprover.catalog import Catalog
from pathprover.core.dimensions import DIMENSIONS, DimensionValueError, config_id_of, normalise_value
from pathprover.protocols import ResultsStore
from pathprover.reports import REPORTS

TABLE: Final = "mlcc_ci.benchmark_results"
LEVELS: Final = "mlcc_ci.benchmark_levels"

ROW_COLUMNS: Final = (
    "record_id",
    "config_id",
    "run_type",
    "status",
    "run_timestamp",
    *DIMENSIONS,
    "model_name",
    "instance_type",
    "execution_id",
    "attempt",
    "failure_reason",
    "failure_category",
    "failure_scope",
    "failure_stage",
    "actual_cost_usd",
    "duration_seconds",
    "levels_benchmarked",
    "latency_concurrency",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "itl_p50_ms",
    "e2e_latency_p50_ms",
    "peak_concurrency",
    "peak_output_token_throughput_tps",
    "cost_per_1m_tokens",
    "error_rate",
    "artifacts_uri",
    "tuned",
    "simulated",
)
"""What the report reads of each row; columns the table does not have (e.g. `simulated` before it
existed) are left out of the query and read as NULL."""

LEVEL_COLUMNS: Final = (
    "record_id",
    "concurrency",
    "mode",
    "output_token_throughput_tps",
    "request_throughput_rps",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "tpot_p50_ms",
    "itl_p50_ms",
    "e2e_latency_p50_ms",
    "cost_per_1m_tokens",
    "error_rate",
)

LOCAL_ARTIFACTS: Final = ("s3://pathprover-local/", "file://")
"""Artifact URIs only the local runtime writes (its simulated bucket; `file://` once local URIs say so)."""
LOCAL_RUN_NAME: Final = re.compile(r"^run-\d{8}T\d{6}-[0-9a-f]{6}$")
"""The execution name the local runtime gives a run (runtime/local.py `start`)."""
SEED_EXECUTION: Final = "seed-"
"""`pathprover seed` writes synthetic rows under executions named seed-ci-NNN / seed-ci-fail-NNN."""

DATA_ELEMENT_ID: Final = "report-data"
"""The id of the <script type="application/json"> element that holds the page's data."""
IMPOSSIBLE_KINDS: Final = frozenset({"infeasible", "not_in_catalog"})
MAX_UNTESTED_LISTED: Final = 20
MAX_REASON_CHARS: Final = 400
MAX_ROWS_PER_CONFIG: Final = 25
"""The drill-down lists a config's most recent rows, up to this many (and says how many it has)."""


# --------------------------------------------------------------------------- reading
def _columns(store: ResultsStore, table: str) -> set[str]:
    return set(store.query(f"SELECT * FROM {table} LIMIT 0").columns)


def _select(store: ResultsStore, table: str, wanted: tuple[str, ...], present: set[str]) -> list[dict[str, Any]]:
    cols = [c for c in wanted if c in present]
    result = store.query(f"SELECT {', '.join(cols)} FROM {table}")
    rows = []
    for raw in result.rows:
        row = dict.fromkeys(wanted)
        row.update(zip(result.columns, raw, strict=True))
        rows.append(row)
    return rows


def simulated_marks(rows: list[dict[str, Any]], has_column: bool) -> tuple[list[bool], str]:
    """Which rows are simulated, and how that was decided (said on the page).

    The `simulated` column wins where the table has it and the row has a value. Otherwise the marks the
    local runtime and the seed leave: the local runtime's artifact bucket (or a file:// URI), its run
    names, the seed's execution names; a row of an execution any of whose rows is marked is marked too
    (a failed prove has no artifacts).
    """

    def marked(row: dict[str, Any]) -> bool:
        uri = str(row.get("artifacts_uri") or "")
        execution = str(row.get("execution_id") or "")
        return (
            uri.startswith(LOCAL_ARTIFACTS)
            or execution.startswith(SEED_EXECUTION)
            or bool(LOCAL_RUN_NAME.match(execution))
        )

    local_executions = {row.get("execution_id") for row in rows if row.get("execution_id") and marked(row)}

    def heuristic(row: dict[str, Any]) -> bool:
        return marked(row) or (row.get("execution_id") is not None and row.get("execution_id") in local_executions)

    flags = []
    for row in rows:
        value = row.get("simulated") if has_column else None
        flags.append(bool(value) if value is not None else heuristic(row))
    if has_column:
        method = (
            "the table's simulated column (rows without a value: the local runtime's and the seed's marks — "
            "artifact bucket s3://pathprover-local/, run names run-YYYYMMDDTHHMMSS-xxxxxx, seed-* executions)"
        )
    else:
        method = (
            "the local runtime's and the seed's marks (this table has no simulated column): artifacts in "
            "s3://pathprover-local/ or file://, run names run-YYYYMMDDTHHMMSS-xxxxxx and their executions, "
            "seed-* executions"
        )
    return flags, method


def _key(row: dict[str, Any]) -> tuple[str | int, ...] | None:
    try:
        return tuple(normalise_value(d, row[d]) for d in DIMENSIONS)
    except (DimensionValueError, TypeError, ValueError):
        return None


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value


# --------------------------------------------------------------------------- the data of the page
def build_report_data(store: ResultsStore, catalog: Catalog, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything the page shows, as one JSON-able dict (the page embeds it; tests read it)."""
    now = now or datetime.now(UTC)
    present = _columns(store, TABLE)
    has_simulated = "simulated" in present
    rows = _select(store, TABLE, ROW_COLUMNS, present)
    flags, method = simulated_marks(rows, has_simulated)
    for row, flag in zip(rows, flags, strict=True):
        row["simulated"] = flag
    levels_by_record: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for level in _select(store, LEVELS, LEVEL_COLUMNS, _columns(store, LEVELS)):
        levels_by_record[str(level["record_id"])].append(level)
    for levels in levels_by_record.values():
        levels.sort(key=lambda lv: lv.get("concurrency") or 0)

    # The guide's coverage query, verbatim: the "rows" of a cell are exactly what `report coverage` prints.
    coverage_rows: Counter[tuple[str, str]] = Counter()
    for family, instance_family, count in store.query(REPORTS["coverage"]).rows:
        coverage_rows[(_norm("model_family", family), _norm("instance_family", instance_family))] += int(count or 0)

    by_config: dict[tuple[str | int, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        key = _key(row)
        if key is not None:
            by_config[key].append(row)

    cells = _cells(catalog, by_config, coverage_rows, levels_by_record)
    families = sorted({c["model_family"] for c in cells.values()})
    instances = _instance_order(catalog, {c["instance_family"] for c in cells.values()})
    simulated_rows = sum(flags)
    proven_configs = sum(1 for entries in by_config.values() if any(r["status"] == "completed" for r in entries))
    totals = {
        "rows": len(rows),
        "configs": len(by_config),
        "completed_rows": sum(coverage_rows.values()),
        "proven_configs": proven_configs,
        "feasible_configs": sum(c["feasible"] for c in cells.values()),
        "proven_feasible_configs": sum(c["proven"] for c in cells.values()),
        "space_configs": sum(c["space"] for c in cells.values()),
        "impossible_configs": sum(c["impossible"] for c in cells.values()),
        "failed_rows": sum(1 for r in rows if r["status"] == "failed"),
        "unfeasible_rows": sum(1 for r in rows if r["status"] == "unfeasible"),
    }
    return {
        "title": "Path Prover report",
        "generated_at": now.strftime("%Y-%m-%d %H:%M UTC"),
        "source": store.describe(),
        "coverage_sql": REPORTS["coverage"],
        "totals": totals,
        "simulated": {"rows": simulated_rows, "total": len(rows), "method": method, "column": has_simulated},
        "families": families,
        "instances": instances,
        "cells": {f"{c['model_family']}|{c['instance_family']}": c for c in cells.values()},
        "family_totals": {
            f: {
                k: sum(c[k] for c in cells.values() if c["model_family"] == f)
                for k in ("proven", "feasible", "completed_rows", "rows")
            }
            for f in families
        },
        "pareto": _pareto(catalog, by_config, levels_by_record),
        "failures": _failures(rows),
    }


def _norm(dimension: str, value: Any) -> str:
    try:
        return str(normalise_value(dimension, value))
    except (DimensionValueError, TypeError, ValueError):
        return str(value)


def _instance_order(catalog: Catalog, seen: set[str]) -> list[str]:
    """Instance families cheapest first (the catalog's smallest instance of each), unknown ones last."""

    def price(family: str) -> float:
        instances = catalog.instances_in_family(family) if catalog.knows("instance_family", family) else []
        return min((i.price_per_hour_usd for i in instances), default=math.inf)

    return sorted(seen, key=lambda f: (price(f), f))


def _row_view(row: dict[str, Any], levels: list[dict[str, Any]]) -> dict[str, Any]:
    keep = (
        "record_id",
        "run_type",
        "status",
        "run_timestamp",
        "attempt",
        "execution_id",
        "model_name",
        "instance_type",
        "failure_category",
        "failure_scope",
        "failure_stage",
        "ttft_p50_ms",
        "ttft_p99_ms",
        "itl_p50_ms",
        "peak_concurrency",
        "peak_output_token_throughput_tps",
        "cost_per_1m_tokens",
        "actual_cost_usd",
        "tuned",
        "simulated",
    )
    view = {k: _jsonable(row.get(k)) for k in keep}
    reason = row.get("failure_reason")
    view["failure_reason"] = None if reason is None else str(reason)[:MAX_REASON_CHARS]
    view["levels"] = [
        {
            "concurrency": _jsonable(lv.get("concurrency")),
            "tps": _jsonable(_num(lv.get("output_token_throughput_tps"))),
            "ttft_p50_ms": _jsonable(_num(lv.get("ttft_p50_ms"))),
            "tpot_p50_ms": _jsonable(_num(lv.get("tpot_p50_ms"))),
            "cost_per_1m_tokens": _jsonable(_num(lv.get("cost_per_1m_tokens"))),
        }
        for lv in levels
    ]
    return view


def _cells(
    catalog: Catalog,
    by_config: dict[tuple[str | int, ...], list[dict[str, Any]]],
    coverage_rows: Counter[tuple[str, str]],
    levels_by_record: dict[str, list[dict[str, Any]]],
) -> dict[tuple[str, str], dict[str, Any]]:
    """One cell per model family x instance family: the catalog's space of the other four dimensions
    (plus any value seen in the table), judged by the brain's feasibility rules, against the rows."""
    rules = FeasibilityRules(catalog)
    seen: dict[str, set[Any]] = {d: {key[i] for key in by_config} for i, d in enumerate(DIMENSIONS)}
    domains = {d: sorted(set(catalog.values(d)) | seen[d], key=str) for d in DIMENSIONS}
    domains["tp_degree"] = sorted(domains["tp_degree"], key=int)
    families = {str(f) for f in domains["model_family"]} | {k[0] for k in coverage_rows}
    instances = {str(i) for i in domains["instance_family"]} | {k[1] for k in coverage_rows}
    pos = {d: i for i, d in enumerate(DIMENSIONS)}
    rest = [d for d in DIMENSIONS if d not in ("model_family", "instance_family")]

    in_cell: dict[tuple[Any, Any], list[tuple[str | int, ...]]] = defaultdict(list)
    for key in by_config:
        in_cell[(key[pos["model_family"]], key[pos["instance_family"]])].append(key)

    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for family, instance in itertools.product(sorted(families), sorted(instances)):
        space = feasible = impossible = needs_plan = 0
        reasons: Counter[str] = Counter()
        untested: list[dict[str, Any]] = []
        feasible_keys: set[tuple[str | int, ...]] = set()
        for combo in itertools.product(*(domains[d] for d in rest)):
            values: dict[str, Any] = dict(zip(rest, combo, strict=True))
            values["model_family"], values["instance_family"] = family, instance
            key = tuple(values[d] for d in DIMENSIONS)
            space += 1
            verdict = rules.check(key)
            if isinstance(verdict, Placement):
                feasible += 1
                feasible_keys.add(key)
                if key not in by_config and len(untested) < MAX_UNTESTED_LISTED:
                    untested.append(
                        {
                            "config_id": config_id_of(values),
                            **{d: values[d] for d in rest},
                            "model_name": verdict.model.name,
                            "instance_type": verdict.instance.name,
                        }
                    )
                continue
            if verdict.kind in IMPOSSIBLE_KINDS:
                impossible += 1
            else:
                needs_plan += 1
            reasons[verdict.reason] += 1
        configs: list[dict[str, Any]] = []
        proven = proven_all = failed_only = unfeasible_only = 0
        row_count = 0
        for key in in_cell.get((family, instance), []):
            entries = by_config[key]
            statuses = {r["status"] for r in entries}
            row_count += len(entries)
            if "completed" in statuses:
                proven_all += 1
                proven += key in feasible_keys
                state = "proven"
            elif "unfeasible" in statuses:
                unfeasible_only += 1
                state = "unfeasible"
            else:
                failed_only += 1
                state = "failed"
            verdict = rules.check(key)
            entries = sorted(entries, key=lambda r: str(r.get("run_timestamp") or ""), reverse=True)
            configs.append(
                {
                    "config_id": config_id_of(dict(zip(DIMENSIONS, key, strict=True))),
                    **{d: key[pos[d]] for d in rest},
                    "state": state,
                    "rule": None if isinstance(verdict, Placement) else verdict.reason,
                    "rows": [
                        _row_view(r, levels_by_record.get(str(r["record_id"]), []))
                        for r in entries[:MAX_ROWS_PER_CONFIG]
                    ],
                    "rows_total": len(entries),
                }
            )
        order = {"proven": 0, "failed": 1, "unfeasible": 2}
        configs.sort(key=lambda c: (order[str(c["state"])], str(c["deployment_config"]), str(c["quantization"])))
        if row_count:
            state = "tested"
        elif feasible:
            state = "untested"
        else:
            state = "impossible"
        cells[(family, instance)] = {
            "model_family": family,
            "instance_family": instance,
            "state": state,
            "space": space,
            "feasible": feasible,
            "impossible": impossible,
            "needs_plan": needs_plan,
            "proven": proven,
            "proven_all": proven_all,
            "failed_configs": failed_only,
            "unfeasible_configs": unfeasible_only,
            "rows": row_count,
            "completed_rows": coverage_rows.get((family, instance), 0),
            "fraction": (proven / feasible) if feasible else None,
            "reasons": [{"reason": r, "configs": n} for r, n in reasons.most_common(8)],
            "configs": configs,
            "untested": untested,
            "untested_total": feasible - sum(1 for c in configs if not c["rule"]),
        }
    return cells


def _pareto(
    catalog: Catalog,
    by_config: dict[tuple[str | int, ...], list[dict[str, Any]]],
    levels_by_record: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Per model: one point per proven config (its latest completed attempt) and concurrency level."""
    models: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, entries in by_config.items():
        completed = [r for r in entries if r["status"] == "completed"]
        if not completed:
            continue
        latest = max(completed, key=lambda r: str(r.get("run_timestamp") or ""))
        model = str(latest.get("model_name") or f"{latest['model_family']} (model not recorded)")
        instance_type = latest.get("instance_type")
        instance = None
        if instance_type:
            try:
                instance = catalog.instance(str(instance_type))
            except Exception:  # an instance type the catalog does not know: no GPU count, no price
                instance = None
        gpus = instance.accelerator_count if instance is not None else None
        price = instance.price_per_hour_usd if instance is not None else None
        levels = levels_by_record.get(str(latest["record_id"]), [])
        if not levels:  # a table without levels: the headline, at the peak
            levels = [
                {
                    "concurrency": latest.get("peak_concurrency"),
                    "output_token_throughput_tps": latest.get("peak_output_token_throughput_tps"),
                    "ttft_p50_ms": latest.get("ttft_p50_ms")
                    if latest.get("latency_concurrency") == latest.get("peak_concurrency")
                    else None,
                    "itl_p50_ms": None,
                    "tpot_p50_ms": None,
                    "cost_per_1m_tokens": latest.get("cost_per_1m_tokens"),
                    "mode": None,
                }
            ]
        config_id = config_id_of(dict(zip(DIMENSIONS, key, strict=True)))
        label = " · ".join(
            str(v)
            for v in (
                instance_type or key[2],
                key[0],
                key[3] if key[3] != "none" else None,
                f"tp{key[4]}",
                key[5] if key[5] != "realtime-inference" else None,
            )
            if v
        )
        for level in levels:
            tps = _num(level.get("output_token_throughput_tps"))
            concurrency = level.get("concurrency")
            if tps is None or tps <= 0:
                continue
            cost = _num(level.get("cost_per_1m_tokens"))
            if (cost is None or cost <= 0) and price:
                cost = price / (tps * 3600) * 1e6
            tpot = _num(level.get("tpot_p50_ms")) or _num(level.get("itl_p50_ms"))
            per_user = 1000.0 / tpot if tpot else (tps / concurrency if concurrency else None)
            models[model].append(
                {
                    "config_id": config_id,
                    "label": label,
                    "concurrency": _jsonable(concurrency),
                    "mode": level.get("mode"),
                    "tps": round(tps, 3),
                    "tok_per_gpu_hour": round(tps * 3600 / gpus, 1) if gpus else None,
                    "tok_per_usd": round(1e6 / cost, 1) if cost else None,
                    "ttft_p50_ms": _jsonable(_num(level.get("ttft_p50_ms"))),
                    "tps_per_user": round(per_user, 3) if per_user else None,
                    "gpus": gpus,
                    "simulated": bool(latest.get("simulated")),
                }
            )
    return [
        {"model": model, "points": sorted(points, key=lambda p: (p["label"], p["concurrency"] or 0))}
        for model, points in sorted(models.items())
    ]


def _failures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Failed and unfeasible rows by classifier category (split by scope) and by failure_scope."""
    by_category: dict[str, Counter[str]] = defaultdict(Counter)
    by_scope: dict[str, Counter[str]] = defaultdict(Counter)
    unscoped = 0
    for row in rows:
        if row["status"] not in ("failed", "unfeasible"):
            continue
        scope = row.get("failure_scope")
        if scope is None:
            unscoped += 1
            scope = "config"  # rows written before the column count as config (docs/schema.md)
        category = row.get("failure_category") or "unclassified"
        by_category[str(category)][str(scope)] += 1
        by_scope[str(scope)][str(row["status"])] += 1
    return {
        "by_category": [
            {"category": c, "scopes": dict(n), "total": sum(n.values())}
            for c, n in sorted(by_category.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        ],
        "by_scope": [
            {"scope": s, "statuses": dict(by_scope[s]), "total": sum(by_scope[s].values())}
            for s in ("config", "account", "harness", *sorted(set(by_scope) - {"config", "account", "harness"}))
            if s in by_scope
        ],
        "unscoped_rows": unscoped,
        "total": sum(sum(n.values()) for n in by_scope.values()),
    }


# --------------------------------------------------------------------------- rendering
def _asset(name: str) -> str:
    return resources.files("pathprover.reporting").joinpath("assets", name).read_text(encoding="utf-8")


def _shade(fraction: float | None) -> str:
    """Sequential green, from almost white (0 of N proven) to dark green (all proven), on a square-root scale
    so that the small fractions of a large space stay visible (the legend's ticks are placed the same way)."""
    if fraction is None:
        return "#ffffff"
    low, high = (0xF3, 0xF6, 0xF0), (0x1B, 0x5E, 0x20)
    f = math.sqrt(max(0.0, min(1.0, fraction)))
    rgb = tuple(round(lo + (hi - lo) * f) for lo, hi in zip(low, high, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


LEGEND_TICKS: Final = (0.0, 0.01, 0.05, 0.25, 0.5, 1.0)


def _script_json(data: dict[str, Any]) -> str:
    """JSON safe inside <script>: no `</`, no HTML comment openers, no line separators."""
    text = json.dumps(data, default=_jsonable, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def render_html_report(store: ResultsStore, catalog: Catalog, *, now: datetime | None = None) -> str:
    """The report as one self-contained HTML page."""
    data = build_report_data(store, catalog, now=now)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pathprover.reporting", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    return template.render(
        data=data,
        shade=_shade,
        data_element_id=DATA_ELEMENT_ID,
        legend_ticks=[(t, math.sqrt(t), _shade(t)) for t in LEGEND_TICKS],
        css=Markup(_asset("report.css")),
        js=Markup(_asset("report.js")),
        data_json=Markup(_script_json(data)),
    )


def write_html_report(store: ResultsStore, catalog: Catalog, out_dir: Path, *, now: datetime | None = None) -> Path:
    """Write ``out_dir/index.html`` (self-contained: it needs no other file and no network); return its path."""
    page = render_html_report(store, catalog, now=now)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
