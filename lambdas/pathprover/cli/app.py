"""`pathprover`: the brain, the classifier and the local warehouse from a terminal.

Every command accepts `--warehouse DIR` (or PATHPROVER_WAREHOUSE) and
`--table PATH` (read any Parquet file or folder instead), and `--json` for
machine output. Problems a person can fix are printed as one clear message
with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pathprover.brain.limits import DEFAULT_MAX_COST_USD, DEFAULT_MAX_PROVES
from pathprover.cli.run_cmd import run_command, serve_command
from pathprover.generate.cli import render_command
from pathprover.loadgen.cli import loadgen_command

# The warehouse (DuckDB), the brain (numpy), the catalog and the records (pydantic models) are imported by the
# commands that use them, so `pathprover loadgen` or `render` does not pay for them (docs/performance.md).
if TYPE_CHECKING:
    from pathprover.adapters.local.warehouse import LocalWarehouse
    from pathprover.brain.history import History
    from pathprover.catalog import Catalog
    from pathprover.core.dimensions import ConfigVector
    from pathprover.settings import Settings

app = typer.Typer(
    name="pathprover",
    help="Find, plan and prove untested ML-serving configuration paths.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
report_app = typer.Typer(help="The operations guide's monitoring reports.", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"pathprover {version('pathprover')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("pathprover (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Find, plan and prove untested ML-serving configuration paths."""


# Piped output keeps whole lines (rich would wrap at 80 columns).
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

WarehouseOpt = Annotated[
    Path | None, typer.Option("--warehouse", help="Local warehouse folder [env PATHPROVER_WAREHOUSE]")
]
TableOpt = Annotated[Path | None, typer.Option("--table", help="Read this Parquet file or folder instead")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object")]


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def people_errors() -> Iterator[None]:
    """Turn the errors a person can act on into one line and exit code 2."""
    from pathprover.adapters.local.warehouse import WarehouseError
    from pathprover.brain.gaps import SpaceError
    from pathprover.brain.history import HistoryError
    from pathprover.catalog import CatalogError
    from pathprover.core.dimensions import DimensionValueError
    from pathprover.core.documents import describe_validation_error

    try:
        yield
    except (UserError, WarehouseError, HistoryError, SpaceError, CatalogError, DimensionValueError) as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(describe_validation_error(exc))


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, default=_json_default, ensure_ascii=False) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def settings_for(warehouse: Path | None) -> Settings:
    from pathprover.settings import Settings

    settings = Settings.from_env()
    if warehouse is not None:
        settings = settings.model_copy(update={"warehouse": warehouse})
    return settings


def open_store(warehouse: Path | None, table: Path | None) -> LocalWarehouse:
    from pathprover.adapters.local.warehouse import LocalWarehouse

    settings = settings_for(warehouse)
    return LocalWarehouse(settings.warehouse, table=table)


def open_catalog(warehouse: Path | None = None) -> Catalog:
    from pathprover.catalog import load_catalog

    return load_catalog(settings_for(warehouse).catalog_dir)


def load_history(store: LocalWarehouse) -> History:
    """The table's history; an empty warehouse is a first run (the brain plans from the catalog)."""
    from pathprover.brain.history import History, read_history

    if not store.exists():
        if store.table is None:
            return History(configs={}, total_rows=0)
        raise UserError(
            f"the table is empty: no Parquet files in {store.describe()}. "
            "Point --table at your benchmark_results Parquet."
        )
    problems = store.problems()
    if problems:
        raise UserError("the table has rows the brain cannot use:\n  " + "\n  ".join(problems))
    return read_history(store)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _filters(**values: list[str] | None) -> dict[str, list[str]]:
    return {k: v for k, v in values.items() if v}


# --------------------------------------------------------------------------- gaps
@app.command()
def gaps(
    limit: Annotated[int, typer.Option(help="How many gaps to list (best first)", min=0)] = 20,
    catalog_values: Annotated[
        bool, typer.Option("--catalog", help="Also search the catalog's values, not only those seen")
    ] = False,
    model_family: Annotated[list[str] | None, typer.Option(help="Only these model families")] = None,
    instance_family: Annotated[list[str] | None, typer.Option(help="Only these instance families")] = None,
    deployment_config: Annotated[list[str] | None, typer.Option(help="Only these deployment configs")] = None,
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Unproven configuration paths, most proven neighbours first, each with its feasibility."""
    from pathprover.brain.gaps import search_gaps
    from pathprover.core.dimensions import DIMENSIONS

    with people_errors():
        store = open_store(warehouse, table)
        catalog = open_catalog(warehouse)
        history = load_history(store)
        search = search_gaps(
            history,
            catalog,
            now_utc(),
            include_catalog=catalog_values,
            filters=_filters(
                model_family=model_family,
                instance_family=instance_family,
                deployment_config=deployment_config,
            ),
        )
        top = search.top(limit)
    if as_json:
        emit_json(
            {
                "gaps": [g.as_dict() for g in top],
                "total": search.total,
                "feasible_total": search.feasible_total,
                "space_size": search.space_size,
                "completed": search.completed_cells,
                "counts": search.reason_counts,
                "domains": search.domains,
            }
        )
        return
    t = Table(title=f"Gaps: {search.total:,} of {search.space_size:,} cells ({search.feasible_total:,} feasible)")
    t.add_column("#", justify="right")
    t.add_column("config_id")
    for d in DIMENSIONS:
        t.add_column(d.replace("_", " "))
    t.add_column("nbrs", justify="right")
    t.add_column("feasible / reason")
    for i, g in enumerate(top, 1):
        t.add_row(
            str(i),
            g.config_id,
            *[str(v) for v in g.key],
            str(g.neighbors),
            "[green]yes[/green]" if g.feasible else f"[yellow]{g.reason}[/yellow]",
        )
    out.print(t)


# --------------------------------------------------------------------------- plan
@app.command()
def plan(
    max_proves: Annotated[int, typer.Option(help="MAX_PROVES_PER_RUN", min=0)] = DEFAULT_MAX_PROVES,
    max_cost: Annotated[
        float, typer.Option(help="MAX_COST_PER_RUN in USD", min=0.0, max=1_000_000.0)
    ] = DEFAULT_MAX_COST_USD,
    catalog_values: Annotated[bool, typer.Option("--catalog", help="Also search the catalog's values")] = False,
    model_family: Annotated[list[str] | None, typer.Option(help="Only these model families")] = None,
    instance_family: Annotated[list[str] | None, typer.Option(help="Only these instance families")] = None,
    deployment_config: Annotated[list[str] | None, typer.Option(help="Only these deployment configs")] = None,
    max_excluded: Annotated[int, typer.Option(help="List at most this many exclusions", min=0)] = 1000,
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The proves this run would make, within both limits; every gap left out says why."""
    from pathprover.brain.feasibility import FeasibilityRules
    from pathprover.brain.gaps import search_gaps
    from pathprover.brain.plan import make_plan

    with people_errors():
        store = open_store(warehouse, table)
        catalog = open_catalog(warehouse)
        history = load_history(store)
        rules = FeasibilityRules(catalog)
        search = search_gaps(
            history,
            catalog,
            now_utc(),
            include_catalog=catalog_values,
            rules=rules,
            filters=_filters(
                model_family=model_family,
                instance_family=instance_family,
                deployment_config=deployment_config,
            ),
        )
        result = make_plan(
            search,
            history,
            catalog,
            max_proves=max_proves,
            max_cost_usd=max_cost,
            max_excluded=max_excluded,
            rules=rules,
        )
    payload = result.as_dict()
    if as_json:
        emit_json(payload)
        return
    t = Table(
        title=f"Plan: {len(result.selected)} proves, est. ${result.estimated_total_usd:.2f} "
        f"(limits: {max_proves} proves, ${max_cost:.2f})"
    )
    for col in (
        "config_id",
        "deployment_config",
        "model_name",
        "instance_type",
        "quant",
        "tp",
        "target",
        "hours",
        "est. $",
    ):
        t.add_column(col)
    for s in payload["selected"]:
        t.add_row(
            s["config_id"],
            s["deployment_config"],
            s["model_name"],
            s["instance_type"],
            s["quantization"],
            str(s["tp_degree"]),
            s["deployment_target"],
            f"{s['estimated_hours']:.2f}",
            f"{s['estimated_cost_usd']:.2f}",
        )
    out.print(t)
    if result.excluded_counts:
        counts = ", ".join(f"{k}: {v:,}" for k, v in sorted(result.excluded_counts.items()))
        out.print(f"Left out {result.excluded_total:,} gaps ({counts}). First reasons:")
        for e in result.excluded[:10]:
            out.print(f"  {e.gap.config_id}  {' + '.join(map(str, e.gap.key))}: {e.reason}", highlight=False)


# --------------------------------------------------------------------------- nearest
@app.command(name="nearest")
def nearest_cmd(
    deployment_config: Annotated[str | None, typer.Option(help="e.g. transformers-sglang (or sglang)")] = None,
    model_family: Annotated[str | None, typer.Option(help="e.g. qwen3")] = None,
    model_name: Annotated[str | None, typer.Option(help="HF id instead of --model-family, e.g. Qwen/Qwen3-8B")] = None,
    instance_family: Annotated[str | None, typer.Option(help="e.g. g5")] = None,
    instance_type: Annotated[str | None, typer.Option(help="instead of --instance-family, e.g. ml.g5.xlarge")] = None,
    quantization: Annotated[str, typer.Option(help="none | fp8 | awq | gptq (fp16 means none)")] = "none",
    tp_degree: Annotated[str, typer.Option(help="tensor-parallel degree")] = "1",
    deployment_target: Annotated[
        str, typer.Option(help="realtime-inference | async-inference | batch-transform")
    ] = "realtime-inference",
    limit: Annotated[int, typer.Option(help="How many suggestions", min=1)] = 3,
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The nearest proven configs to a requested one (same model family; distance, then recency)."""
    from pathprover.core.dimensions import DIMENSIONS, ConfigVector

    with people_errors():
        catalog = open_catalog(warehouse)
        if model_name is not None:
            family = catalog.family_of_model(model_name)
            if model_family is not None and model_family.lower() != family:
                raise UserError(f"--model-name {model_name} is in family {family}, not {model_family}")
            model_family = family
        if instance_type is not None:
            family = catalog.instance(instance_type).family  # a typo is refused with the close matches
            if instance_family is not None and instance_family.lower() != family:
                raise UserError(f"--instance-type {instance_type} is in family {family}, not {instance_family}")
            instance_family = family
        missing = [
            name
            for name, value in (
                ("--deployment-config", deployment_config),
                ("--model-family or --model-name", model_family),
                ("--instance-family or --instance-type", instance_family),
            )
            if value is None
        ]
        if missing:
            raise UserError("give " + ", ".join(missing))
        requested = ConfigVector(
            deployment_config=deployment_config,
            model_family=model_family,
            instance_family=instance_family,
            quantization=quantization,
            tp_degree=tp_degree,
            deployment_target=deployment_target,
        )
        store = open_store(warehouse, table)
        history = load_history(store)
        _check_known(requested, history, catalog)
        from pathprover.brain.nearest import nearest

        result = nearest(history, requested, limit=limit)
    if as_json:
        emit_json(result.as_dict())
        return
    out.print(f"Requested: {requested.label()}", highlight=False)
    if result.message:
        out.print(f"[yellow]{result.message}[/yellow]")
        return
    for i, s in enumerate(result.substitutions, 1):
        label = " + ".join(str(s.config[d]) for d in DIMENSIONS)
        out.print(f"Proven #{i}: {label}", highlight=False)
        swapped = ", ".join(s.explanation) if s.explanation else "exact match"
        out.print(f"            Distance: {s.distance} ({swapped})", highlight=False)


def _check_known(requested: ConfigVector, history: History, catalog: Catalog) -> None:
    """A requested value must exist somewhere (catalog or table); otherwise it is a typo."""
    from pathprover.core.dimensions import DIMENSIONS

    for position, dimension in enumerate(DIMENSIONS):
        value = requested.as_tuple()[position]
        if dimension == "tp_degree" or catalog.knows(dimension, value):
            continue
        if any(key[position] == value for key in history.configs):
            continue
        options = sorted({str(v) for v in catalog.values(dimension)})
        raise UserError(f"unknown {dimension} {value!r}; known values: {', '.join(options)}")


# --------------------------------------------------------------------------- sql / reports
def _print_result(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    out.print(t)
    out.print(f"{len(rows)} row(s)")


@app.command()
def sql(
    query: Annotated[
        str, typer.Argument(help="Athena (Trino) SQL against mlcc_ci.benchmark_results and benchmark_levels")
    ],
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run Athena SQL on the local table (DuckDB; sqlglot transpiles Trino functions)."""
    with people_errors():
        result = _queryable(warehouse, table).query(query, untrusted=True)
    if as_json:
        emit_json({"columns": result.columns, "rows": result.rows})
    else:
        _print_result(result.columns, result.rows)


def _queryable(warehouse: Path | None, table: Path | None) -> LocalWarehouse:
    """A store with data: querying a warehouse that does not exist is a mistake worth saying."""
    store = open_store(warehouse, table)
    if not store.exists():
        raise UserError(
            f"the table is empty: no Parquet files in {store.describe()}. "
            "Run `pathprover seed` or `pathprover run`, or point --table at your benchmark_results Parquet."
        )
    return store


def _report(name: str, warehouse: Path | None, table: Path | None, as_json: bool) -> None:
    from pathprover.reports import REPORTS

    with people_errors():
        result = _queryable(warehouse, table).query(REPORTS[name], untrusted=True)
    if as_json:
        emit_json({"report": name, "sql": REPORTS[name], "columns": result.columns, "rows": result.rows})
    else:
        _print_result(result.columns, result.rows, title=f"{name} (the guide's query)")


@report_app.command()
def coverage(
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write a heatmap (model x instance family) to this file")
    ] = None,
) -> None:
    """Completed rows per model family and instance family (and, with --html, a heatmap to open)."""
    _report("coverage", warehouse, table, as_json)
    if html_file is not None:
        from pathprover.heatmap import render_heatmap

        with people_errors():
            page = render_heatmap(open_store(warehouse, table), open_catalog(warehouse))
        html_file.parent.mkdir(parents=True, exist_ok=True)
        html_file.write_text(page, encoding="utf-8")
        err.print(f"heatmap written to {html_file}", highlight=False)


@report_app.command()
def unfeasible(warehouse: WarehouseOpt = None, table: TableOpt = None, as_json: JsonOpt = False) -> None:
    """Configs recorded unfeasible, with the reason."""
    _report("unfeasible", warehouse, table, as_json)


@report_app.command()
def recent(warehouse: WarehouseOpt = None, table: TableOpt = None, as_json: JsonOpt = False) -> None:
    """The 20 most recent path_prove rows."""
    _report("recent", warehouse, table, as_json)


# --------------------------------------------------------------------------- writing
@app.command("mark-unfeasible")
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
        from pathprover.core.records import manual_unfeasible_record

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
        out.print(
            f"{vector.config_id} ({vector.label()}) {state} as unfeasible in {result.location}",
            highlight=False,
        )


@app.command()
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
        out.print(
            f"Seeded {result.written} rows and {result.levels_written} levels "
            f"({result.skipped_duplicates} rows already there) in {result.location}",
            highlight=False,
        )


# --------------------------------------------------------------------------- classify
@app.command()
def classify(
    text: Annotated[str | None, typer.Argument(help="A failure message; omit to read JSON Lines on stdin")] = None,
    stage: Annotated[str | None, typer.Option(help="The stage the failure arose in, if known")] = None,
    origin: Annotated[
        str | None, typer.Option(help="Where it was seen: job, api, harness or deadline (informs the scope)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Classify failure messages: one text, or JSON Lines {"id", "text", "stage"?, "origin"?} on stdin."""
    from pathprover.classifier import classify as run_classifier
    from pathprover.classifier import classify_lines, normalise_origin

    try:
        origin_name = normalise_origin(origin)
        if text is None:
            for verdict in classify_lines(_stdin_lines(), stage=stage, origin=origin_name):
                sys.stdout.write(json.dumps(verdict) + "\n")
            return
        if not text.strip():
            fail("the message is empty: give the failure text to classify (or JSON Lines on stdin)")
        result = run_classifier(text, stage=stage, origin=origin_name)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        emit_json(result.model_dump())
        return
    colour = "green" if result.retryable else "red"
    decided = (
        f"rule {result.rule}"
        if result.decided_by == "rule" and result.confidence >= 1.0
        else f"{result.decided_by} {result.rule} (confidence {result.confidence:.2f})"
    )
    out.print(f"category:  [bold]{result.category}[/bold]")
    out.print(f"retryable: [{colour}]{'yes' if result.retryable else 'no'}[/{colour}]")
    out.print(f"scope:     [bold]{result.failure_scope}[/bold] ({result.scope_rule})", highlight=False)
    out.print(f"recorded:  {result.status}", highlight=False)
    out.print(f"stage:     {result.stage or 'unknown'}")
    out.print(f"decided:   {decided}", highlight=False)
    out.print(f"evidence:  {result.evidence}", highlight=False)
    out.print(f"hint:      {result.hint}", highlight=False)
    if result.action:
        out.print(f"action:    {result.action}", highlight=False)


def _stdin_lines() -> Iterator[str]:
    """Standard input as text lines; a line that is not UTF-8 is an error naming it."""
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"line {number}: not UTF-8 text (JSON Lines must be UTF-8)") from None


app.command("loadgen", help="Benchmark an OpenAI-compatible or SageMaker endpoint (deterministic workload).")(
    loadgen_command
)
app.command("render", help="Render the serving bundle of one validation target (JSON or YAML).")(render_command)
app.command("run")(run_command)
app.command("serve")(serve_command)


@app.command("benchmark-job")
def benchmark_job() -> None:
    """The benchmark stage's job (CodeBuild): load the endpoint under test, write metrics to RESULTS_URI."""
    from pathprover.adapters.aws.clients import AwsClients
    from pathprover.adapters.aws.s3 import S3ArtifactStore
    from pathprover.loadgen.job import BenchmarkJobError, run_benchmark_job
    from pathprover.settings import Settings, job_environment
    from pathprover.stages.ports import parse_s3_uri

    env = job_environment()
    try:
        bucket, _ = parse_s3_uri(env.get("RESULTS_URI", ""))
        store = S3ArtifactStore(AwsClients(Settings.from_env().region), bucket, prefix="")
        summary = run_benchmark_job(env, store)
    except (BenchmarkJobError, ValueError) as exc:
        fail(f"benchmark job: {exc}")
    emit_json({"levels": len(summary["levels"]), "artifacts_uri": summary["artifacts_uri"]})


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
