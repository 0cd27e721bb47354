"""The benchmark stage's job: its environment, its modes, and what it stores (metrics.json beside the samples)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pathprover.adapters.local.artifacts import LocalArtifactStore
from pathprover.adapters.local.endpoint import SimulatedEndpointServer
from pathprover.adapters.local.latency import LatencyModel
from pathprover.loadgen.job import BenchmarkJobError, run_benchmark_job, target_url, workload_from_env

RESULTS = "s3://pathprover-local/benchmarks/e1/cfg/1/"
JOB = {"MODEL_NAME": "m", "RESULTS_URI": RESULTS}
FAST = LatencyModel(decode_ms_per_token=1.0, prefill_ms_per_token=0.0, base_ms=1.0)


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts", s3_bucket="pathprover-local")


def test_the_workload_comes_from_the_environment_with_the_guides_defaults() -> None:
    default = workload_from_env({})
    assert (default.concurrency, default.requests, default.input_tokens, default.output_tokens) == (
        (1, 4, 8),
        64,
        512,
        128,
    )
    custom = workload_from_env({"CONCURRENCY": "2 16", "REQUESTS": "5", "SEED": "7"}, streaming=False)
    assert (custom.concurrency, custom.requests, custom.seed, custom.streaming) == ((2, 16), 5, 7, False)
    with pytest.raises(BenchmarkJobError, match="workload"):
        workload_from_env({"REQUESTS": "many"})


def test_the_target_is_the_url_or_the_named_endpoint_in_its_region() -> None:
    assert target_url({"ENDPOINT_URL": "http://127.0.0.1:9/x", "ENDPOINT_NAME": "ep"}) == "http://127.0.0.1:9/x"
    assert target_url({"ENDPOINT_NAME": "ep", "AWS_REGION": "eu-west-1"}) == "sagemaker://ep?region=eu-west-1"
    assert target_url({"ENDPOINT_NAME": "ep"}) == "sagemaker://ep?region=us-east-1"
    with pytest.raises(BenchmarkJobError, match="ENDPOINT_URL or ENDPOINT_NAME"):
        target_url({})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RESULTS_URI": RESULTS}, "MODEL_NAME"),
        ({"MODEL_NAME": "m", "RESULTS_URI": RESULTS, "BENCHMARK_MODE": "offline"}, "BENCHMARK_MODE"),
        ({"MODEL_NAME": "m", "RESULTS_URI": RESULTS, "PRICE_PER_HOUR": "cheap"}, "PRICE_PER_HOUR"),
        (
            {"MODEL_NAME": "m", "RESULTS_URI": RESULTS, "BENCHMARK_MODE": "async", "ENDPOINT_NAME": "ep"},
            "ASYNC_INPUT_URI",
        ),
        ({"MODEL_NAME": "m", "RESULTS_URI": RESULTS, "BENCHMARK_MODE": "batch"}, "BATCH_INPUT_URI"),
    ],
)
def test_an_incomplete_environment_is_refused_before_anything_is_sent(
    store: LocalArtifactStore, env: dict[str, str], message: str
) -> None:
    with pytest.raises(BenchmarkJobError, match=message):
        run_benchmark_job(env, store)
    assert not store.exists(RESULTS + "metrics.json")


def test_a_stream_run_stores_metrics_beside_its_samples(store: LocalArtifactStore) -> None:
    with SimulatedEndpointServer() as server:
        server.register(
            "ep", LatencyModel(decode_ms_per_token=1.0, prefill_ms_per_token=0.0, base_ms=1.0), model_name="m"
        )
        env = {
            "MODEL_NAME": "m",
            "RESULTS_URI": RESULTS,
            "ENDPOINT_URL": server.endpoint_url("ep"),
            "CONCURRENCY": "1,2",
            "REQUESTS": "2",
            "OUTPUT_TOKENS": "4",
            "INPUT_TOKENS": "8",
            "PRICE_PER_HOUR": "1.5",
            "RUN_CONFIG_HASH": "abc",
        }
        summary = run_benchmark_job(env, store)
    assert [level["concurrency"] for level in summary["levels"]] == [1, 2]
    assert all(level["mode"] == "stream" for level in summary["levels"])
    assert (summary["mode"], summary["artifacts_uri"], summary["run_config_hash"]) == ("stream", RESULTS, "abc")
    assert json.loads(store.get_bytes(RESULTS + "metrics.json")) == summary
    stored = list((Path(store.root) / "benchmarks" / "e1" / "cfg" / "1").rglob("*"))
    assert len([p for p in stored if p.is_file()]) > 1  # the samples and manifest beside metrics.json
