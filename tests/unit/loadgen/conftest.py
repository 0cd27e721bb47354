"""What the load generator's tests share: a successful request sample and server-sent events."""

from __future__ import annotations

import json
from typing import Any

from pathprover.loadgen import RequestSample

MS = 1_000_000


def ok_sample(index: int, start_ms: float, ttft_ms: float, itl_ms: float, tokens: int) -> RequestSample:
    start = int(start_ms * MS)
    times = [start + int((ttft_ms + k * itl_ms) * MS) for k in range(tokens)]
    return RequestSample(index, start, times[-1], ok=True, status=200, output_tokens=tokens, token_times_ns=times)


def sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def text_event(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "text": text}]}
