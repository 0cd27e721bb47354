"""`pathprover run` and `pathprover serve`: the workflow on the embedded default (simulated fleet)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pathprover.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_RUN_FAILED,
    JsonOpt,
    WarehouseOpt,
    emit_json,
    err,
    fail,
    finite,
    open_store,
    out,
    settings_for,
)
from pathprover.core.limits import DEFAULT_MAX_COST_USD, DEFAULT_MAX_PROVES

if TYPE_CHECKING:
    from rich.console import Console

SIMULATED_NOTE = (
    "fleet SIMULATED: no GPU endpoint or CodeBuild runs on this machine; the ASL file, the handlers, the "
    "Athena SQL (on DuckDB), the container rendering and the load generator (real HTTP) are the real ones"
)


def _coverage(store: Any) -> dict[str, int]:
    rows = store.query(
        "SELECT COUNT(DISTINCT config_id) FILTER (WHERE status = 'completed'), "
        "COUNT(DISTINCT config_id) FILTER (WHERE status = 'unfeasible'), COUNT(*) "
        "FROM mlcc_ci.benchmark_results"
    ).rows
    proven, unfeasible, total = rows[0] if rows else (0, 0, 0)
    return {"proven_configs": int(proven or 0), "unfeasible_configs": int(unfeasible or 0), "rows": int(total or 0)}


class FailOn(StrEnum):
    """What makes `pathprover run` exit 1 although the execution itself succeeded (for CI gates)."""

    failed = "failed"
    unfeasible = "unfeasible"
    error = "error"


def failed_gates(result: dict[str, Any], gates: list[FailOn]) -> list[str]:
    """The `--fail-on` conditions this run's summary meets, each said in words."""
    met = []
    if FailOn.failed in gates and result.get("failed"):
        met.append(f"{len(result['failed'])} prove(s) failed")
    if FailOn.unfeasible in gates and result.get("unfeasible"):
        met.append(f"{len(result['unfeasible'])} prove(s) unfeasible")
    if FailOn.error in gates and (result.get("errors") or result.get("status") != "SUCCEEDED"):
        met.append(f"{len(result.get('errors') or [])} error(s), execution {result.get('status')}")
    return met


def run_command(  # noqa: C901, PLR0912, PLR0915  a Typer command: each option is checked and turned into the execution input beside its --help
    max_proves: Annotated[int, typer.Option(help="MAX_PROVES_PER_RUN", min=0)] = DEFAULT_MAX_PROVES,
    max_cost: Annotated[
        float, typer.Option(callback=finite, help="MAX_COST_PER_RUN in USD", min=0.0, max=1_000_000.0)
    ] = DEFAULT_MAX_COST_USD,
    lanes: Annotated[int, typer.Option(help="PARALLEL_LANES: proves running at once", min=1, max=16)] = 1,
    targets: Annotated[Path | None, typer.Option(help="Prove exactly these validation targets (JSON or YAML)")] = None,
    faults: Annotated[Path | None, typer.Option(help="YAML list of faults to inject into the simulated fleet")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only (DRY_RUN)")] = False,
    keep_on_failure: Annotated[bool, typer.Option("--keep-on-failure", help="KEEP_ON_FAILURE")] = False,
    include_catalog: Annotated[bool, typer.Option("--catalog", help="Search the catalog's values too")] = False,
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
    fail_on: Annotated[
        list[FailOn] | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a prove failed, was found unfeasible, or the run had an error; repeat for several",
        ),
    ] = None,
    fresh_account: Annotated[
        bool,
        typer.Option(
            "--fresh-account",
            help="Simulate the stack right after `cdk deploy`: empty table, runner image not built yet, token "
            "secret present, new-account endpoint quotas",
        ),
    ] = False,
    no_token_secret: Annotated[
        bool,
        typer.Option("--no-token-secret", help="Simulate an account without the Hugging Face token secret"),
    ] = False,
    capacity_reservation: Annotated[
        list[str] | None,
        typer.Option(
            "--capacity-reservation",
            help="TYPE=ARN: a training plan the run may use (CAPACITY_RESERVATIONS); repeat for more types",
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Print every task of every lane (the transition trace) on stderr"),
    ] = False,
) -> None:
    """Run the state machine end to end on this machine: plan, prove in lanes, record, summarise."""
    from dataclasses import replace

    from pathprover.adapters.local.account import ESTABLISHED
    from pathprover.adapters.local.account import fresh_account as fresh_account_profile
    from pathprover.adapters.local.faults import FaultFileError, FaultPlan, load_faults
    from pathprover.brain.feasibility import FeasibilityRules
    from pathprover.brain.plan import place_target
    from pathprover.catalog import CatalogError, load_catalog
    from pathprover.core.runconfig import InfraParams, resolve_account
    from pathprover.core.targets import TargetError, load_targets, to_run_config
    from pathprover.workflow.planning import InvalidInput, parse_input

    payload: dict[str, Any] = {
        "MAX_PROVES_PER_RUN": max_proves,
        "MAX_COST_PER_RUN": max_cost,
        "PARALLEL_LANES": lanes,
        "DRY_RUN": dry_run,
        "KEEP_ON_FAILURE": keep_on_failure,
        "INCLUDE_CATALOG": include_catalog,
    }
    try:
        if capacity_reservation:
            pairs = [item.partition("=") for item in capacity_reservation]
            if any(not sep or not name or not arn for name, sep, arn in pairs):
                raise TargetError("--capacity-reservation takes TYPE=ARN, e.g. ml.p6-b200.48xlarge=arn:aws:...")
            payload["CAPACITY_RESERVATIONS"] = {name.strip(): arn.strip() for name, _, arn in pairs}
        if targets is not None:
            payload["TARGETS"] = [
                t.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for t in load_targets(targets)
            ]
        catalog = load_catalog(settings_for(warehouse).catalog_dir)
        plan = load_faults(faults, catalog) if faults is not None else FaultPlan()
        parse_input(payload)  # the state machine checks it too; here a mistake is one line, nothing started
        try:
            rules = FeasibilityRules(catalog, payload.get("CAPACITY_RESERVATIONS"))
        except CatalogError as exc:
            raise TargetError(f"--capacity-reservation: {exc}") from exc
        if targets is not None:
            from pathprover.runtime.local import ACCOUNT as LOCAL_ACCOUNT

            for index, item in enumerate(load_targets(targets)):
                try:
                    placed, _ = place_target(item, rules)
                    if placed.instance_type is not None and not placed.infra_params.capacity_reservation_arn:
                        plan_arn = rules.reservations.get(catalog.instance(placed.instance_type).name)
                        if plan_arn is not None:
                            placed = placed.model_copy(
                                update={"infra_params": InfraParams(capacity_reservation_arn=plan_arn)}
                            )
                    if (arn := placed.infra_params.capacity_reservation_arn) is not None:
                        # The local runtime's account stands for the guide's literal ACCOUNT (as the plan does).
                        resolved = InfraParams(capacity_reservation_arn=resolve_account(arn, LOCAL_ACCOUNT))
                        placed = placed.model_copy(update={"infra_params": resolved})
                    to_run_config(placed, catalog)
                except (TargetError, CatalogError, ValueError) as exc:
                    raise TargetError(f"{targets}[{index}]: {exc}") from exc
    except (TargetError, FaultFileError, InvalidInput, CatalogError) as exc:
        fail(str(exc))
    settings = settings_for(warehouse)
    store = open_store(warehouse, None)
    account = fresh_account_profile() if fresh_account else ESTABLISHED
    if no_token_secret:
        account = replace(account, secrets=frozenset())
    if fresh_account and store.exists():
        fail(
            f"--fresh-account simulates a new stack, whose table is empty, but {store.describe()} has rows: "
            "give a new --warehouse"
        )
    before = _coverage(store) if store.exists() else {"proven_configs": 0, "unfeasible_configs": 0, "rows": 0}
    err().print(
        f"[bold]Path Prover[/bold] local runtime — {SIMULATED_NOTE}.",
        highlight=False,
        soft_wrap=not err().is_terminal,  # one line in a log, wrapped on a screen
    )
    if not store.exists() and targets is None:
        err().print("the table is empty: a first run plans from the catalog's search space", highlight=False)
    if no_token_secret and not fresh_account:
        err().print("simulated account: the Hugging Face token secret is missing", highlight=False)
    if fresh_account:
        err().print(
            "simulated account: fresh (runner image not built yet, token secret "
            + ("missing" if no_token_secret else "present")
            + ", new-account endpoint quotas)",
            highlight=False,
        )
    from pathprover.cli.progress import RunProgress

    progress = RunProgress(err(), verbose=verbose)
    with progress:
        progress.phase("starting the local runtime (moto's Step Functions interpreter, handlers, simulated fleet)")
        from pathprover.runtime.local import LocalRuntime

        with LocalRuntime(settings.warehouse, faults=plan, progress=progress, account=account) as runtime:
            if verbose:
                err().print(f"state machine {runtime.state_machine_arn}", highlight=False)
            progress.phase(f"planning: the gaps of {store.table_dir}" if targets is None else f"planning: {targets}")
            try:
                outcome = runtime.run(payload)
            except KeyboardInterrupt:
                # Ctrl-C: stop the execution and release what it held now, so the next run is not blocked.
                progress.__exit__(None, None, None)
                arn = runtime.current_execution_arn
                if arn is None:
                    raise typer.Exit(EXIT_INTERRUPTED) from None
                err().print("interrupted: stopping the execution and cleaning up ...", highlight=False)
                report = runtime.stop_and_clean(arn, "stopped by Ctrl-C")
                for line in report.lines():
                    err().print(line, highlight=False, markup=False)
                raise typer.Exit(EXIT_INTERRUPTED) from None
            leftovers = runtime.fleet.alive({})
    summary = outcome.summary or {}
    after = _coverage(store)
    result = {
        **summary,
        "status": outcome.status,
        "error": outcome.error,
        "cause": outcome.cause,
        "execution_arn": outcome.execution_arn,
        "warehouse": str(store.table_dir),
        "coverage_before": before,
        "coverage_after": after,
        "real_seconds": outcome.real_seconds,
        "virtual_seconds": outcome.virtual_seconds,
        "simulated": True,
        "simulated_account": account.name,
        "fleet_alive_after_run": leftovers,
        "cleanup_after_failure": outcome.cleanup,
    }
    if "proves" in result:
        result["proves"] = proves_with_metrics(store, result)
    gates = failed_gates(result, list(fail_on or []))
    result["fail_on"] = {"gates": [str(g) for g in fail_on or []], "met": gates}
    if as_json:
        emit_json(result)
    else:
        _print_summary(out(), result)
        if result.get("nothing_planned_reason") and not result.get("planned"):
            out().print(f"nothing planned: {result['nothing_planned_reason']}", highlight=False, markup=False)
        for gate in gates:
            err().print(f"--fail-on: {gate}", highlight=False)
    if outcome.status != "SUCCEEDED" or gates:
        raise typer.Exit(EXIT_RUN_FAILED)


def _print_plan(console: Console, result: dict[str, Any]) -> None:
    """A dry run proves nothing: show what it would prove, and what it left out and why."""
    from rich.markup import escape
    from rich.table import Table

    planned = result.get("planned") or []
    table = Table(title=f"Plan (dry run): {len(planned)} proves")
    for col in ("config_id", "model", "instance", "target", "quant", "tp", "est. $", "reserved $"):
        table.add_column(col)
    for p in planned:
        table.add_row(
            str(p.get("config_id")),
            str(p.get("model_name")),
            str(p.get("instance_type")),
            str(p.get("deployment_target")),
            str(p.get("quantization")),
            str(p.get("tp_degree")),
            f"{p.get('estimated_cost_usd') or 0:.2f}",
            f"{p.get('reserved_usd') or 0:.2f}",
        )
    console.print(table)
    for p in planned:
        if p.get("instance_choice"):
            console.print(f"{p.get('config_id')}: {escape(str(p['instance_choice']))}", highlight=False)
    total = sum(float(p.get("reserved_usd") or 0) for p in planned)
    console.print(f"would reserve ${total:.2f} of ${result.get('max_cost_usd', 0):.2f}", highlight=False)
    counts = result.get("excluded_counts") or {}
    if counts:
        examples = {e.get("kind"): e.get("reason") for e in reversed(result.get("excluded") or [])}
        console.print("left out of the plan:", highlight=False)
        for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            example = f": {escape(str(examples[kind]))}" if examples.get(kind) else ""
            console.print(f"  {kind} {n:,}{example}", highlight=False)


def _failure_cell(prove: dict[str, Any]) -> str:
    """The failure's category, with its scope when someone other than the config is at fault."""
    category = prove.get("failure_category")
    if not category:
        return str(prove.get("skip_reason") or "")
    scope = prove.get("failure_scope")
    return f"{category} ({scope})" if scope and scope != "config" else str(category)


def _cause_line(error: Any, cause: str) -> str:
    """A failed execution's cause in one line: a Lambda error's message, not its JSON and stack trace."""
    try:
        payload = json.loads(cause)
    except ValueError:
        return f"{error}: {cause}"
    if isinstance(payload, dict) and payload.get("errorMessage"):
        return f"{payload.get('errorType') or error}: {payload['errorMessage']}"
    return f"{error}: {cause}"


def proves_with_metrics(store: Any, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary's proves, each with `metrics`: its row's headline metrics read back from the table by
    the execution id (None for a prove that did not complete, or whose row is not there)."""
    from pathprover.core.errors import InputError
    from pathprover.results.metrics import metrics_by_attempt, read_attempts

    proves = list(result.get("proves") or [])
    execution_id = result.get("execution_id")
    found: dict[tuple[str, int], dict[str, Any]] = {}
    if proves and execution_id and not result.get("dry_run"):
        try:
            if store.exists():
                found = metrics_by_attempt(read_attempts(store, execution_id=str(execution_id), status="completed"))
        except (InputError, ValueError) as exc:  # the run is done: a table that cannot be read back costs the metrics
            err().print(f"metrics not read back: {exc}", highlight=False, markup=False)
    return [
        {
            **p,
            "metrics": found.get((str(p.get("config_id")), int(p.get("attempt") or 1)))
            if p.get("status") == "completed"
            else None,
        }
        for p in proves
    ]


def _metrics_table(proves: list[dict[str, Any]]) -> Any:
    """The run's results as a benchmarking tool ends: per prove its latency, throughput, cost, status."""
    from rich.table import Table

    from pathprover.results.metrics import NONE_SHOWN, fmt_ms, fmt_rate, fmt_usd

    table = Table(title="Metrics per prove (simulated fleet)")
    for col, justify in (
        ("config_id", "left"),
        ("model", "left"),
        ("instance", "left"),
        ("TTFT p50 ms", "right"),
        ("TTFT p99 ms", "right"),
        ("ITL p50 ms", "right"),
        ("peak tok/s", "right"),
        ("$ / 1M tok", "right"),
        ("status", "left"),
        ("scope", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for p in proves:
        m = p.get("metrics") or {}
        table.add_row(
            str(p.get("config_id")),
            str(p.get("model_name")),
            str(p.get("instance_type")),
            fmt_ms(m.get("ttft_p50_ms")),
            fmt_ms(m.get("ttft_p99_ms")),
            fmt_ms(m.get("itl_p50_ms")),
            fmt_rate(m.get("peak_output_token_throughput_tps")),
            fmt_usd(m.get("cost_per_1m_tokens")),
            str(p.get("status")),
            str(p.get("failure_scope") or NONE_SHOWN),
        )
    return table


def _print_summary(console: Console, result: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print()
    console.print(
        f"[bold]Run {result['execution_arn'].rsplit(':', 1)[-1]}: {result['status']}[/bold] "
        f"({result['real_seconds']} s real, {result['virtual_seconds'] / 3600:.1f} h simulated cloud time)",
        highlight=False,
    )
    if result.get("status") != "SUCCEEDED" and result.get("cause"):
        console.print(f"[red]{escape(_cause_line(result.get('error'), result['cause']))}[/red]", highlight=False)
    if result.get("dry_run"):
        _print_plan(console, result)
        return
    table = Table(title="Proves (simulated fleet)")
    for col in ("config_id", "model", "instance", "status", "failure", "transitions", "polls", "est. $", "actual $"):
        table.add_column(col)
    for p in result.get("proves", []):
        table.add_row(
            p["config_id"],
            p["model_name"],
            p["instance_type"],
            p["status"],
            _failure_cell(p),
            str(p["transitions"]),
            str(p["polls"]),
            f"{p['estimated_cost_usd']:.2f}",
            f"{p['actual_cost_usd']:.2f}",
        )
    if result.get("proves"):  # a run that planned nothing says why below, not with an empty table
        console.print(table)
    console.print(
        f"proved {len(result.get('proved', []))}, failed {len(result.get('failed', []))}, unfeasible "
        f"{len(result.get('unfeasible', []))}, skipped {len(result.get('skipped', []))}; estimated "
        f"${result.get('estimated_cost_usd', 0):.2f}, actual ${result.get('actual_cost_usd', 0):.2f} of "
        f"${result.get('max_cost_usd', 0):.2f}",
        highlight=False,
    )
    counts = result.get("excluded_counts") or {}
    if counts:
        examples = {e.get("kind"): e.get("reason") for e in reversed(result.get("excluded") or [])}
        shown = ", ".join(f"{kind} {n:,}" for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        console.print(f"left out of the plan: {shown}", highlight=False)
        for kind in sorted(counts):
            if kind in examples and kind not in ("limit_reached",):
                console.print(f"  {kind}, e.g.: {escape(str(examples[kind]))}", highlight=False)
    for action in result.get("account_actions") or []:
        console.print(f"[yellow]account:[/yellow] {action}", highlight=False)
    for error in result.get("errors") or []:
        console.print(f"[red]error:[/red] {error}", highlight=False)
    if result.get("history_events"):
        console.print(
            f"step functions: largest state {result.get('max_state_bytes', 0):,} of 262,144 bytes, "
            f"{result['history_events']:,} of 25,000 history events",
            highlight=False,
        )
    cleanup = result.get("cleanup_after_failure")
    if cleanup:
        released = ", ".join(
            f"{key.replace('_', ' ')} {len(cleanup.get(key) or [])}"
            for key in ("deleted", "builds_stopped", "recorded", "leases_released", "reservations_settled")
        )
        console.print(f"the execution ended {cleanup.get('status')}; cleaned up: {released}", highlight=False)
        for error in cleanup.get("errors") or []:
            console.print(f"[red]clean-up error:[/red] {escape(str(error))}", highlight=False)
    leaked = result.get("leaked_resources") or []
    console.print(f"resources left alive: {', '.join(leaked) if leaked else 'none'}", highlight=False)
    b, a = result["coverage_before"], result["coverage_after"]
    console.print(
        f"coverage: {b['proven_configs']} → {a['proven_configs']} proven configs, "
        f"{b['unfeasible_configs']} → {a['unfeasible_configs']} unfeasible",
        highlight=False,
    )
    console.print(
        f"records: {result['warehouse']} (query with `pathprover sql` or `pathprover report`)", highlight=False
    )
    if result.get("proves"):
        console.print(_metrics_table(result["proves"]))
        console.print(
            "latency at the lowest concurrency benchmarked, tokens/s and $ at the peak; every level: "
            "`pathprover show CONFIG_ID`",
            highlight=False,
        )


def serve_command(
    port: Annotated[int, typer.Option(help="Port of the local Step Functions endpoint", min=1024, max=65535)] = 8083,
    warehouse: WarehouseOpt = None,
    faults: Annotated[Path | None, typer.Option(help="YAML list of faults to inject into the simulated fleet")] = None,
) -> None:
    """Keep the local runtime up as a Step Functions endpoint (moto server mode) until Ctrl-C."""
    import logging
    import signal
    import threading

    from pathprover.adapters.local.faults import FaultFileError, FaultPlan, load_faults
    from pathprover.catalog import CatalogError, load_catalog
    from pathprover.runtime.local import ACCOUNT, REGION, LocalRuntime

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    try:
        catalog = load_catalog(settings_for(warehouse).catalog_dir)
        plan = load_faults(faults, catalog) if faults is not None else FaultPlan()
    except (FaultFileError, CatalogError) as exc:
        fail(str(exc))
    settings = settings_for(warehouse)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        runtime = LocalRuntime(settings.warehouse, faults=plan, server_port=port)
        runtime.open()
    except OSError as exc:
        fail(f"cannot serve on 127.0.0.1:{port}: {exc}")
    try:
        url = runtime.endpoint_url
        out().print(f"Path Prover local runtime on {url} — {SIMULATED_NOTE}.", highlight=False)
        out().print(f"state machine: {runtime.state_machine_arn}", highlight=False)
        out().print(
            f"try:\n  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={REGION}\n"
            f"  aws stepfunctions start-execution --endpoint-url {url} \\\n"
            f"    --state-machine-arn arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mlcc-path-prover \\\n"
            '    --input \'{"MAX_PROVES_PER_RUN": 5, "MAX_COST_PER_RUN": 25}\'\n'
            f"  aws stepfunctions describe-execution --endpoint-url {url} --execution-arn <executionArn>",
            highlight=False,
        )
        sys.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        runtime.close()
        err().print("stopped", highlight=False)
