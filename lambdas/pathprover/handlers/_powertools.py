"""One logger, metrics and tracer for every handler; the decorator stack every entry point uses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "path-prover"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="PathProver", service=SERVICE)
tracer = Tracer(service=SERVICE)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def entry_point(func: Handler) -> Handler:
    """Logger with the execution as correlation id, EMF metrics flushed per call, X-Ray tracing."""

    @functools.wraps(func)
    @logger.inject_lambda_context(correlation_id_path="execution_id", clear_state=True)
    @metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False)
    def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return func(event, context)

    return wrapper
