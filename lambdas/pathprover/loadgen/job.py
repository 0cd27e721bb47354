"""The benchmark stage's job: run the load generator against the endpoint under test, store the results.

One copy for both places it runs: the CodeBuild benchmark project on AWS
(`pathprover benchmark-job`, settings from the build's environment) and the
simulated builder offline (called with the same environment).

Writes `<RESULTS_URI>metrics.json` (`{"levels": [...], "artifacts_uri": ...}`)
and, beside it, the per-request samples (Parquet) and the manifest.

`BENCHMARK_MODE` says how the endpoint under test is reached:

- `stream` (default, realtime): streaming requests, TTFT / ITL / TPOT / E2E (:mod:`.runner`);
- `async` (async inference): the same prompts through InvokeEndpointAsync, each input uploaded under
  `ASYNC_INPUT_URI`, timed from submission to its output object (:class:`.SageMakerAsyncTransport`);
- `batch` (batch transform): no requests are sent; the finished benchmark transform job's input
  (`BATCH_INPUT_URI`) and output (`TRANSFORM_OUTPUT_URI`) and its billed time
  (`TRANSFORM_START` .. `TRANSFORM_END`, `INSTANCE_COUNT`) are turned into the same level and
  samples (:mod:`.batch`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pathprover.loadgen.runner import run_async, run_levels
from pathprover.loadgen.transports import SageMakerAsyncTransport, make_transport
from pathprover.loadgen.workload import Workload
from pathprover.protocols import ArtifactStore
from pathprover.stages.naming import parse_s3_uri, parse_utc_iso

REQUIRED = ("MODEL_NAME", "RESULTS_URI")


class BenchmarkJobError(ValueError):
    """The job's environment is incomplete or wrong."""


MODES = ("stream", "async", "batch")


def workload_from_env(env: Mapping[str, str], *, streaming: bool = True) -> Workload:
    try:
        levels = tuple(int(c) for c in env.get("CONCURRENCY", "1,4,8").replace(" ", ",").split(",") if c)
        return Workload(
            seed=int(env.get("SEED", "42")),
            input_tokens=int(env.get("INPUT_TOKENS", "512")),
            output_tokens=int(env.get("OUTPUT_TOKENS", "128")),
            requests=int(env.get("REQUESTS", "64")),
            concurrency=levels,
            streaming=streaming,
        )
    except ValueError as exc:
        raise BenchmarkJobError(f"benchmark workload: {exc}") from exc


def target_url(env: Mapping[str, str]) -> str:
    if env.get("ENDPOINT_URL"):
        return env["ENDPOINT_URL"]
    if env.get("ENDPOINT_NAME"):
        region = env.get("REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        return f"sagemaker://{env['ENDPOINT_NAME']}?region={region}"
    raise BenchmarkJobError("benchmark job needs ENDPOINT_URL or ENDPOINT_NAME")


def run_benchmark_job(env: Mapping[str, str], artifacts: ArtifactStore) -> dict[str, Any]:
    missing = [k for k in REQUIRED if not env.get(k)]
    if missing:
        raise BenchmarkJobError(f"benchmark job needs {', '.join(missing)}")
    _, prefix = parse_s3_uri(env["RESULTS_URI"])
    mode = env.get("BENCHMARK_MODE", "stream") or "stream"
    if mode not in MODES:
        raise BenchmarkJobError(f"BENCHMARK_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    price = _number(env, "PRICE_PER_HOUR", "0")
    with tempfile.TemporaryDirectory(prefix="pathprover-bench-") as tmp:
        if mode == "batch":
            levels, workload_hash = _batch(env, artifacts, Path(tmp), price)
        else:
            workload = workload_from_env(env, streaming=mode == "stream")
            transport = make_transport(target_url(env)) if mode == "stream" else async_transport(env, artifacts)
            result = run_async(
                run_levels(transport, workload, model=env["MODEL_NAME"], price_per_hour=price, out_dir=Path(tmp))
            )
            levels, workload_hash = result.to_json().get("levels", []), result.workload_hash
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file():
                artifacts.put_bytes(prefix + path.relative_to(tmp).as_posix(), path.read_bytes())
    for level in levels:
        level["mode"] = mode
    summary = {
        "levels": levels,
        "mode": mode,
        "artifacts_uri": env["RESULTS_URI"],
        "workload_hash": workload_hash,
        "run_config_hash": env.get("RUN_CONFIG_HASH"),
    }
    artifacts.put_bytes(prefix + "metrics.json", json.dumps(summary, indent=2).encode())
    return summary


def _number(env: Mapping[str, str], key: str, default: str) -> float:
    try:
        return float(env.get(key, default) or default)
    except ValueError as exc:
        raise BenchmarkJobError(f"{key}: {exc}") from exc


def async_transport(env: Mapping[str, str], artifacts: ArtifactStore) -> SageMakerAsyncTransport:
    """InvokeEndpointAsync on ENDPOINT_NAME; inputs uploaded under ASYNC_INPUT_URI (the endpoint's io prefix,
    which its execution role reads); RUNTIME_ENDPOINT_URL overrides the SageMaker Runtime endpoint."""
    missing = [k for k in ("ENDPOINT_NAME", "ASYNC_INPUT_URI") if not env.get(k)]
    if missing:
        raise BenchmarkJobError(f"an async benchmark needs {', '.join(missing)}")
    bucket, input_prefix = parse_s3_uri(env["ASYNC_INPUT_URI"])
    if env.get("RESULTS_URI") and parse_s3_uri(env["RESULTS_URI"])[0] != bucket:
        # the job's store writes to the results bucket: an input elsewhere would be uploaded to the wrong place
        raise BenchmarkJobError(f"ASYNC_INPUT_URI must be in the bucket of RESULTS_URI, not {env['ASYNC_INPUT_URI']}")
    region = env.get("REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    return SageMakerAsyncTransport(
        env["ENDPOINT_NAME"],
        artifacts,
        input_prefix,
        region_name=region,
        runtime_url=env.get("RUNTIME_ENDPOINT_URL") or None,
        poll_max_s=_number(env, "ASYNC_POLL_MAX_S", "0.5"),
        timeout_s=_number(env, "ASYNC_TIMEOUT_S", "900"),
    )


def _batch(env: Mapping[str, str], artifacts: ArtifactStore, out_dir: Path, price: float) -> tuple[list[Any], str]:
    """Metrics of the finished benchmark transform job (no requests are sent)."""
    from pathprover.loadgen.artifacts import write_artifacts
    from pathprover.loadgen.batch import analyse, batch_workload, manifest_of, samples_by_level

    missing = [
        k for k in ("BATCH_INPUT_URI", "TRANSFORM_OUTPUT_URI", "TRANSFORM_START", "TRANSFORM_END") if not env.get(k)
    ]
    if missing:
        raise BenchmarkJobError(f"a batch benchmark needs {', '.join(missing)}")
    started, ended = parse_utc_iso(env["TRANSFORM_START"]), parse_utc_iso(env["TRANSFORM_END"])
    if started is None or ended is None:
        raise BenchmarkJobError("TRANSFORM_START and TRANSFORM_END must be ISO-8601 times")
    concurrency = int(_number(env, "MAX_CONCURRENT_TRANSFORMS", "1"))
    count = int(_number(env, "INSTANCE_COUNT", "1"))
    workload = batch_workload(workload_from_env(env, streaming=False), concurrency)
    try:
        input_bytes = artifacts.get_bytes(env["BATCH_INPUT_URI"])
        output_bytes = artifacts.get_bytes(env["TRANSFORM_OUTPUT_URI"])
    except FileNotFoundError as exc:
        raise BenchmarkJobError(f"batch benchmark: {exc}") from exc
    result = analyse(
        input_bytes,
        output_bytes,
        workload,
        env["MODEL_NAME"],
        started=started,
        ended=ended,
        instance_count=count,
        price_per_hour=price,
    )
    run_config = {
        "transport": "sagemaker-batch",
        "target": f"sagemaker-batch://{env.get('TRANSFORM_JOB', '')}",
        "model": env["MODEL_NAME"],
        "price_per_hour": price,
        "instance_count": count,
        "workload_hash": workload.hash,
        "thresholds": [],
        "transform_start": started.isoformat(),
        "transform_end": ended.isoformat(),
        "billed_seconds": result.billed_seconds,
    }
    write_artifacts(out_dir, samples_by_level(result), manifest_of(result, workload, run_config))
    return [result.level.model_dump(mode="json")], workload.hash
