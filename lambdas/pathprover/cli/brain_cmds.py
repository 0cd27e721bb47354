"""`pathprover gaps`, `plan` and `nearest`: the brain's questions asked from a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from pathprover.cli.athena import (
    AthenaArgs,
    AthenaOpt,
    OutputLocationOpt,
    StackNameOpt,
    WorkgroupOpt,
    open_source,
)
from pathprover.cli.common import (
    JsonOpt,
    TableOpt,
    UserError,
    WarehouseOpt,
    emit_json,
    finite,
    load_history,
    now_utc,
    only_given,
    open_catalog,
    out,
    people_errors,
)
from pathprover.core.limits import DEFAULT_MAX_COST_USD, DEFAULT_MAX_PROVES

if TYPE_CHECKING:
    from pathprover.brain.history import History
    from pathprover.catalog import Catalog
    from pathprover.core.dimensions import ConfigVector
    from pathprover.protocols import ResultsStore


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
    athena: AthenaOpt = False,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    stack_name: StackNameOpt = None,
) -> None:
    """Unproven configuration paths, most proven neighbours first, each with its feasibility."""
    from pathprover.brain.gaps import search_gaps
    from pathprover.core.dimensions import DIMENSIONS

    with people_errors():
        store = open_source(warehouse, table, AthenaArgs(athena, workgroup, output_location, stack_name))
        catalog = open_catalog(warehouse)
        history = load_history(store)
        search = search_gaps(
            history,
            catalog,
            now_utc(),
            include_catalog=catalog_values,
            filters=only_given(
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
    from rich.table import Table

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
    out().print(t)


def plan(
    max_proves: Annotated[int, typer.Option(help="MAX_PROVES_PER_RUN", min=0)] = DEFAULT_MAX_PROVES,
    max_cost: Annotated[
        float, typer.Option(callback=finite, help="MAX_COST_PER_RUN in USD", min=0.0, max=1_000_000.0)
    ] = DEFAULT_MAX_COST_USD,
    catalog_values: Annotated[bool, typer.Option("--catalog", help="Also search the catalog's values")] = False,
    model_family: Annotated[list[str] | None, typer.Option(help="Only these model families")] = None,
    instance_family: Annotated[list[str] | None, typer.Option(help="Only these instance families")] = None,
    deployment_config: Annotated[list[str] | None, typer.Option(help="Only these deployment configs")] = None,
    max_excluded: Annotated[int, typer.Option(help="List at most this many exclusions", min=0)] = 1000,
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
    athena: AthenaOpt = False,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    stack_name: StackNameOpt = None,
) -> None:
    """The proves this run would make, within both limits; every gap left out says why."""
    from pathprover.brain.feasibility import FeasibilityRules
    from pathprover.brain.gaps import search_gaps
    from pathprover.brain.plan import make_plan

    with people_errors():
        store = open_source(warehouse, table, AthenaArgs(athena, workgroup, output_location, stack_name))
        catalog = open_catalog(warehouse)
        history = load_history(store)
        rules = FeasibilityRules(catalog)
        search = search_gaps(
            history,
            catalog,
            now_utc(),
            include_catalog=catalog_values,
            rules=rules,
            filters=only_given(
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
    from rich.table import Table

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
    out().print(t)
    if result.excluded_counts:
        counts = ", ".join(f"{k}: {v:,}" for k, v in sorted(result.excluded_counts.items()))
        out().print(f"Left out {result.excluded_total:,} gaps ({counts}). First reasons:")
        for e in result.excluded[:10]:
            out().print(f"  {e.gap.config_id}  {' + '.join(map(str, e.gap.key))}: {e.reason}", highlight=False)
    if result.nothing_planned_reason:
        out().print(f"nothing planned: {result.nothing_planned_reason}", highlight=False, markup=False)


def nearest_command(
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
    athena: AthenaOpt = False,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    stack_name: StackNameOpt = None,
) -> None:
    """The nearest proven configs to a requested one (same model family; distance, then recency)."""
    from pathprover.brain.nearest import nearest
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
        store = open_source(warehouse, table, AthenaArgs(athena, workgroup, output_location, stack_name))
        history = load_history(store)
        _check_known(requested, history, catalog)
        result = nearest(history, requested, limit=limit)
        payload = result.as_dict()
        payload["substitutions"] = _with_metrics(store, payload["substitutions"])
    if as_json:
        emit_json(payload)
        return
    from pathprover.results.metrics import fmt_ms, fmt_rate, fmt_usd

    out().print(f"Requested: {requested.label()}", highlight=False)
    if result.message:
        out().print(f"[yellow]{result.message}[/yellow]")
        return
    for i, s in enumerate(payload["substitutions"], 1):
        label = " + ".join(str(s["config"][d]) for d in DIMENSIONS)
        out().print(f"Proven #{i}: {label}  ({s['config']['config_id']})", highlight=False)
        swapped = ", ".join(s["explanation"]) if s["explanation"] else "exact match"
        out().print(f"            Distance: {s['distance']} ({swapped})", highlight=False)
        m = s.get("metrics") or {}
        out().print(
            f"            Proven with {s.get('model_name') or '?'} on {s.get('instance_type') or '?'}: "
            f"TTFT p50 {fmt_ms(m.get('ttft_p50_ms'))} ms, p99 {fmt_ms(m.get('ttft_p99_ms'))} ms, "
            f"ITL p50 {fmt_ms(m.get('itl_p50_ms'))} ms, peak {fmt_rate(m.get('peak_output_token_throughput_tps'))} "
            f"tok/s, ${fmt_usd(m.get('cost_per_1m_tokens'))} per 1M tokens",
            highlight=False,
        )


def _with_metrics(store: ResultsStore, substitutions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each suggestion with the model, instance and headline metrics of its latest completed row."""
    from pathprover.results.metrics import headline_of, latest_completed, read_attempts

    ids = [s["config"]["config_id"] for s in substitutions]
    latest = latest_completed(read_attempts(store, config_ids=ids, status="completed")) if ids else {}
    enriched = []
    for s in substitutions:
        row = latest.get(s["config"]["config_id"]) or {}
        enriched.append(
            {
                **s,
                "model_name": row.get("model_name"),
                "instance_type": row.get("instance_type"),
                "run_type": row.get("run_type"),
                "metrics": headline_of(row) if row else None,
            }
        )
    return enriched


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
