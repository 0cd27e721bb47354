"""Load generator: percentiles, aggregation, thresholds, workload determinism, stream decoding."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pathprover.loadgen import (
    Exchange,
    LoadgenError,
    Percentile,
    Rate,
    RequestSample,
    SageMakerTransport,
    Throughput,
    Workload,
    aggregate,
    decode_stream,
    evaluate,
    make_prompt,
    make_transport,
    parse_thresholds,
    percentile,
    summarize,
)
from pathprover.loadgen.artifacts import MANIFEST_FILE, SAMPLE_COLUMNS, SAMPLES_FILE, write_artifacts
from pathprover.loadgen.metrics import cost_per_1m_tokens
from pathprover.loadgen.runner import _check_warmup, to_sample
from pathprover.loadgen.transports import OpenAIHTTPTransport, completions_url

MS = 1_000_000

# ----------------------------------------------------------------------------- percentiles

latencies = st.lists(
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=200
)


@pytest.mark.parametrize("p", [0, 1, 25, 50, 90, 99, 99.9, 100])
@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 1000])
def test_percentile_matches_numpy_linear(p: float, n: int) -> None:
    values = np.random.default_rng(n).lognormal(3.0, 1.0, size=n).tolist()
    assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)), rel=1e-12, abs=1e-12)


def test_percentile_rejects_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([1.0], -1)


@settings(max_examples=200, deadline=None)
@given(values=latencies, p1=st.floats(0, 100), p2=st.floats(0, 100))
def test_percentile_is_monotone_in_p_and_bounded(values: list[float], p1: float, p2: float) -> None:
    lo, hi = sorted((p1, p2))
    assert percentile(values, lo) <= percentile(values, hi)
    assert min(values) <= percentile(values, lo) <= max(values)


@settings(max_examples=100, deadline=None)
@given(values=latencies, p=st.floats(0, 100))
def test_percentile_property_matches_numpy(values: list[float], p: float) -> None:
    assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)), rel=1e-9, abs=1e-9)


def test_summarize() -> None:
    empty = summarize([])
    assert (empty.avg, empty.p50, empty.p90, empty.p99) == (None, None, None, None)
    s = summarize([4.0, 1.0, 3.0, 2.0])
    assert s.avg == 2.5
    assert s.p50 == 2.5
    assert s.p90 == pytest.approx(np.percentile([1, 2, 3, 4], 90))
    assert s.p99 == pytest.approx(np.percentile([1, 2, 3, 4], 99))


# ----------------------------------------------------------------------------- samples + aggregation


def ok_sample(index: int, start_ms: float, ttft_ms: float, itl_ms: float, tokens: int) -> RequestSample:
    start = int(start_ms * MS)
    times = [start + int((ttft_ms + k * itl_ms) * MS) for k in range(tokens)]
    return RequestSample(index, start, times[-1], ok=True, status=200, output_tokens=tokens, token_times_ns=times)


def test_request_sample_derived_metrics() -> None:
    s = ok_sample(0, 1000.0, 60.0, 12.0, 5)
    assert s.ttft_ms == pytest.approx(60.0)
    assert s.e2e_ms == pytest.approx(60.0 + 4 * 12.0)
    assert s.itl_ms == pytest.approx([12.0] * 4)
    assert s.tpot_ms == pytest.approx(12.0)
    single = ok_sample(1, 0.0, 50.0, 12.0, 1)
    assert single.tpot_ms is None
    assert single.itl_ms == []
    failed = RequestSample(2, 0, 5 * MS, ok=False, status=500, error="HTTP 500")
    assert failed.ttft_ms is None and failed.tpot_ms is None and failed.itl_ms == []


def test_aggregate_level() -> None:
    samples = [
        ok_sample(0, 0.0, 50.0, 10.0, 11),  # ends at 150 ms
        ok_sample(1, 150.0, 70.0, 14.0, 11),  # ends at 150 + 210 = 360 ms
        RequestSample(2, int(360 * MS), int(400 * MS), ok=False, status=500, error="HTTP 500"),
    ]
    level = aggregate(samples, concurrency=1, price_per_hour=3.6)
    assert level.requests == 3
    assert level.errors == 1
    assert level.error_rate == pytest.approx(1 / 3)
    assert level.duration_s == pytest.approx(0.4)
    assert level.total_output_tokens == 22
    assert level.request_throughput_rps == pytest.approx(2 / 0.4)
    assert level.output_token_throughput_tps == pytest.approx(22 / 0.4)
    assert level.ttft_avg_ms == pytest.approx(60.0)
    assert level.ttft_p50_ms == pytest.approx(60.0)
    assert level.ttft_p99_ms == pytest.approx(np.percentile([50.0, 70.0], 99))
    # ITL pools every gap of every successful request: 10 gaps of 10 ms and 10 of 14 ms.
    assert level.itl_avg_ms == pytest.approx(12.0)
    assert level.itl_p50_ms == pytest.approx(12.0)
    assert level.itl_p90_ms == pytest.approx(14.0)
    assert level.tpot_p50_ms == pytest.approx(12.0)
    assert level.e2e_latency_p50_ms == pytest.approx((150.0 + 210.0) / 2)
    assert level.cost_per_1m_tokens == pytest.approx(3.6 / 3600 / (22 / 0.4) * 1e6)


def test_aggregate_all_failed_and_empty() -> None:
    failed = [RequestSample(i, i * MS, (i + 1) * MS, ok=False, status=500, error="x") for i in range(4)]
    level = aggregate(failed, concurrency=2, price_per_hour=1.0)
    assert level.error_rate == 1.0
    assert level.ttft_p50_ms is None and level.itl_p99_ms is None
    assert level.output_token_throughput_tps == 0.0
    assert level.cost_per_1m_tokens is None
    empty = aggregate([], concurrency=1)
    assert empty.requests == 0 and empty.error_rate == 0.0


def test_cost_per_1m_tokens() -> None:
    assert cost_per_1m_tokens(3.6, 1000.0) == pytest.approx(1.0)  # $0.001/s over 1000 tok/s
    assert cost_per_1m_tokens(0.0, 1000.0) == 0.0
    assert cost_per_1m_tokens(1.0, 0.0) is None


# ----------------------------------------------------------------------------- thresholds


def level_with(**overrides: Any) -> Any:
    level = aggregate([ok_sample(0, 0.0, 60.0, 12.0, 32)], concurrency=4, price_per_hour=1.0)
    return level.model_copy(update=overrides)


def test_thresholds_verdicts_and_margins() -> None:
    level = level_with(ttft_p99_ms=80.0, error_rate=0.02, output_token_throughput_tps=150.0)
    verdicts = evaluate(
        [
            Percentile(metric="ttft", p=99, max_ms=100),
            Rate(metric="error_rate", max=0.01),
            Throughput(min_tps=100),
            Throughput(min_tps=200),
        ],
        [level],
    )
    by = [(v.metric, v.expected, v.actual, v.passed, v.margin) for v in verdicts]
    assert by[0] == ("ttft_p99_ms", 100.0, 80.0, True, pytest.approx(20.0))
    assert by[1] == ("error_rate", 0.01, 0.02, False, pytest.approx(-0.01))
    assert by[2] == ("output_token_throughput_tps", 100.0, 150.0, True, pytest.approx(50.0))
    assert by[3][3] is False and by[3][4] == pytest.approx(-50.0)
    assert all(v.concurrency == 4 for v in verdicts)


def test_threshold_missing_metric_fails_and_concurrency_filter() -> None:
    level = level_with(ttft_p50_ms=None)
    (verdict,) = evaluate([Percentile(metric="ttft", p=50, max_ms=100)], [level])
    assert verdict.passed is False and verdict.actual is None and verdict.margin is None
    other = level_with(concurrency=8)
    only_8 = evaluate([Rate(max=0.5, concurrency=(8,))], [level, other])
    assert [v.concurrency for v in only_8] == [8]


def test_thresholds_are_strict_models() -> None:
    with pytest.raises(ValidationError):
        Percentile(metric="ttft", p=99, max_ms=10, extra_field=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Percentile(metric="ttft", p=95, max_ms=10)
    with pytest.raises(ValidationError):
        Rate(metric="error_rate", max=1.5)
    with pytest.raises(ValidationError):
        Throughput(min_tps=0)
    parsed = parse_thresholds(
        [
            {"kind": "percentile", "metric": "itl", "p": 90, "max_ms": 20},
            {"kind": "rate", "max": 0.01},
            {"kind": "throughput", "min_tps": 10},
        ]
    )
    assert [type(t) for t in parsed] == [Percentile, Rate, Throughput]


# ----------------------------------------------------------------------------- workload

# Pinned: the sha256 of the canonical JSON of the default workload spec. Changing a default,
# a field name or the canonical form changes it — on purpose, since stored results refer to it.
DEFAULT_WORKLOAD_HASH = "8ff4512f7b8666edd03d98bfc2ff8a63b633cd72a56ff8a74a341d8b522e642b"


def test_workload_hash_is_pinned_and_canonical() -> None:
    w = Workload()
    assert w.hash == DEFAULT_WORKLOAD_HASH
    canonical = json.dumps(w.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    assert w.hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert Workload(seed=1).hash != w.hash
    assert Workload(concurrency=(1, 4, 8)).hash == w.hash  # the default levels


def test_workload_prompts_are_deterministic_and_exact_length() -> None:
    w = Workload(seed=7, input_tokens=64)
    assert w.prompt(0) == Workload(seed=7, input_tokens=64).prompt(0)
    assert w.prompt(0) != w.prompt(1)
    assert w.prompt(0) != Workload(seed=8, input_tokens=64).prompt(0)
    assert w.prompt(0) != w.prompt(0, namespace="warmup")
    assert all(len(w.prompt(i).split()) == 64 for i in range(20))
    # pinned: the generator must not drift across Python versions or refactors
    assert make_prompt(0, 0, 8) == "off farm page news then some time our"


def test_workload_request_body() -> None:
    w = Workload(input_tokens=16, output_tokens=32)
    body = w.request_body("my-model", 3)
    assert body["model"] == "my-model"
    assert body["max_tokens"] == 32 and body["min_tokens"] == 32
    assert body["ignore_eos"] is True
    assert body["temperature"] == 0.0
    assert body["stream"] is True
    assert json.loads(w.encoded_body("my-model", 3)) == body


def test_workload_rejects_spread_and_bad_levels() -> None:
    with pytest.raises(ValidationError):
        Workload(input_tokens_spread=5)
    with pytest.raises(ValidationError):
        Workload(temperature=0.7)
    with pytest.raises(ValidationError):
        Workload(concurrency=(0,))
    with pytest.raises(ValidationError):
        Workload(concurrency=())
    with pytest.raises(ValidationError):
        Workload(unknown=1)  # type: ignore[call-arg]


# ----------------------------------------------------------------------------- stream decoding


def sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def text_event(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "text": text}]}


def test_decode_sse_counts_nonempty_text_and_dates_lines_by_completing_chunk() -> None:
    e1, e2, e3 = sse(text_event(" a")), sse(text_event("")), sse(text_event(" b"))
    # e3 is split across two chunks: it is dated by the chunk that completes it.
    chunks = [e1, e2 + e3[:10], e3[10:] + b"data: [DONE]\n\n"]
    decoded = decode_stream(chunks, [100, 200, 300])
    assert decoded.token_times_ns == [100, 300]
    assert decoded.output_tokens == 2
    assert decoded.done and decoded.error is None


def test_decode_usage_wins_and_other_formats() -> None:
    usage = {"choices": [], "usage": {"completion_tokens": 5}}
    decoded = decode_stream([sse(text_event("ab")), sse(usage), b"data: [DONE]\n\n"], [1, 2, 3])
    assert decoded.output_tokens == 5 and decoded.token_times_ns == [1]
    chat = {"choices": [{"index": 0, "delta": {"content": "hi"}}]}
    assert decode_stream([sse(chat)], [7]).token_times_ns == [7]
    tgi = b'{"token": {"text": " x", "special": false}}\n{"token": {"text": "</s>", "special": true}}\n'
    assert decode_stream([tgi], [9]).token_times_ns == [9]
    crlf = b"data: " + json.dumps(text_event("z")).encode() + b"\r\n\r\n: keep-alive\r\n\r\n"
    assert decode_stream([crlf], [4]).output_tokens == 1


def test_decode_error_event_and_garbage() -> None:
    err = decode_stream([sse({"error": {"message": "boom"}})], [1])
    assert err.error == "boom"
    assert decode_stream([b"data: {not json\n\n"], [1]).error is not None


def test_to_sample_and_warmup_checks() -> None:
    ex = Exchange(start_ns=10, sent_ns=20, end_ns=500, status=200, chunks=[sse(text_event("a"))] * 3)
    ex.chunk_times_ns = [120, 220, 320]
    s = to_sample(0, ex)
    assert s.ok and s.start_ns == 20 and s.dispatch_ns == 10 and s.output_tokens == 3
    assert s.client_overhead_ms == pytest.approx(10 / 1e6)
    done_only = Exchange(0, 2, 200, chunk_times_ns=[1], chunks=[b"data: [DONE]\n\n"], sent_ns=1)
    empty = to_sample(1, done_only)
    assert empty.ok is False and "no tokens" in (empty.error or "")
    failed = to_sample(2, Exchange(start_ns=0, end_ns=2, status=500, error="HTTP 500: x"))
    assert failed.ok is False and failed.status == 500

    class T:
        kind = "openai-http"
        target = "http://h:1"

    with pytest.raises(LoadgenError, match="cannot connect to http://h:1 — is the endpoint up"):
        _check_warmup(T(), [Exchange(0, error="refused", connect_failed=True)])  # type: ignore[arg-type]
    with pytest.raises(LoadgenError, match="rejected every warm-up request"):
        _check_warmup(T(), [Exchange(0, status=404, error="HTTP 404: nope")])  # type: ignore[arg-type]
    _check_warmup(T(), [Exchange(0, status=500, error="HTTP 500"), Exchange(0, status=200)])  # type: ignore[arg-type]


def test_urls_and_factory() -> None:
    assert completions_url("http://h:8000") == "http://h:8000/v1/completions"
    assert completions_url("http://h:8000/v1/") == "http://h:8000/v1/completions"
    assert completions_url("http://h/v1/completions") == "http://h/v1/completions"
    assert isinstance(make_transport("http://h:1"), OpenAIHTTPTransport)
    sm = make_transport("sagemaker://my-endpoint?region=us-west-2")
    assert isinstance(sm, SageMakerTransport) and sm.endpoint_name == "my-endpoint"
    with pytest.raises(LoadgenError):
        make_transport("ftp://h")


# ----------------------------------------------------------------------------- SageMaker (fake client)


class EndpointConnectionError(Exception):
    """Same class name as botocore's; the transport classifies by name."""


class FakeEvents:
    def __init__(self) -> None:
        self.handlers: list[Any] = []

    def register(self, name: str, handler: Any, unique_id: str | None = None) -> None:
        assert name == "before-send.sagemaker-runtime.InvokeEndpointWithResponseStream"
        self.handlers.append(handler)


class FakeSageMakerClient:
    def __init__(self, events: list[dict[str, Any]] | Exception) -> None:
        self.meta = type("Meta", (), {"events": FakeEvents()})()
        self._events = events
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint_with_response_stream(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        for handler in self.meta.events.handlers:
            handler(request=None)
        if isinstance(self._events, Exception):
            raise self._events
        return {"ResponseMetadata": {"HTTPStatusCode": 200}, "Body": iter(self._events)}


async def sagemaker_exchange(client: FakeSageMakerClient) -> Exchange:
    transport = SageMakerTransport("ep", client=client)
    await transport.open(2)
    try:
        return await transport.send(b'{"prompt": "x"}')
    finally:
        await transport.close()


def test_sagemaker_transport_payload_parts() -> None:
    parts = [sse(text_event(" a")), sse(text_event(" b")) + b"data: [DONE]\n\n"]
    client = FakeSageMakerClient([{"PayloadPart": {"Bytes": p}} for p in parts])
    ex = asyncio.run(sagemaker_exchange(client))
    assert ex.error is None and ex.status == 200
    assert ex.chunks == parts
    assert ex.start_ns <= ex.sent_ns <= ex.chunk_times_ns[0] <= ex.chunk_times_ns[1] <= ex.end_ns
    assert client.calls[0]["EndpointName"] == "ep" and client.calls[0]["ContentType"] == "application/json"
    sample = to_sample(0, ex)
    assert sample.ok and sample.output_tokens == 2


def test_sagemaker_transport_errors() -> None:
    stream_error = {"ModelStreamError": {"Message": "timeout", "ErrorCode": "ModelInvocationTimeExceeded"}}
    ex = asyncio.run(sagemaker_exchange(FakeSageMakerClient([stream_error])))
    assert ex.error is not None and "ModelInvocationTimeExceeded" in ex.error
    ex = asyncio.run(sagemaker_exchange(FakeSageMakerClient(EndpointConnectionError("no route"))))
    assert ex.connect_failed and "EndpointConnectionError" in (ex.error or "")


# ----------------------------------------------------------------------------- artifacts + import cost


def test_write_artifacts_roundtrip(tmp_path: Path) -> None:
    samples = {
        1: [ok_sample(0, 0.0, 60.0, 12.0, 4), RequestSample(1, 5, 9, ok=False, status=500, error="HTTP 500")],
        4: [],
    }
    uri = write_artifacts(tmp_path / "run", samples, {"workload_hash": "abc"})
    assert uri.startswith("file://") and uri.endswith("/run")
    rows = duckdb.execute(
        f"SELECT concurrency, request_index, ok, status, error, ttft_ms, itl_ms "
        f"FROM '{tmp_path / 'run' / SAMPLES_FILE}' ORDER BY request_index"
    ).fetchall()
    assert rows[0][:4] == (1, 0, True, 200) and rows[0][5] == pytest.approx(60.0)
    assert rows[0][6] == pytest.approx([12.0, 12.0, 12.0])
    assert rows[1][:5] == (1, 1, False, 500, "HTTP 500") and rows[1][5] is None
    columns = [r[0] for r in duckdb.execute(f"DESCRIBE SELECT * FROM '{tmp_path / 'run' / SAMPLES_FILE}'").fetchall()]
    assert columns == list(SAMPLE_COLUMNS)
    manifest = json.loads((tmp_path / "run" / MANIFEST_FILE).read_text())
    assert manifest["workload_hash"] == "abc" and "aiohttp" in manifest["package_versions"]
    # no rows at all still writes a readable, typed file
    write_artifacts(tmp_path / "empty", {1: []}, {})
    assert duckdb.execute(f"SELECT count(*) FROM '{tmp_path / 'empty' / SAMPLES_FILE}'").fetchall() == [(0,)]


def test_import_is_cheap_and_lazy() -> None:
    code = (
        "import sys, pathprover.loadgen, pathprover.loadgen.cli; "
        "print(sorted(m for m in ('aiohttp', 'boto3', 'botocore', 'duckdb', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_nan_free_percentiles_on_constant_data() -> None:
    assert percentile([5.0] * 10, 99) == 5.0
    assert not math.isnan(summarize([1.0]).p99 or math.nan)
