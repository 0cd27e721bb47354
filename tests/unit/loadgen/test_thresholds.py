"""loadgen/thresholds.py: threshold verdicts, margins, the concurrency filter, strict models."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pathprover.loadgen import (
    Percentile,
    Rate,
    Throughput,
    aggregate,
    evaluate,
    parse_thresholds,
)
from tests.unit.loadgen.conftest import ok_sample

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
