"""The async closed-loop runner: warm up, measure each concurrency level, aggregate.

Per level ``c``:

1. ``transport.open(c)`` — a pool of exactly ``c`` keep-alive connections.
2. Warm-up: ``c`` workers send ``c * warmup_requests_per_connection``
   requests (their own prompts, never counted). This opens all ``c``
   connections, so the measured phase starts on warm sockets and its first
   requests do not pay for TCP set-up (which would otherwise land in p99).
   A connection failure here raises :class:`LoadgenError`; so does every
   warm-up request being rejected with a 4xx (wrong URL, model or endpoint).
3. Measure: ``c`` workers each take the next request as soon as their
   previous one ends, until ``workload.requests`` have been sent. The cyclic
   garbage collector is paused for this phase (a full collection is done just
   before), so a collection cannot land inside a timed interval.
4. Decode the raw streams and aggregate (:func:`~pathprover.loadgen.metrics.aggregate`).

Everything is asyncio; waiting is ``await`` on sockets (or on worker threads
for SageMaker), never polling. uvloop is used when it happens to be installed.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pathprover.loadgen.metrics import LevelResult, RequestSample, aggregate
from pathprover.loadgen.thresholds import Percentile, Rate, Throughput, Verdict, evaluate
from pathprover.loadgen.transports import (
    Exchange,
    LoadgenError,
    Transport,
    decode_stream,
    decode_whole,
    make_transport,
    unreachable_message,
)
from pathprover.loadgen.workload import Workload, canonical_json, sha256_hex

T = TypeVar("T")


@dataclass(slots=True)
class LevelTiming:
    """Wall and process CPU seconds of one level's measured phase (not warm-up)."""

    wall_s: float
    cpu_s: float


@dataclass
class RunResult:
    levels: list[LevelResult]
    samples: dict[int, list[RequestSample]]
    verdicts: list[Verdict]
    workload: Workload
    run_config: dict[str, Any]
    run_config_hash: str
    started_at: str
    ended_at: str
    artifacts_uri: str | None = None
    timings: dict[int, LevelTiming] = field(default_factory=dict)

    @property
    def workload_hash(self) -> str:
        return self.workload.hash

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def to_json(self) -> dict[str, Any]:
        """``{"levels": [...], <first level's keys>, "artifacts_uri": ..., ...}``."""
        levels = [level.model_dump(mode="json") for level in self.levels]
        out: dict[str, Any] = {"levels": levels}
        if levels:
            out.update(levels[0])
        out.update(
            artifacts_uri=self.artifacts_uri,
            workload_hash=self.workload_hash,
            run_config_hash=self.run_config_hash,
            verdicts=[v.model_dump(mode="json") for v in self.verdicts],
            passed=self.passed,
        )
        return out


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _drive(
    transport: Transport,
    bodies: Sequence[bytes],
    concurrency: int,
    on_done: Callable[[], None] | None = None,
) -> list[Exchange]:
    """Closed loop: ``concurrency`` workers send ``bodies`` in order, each as soon as it is free.

    ``on_done`` is called after each exchange ends (outside its timed interval), for a progress count.
    """
    results: list[Exchange | None] = [None] * len(bodies)
    indices = iter(range(len(bodies)))  # shared: next() never awaits, so no two workers get one index

    async def worker() -> None:
        for i in indices:
            results[i] = await transport.send(bodies[i])
            if on_done is not None:
                on_done()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(bodies)))))
    return [r for r in results if r is not None]


def _check_warmup(transport: Transport, exchanges: Sequence[Exchange]) -> None:
    for ex in exchanges:
        if ex.connect_failed:
            raise LoadgenError(unreachable_message(transport.target, ex.error or "connection failed"))
    rejected = [ex for ex in exchanges if ex.status is not None and 400 <= ex.status < 500]
    if exchanges and len(rejected) == len(exchanges):
        raise LoadgenError(f"{transport.target} rejected every warm-up request: {rejected[0].error}")


def to_sample(index: int, ex: Exchange) -> RequestSample:
    """Decode one exchange into a measured sample (ok, or failed with a reason)."""
    start = ex.sent_ns or ex.start_ns
    common: dict[str, Any] = {"status": ex.status, "dispatch_ns": ex.start_ns}
    if ex.error is not None:
        return RequestSample(index, start, ex.end_ns, ok=False, error=ex.error, **common)
    if not ex.streamed:
        # A whole answer (async inference): end-to-end time and its token count; no token times.
        whole = decode_whole(b"".join(ex.chunks))
        if whole.error is not None or whole.output_tokens < 1:
            error = whole.error or "no tokens in the response"
            return RequestSample(index, start, ex.end_ns, ok=False, error=error, **common)
        return RequestSample(index, start, ex.end_ns, ok=True, output_tokens=whole.output_tokens, **common)
    decoded = decode_stream(ex.chunks, ex.chunk_times_ns)
    if decoded.error is not None:
        return RequestSample(index, start, ex.end_ns, ok=False, error=decoded.error, **common)
    if not decoded.token_times_ns:
        return RequestSample(index, start, ex.end_ns, ok=False, error="no tokens in the response", **common)
    return RequestSample(
        index,
        start,
        ex.end_ns,
        ok=True,
        output_tokens=decoded.output_tokens,
        token_times_ns=decoded.token_times_ns,
        **common,
    )


ProgressEvent = dict[str, Any]
"""What the runner reports while it works (``progress=``), one dict per event, by ``event``:
``level_start`` (``index``, ``levels``, ``concurrency``, ``requests``), ``measuring`` (warm-up over),
``request_done`` (``done``: measured requests so far in the level), ``level_done`` (``level``: its
:class:`LevelResult`, ``wall_s``). ``index`` counts from 1."""


async def run_level(
    transport: Transport,
    workload: Workload,
    *,
    model: str,
    concurrency: int,
    on_measuring: Callable[[], None] | None = None,
    on_request: Callable[[], None] | None = None,
) -> tuple[list[RequestSample], LevelTiming]:
    """Warm up and measure one concurrency level; return its samples and timing.

    ``on_measuring`` is called once the warm-up is over, ``on_request`` after each measured request.
    """
    warm = [
        workload.encoded_body(model, i, namespace="warmup")
        for i in range(concurrency * workload.warmup_requests_per_connection)
    ]
    bodies = [workload.encoded_body(model, i) for i in range(workload.requests)]
    await transport.open(concurrency)
    try:
        _check_warmup(transport, await _drive(transport, warm, concurrency))
        if on_measuring is not None:
            on_measuring()
        gc.collect()
        gc_was_enabled = gc.isenabled()
        gc.disable()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        try:
            exchanges = await _drive(transport, bodies, concurrency, on_request)
        finally:
            timing = LevelTiming(wall_s=time.perf_counter() - wall0, cpu_s=time.process_time() - cpu0)
            if gc_was_enabled:
                gc.enable()
    finally:
        await transport.close()
    return [to_sample(i, ex) for i, ex in enumerate(exchanges)], timing


class _LevelReporter:
    """One level's progress events (nothing at all without a ``progress`` callback)."""

    def __init__(self, progress: Callable[[ProgressEvent], None] | None, **where: int) -> None:
        self.progress = progress
        self.where = where
        self.done = 0

    def emit(self, event: str, **extra: Any) -> None:
        if self.progress is not None:
            self.progress({"event": event, **self.where, **extra})

    def measuring(self) -> None:
        self.emit("measuring")

    def request_done(self) -> None:
        self.done += 1
        self.emit("request_done", done=self.done)


async def run_levels(
    transport: Transport,
    workload: Workload,
    *,
    model: str,
    price_per_hour: float = 0.0,
    thresholds: Sequence[Percentile | Rate | Throughput] = (),
    out_dir: Path | None = None,
    on_level: Callable[[LevelResult], None] | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
) -> RunResult:
    """Run every level of ``workload.concurrency`` against ``transport``, in order.

    With ``out_dir``, writes ``samples.parquet`` + ``manifest.json`` there and
    sets ``artifacts_uri``. Raises :class:`LoadgenError` when the endpoint
    cannot be reached. ``progress`` receives :data:`ProgressEvent` dicts.
    """
    run_config = {
        "transport": transport.kind,
        "target": transport.target,
        "model": model,
        "price_per_hour": price_per_hour,
        "workload_hash": workload.hash,
        "thresholds": [t.model_dump(mode="json") for t in thresholds],
    }
    run_config_hash = sha256_hex(canonical_json(run_config))
    started_at = _utc_now()
    levels: list[LevelResult] = []
    samples: dict[int, list[RequestSample]] = {}
    timings: dict[int, LevelTiming] = {}
    count = len(workload.concurrency)
    for index, concurrency in enumerate(workload.concurrency, start=1):
        reporter = _LevelReporter(progress, index=index, levels=count, concurrency=concurrency)
        reporter.emit("level_start", requests=workload.requests)
        level_samples, timing = await run_level(
            transport,
            workload,
            model=model,
            concurrency=concurrency,
            on_measuring=reporter.measuring if progress is not None else None,
            on_request=reporter.request_done if progress is not None else None,
        )
        level = aggregate(level_samples, concurrency=concurrency, price_per_hour=price_per_hour)
        levels.append(level)
        samples[concurrency] = level_samples
        timings[concurrency] = timing
        if on_level is not None:
            on_level(level)
        reporter.emit("level_done", level=level, wall_s=timing.wall_s)
    verdicts = evaluate(thresholds, levels)
    result = RunResult(
        levels=levels,
        samples=samples,
        verdicts=verdicts,
        workload=workload,
        run_config=run_config,
        run_config_hash=run_config_hash,
        started_at=started_at,
        ended_at=_utc_now(),
        timings=timings,
    )
    if out_dir is not None:
        from pathprover.loadgen.artifacts import write_artifacts

        manifest = {
            "run_config_hash": run_config_hash,
            "run_config": run_config,
            "workload_hash": workload.hash,
            "workload": workload.model_dump(mode="json"),
            "started_at": result.started_at,
            "ended_at": result.ended_at,
            "levels": [level.model_dump(mode="json") for level in levels],
            "verdicts": [v.model_dump(mode="json") for v in verdicts],
        }
        result.artifacts_uri = await asyncio.to_thread(write_artifacts, out_dir, samples, manifest)
    return result


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh event loop — uvloop's when installed, asyncio's otherwise."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop  # optional, never a dependency

        loop_factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coro)


def run_loadgen(
    url: str,
    workload: Workload,
    *,
    model: str,
    price_per_hour: float = 0.0,
    thresholds: Sequence[Percentile | Rate | Throughput] = (),
    out_dir: Path | None = None,
    api_key: str | None = None,
    on_level: Callable[[LevelResult], None] | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
) -> RunResult:
    """Synchronous entry point: build the transport for ``url`` and run every level."""
    transport = make_transport(url, api_key=api_key)
    return run_async(
        run_levels(
            transport,
            workload,
            model=model,
            price_per_hour=price_per_hour,
            thresholds=thresholds,
            out_dir=out_dir,
            on_level=on_level,
            progress=progress,
        )
    )
