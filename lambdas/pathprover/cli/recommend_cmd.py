"""`pathprover recommend`: the cheapest proven configuration of a model that meets the SLOs given."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pathprover.cli.athena import (
    AthenaArgs,
    AthenaOpt,
    OutputLocationOpt,
    StackNameOpt,
    WorkgroupOpt,
    queryable_source,
)
from pathprover.cli.common import (
    JsonOpt,
    TableOpt,
    UserError,
    WarehouseOpt,
    emit_json,
    fail,
    finite,
    load_history,
    now_utc,
    open_catalog,
    out,
    people_errors,
)
from pathprover.results.defaults import DEFAULT_MAX_ERROR_RATE, DEFAULT_MAX_GAPS, DEFAULT_RUNNERS_UP

if TYPE_CHECKING:
    from pathprover.adapters.aws.athena_reader import AthenaReader
    from pathprover.adapters.local.warehouse import LocalWarehouse
    from pathprover.catalog import Catalog
    from pathprover.results.recommend import Offer


def recommend_command(
    model_name: Annotated[str | None, typer.Option(help="HF model id, e.g. Qwen/Qwen3-8B")] = None,
    model_family: Annotated[
        str | None, typer.Option(help="instead of --model-name: any of its models, e.g. qwen3")
    ] = None,
    max_ttft_p99_ms: Annotated[
        float | None, typer.Option(callback=finite, help="SLO: time to first token, p99, at most this (ms)", min=0.0)
    ] = None,
    min_tokens_per_s: Annotated[
        float | None, typer.Option(callback=finite, help="SLO: generated tokens per second, at least this", min=0.0)
    ] = None,
    deployment_target: Annotated[
        str | None, typer.Option(help="SLO: realtime-inference | async-inference | batch-transform")
    ] = None,
    max_usd_per_1m_tokens: Annotated[
        float | None, typer.Option(callback=finite, help="SLO: USD per million generated tokens, at most this", min=0.0)
    ] = None,
    max_error_rate: Annotated[
        float,
        typer.Option(
            callback=finite, help="a level with more failed requests than this share does not count", min=0.0, max=1.0
        ),
    ] = DEFAULT_MAX_ERROR_RATE,
    limit: Annotated[int, typer.Option(help="Runners-up (or nearest misses) to list", min=0)] = DEFAULT_RUNNERS_UP,
    max_gaps: Annotated[int, typer.Option(help="Gaps to propose when nothing qualifies", min=0)] = DEFAULT_MAX_GAPS,
    targets_out: Annotated[
        Path | None,
        typer.Option(help="Write the proposed gaps as a targets file (YAML) for `run --targets`"),
    ] = None,
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
    athena: AthenaOpt = False,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    stack_name: StackNameOpt = None,
) -> None:
    """The cheapest proven configuration of a model that meets the SLOs, at the concurrency where it meets
    them; the runners-up; when none qualifies, the nearest misses and the gaps to prove (a targets file)."""
    from pathprover.results.metrics import read_attempts, read_levels
    from pathprover.results.recommend import Slo, latest_per_configuration, recommend

    with people_errors():
        catalog = open_catalog(warehouse)
        store = queryable_source(warehouse, table, AthenaArgs(athena, workgroup, output_location, stack_name))
        names, family = _model_asked(store, catalog, model_name, model_family)
        target = _target_asked(catalog, deployment_target)
        slo = Slo(
            max_ttft_p99_ms=max_ttft_p99_ms,
            min_tokens_per_s=min_tokens_per_s,
            max_usd_per_1m_tokens=max_usd_per_1m_tokens,
            deployment_target=target,
            max_error_rate=max_error_rate,
        )
        rows = (
            read_attempts(store, model_names=names, status="completed")
            if names is not None
            else read_attempts(store, model_family=family, status="completed")
        )
        latest = latest_per_configuration(rows)
        levels = read_levels(store, [str(r["record_id"]) for r in latest]) if latest else {}
        result = recommend(latest, levels, slo, runners_up=limit)
        subject = names[0] if names else f"any {family} model"
        question = f"the cheapest proven configuration of {subject} with {slo.describe()}"
        gaps: list[Any] = []
        if result.best is None:
            gaps = _gaps(store, catalog, family, names, slo, max_gaps)
    targets_file = None
    targets_text = None
    if gaps:
        from pathprover.results.recommend import targets_yaml

        targets_text = targets_yaml(gaps, question)
        if targets_out is not None:
            try:
                targets_out.parent.mkdir(parents=True, exist_ok=True)
                targets_out.write_text(targets_text, encoding="utf-8")
            except OSError as exc:
                fail(f"cannot write {targets_out}: {exc}", error_code="io")
            targets_file = str(targets_out)
    payload = {
        "question": question,
        "model_name": names[0] if names else None,
        "model_family": family,
        **result.as_dict(),
        "gaps": [g.as_dict() for g in gaps],
        "targets_file": targets_file,
        "message": _message(result, gaps, subject),
    }
    if as_json:
        emit_json(payload)
        return
    _print(payload, result.best, targets_text, targets_out)


def _model_asked(
    store: LocalWarehouse | AthenaReader, catalog: Catalog, model_name: str | None, model_family: str | None
) -> tuple[list[str] | None, str]:
    """The model names asked about (None: the whole family) and the family; a typo is refused."""
    from pathprover.catalog import CatalogError
    from pathprover.core.dimensions import normalise_value

    if model_name is None and model_family is None:
        raise UserError("give --model-name (e.g. Qwen/Qwen3-8B) or --model-family (e.g. qwen3)")
    if model_name is not None:
        try:
            model = catalog.model(model_name)
            name, family = model.name, model.family
        except CatalogError:
            # A model only the table knows (rows another tool wrote) is still a fair question.
            seen = store.query(
                "SELECT DISTINCT model_name, model_family FROM mlcc_ci.benchmark_results "
                "WHERE LOWER(model_name) = LOWER('" + model_name.replace("'", "''") + "')"
            ).rows
            if not seen:
                raise
            name, family = str(seen[0][0]), str(normalise_value("model_family", seen[0][1]))
        if model_family is not None and str(normalise_value("model_family", model_family)) != family:
            raise UserError(f"--model-name {model_name} is in family {family}, not {model_family}")
        return [name], family
    assert model_family is not None
    family = str(normalise_value("model_family", model_family))
    if not catalog.knows("model_family", family):
        seen = store.query(
            "SELECT COUNT(*) FROM mlcc_ci.benchmark_results WHERE LOWER(model_family) = '"
            + family.replace("'", "''")
            + "'"
        ).rows
        if not seen or not seen[0][0]:
            known = sorted({m.family for m in catalog.models.values()})
            raise UserError(f"unknown model_family {model_family!r}; known values: {', '.join(known)}")
    return None, family


def _target_asked(catalog: Catalog, deployment_target: str | None) -> str | None:
    from pathprover.core.dimensions import DimensionValueError, normalise_value

    if deployment_target is None:
        return None
    known = sorted(str(v) for v in catalog.values("deployment_target"))
    try:
        value = str(normalise_value("deployment_target", deployment_target))
    except DimensionValueError:
        value = deployment_target
    if value not in known:
        raise UserError(f"unknown deployment_target {deployment_target!r}; known values: {', '.join(known)}")
    return value


def _gaps(
    store: LocalWarehouse | AthenaReader, catalog: Catalog, family: str, names: list[str] | None, slo: Any, limit: int
) -> list[Any]:
    """The brain's feasible gaps for the model, as targets whose prove could answer the question."""
    from pathprover.brain.feasibility import FeasibilityRules
    from pathprover.brain.gaps import SpaceError, search_gaps
    from pathprover.results.recommend import gap_targets

    if not catalog.knows("model_family", family):
        return []
    rules = FeasibilityRules(catalog)
    try:
        search = search_gaps(
            load_history(store),
            catalog,
            now_utc(),
            include_catalog=True,
            rules=rules,
            filters={"model_family": [family]},
        )
    except SpaceError:
        return []
    ranked = (search.gap(i) for i in range(search.total))
    return gap_targets(ranked, catalog, rules, slo, model_names=names, limit=limit)


def _message(result: Any, gaps: list[Any], subject: str) -> str:
    if result.best is not None:
        return f"{result.considered} proven configuration(s) of {subject} considered"
    if not result.considered:
        head = f"no proven configuration of {subject} in the table yet"
    else:
        head = f"none of the {result.considered} proven configuration(s) of {subject} meets the SLOs"
    if gaps:
        return f"{head}; proving the {len(gaps)} gap(s) listed would answer the question"
    return f"{head}; no feasible unproven configuration of it could answer the question either"


def _print(payload: dict[str, Any], best: Offer | None, targets_text: str | None, targets_out: Path | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    from pathprover.results.metrics import fmt_int, fmt_ms, fmt_pct, fmt_rate, fmt_usd

    console = out()
    console.print(f"[bold]Question:[/bold] {escape(payload['question'])}", highlight=False)

    def offers_table(title: str, offers: list[dict[str, Any]], with_misses: bool) -> Table:
        table = Table(title=title)
        columns = ["#", "config_id", "model", "instance", "engine", "quant", "tp", "target", "at conc."]
        columns += ["TTFT p99 ms", "tok/s", "err", "$ / 1M tok"]
        if with_misses:
            columns.append("misses")
        for col in columns:
            table.add_column(col, justify="right" if col in ("#", "tp", "at conc.", "TTFT p99 ms") else "left")
        for i, o in enumerate(offers, 1):
            cells = [
                str(i),
                str(o["config_id"]),
                str(o["model_name"]),
                str(o["instance_type"]),
                str(o["deployment_config"]),
                str(o["quantization"]),
                str(o["tp_degree"]),
                str(o["deployment_target"]),
                fmt_int(o["concurrency"]),
                fmt_ms(o["ttft_p99_ms"]),
                fmt_rate(o["output_token_throughput_tps"]),
                fmt_pct(o["error_rate"]),
                fmt_usd(o["cost_per_1m_tokens"]),
            ]
            if with_misses:
                cells.append(escape("; ".join(m["text"] for m in o["misses"])))
            table.add_row(*cells)
        return table

    if payload["recommendation"] is not None:
        rec = payload["recommendation"]
        console.print(
            f"[green]Recommended:[/green] {rec['model_name']} on {rec['instance_type']} "
            f"({rec['deployment_config']}, {rec['quantization']}, tp {rec['tp_degree']}, {rec['deployment_target']}) "
            f"at concurrency {fmt_int(rec['concurrency'])}: ${fmt_usd(rec['cost_per_1m_tokens'])} per 1M tokens, "
            f"TTFT p99 {fmt_ms(rec['ttft_p99_ms'])} ms, {fmt_rate(rec['output_token_throughput_tps'])} tokens/s "
            f"(config {rec['config_id']}, {rec['run_type']} run {str(rec['run_timestamp'])[:10]})"
            + (" [yellow]SIMULATED: not measured on AWS[/yellow]" if rec.get("simulated") else ""),
            highlight=False,
        )
        console.print(offers_table("Qualifying, cheapest first", [rec, *payload["runners_up"]], with_misses=False))
        console.print(escape(payload["message"]), highlight=False)
        if targets_out is not None:
            console.print(f"nothing written to {targets_out}: a proven configuration qualifies", highlight=False)
        return
    console.print(f"[yellow]{escape(payload['message'])}[/yellow]", highlight=False)
    if payload["nearest"]:
        console.print(offers_table("Nearest proven configurations (what each misses)", payload["nearest"], True))
    if payload["gaps"]:
        table = Table(title="Gaps whose proving would answer the question (brain rank order)")
        for col in ("config_id", "model", "instance", "engine", "quant", "tp", "target", "nbrs", "est. $"):
            table.add_column(col)
        for g in payload["gaps"]:
            table.add_row(
                str(g["config_id"]),
                str(g["model_name"]),
                str(g["instance_type"]),
                str(g["deployment_config"]),
                str(g["quantization"]),
                str(g["tp_degree"]),
                str(g["deployment_target"]),
                str(g["neighbors"]),
                f"{g['estimated_cost_usd']:.2f}",
            )
        console.print(table)
    if targets_text is not None:
        if targets_out is not None:
            console.print(
                f"targets written to {targets_out}: prove them with `pathprover run --targets {targets_out}`",
                highlight=False,
            )
        else:
            console.print("targets file (or give --targets-out PATH):", highlight=False)
            console.print(targets_text, markup=False, highlight=False)
