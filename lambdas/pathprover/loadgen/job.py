"""The benchmark stage's job: run the load generator against the endpoint under test, store the results.

One copy for both places it runs: the CodeBuild benchmark project on AWS
(`pathprover benchmark-job`, settings from the build's environment) and the
simulated builder offline (called with the same environment).

Writes `<RESULTS_URI>metrics.json` (`{"levels": [...], "artifacts_uri": ...}`)
and, beside it, the per-request samples (Parquet) and the manifest.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pathprover.loadgen.runner import run_loadgen
from pathprover.loadgen.workload import Workload
from pathprover.stages.ports import ArtifactStore, parse_s3_uri

REQUIRED = ("MODEL_NAME", "RESULTS_URI")


class BenchmarkJobError(ValueError):
    """The job's environment is incomplete or wrong."""


def workload_from_env(env: Mapping[str, str]) -> Workload:
    try:
        levels = tuple(int(c) for c in env.get("CONCURRENCY", "1,4,8").replace(" ", ",").split(",") if c)
        return Workload(
            seed=int(env.get("SEED", "42")),
            input_tokens=int(env.get("INPUT_TOKENS", "512")),
            output_tokens=int(env.get("OUTPUT_TOKENS", "128")),
            requests=int(env.get("REQUESTS", "64")),
            concurrency=levels,
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
    workload = workload_from_env(env)
    with tempfile.TemporaryDirectory(prefix="pathprover-bench-") as tmp:
        result = run_loadgen(
            target_url(env),
            workload,
            model=env["MODEL_NAME"],
            price_per_hour=float(env.get("PRICE_PER_HOUR", "0") or 0),
            out_dir=Path(tmp),
        )
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file():
                artifacts.put_bytes(prefix + path.relative_to(tmp).as_posix(), path.read_bytes())
    payload = result.to_json()
    summary = {
        "levels": payload.get("levels", []),
        "artifacts_uri": env["RESULTS_URI"],
        "workload_hash": result.workload_hash,
        "run_config_hash": env.get("RUN_CONFIG_HASH"),
    }
    artifacts.put_bytes(prefix + "metrics.json", json.dumps(summary, indent=2).encode())
    return summary
