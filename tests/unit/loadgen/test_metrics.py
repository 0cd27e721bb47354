"""loadgen/metrics.py: percentiles, summaries, request samples, aggregation per level, cost per 1M tokens."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprover.loadgen import (
    RequestSample,
    aggregate,
    percentile,
    summarize,
)
from pathprover.loadgen.metrics import cost_per_1m_tokens
from tests.unit.loadgen.conftest import MS, ok_sample

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


def test_nan_free_percentiles_on_constant_data() -> None:
    assert percentile([5.0] * 10, 99) == 5.0
    assert not math.isnan(summarize([1.0]).p99 or math.nan)
