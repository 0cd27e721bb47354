#!/usr/bin/env python3
"""Benchmark the load generator itself: timing accuracy and fixed CPU cost.

Starts the reference streaming server (tests/support/stream_server.py: first
token 60 ms after receipt, then 12 ms per token, 32 tokens) in a subprocess,
runs the load generator at concurrency 1, 16 and 32, and reports the medians
over ``--repeat`` runs of:

* TTFT p50 error (measured p50 minus 60 ms) and ITL p50 error (minus 12 ms);
* what the server itself added (its first-token write time minus deadline);
* what TTFT p50 would have been if timed from *before* the HTTP client call
  (how ``vllm bench serve`` times it) instead of from the socket write;
* client CPU seconds per level (measured phase) against wall seconds;
* the fixed CPU cost: ``python -c "import pathprover.loadgen.cli"`` and a
  whole one-request CLI run (import, setup, warm-up, one request, artifacts),
  both as child-process user+system CPU seconds, next to ``python -c pass``.

Usage: ``.venv/bin/python scripts/bench_loadgen.py [--repeat 3] [--quick]``
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TTFT_MS, ITL_MS, OUTPUT_TOKENS = 60.0, 12.0, 32


def load_server() -> ModuleType:
    path = ROOT / "tests" / "support" / "stream_server.py"
    spec = importlib.util.spec_from_file_location("loadgen_stream_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def child_cpu(cmd: list[str]) -> float:
    """User + system CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def accuracy(server: ModuleType, requests: dict[int, int], repeat: int) -> dict[int, dict[str, list[float]]]:
    from pathprover.loadgen import Workload, run_loadgen

    rows: dict[int, dict[str, list[float]]] = {c: {} for c in requests}
    with server.spawn_server(ttft_ms=TTFT_MS, itl_ms=ITL_MS) as url:
        for _ in range(repeat):
            for c, n in requests.items():
                server.reset_stats(url)
                workload = Workload(seed=1, input_tokens=64, output_tokens=OUTPUT_TOKENS, requests=n, concurrency=(c,))
                result = run_loadgen(url, workload, model="bench")
                level, stats, timing = result.levels[0], server.fetch_stats(url), result.timings[c]
                ok = [s for s in result.samples[c] if s.ok]
                from_dispatch = statistics.median(
                    (s.token_times_ns[0] - (s.dispatch_ns or s.start_ns)) / 1e6 for s in ok
                )
                values = {
                    "ttft_err": (level.ttft_p50_ms or 0.0) - TTFT_MS,
                    "ttft_err_from_dispatch": from_dispatch - TTFT_MS,
                    "ttft_p99": level.ttft_p99_ms or 0.0,
                    "itl_err": (level.itl_p50_ms or 0.0) - ITL_MS,
                    "server_adds": stats["first_token_late_p50_ms"],
                    "cpu_s": timing.cpu_s,
                    "wall_s": timing.wall_s,
                }
                for key, value in values.items():
                    rows[c].setdefault(key, []).append(value)
    return rows


def fixed_cost(server: ModuleType, repeat: int) -> dict[str, float]:
    py = sys.executable
    baseline = statistics.median(child_cpu([py, "-c", "pass"]) for _ in range(repeat))
    imports = statistics.median(child_cpu([py, "-c", "import pathprover.loadgen.cli"]) for _ in range(repeat))
    script = (
        "import sys, typer\n"
        "from pathprover.loadgen.cli import loadgen_command\n"
        "app = typer.Typer()\n"
        "app.command('loadgen')(loadgen_command)\n"
        "app.command('noop')(lambda: None)\n"
        "app(sys.argv[1:])\n"
    )
    runs, cli_runs = [], []
    exe = str(Path(py).with_name("pathprover"))
    with server.spawn_server(ttft_ms=1, itl_ms=0.1) as url, tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            args = ["loadgen", "--url", url, "--model", "bench", "--concurrency", "1", "--requests", "1"]
            args += ["--input-tokens", "8", "--output-tokens", "8", "--json"]
            runs.append(child_cpu([py, "-c", script, *args, "--out", f"{tmp}/run{i}"]))
            # The real command: `pathprover loadgen`, through the whole CLI app.
            cli_runs.append(child_cpu([exe, *args, "--out", f"{tmp}/cli{i}"]))
    return {
        "python_baseline": baseline,
        "import": imports,
        "one_request_run": statistics.median(runs),
        "cli_one_request_run": statistics.median(cli_runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer requests per level")
    args = parser.parse_args()
    requests = {1: 20, 16: 128, 32: 192} if args.quick else {1: 30, 16: 192, 32: 256}
    server = load_server()

    rows = accuracy(server, requests, args.repeat)
    med = statistics.median
    print(f"load generator accuracy — server: TTFT {TTFT_MS:g} ms, ITL {ITL_MS:g} ms, {OUTPUT_TOKENS} tokens")
    print(f"medians over {args.repeat} run(s); errors are measured p50 minus the configured delay\n")
    header = (
        f"{'conc':>4} {'reqs':>5} {'TTFT p50 err':>13} {'(from dispatch)':>16} {'TTFT p99':>9} "
        f"{'ITL p50 err':>12} {'server adds':>12} {'CPU/wall':>9}"
    )
    print(header)
    for c, v in rows.items():
        print(
            f"{c:>4} {requests[c]:>5} {med(v['ttft_err']):>+10.3f} ms {med(v['ttft_err_from_dispatch']):>+13.3f} ms "
            f"{med(v['ttft_p99']):>6.2f} ms {med(v['itl_err']):>+9.4f} ms {med(v['server_adds']):>+9.3f} ms "
            f"{med(v['cpu_s']) / med(v['wall_s']):>8.1%}"
        )
    costs: dict[str, Any] = fixed_cost(server, args.repeat)
    print("\nfixed CPU cost (child user+sys seconds, median):")
    print(f"  python -c pass                      {costs['python_baseline']:.3f} s")
    print(f"  import pathprover.loadgen.cli       {costs['import']:.3f} s")
    print(f"  loadgen command alone, 1 request + artifacts {costs['one_request_run']:.3f} s")
    print(f"  pathprover loadgen, 1 request + artifacts    {costs['cli_one_request_run']:.3f} s")


if __name__ == "__main__":
    main()
