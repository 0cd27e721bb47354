"""loadgen/runner.py: an exchange becomes a sample; warm-up failures stop the run."""

from __future__ import annotations

import pytest

from pathprover.loadgen import (
    Exchange,
    LoadgenError,
)
from pathprover.loadgen.runner import _check_warmup, to_sample
from tests.unit.loadgen.conftest import sse, text_event


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
