"""What the brain's tests share: a fixed clock, the shipped catalog and a small table of proven configs."""

from datetime import UTC, datetime

from pathprover.catalog import default_catalog
from tests.support.history_rows import history_row

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
CATALOG = default_catalog()
PLAN_ARN = "arn:aws:sagemaker:us-east-2:222233334444:training-plan/tp-b200"
"""A training plan for the capacity-only B200 type."""
B200_GAP = ("transformers-vllm", "gemma", "p6-b200", "none", 8, "realtime-inference")


def row(
    dc,
    family,
    inst,
    q="none",
    tp=1,
    target="realtime-inference",
    status="completed",
    hours=48.0,
    category=None,
    reason=None,
    count=1,
):
    return history_row(
        dc,
        family,
        inst,
        q,
        tp,
        target,
        now=NOW,
        status=status,
        hours=hours,
        category=category,
        reason=reason,
        count=count,
    )


BASE = [
    row("transformers-vllm", "qwen3", "g5"),
    row("transformers-sglang", "qwen3", "g5"),
    row("transformers-vllm", "qwen3", "g5", target="async-inference"),
    row("transformers-vllm", "llama3", "g6e", tp=4),
    row("tensorrt-llm", "llama3", "g6e", q="fp8"),
]
