"""Percentiles and per-level aggregation of request samples. Pure functions.

Definitions (the ones ``vllm bench serve`` and GenAI-Perf use):

* **TTFT** — request start to the arrival of the first chunk carrying a
  token. "Start" is when the request bytes are handed to the socket, so the
  client library's own request-building time (tens to hundreds of
  microseconds) is not charged to the server; it is kept per request as
  ``client_overhead_ms`` in the samples.
* **ITL** — the gaps between arrivals of consecutive token-carrying chunks,
  pooled over all successful requests of a level.
* **TPOT** — per request, ``(e2e - ttft) / (output_tokens - 1)``; requests with
  a single output token have none.
* **E2E latency** — request start to the end of the response body.
* **request_throughput_rps / output_token_throughput_tps** — successful
  requests / output tokens of successful requests, divided by the level's
  measured wall time (first request start to last request end).
* **error_rate** — failed / all measured requests (warm-up never counts).
* **cost_per_1m_tokens** — instance price per hour over output tokens per
  hour, times one million: what a million *output* tokens cost at the
  measured throughput with the instance fully used at this concurrency.

Percentiles use linear interpolation between closest ranks, the same as
``numpy.percentile``'s default, written in plain Python so that importing the
load generator does not import numpy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from pydantic import BaseModel, ConfigDict

LATENCY_METRICS: Final[tuple[str, ...]] = ("ttft", "itl", "tpot", "e2e_latency")
STATS: Final[tuple[str, ...]] = ("avg", "p50", "p90", "p99")


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) of ``values``, as ``numpy.percentile`` (linear)."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0.0 <= p <= 100.0 or math.isnan(p):
        raise ValueError(f"percentile must be within [0, 100], got {p}")
    ordered = sorted(values)
    return _percentile_sorted(ordered, p)


def _percentile_sorted(ordered: Sequence[float], p: float) -> float:
    pos = (len(ordered) - 1) * (p / 100.0)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    a, b = ordered[lo], ordered[hi]
    value = a + (b - a) * (pos - lo)
    # Clamp away rounding so the result is monotone in p and inside [a, b].
    return min(max(value, a), b)


@dataclass(frozen=True, slots=True)
class Summary:
    avg: float | None = None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None

    def get(self, stat: str) -> float | None:
        value: float | None = getattr(self, stat)
        return value


def summarize(values: Iterable[float]) -> Summary:
    """avg, p50, p90 and p99 of ``values``; all ``None`` when there are none."""
    ordered = sorted(values)
    if not ordered:
        return Summary()
    return Summary(
        avg=math.fsum(ordered) / len(ordered),
        p50=_percentile_sorted(ordered, 50),
        p90=_percentile_sorted(ordered, 90),
        p99=_percentile_sorted(ordered, 99),
    )


@dataclass(slots=True)
class RequestSample:
    """One measured request, times in ``perf_counter_ns`` nanoseconds.

    ``start_ns`` is when the request went to the socket; ``dispatch_ns`` when
    the runner asked the transport for it (0 when unknown). ``timed`` is False
    for a record of a batch transform job: SageMaker reports no per-record
    times, so such a sample has an outcome and a token count but no latency.
    """

    index: int
    start_ns: int
    end_ns: int
    ok: bool
    status: int | None = None
    error: str | None = None
    output_tokens: int = 0
    token_times_ns: list[int] = field(default_factory=list)
    dispatch_ns: int = 0
    timed: bool = True

    @property
    def client_overhead_ms(self) -> float | None:
        if not self.dispatch_ns or not self.timed:
            return None
        return (self.start_ns - self.dispatch_ns) / 1e6

    @property
    def ttft_ms(self) -> float | None:
        if not self.ok or not self.token_times_ns:
            return None
        return (self.token_times_ns[0] - self.start_ns) / 1e6

    @property
    def e2e_ms(self) -> float | None:
        return (self.end_ns - self.start_ns) / 1e6 if self.timed else None

    @property
    def itl_ms(self) -> list[float]:
        if not self.ok:
            return []
        t = self.token_times_ns
        return [(t[i] - t[i - 1]) / 1e6 for i in range(1, len(t))]

    @property
    def tpot_ms(self) -> float | None:
        ttft, e2e = self.ttft_ms, self.e2e_ms
        if ttft is None or e2e is None or self.output_tokens < 2:
            return None
        return (e2e - ttft) / (self.output_tokens - 1)


class LevelResult(BaseModel):
    """The metrics of one concurrency level; field names are the JSON keys."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int
    requests: int
    errors: int
    error_rate: float
    duration_s: float
    total_output_tokens: int
    ttft_avg_ms: float | None = None
    ttft_p50_ms: float | None = None
    ttft_p90_ms: float | None = None
    ttft_p99_ms: float | None = None
    itl_avg_ms: float | None = None
    itl_p50_ms: float | None = None
    itl_p90_ms: float | None = None
    itl_p99_ms: float | None = None
    tpot_avg_ms: float | None = None
    tpot_p50_ms: float | None = None
    tpot_p90_ms: float | None = None
    tpot_p99_ms: float | None = None
    e2e_latency_avg_ms: float | None = None
    e2e_latency_p50_ms: float | None = None
    e2e_latency_p90_ms: float | None = None
    e2e_latency_p99_ms: float | None = None
    request_throughput_rps: float
    output_token_throughput_tps: float
    cost_per_1m_tokens: float | None = None

    def metric(self, name: str) -> float | None:
        """A field by name, e.g. ``metric("ttft_p99_ms")``."""
        value = getattr(self, name)
        return None if value is None else float(value)


def cost_per_1m_tokens(price_per_hour: float, output_tokens_per_s: float) -> float | None:
    """USD per million output tokens at ``output_tokens_per_s`` on an instance costing ``price_per_hour``."""
    if output_tokens_per_s <= 0:
        return None
    return price_per_hour / 3600.0 / output_tokens_per_s * 1e6


def aggregate(
    samples: Sequence[RequestSample],
    *,
    concurrency: int,
    price_per_hour: float = 0.0,
    duration_s: float | None = None,
) -> LevelResult:
    """Aggregate the measured samples of one concurrency level."""
    ok = [s for s in samples if s.ok]
    errors = len(samples) - len(ok)
    if duration_s is None:
        duration_s = (max(s.end_ns for s in samples) - min(s.start_ns for s in samples)) / 1e9 if samples else 0.0
    total_tokens = sum(s.output_tokens for s in ok)
    rps = len(ok) / duration_s if duration_s > 0 else 0.0
    tps = total_tokens / duration_s if duration_s > 0 else 0.0
    ttft = summarize(v for s in ok if (v := s.ttft_ms) is not None)
    itl = summarize(v for s in ok for v in s.itl_ms)
    tpot = summarize(v for s in ok if (v := s.tpot_ms) is not None)
    e2e = summarize(v for s in ok if (v := s.e2e_ms) is not None)
    stats: dict[str, float | None] = {}
    for name, summary in (("ttft", ttft), ("itl", itl), ("tpot", tpot), ("e2e_latency", e2e)):
        for stat in STATS:
            stats[f"{name}_{stat}_ms"] = summary.get(stat)
    return LevelResult(
        concurrency=concurrency,
        requests=len(samples),
        errors=errors,
        error_rate=errors / len(samples) if samples else 0.0,
        duration_s=duration_s,
        total_output_tokens=total_tokens,
        request_throughput_rps=rps,
        output_token_throughput_tps=tps,
        cost_per_1m_tokens=cost_per_1m_tokens(price_per_hour, tps),
        **stats,
    )
