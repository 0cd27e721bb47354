"""`pathprover show CONFIG_ID`: one config's history, attempt by attempt, with its metrics per level."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pathprover.cli.athena import (
    AthenaArgs,
    AthenaOpt,
    OutputLocationOpt,
    StackNameOpt,
    WorkgroupOpt,
    queryable_source,
)
from pathprover.cli.common import JsonOpt, TableOpt, WarehouseOpt, emit_json, out, people_errors


def show_command(
    config_id: Annotated[str, typer.Argument(help="The config_id (16 hex digits, or a unique prefix of 4 or more)")],
    warehouse: WarehouseOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
    athena: AthenaOpt = False,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    stack_name: StackNameOpt = None,
) -> None:
    """One config's history: its dimensions, every attempt (outcome, failure, cost) and its metrics per level."""
    from pathprover.results.metrics import read_attempts, read_levels
    from pathprover.results.show import check_config_id, config_history, resolve

    with people_errors():
        prefix = check_config_id(config_id)
        store = queryable_source(warehouse, table, AthenaArgs(athena, workgroup, output_location, stack_name))
        rows = read_attempts(store, config_id_prefix=prefix)
        found = resolve(prefix, rows)
        completed = [str(r["record_id"]) for r in rows if r["config_id"] == found and r["status"] == "completed"]
        report = config_history(found, rows, read_levels(store, completed) if completed else {})
    if as_json:
        emit_json(report)
        return
    _print_history(report)


def _print_history(report: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from pathprover.results.metrics import NONE_SHOWN, fmt_int, fmt_ms, fmt_pct, fmt_rate, fmt_usd

    console = out()
    dims = report["dimensions"]
    console.print(
        f"[bold]Config {report['config_id']}[/bold]: " + " + ".join(str(dims[d]) for d in dims), highlight=False
    )
    counts = report["counts"]
    total = report["total_cost_usd"]
    billed = "unknown (no actual cost recorded)" if total is None else f"${total:.2f}"
    console.print(
        f"{len(report['attempts'])} attempt(s): {counts['completed']} completed, {counts['failed']} failed, "
        f"{counts['unfeasible']} unfeasible; billed {billed}",
        highlight=False,
    )
    attempts = Table(title="Attempts (oldest first)")
    for col in ("time (UTC)", "run", "#", "model", "instance", "status", "failure", "scope", "stage", "$", "tuned"):
        attempts.add_column(col)
    for a in report["attempts"]:
        attempts.add_row(
            str(a["run_timestamp"] or NONE_SHOWN)[:19].replace("T", " "),
            str(a["run_type"]) + (" (simulated)" if a.get("simulated") else ""),
            fmt_int(a["attempt"]),
            str(a["model_name"] or NONE_SHOWN),
            str(a["instance_type"] or NONE_SHOWN),
            str(a["status"]),
            str(a["failure_category"] or ""),
            str(a["failure_scope"] or ""),
            str(a["failure_stage"] or ""),
            fmt_usd(a["actual_cost_usd"]),
            "yes" if a["tuned"] else "no",
        )
    console.print(attempts)
    for a in report["attempts"]:
        if a["failure_reason"]:
            console.print(
                f"  {str(a['run_timestamp'])[:19].replace('T', ' ')} {a['status']}: {escape(str(a['failure_reason']))}",
                highlight=False,
            )
    for a in report["attempts"]:
        if a["status"] != "completed":
            continue
        levels = Table(
            title=f"Levels of {a['run_type']} attempt {fmt_int(a['attempt'])} at "
            f"{str(a['run_timestamp'])[:19].replace('T', ' ')} ({a['model_name']} on {a['instance_type']})"
        )
        for col in (
            "concurrency",
            "mode",
            "requests",
            "error rate",
            "TTFT p50 ms",
            "TTFT p99 ms",
            "ITL p50 ms",
            "TPOT p50 ms",
            "e2e p50 ms",
            "e2e p99 ms",
            "tok/s",
            "req/s",
            "$ / 1M tok",
        ):
            levels.add_column(col, justify="left" if col == "mode" else "right")
        for lvl in a["levels"]:
            levels.add_row(
                fmt_int(lvl.get("concurrency")),
                str(lvl.get("mode") or NONE_SHOWN),
                fmt_int(lvl.get("requests")),
                fmt_pct(lvl.get("error_rate")),
                fmt_ms(lvl.get("ttft_p50_ms")),
                fmt_ms(lvl.get("ttft_p99_ms")),
                fmt_ms(lvl.get("itl_p50_ms")),
                fmt_ms(lvl.get("tpot_p50_ms")),
                fmt_ms(lvl.get("e2e_latency_p50_ms")),
                fmt_ms(lvl.get("e2e_latency_p99_ms")),
                fmt_rate(lvl.get("output_token_throughput_tps")),
                fmt_rate(lvl.get("request_throughput_rps")),
                fmt_usd(lvl.get("cost_per_1m_tokens")),
            )
        if not a["levels"]:
            m = a["metrics"] or {}
            console.print(
                f"attempt {a['record_id']}: no rows in mlcc_ci.benchmark_levels; headline: TTFT p99 "
                f"{fmt_ms(m.get('ttft_p99_ms'))} ms, peak {fmt_rate(m.get('peak_output_token_throughput_tps'))} tok/s, "
                f"${fmt_usd(m.get('cost_per_1m_tokens'))} per 1M tokens",
                highlight=False,
            )
            continue
        console.print(levels)
