"""`pathprover sql`, `report`, `mark-unfeasible` and `seed`: reading and writing the table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pathprover.cli.athena import (
    AthenaArgs,
    AthenaOpt,
    OutputLocationOpt,
    StackNameOpt,
    WorkgroupOpt,
    open_source,
    query_source,
    queryable_source,
)
from pathprover.cli.common import (
    JsonOpt,
    TableOpt,
    UserError,
    WarehouseOpt,
    emit_json,
    err,
    now_utc,
    open_catalog,
    open_store,
    out,
    people_errors,
    print_rows,
)


def sql(
    query: Annotated[
        str, typer.Argument(help="Athena (Trino) SQL against mlcc_ci.benchmark_results and benchmark_levels")
    ],
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
    athena: AthenaOpt = False,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    stack_name: StackNameOpt = None,
) -> None:
    """Run Athena SQL on the local table (DuckDB; sqlglot transpiles Trino functions), or with --athena on the
    real table in Athena."""
    with people_errors():
        result = query_source(warehouse, table, AthenaArgs(athena, workgroup, output_location, stack_name), query)
    if as_json:
        emit_json({"columns": result.columns, "rows": result.rows})
    else:
        print_rows(result.columns, result.rows)


def _report(name: str, warehouse: Path | None, table: Path | None, as_json: bool, athena: AthenaArgs) -> None:
    from pathprover.reports import REPORTS

    with people_errors():
        result = query_source(warehouse, table, athena, REPORTS[name])
    if as_json:
        emit_json({"report": name, "sql": REPORTS[name], "columns": result.columns, "rows": result.rows})
    else:
        print_rows(result.columns, result.rows, title=f"{name} (the guide's query)")


def report_coverage(
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write the HTML report (as `report html`) to this file")
    ] = None,
    athena: AthenaOpt = False,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    stack_name: StackNameOpt = None,
) -> None:
    """Completed rows per model family and instance family (and, with --html, the HTML report)."""
    source = AthenaArgs(athena, workgroup, output_location, stack_name)
    _report("coverage", warehouse, table, as_json, source)
    if html_file is not None:
        from pathprover.heatmap import render_heatmap

        with people_errors():
            page = render_heatmap(open_source(warehouse, table, source), open_catalog(warehouse))
        html_file.parent.mkdir(parents=True, exist_ok=True)
        html_file.write_text(page, encoding="utf-8")
        err().print(f"report written to {html_file}", highlight=False)


def report_html(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write index.html into")],
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
    athena: AthenaOpt = False,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    stack_name: StackNameOpt = None,
) -> None:
    """A static, offline HTML report: coverage heatmap, Pareto charts, failures, drill-down (DIR/index.html)."""
    from pathprover.reporting import write_html_report

    with people_errors():
        source = AthenaArgs(athena, workgroup, output_location, stack_name)
        path = write_html_report(queryable_source(warehouse, table, source), open_catalog(warehouse), out_dir)
    if as_json:
        emit_json({"report": "html", "path": str(path)})
    else:
        err().print(f"report written to {path}", highlight=False)


def report_unfeasible(
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
    athena: AthenaOpt = False,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    stack_name: StackNameOpt = None,
) -> None:
    """Configs recorded unfeasible, with the reason."""
    _report("unfeasible", warehouse, table, as_json, AthenaArgs(athena, workgroup, output_location, stack_name))


def report_recent(
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
    athena: AthenaOpt = False,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    stack_name: StackNameOpt = None,
) -> None:
    """The 20 most recent path_prove rows."""
    _report("recent", warehouse, table, as_json, AthenaArgs(athena, workgroup, output_location, stack_name))


def mark_unfeasible(
    deployment_config: Annotated[str, typer.Option(help="e.g. transformers-vllm")],
    model_family: Annotated[str, typer.Option(help="e.g. qwen3")],
    instance_family: Annotated[str, typer.Option(help="e.g. g5")],
    reason: Annotated[str, typer.Option(help="Why it cannot work (stored as failure_reason)")],
    quantization: Annotated[str, typer.Option()] = "none",
    tp_degree: Annotated[str, typer.Option()] = "1",
    deployment_target: Annotated[str, typer.Option()] = "realtime-inference",
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a config as unfeasible by hand (a `manual` row), so no run attempts it again."""
    from pathprover.core.dimensions import ConfigVector
    from pathprover.core.records import manual_unfeasible_record

    with people_errors():
        if table is not None:
            raise UserError("--table is read-only; mark-unfeasible writes to --warehouse")
        vector = ConfigVector(
            deployment_config=deployment_config,
            model_family=model_family,
            instance_family=instance_family,
            quantization=quantization,
            tp_degree=tp_degree,
            deployment_target=deployment_target,
        )
        catalog = open_catalog(warehouse)
        for dimension, value in vector.as_dict().items():
            if dimension != "tp_degree" and not catalog.knows(dimension, value):
                options = ", ".join(sorted(str(v) for v in catalog.values(dimension)))
                raise UserError(f"unknown {dimension} {value!r}; known values: {options}")
        try:
            record = manual_unfeasible_record(vector, reason, now_utc())
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        store = open_store(warehouse, None)
        result = store.append([record])
    if as_json:
        emit_json(
            {
                "config_id": vector.config_id,
                "written": result.written,
                "skipped_duplicates": result.skipped_duplicates,
                "location": result.location,
            }
        )
    else:
        state = "recorded" if result.written else "already recorded"
        out().print(
            f"{vector.config_id} ({vector.label()}) {state} as unfeasible in {result.location}",
            highlight=False,
        )


def seed(warehouse: WarehouseOpt = None, as_json: JsonOpt = False) -> None:
    """Write a realistic starter table of proven CI rows (idempotent: seeding twice adds nothing)."""
    from pathprover.seed import seed_records

    with people_errors():
        catalog = open_catalog(warehouse)
        prices = {name: i.price_per_hour_usd for name, i in catalog.instances.items()}
        params = {name: m.total_params_b for name, m in catalog.models.items()}
        store = open_store(warehouse, None)
        result = store.append(*seed_records(now_utc(), prices, params))
    if as_json:
        emit_json(
            {
                "written": result.written,
                "skipped_duplicates": result.skipped_duplicates,
                "levels_written": result.levels_written,
                "location": result.location,
            }
        )
    else:
        out().print(
            f"Seeded {result.written} rows and {result.levels_written} levels "
            f"({result.skipped_duplicates} rows already there) in {result.location}",
            highlight=False,
        )
