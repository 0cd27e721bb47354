"""The benchmark load generator: a deterministic streaming workload, timed precisely.

Typical use::

    from pathprover.loadgen import Workload, run_loadgen

    result = run_loadgen("http://127.0.0.1:8000", Workload(concurrency=(1, 4, 8)), model="m")
    result.levels[0].ttft_p50_ms

or, inside a running event loop, ``await run_levels(make_transport(url), workload, model=...)``.
Importing this package is cheap: h11, boto3 and DuckDB are imported only
when a transport opens or artifacts are written.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathprover.loadgen.metrics import LevelResult, RequestSample, aggregate, percentile, summarize
    from pathprover.loadgen.runner import RunResult, run_level, run_levels, run_loadgen
    from pathprover.loadgen.thresholds import Percentile, Rate, Throughput, Verdict, evaluate, parse_thresholds
    from pathprover.loadgen.transports import (
        Exchange,
        LoadgenError,
        OpenAIHTTPTransport,
        SageMakerTransport,
        Transport,
        decode_stream,
        make_transport,
    )
    from pathprover.loadgen.workload import DEFAULT_CONCURRENCY, Workload, make_prompt

_HOME = {
    "LevelResult": "metrics",
    "RequestSample": "metrics",
    "aggregate": "metrics",
    "percentile": "metrics",
    "summarize": "metrics",
    "RunResult": "runner",
    "run_level": "runner",
    "run_levels": "runner",
    "run_loadgen": "runner",
    "Percentile": "thresholds",
    "Rate": "thresholds",
    "Throughput": "thresholds",
    "Verdict": "thresholds",
    "evaluate": "thresholds",
    "parse_thresholds": "thresholds",
    "Exchange": "transports",
    "LoadgenError": "transports",
    "OpenAIHTTPTransport": "transports",
    "SageMakerTransport": "transports",
    "Transport": "transports",
    "decode_stream": "transports",
    "make_transport": "transports",
    "DEFAULT_CONCURRENCY": "workload",
    "Workload": "workload",
    "make_prompt": "workload",
}

__all__ = [
    "DEFAULT_CONCURRENCY",
    "Exchange",
    "LevelResult",
    "LoadgenError",
    "OpenAIHTTPTransport",
    "Percentile",
    "Rate",
    "RequestSample",
    "RunResult",
    "SageMakerTransport",
    "Throughput",
    "Transport",
    "Verdict",
    "Workload",
    "aggregate",
    "decode_stream",
    "evaluate",
    "make_prompt",
    "make_transport",
    "parse_thresholds",
    "percentile",
    "run_level",
    "run_levels",
    "run_loadgen",
    "summarize",
]


def __getattr__(name: str) -> Any:
    """The package's names, each imported on first use (a command that needs one module loads only it)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
