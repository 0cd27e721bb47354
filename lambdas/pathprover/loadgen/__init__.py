"""The benchmark load generator: a deterministic streaming workload, timed precisely.

Typical use::

    from pathprover.loadgen import Workload, run_loadgen

    result = run_loadgen("http://127.0.0.1:8000", Workload(concurrency=(1, 4, 8)), model="m")
    result.levels[0].ttft_p50_ms

or, inside a running event loop, ``await run_levels(make_transport(url), workload, model=...)``.
Importing this package is cheap: aiohttp, boto3 and DuckDB are imported only
when a transport opens or artifacts are written.
"""

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
