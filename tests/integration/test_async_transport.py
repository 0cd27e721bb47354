"""The async load generator (InvokeEndpointAsync + output objects) against a simulated async endpoint.

Real boto3 ``sagemaker-runtime`` calls go over HTTP to the simulated endpoint server (its REST shape is
SageMaker Runtime's), which reads each input from and writes each answer to a local artifact store.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pathprover.adapters.local.artifacts import LocalArtifactStore
from pathprover.adapters.local.endpoint import AsyncIO, SimulatedEndpointServer
from pathprover.adapters.local.latency import LatencyModel
from pathprover.loadgen.runner import run_async, run_levels
from pathprover.loadgen.transports import SageMakerAsyncTransport
from pathprover.loadgen.workload import Workload

BUCKET = "pp-local"
LATENCY = LatencyModel(decode_ms_per_token=8.0, prefill_ms_per_token=0.2, base_ms=20.0, concurrency_slope=0.0)
WORKLOAD = Workload(seed=7, input_tokens=50, output_tokens=12, requests=6, concurrency=(1, 3), streaming=False)


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts", s3_bucket=BUCKET)


def _transport(server: SimulatedEndpointServer, store: LocalArtifactStore, name: str, **kw) -> SageMakerAsyncTransport:
    return SageMakerAsyncTransport(
        name, store, f"io/{name}/async-input/", region_name="us-east-1", runtime_url=server.url, **kw
    )


def test_async_requests_are_timed_from_submission_to_their_output_object(
    server: SimulatedEndpointServer, store: LocalArtifactStore
) -> None:
    # Given an async endpoint whose answers land in the store after a known simulated latency
    io = AsyncIO(store, f"s3://{BUCKET}/io/ep-a/async-output/", f"s3://{BUCKET}/io/ep-a/async-failure/")
    server.register("ep-a", LATENCY, model_name="m", async_io=io)
    transport = _transport(server, store, "ep-a", poll_max_s=0.02)
    # When the workload runs at 1 and 3 submissions in flight
    result = run_async(run_levels(transport, WORKLOAD, model="m", price_per_hour=3.6))
    # Then every request is answered, its tokens counted from usage, with no streaming metrics
    expected_ms = LATENCY.ttft_ms(WORKLOAD.input_tokens) + (WORKLOAD.output_tokens - 1) * LATENCY.itl_ms(1)
    for level in result.levels:
        assert level.errors == 0 and level.requests == WORKLOAD.requests
        assert level.total_output_tokens == WORKLOAD.requests * WORKLOAD.output_tokens
        assert level.ttft_p50_ms is None and level.itl_p50_ms is None and level.tpot_p50_ms is None
        # end-to-end is the simulated generation time, late by at most a poll interval and the S3-like I/O
        assert expected_ms <= level.e2e_latency_p50_ms <= expected_ms + 60, level
        assert level.output_token_throughput_tps > 0
    assert result.levels[1].output_token_throughput_tps > 2 * result.levels[0].output_token_throughput_tps
    # And each request's input was uploaded under the prefix and its answer written to its output location
    sent = len(WORKLOAD.concurrency) * WORKLOAD.requests + sum(WORKLOAD.concurrency)  # plus one warm-up per worker
    assert len(list((store.root / "io/ep-a/async-input").iterdir())) == sent
    assert len(list((store.root / "io/ep-a/async-output").iterdir())) == sent
    server.unregister("ep-a")


def test_a_failed_async_request_is_read_from_its_failure_location(
    server: SimulatedEndpointServer, store: LocalArtifactStore
) -> None:
    # Given an async endpoint that fails every other request with a model-server error
    io = AsyncIO(store, f"s3://{BUCKET}/io/ep-b/async-output/", f"s3://{BUCKET}/io/ep-b/async-failure/")
    server.register("ep-b", LATENCY, model_name="m", async_io=io)
    server.inject_errors("ep-b", "CUDA error: an illegal memory access was encountered", 0.5)
    # When one level runs
    result = run_async(run_levels(_transport(server, store, "ep-b"), WORKLOAD, model="m"))
    # Then half the measured requests are errors carrying the failure object's text
    level = result.levels[0]
    assert level.errors == WORKLOAD.requests // 2 and level.error_rate == pytest.approx(0.5)
    errors = [s.error for s in result.samples[1] if not s.ok]
    assert errors and all("illegal memory access" in (e or "") and "async-failure" in (e or "") for e in errors)
    server.unregister("ep-b")


def test_an_answer_that_never_comes_is_an_error_after_the_timeout(
    server: SimulatedEndpointServer, store: LocalArtifactStore
) -> None:
    # Given an async endpoint with no failure location whose every request fails (nothing is ever written)
    server.register("ep-c", LATENCY, model_name="m", async_io=AsyncIO(store, f"s3://{BUCKET}/io/ep-c/out/"))
    server.inject_errors("ep-c", "boom", 1.0)
    transport = _transport(server, store, "ep-c", timeout_s=0.3, poll_max_s=0.05)
    one = Workload(seed=1, input_tokens=5, output_tokens=2, requests=2, concurrency=(1,), streaming=False)
    # When it runs, the polling stops at the timeout
    result = run_async(run_levels(transport, one, model="m"))
    # Then each request is an error saying so, after a bounded number of polls
    assert result.levels[0].errors == 2
    assert all("within 0.3 s" in (s.error or "") for s in result.samples[1])
    assert transport.polls < 3 * 40
    server.unregister("ep-c")


def test_an_endpoint_that_is_not_async_is_refused_at_warm_up(
    server: SimulatedEndpointServer, store: LocalArtifactStore
) -> None:
    from pathprover.loadgen.transports import LoadgenError

    server.register("ep-d", LATENCY, model_name="m")  # realtime only
    with pytest.raises(LoadgenError, match="not an asynchronous endpoint"):
        run_async(run_levels(_transport(server, store, "ep-d"), WORKLOAD, model="m"))
    server.unregister("ep-d")


def test_with_the_default_polling_the_end_is_late_by_at_most_five_percent(
    server: SimulatedEndpointServer, store: LocalArtifactStore
) -> None:
    # Given an async endpoint answering in 1.0 s, polled with the job's defaults (cap 0.5 s): an interval that
    # simply grew to its cap would see the answer up to half a second late
    slow = LatencyModel(decode_ms_per_token=86.0, prefill_ms_per_token=0.2, base_ms=50.0, concurrency_slope=0.0)
    io = AsyncIO(store, f"s3://{BUCKET}/io/ep-e/async-output/")
    server.register("ep-e", slow, model_name="m", async_io=io)
    three = Workload(seed=2, input_tokens=20, output_tokens=12, requests=3, concurrency=(1,), streaming=False)
    # When it runs
    transport = _transport(server, store, "ep-e")
    result = run_async(run_levels(transport, three, model="m"))
    # Then every measured end is within 5 % (plus the local store's fsync'ed writes) of the generation time
    expected_ms = slow.ttft_ms(20) + 11 * slow.itl_ms(1)
    assert expected_ms == pytest.approx(1000, abs=1)
    level = result.levels[0]
    assert level.errors == 0
    assert expected_ms <= level.e2e_latency_avg_ms <= expected_ms * 1.05 + 80, level
    assert transport.polls <= 4 * 60  # a few dozen polls per request, not a busy loop
    server.unregister("ep-e")
