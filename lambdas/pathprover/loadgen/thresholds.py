"""Typed pass/fail thresholds over level results, evaluated into verdicts.

    Percentile(metric="ttft", p=99, max_ms=250)
    Rate(metric="error_rate", max=0.01)
    Throughput(min_tps=500)

Each threshold is checked at every concurrency level (or only the levels in
``concurrency`` when given) and yields one :class:`Verdict` per level with the
expected bound, the actual value, whether it passed and the margin — how far
inside the bound the actual value is (negative when it failed). A missing
metric (no successful request) fails with ``actual=None`` and ``margin=None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from pathprover.loadgen.metrics import LevelResult


class _Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency: tuple[int, ...] | None = Field(default=None, description="levels to check; all levels when omitted")


class Percentile(_Threshold):
    """``metric``'s ``p``-th percentile must be at most ``max_ms``."""

    kind: Literal["percentile"] = "percentile"
    metric: Literal["ttft", "itl", "tpot", "e2e_latency"]
    p: Literal[50, 90, 99]
    max_ms: float = Field(gt=0)

    @property
    def field_name(self) -> str:
        return f"{self.metric}_p{self.p}_ms"

    def describe(self) -> str:
        return f"{self.metric} p{self.p} <= {self.max_ms:g} ms"


class Rate(_Threshold):
    """A rate in [0, 1] (the error rate) must be at most ``max``."""

    kind: Literal["rate"] = "rate"
    metric: Literal["error_rate"] = "error_rate"
    max: float = Field(ge=0, le=1)

    @property
    def field_name(self) -> str:
        return self.metric

    def describe(self) -> str:
        return f"{self.metric} <= {self.max:g}"


class Throughput(_Threshold):
    """Output-token throughput must be at least ``min_tps`` tokens per second."""

    kind: Literal["throughput"] = "throughput"
    min_tps: float = Field(gt=0)

    @property
    def field_name(self) -> str:
        return "output_token_throughput_tps"

    def describe(self) -> str:
        return f"output_token_throughput_tps >= {self.min_tps:g}"


Threshold = Annotated[Percentile | Rate | Throughput, Field(discriminator="kind")]
THRESHOLDS_ADAPTER: TypeAdapter[list[Percentile | Rate | Throughput]] = TypeAdapter(list[Threshold])


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: str
    concurrency: int
    metric: str
    expected: float
    actual: float | None
    passed: bool
    margin: float | None


def parse_thresholds(data: Iterable[object]) -> list[Percentile | Rate | Throughput]:
    """Validate plain dicts (e.g. from YAML) into thresholds; each needs ``kind``."""
    return THRESHOLDS_ADAPTER.validate_python(list(data))


def check(threshold: Percentile | Rate | Throughput, level: LevelResult) -> Verdict:
    actual = level.metric(threshold.field_name)
    if isinstance(threshold, Throughput):
        expected = threshold.min_tps
        margin = None if actual is None else actual - expected
    else:
        expected = threshold.max_ms if isinstance(threshold, Percentile) else threshold.max
        margin = None if actual is None else expected - actual
    return Verdict(
        threshold=threshold.describe(),
        concurrency=level.concurrency,
        metric=threshold.field_name,
        expected=expected,
        actual=actual,
        passed=margin is not None and margin >= 0,
        margin=margin,
    )


def evaluate(thresholds: Iterable[Percentile | Rate | Throughput], levels: Sequence[LevelResult]) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for threshold in thresholds:
        for level in levels:
            if threshold.concurrency is None or level.concurrency in threshold.concurrency:
                verdicts.append(check(threshold, level))
    return verdicts
