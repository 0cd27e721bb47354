"""Load generator accuracy against a streaming server with known delays.

The reference server (``tests/support/stream_server.py``, standard-library
asyncio, no code shared with the client) runs in a subprocess and streams the
first token 60 ms after it has read a request, then one token every 12 ms.
The load generator must measure TTFT p50 within 1.5 ms of 60 ms at
concurrency 1 and 16 and within 3 ms at 32, ITL p50 within 0.1 ms of 12 ms,
without busy-waiting. Each level also prints what the server itself added
(its write time minus deadline) and what the client library spent before the
request reached the socket, so a failure can be attributed.
"""

from __future__ import annotations

import importlib.util
import json
import math
import socket
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from pathprover.loadgen import LevelResult, LoadgenError, RunResult, Workload, run_loadgen
from pathprover.loadgen.workload import canonical_json, sha256_hex

# Timing accuracy to a fraction of a millisecond: run alone, after the parallel run (Makefile `unit`).
pytestmark = pytest.mark.exclusive

TTFT_MS = 60.0
ITL_MS = 12.0
OUTPUT_TOKENS = 32
# requests per level: enough for a stable median, small enough to keep the file under ~60 s
REQUESTS = {1: 30, 16: 192, 32: 256}
TTFT_TOLERANCE_MS = {1: 1.5, 16: 1.5, 32: 3.0}
ITL_TOLERANCE_MS = 0.1


def _load_server_module() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "support" / "stream_server.py"
    spec = importlib.util.spec_from_file_location("loadgen_stream_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


stream_server = _load_server_module()


@dataclass
class LevelRun:
    result: RunResult
    level: LevelResult
    server: dict[str, Any]
    cpu_s: float
    wall_s: float


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with stream_server.spawn_server(ttft_ms=TTFT_MS, itl_ms=ITL_MS) as url:
        yield url


@pytest.fixture(scope="module")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("loadgen") / "run"


@pytest.fixture(scope="module")
def runs(server_url: str, artifacts_dir: Path) -> dict[int, LevelRun]:
    out: dict[int, LevelRun] = {}
    for concurrency, requests in REQUESTS.items():
        stream_server.reset_stats(server_url)
        workload = Workload(
            seed=1,
            input_tokens=64,
            output_tokens=OUTPUT_TOKENS,
            requests=requests,
            concurrency=(concurrency,),
        )
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = run_loadgen(
            server_url,
            workload,
            model="test-model",
            price_per_hour=1.0,
            out_dir=artifacts_dir if concurrency == 1 else None,
        )
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        stats = stream_server.fetch_stats(server_url)
        run = LevelRun(result, result.levels[0], stats, cpu, wall)
        out[concurrency] = run
        report(run)
    return out


def report(run: LevelRun) -> None:
    level, stats = run.level, run.server
    ttft, itl = level.ttft_p50_ms or math.nan, level.itl_p50_ms or math.nan
    overhead = [v for s in run.result.samples[level.concurrency] if (v := s.client_overhead_ms) is not None]
    print(
        f"\nc={level.concurrency:<3} n={level.requests:<4} "
        f"TTFT p50 {ttft:.3f} ms (error {ttft - TTFT_MS:+.3f}, "
        f"p99 {level.ttft_p99_ms:.2f}) · ITL p50 {itl:.4f} ms "
        f"(error {itl - ITL_MS:+.4f}, p99 {level.itl_p99_ms:.2f}) · "
        f"server adds: first token p50 {stats['first_token_late_p50_ms']:+.3f} ms, "
        f"other tokens p50 {stats['token_late_p50_ms']:+.3f} ms; "
        f"its read latency p50 {stats['recv_latency_p50_ms']:.3f} ms (not in deadlines) · "
        f"client pre-send overhead p50 {statistics.median(overhead):.3f} ms (excluded) · "
        f"CPU {run.cpu_s:.2f} s / wall {run.wall_s:.2f} s"
    )


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", sorted(REQUESTS))
def test_ttft_p50_accuracy(runs: dict[int, LevelRun], concurrency: int) -> None:
    level = runs[concurrency].level
    assert level.error_rate == 0.0
    assert level.requests == REQUESTS[concurrency]
    assert level.ttft_p50_ms is not None
    assert abs(level.ttft_p50_ms - TTFT_MS) <= TTFT_TOLERANCE_MS[concurrency], level.ttft_p50_ms


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", sorted(REQUESTS))
def test_itl_p50_accuracy(runs: dict[int, LevelRun], concurrency: int) -> None:
    level = runs[concurrency].level
    assert level.itl_p50_ms is not None
    assert abs(level.itl_p50_ms - ITL_MS) <= ITL_TOLERANCE_MS, level.itl_p50_ms
    # every response carried exactly the requested tokens
    assert level.total_output_tokens == OUTPUT_TOKENS * level.requests
    assert level.tpot_p50_ms == pytest.approx(ITL_MS, abs=0.25)


@pytest.mark.slow
def test_no_busy_wait_at_concurrency_1(runs: dict[int, LevelRun]) -> None:
    run = runs[1]
    # Wall time is almost all waiting on the server; a spin loop would burn ~100% of it.
    assert run.cpu_s < 0.5 * run.wall_s, (run.cpu_s, run.wall_s)
    timing = run.result.timings[1]  # measured phase only, as seen by the runner
    assert timing.cpu_s < 0.1 * timing.wall_s, timing


@pytest.mark.slow
def test_throughput_and_cost_are_consistent(runs: dict[int, LevelRun]) -> None:
    level = runs[16].level
    expected_e2e_s = (TTFT_MS + (OUTPUT_TOKENS - 1) * ITL_MS) / 1000
    assert level.request_throughput_rps == pytest.approx(16 / expected_e2e_s, rel=0.1)
    assert level.output_token_throughput_tps == pytest.approx(level.request_throughput_rps * OUTPUT_TOKENS, rel=1e-9)
    assert level.cost_per_1m_tokens == pytest.approx(1.0 / 3600 / level.output_token_throughput_tps * 1e6)


@pytest.mark.slow
def test_parquet_and_manifest_written(runs: dict[int, LevelRun], artifacts_dir: Path) -> None:
    result = runs[1].result
    assert result.artifacts_uri == artifacts_dir.resolve().as_uri()
    samples = artifacts_dir / "samples.parquet"
    count, ok, tokens, itl = duckdb.execute(
        f"SELECT count(*), bool_and(ok), sum(output_tokens), median(list_median(itl_ms)) FROM '{samples}'"
    ).fetchall()[0]
    assert (count, ok, tokens) == (REQUESTS[1], True, REQUESTS[1] * OUTPUT_TOKENS)
    assert itl == pytest.approx(ITL_MS, abs=0.2)
    manifest = json.loads((artifacts_dir / "manifest.json").read_text())
    assert manifest["workload_hash"] == sha256_hex(canonical_json(manifest["workload"]))
    assert manifest["workload_hash"] == result.workload_hash
    assert manifest["run_config_hash"] == sha256_hex(canonical_json(manifest["run_config"]))
    assert manifest["started_at"] <= manifest["ended_at"]
    assert {"python", "h11", "duckdb", "pydantic"} <= set(manifest["package_versions"])
    assert manifest["levels"][0]["ttft_p50_ms"] == result.levels[0].ttft_p50_ms


@pytest.mark.slow
def test_server_errors_show_in_error_rate() -> None:
    with stream_server.spawn_server(ttft_ms=10, itl_ms=2, error_fraction=0.2) as url:
        workload = Workload(seed=3, input_tokens=16, output_tokens=8, requests=50, concurrency=(4,))
        result = run_loadgen(url, workload, model="m")
    level = result.levels[0]
    assert level.requests == 50
    assert level.error_rate == pytest.approx(0.2, abs=0.05)
    assert level.errors == round(level.error_rate * 50)
    failed = [s for s in result.samples[4] if not s.ok]
    assert failed and all(s.status == 500 for s in failed)
    assert level.ttft_p50_ms == pytest.approx(10.0, abs=1.5)  # successes are still measured


def test_unreachable_url_raises_readable_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(LoadgenError, match=rf"cannot connect to {url} — is the endpoint up\?"):
        run_loadgen(url, Workload(requests=2, concurrency=(2,)), model="m")


def test_cli_json_output(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from pathprover.loadgen.cli import loadgen_command

    app = typer.Typer()
    app.command("loadgen")(loadgen_command)
    app.command("noop")(lambda: None)  # two commands, so "loadgen" stays a subcommand
    with stream_server.spawn_server(ttft_ms=5, itl_ms=1) as url:
        args = ["loadgen", "--url", url, "--model", "m", "--concurrency", "1", "--concurrency", "2"]
        args += ["--requests", "6", "--input-tokens", "8", "--output-tokens", "4", "--seed", "5"]
        args += ["--price-per-hour", "2.5", "--out", str(tmp_path / "cli"), "--json"]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # stdout only: the progress lines are on stderr
    assert [level["concurrency"] for level in payload["levels"]] == [1, 2]
    first = payload["levels"][0]
    for key in (
        "ttft_avg_ms",
        "ttft_p50_ms",
        "ttft_p90_ms",
        "ttft_p99_ms",
        "itl_p50_ms",
        "tpot_p99_ms",
        "e2e_latency_p50_ms",
        "request_throughput_rps",
        "output_token_throughput_tps",
        "error_rate",
        "cost_per_1m_tokens",
        "requests",
        "errors",
    ):
        assert key in first
        assert payload[key] == first[key]
    assert payload["artifacts_uri"] == (tmp_path / "cli").resolve().as_uri()
    assert (tmp_path / "cli" / "samples.parquet").exists()
