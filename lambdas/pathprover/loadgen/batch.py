"""Batch transform as a benchmark: the generated input file, and metrics from a finished job.

A transform job has no per-request timing: SageMaker reports when the job started and ended
(``TransformStartTime`` / ``TransformEndTime``) and writes one output line per input line
(``SplitType=Line``, ``AssembleWith=Line``). So a batch benchmark measures what that allows:

* the records that came back with text (``error_rate`` counts the others),
* output tokens (the server's ``usage.completion_tokens`` per record),
* ``output_token_throughput_tps`` = output tokens / the job's billed seconds (start to end,
  container start-up included: the figure a batch user pays for, not a steady-state rate),
* ``cost_per_1m_tokens`` from the same billed seconds x instance count x price.

Latency percentiles, TTFT, ITL and TPOT are null: not measured, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pathprover.loadgen.metrics import LevelResult, RequestSample, aggregate
from pathprover.loadgen.transports import decode_whole
from pathprover.loadgen.workload import Workload

BATCH_INPUT_FILE: Final = "benchmark.jsonl"


def batch_workload(workload: Workload, concurrency: int = 1) -> Workload:
    """The workload as a transform job runs it: the same prompts and lengths, not streamed, one level
    (the job's MaxConcurrentTransforms)."""
    return Workload(**{**workload.model_dump(), "streaming": False, "concurrency": (concurrency,)})


def batch_input(workload: Workload, model: str) -> bytes:
    """One JSON request per line, request ``i`` of ``workload`` (its measured prompts, not warm-up)."""
    return b"".join(workload.encoded_body(model, i) + b"\n" for i in range(workload.requests))


@dataclass(frozen=True)
class BatchResult:
    level: LevelResult
    samples: list[RequestSample]
    billed_seconds: float


class BatchInputMismatch(ValueError):
    """The job's input file is not the one this workload generates."""


def analyse(
    input_bytes: bytes,
    output_bytes: bytes,
    workload: Workload,
    model: str,
    *,
    started: datetime,
    ended: datetime,
    instance_count: int,
    price_per_hour: float,
) -> BatchResult:
    """Samples and the level of one finished transform job (see the module docstring)."""
    expected = batch_input(workload, model)
    if input_bytes != expected:
        raise BatchInputMismatch(
            f"the transform input ({len(input_bytes)} bytes) is not the workload's ({len(expected)} bytes, "
            f"{workload.requests} records, workload {workload.hash[:12]})"
        )
    billed = (ended - started).total_seconds()
    if billed <= 0:
        raise ValueError(f"transform job ended ({ended.isoformat()}) before it started ({started.isoformat()})")
    lines = [line for line in output_bytes.splitlines() if line.strip()]
    samples = [_sample(i, lines[i] if i < len(lines) else None) for i in range(workload.requests)]
    level = aggregate(
        samples,
        concurrency=workload.concurrency[0],
        price_per_hour=price_per_hour * instance_count,
        duration_s=billed,
    )
    return BatchResult(level=level, samples=samples, billed_seconds=billed)


def _sample(index: int, line: bytes | None) -> RequestSample:
    if line is None:
        return RequestSample(index, 0, 0, ok=False, error="no output line for this record", timed=False)
    whole = decode_whole(line)
    if whole.error is not None or whole.output_tokens < 1:
        return RequestSample(
            index, 0, 0, ok=False, status=200, error=whole.error or "no tokens in the output", timed=False
        )
    return RequestSample(index, 0, 0, ok=True, status=200, output_tokens=whole.output_tokens, timed=False)


def manifest_of(result: BatchResult, workload: Workload, run_config: dict[str, Any]) -> dict[str, Any]:
    """The manifest fields the realtime runner writes, for a batch job."""
    from pathprover.loadgen.workload import canonical_json, sha256_hex

    return {
        "run_config_hash": sha256_hex(canonical_json(run_config)),
        "run_config": run_config,
        "workload_hash": workload.hash,
        "workload": workload.model_dump(mode="json"),
        "started_at": run_config.get("transform_start"),
        "ended_at": run_config.get("transform_end"),
        "levels": [result.level.model_dump(mode="json")],
        "verdicts": [],
    }


def samples_by_level(result: BatchResult) -> dict[int, Sequence[RequestSample]]:
    return {result.level.concurrency: result.samples}
