"""``pathprover loadgen``: benchmark an OpenAI-compatible or SageMaker streaming endpoint.

:func:`loadgen_command` is a plain function with typer ``Annotated`` options;
register it with ``app.command("loadgen")(loadgen_command)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pathprover.cli.common import emit_json, err, fail, finite

if TYPE_CHECKING:
    from pathprover.loadgen.runner import RunResult
    from pathprover.loadgen.workload import Workload

DEFAULT_OUT_ROOT = Path(".pathprover") / "loadgen"


def default_out_dir(workload: Workload) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return DEFAULT_OUT_ROOT / f"{stamp}-{workload.hash[:8]}"


def loadgen_command(
    url: Annotated[
        str,
        typer.Option(
            "--url",
            help="http(s)://HOST[:PORT] of an OpenAI-compatible server, or sagemaker://ENDPOINT[?region=R]",
        ),
    ],
    model: Annotated[str, typer.Option("--model", help="model name sent in each request")],
    concurrency: Annotated[
        list[int] | None,
        typer.Option("--concurrency", "-c", help="concurrency level; repeat for several [default: 1 4 8]"),
    ] = None,
    requests: Annotated[int, typer.Option("--requests", min=1, help="measured requests per level")] = 64,
    input_tokens: Annotated[int, typer.Option("--input-tokens", min=1, help="prompt length (≈ words)")] = 128,
    output_tokens: Annotated[int, typer.Option("--output-tokens", min=1, help="tokens per response")] = 128,
    seed: Annotated[int, typer.Option("--seed", help="prompt seed")] = 0,
    price_per_hour: Annotated[
        float, typer.Option("--price-per-hour", callback=finite, min=0.0, help="instance price, USD per hour")
    ] = 0.0,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="artifacts directory [default: .pathprover/loadgen/<time>-<hash>]"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Run the deterministic streaming workload at each concurrency level and report latency metrics."""
    # Imported here: registering the command costs nothing, running it loads only what it uses.
    from pydantic import ValidationError

    from pathprover.cli.progress import LoadgenProgress
    from pathprover.loadgen.runner import run_loadgen
    from pathprover.loadgen.transports import LoadgenError
    from pathprover.loadgen.workload import DEFAULT_CONCURRENCY, Workload

    try:
        workload = Workload(
            seed=seed,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            requests=requests,
            concurrency=tuple(concurrency or DEFAULT_CONCURRENCY),
        )
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    target_dir = out_dir if out_dir is not None else default_out_dir(workload)
    try:
        # Progress goes to stderr (a live bar per level on a terminal, a line per level elsewhere):
        # stdout keeps only the table, or with --json the one JSON object.
        with LoadgenProgress(err()) as progress:
            result = run_loadgen(
                url, workload, model=model, price_per_hour=price_per_hour, out_dir=target_dir, progress=progress
            )
    except LoadgenError as exc:
        fail(f"loadgen: {exc}", error_code=exc.code)
    if json_output:
        emit_json(result.to_json())
    else:
        render_table(result)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def render_table(result: RunResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"loadgen {result.run_config['target']} · model {result.run_config['model']}")
    columns = [
        ("conc", "concurrency", 0),
        ("reqs", "requests", 0),
        ("err %", None, 1),
        ("TTFT p50", "ttft_p50_ms", 1),
        ("TTFT p99", "ttft_p99_ms", 1),
        ("ITL p50", "itl_p50_ms", 2),
        ("ITL p99", "itl_p99_ms", 2),
        ("TPOT p50", "tpot_p50_ms", 2),
        ("E2E p50", "e2e_latency_p50_ms", 0),
        ("E2E p99", "e2e_latency_p99_ms", 0),
        ("req/s", "request_throughput_rps", 2),
        ("tok/s", "output_token_throughput_tps", 0),
        ("$/1M tok", "cost_per_1m_tokens", 3),
    ]
    for header, _, _ in columns:
        table.add_column(header, justify="right")
    for level in result.levels:
        row = level.model_dump()
        cells = []
        for _, key, digits in columns:
            value = level.error_rate * 100 if key is None else row[key]
            cells.append(_fmt(value, digits))
        table.add_row(*cells)
    console = Console()
    console.print(table)
    console.print("latencies in ms · workload " + result.workload_hash[:12])
    for verdict in result.verdicts:
        mark = "[green]PASS[/green]" if verdict.passed else "[red]FAIL[/red]"
        console.print(f"{mark} c={verdict.concurrency} {verdict.threshold} (actual {_fmt(verdict.actual, 3)})")
    if result.artifacts_uri:
        console.print(f"artifacts: {result.artifacts_uri}")
