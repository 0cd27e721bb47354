"""One logger, metrics and tracer for every handler; the decorator stack every entry point uses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from pathprover.deployment import FAILURE_SCOPE_METRIC as FAILURE_SCOPE_METRIC
from pathprover.deployment import METRICS_NAMESPACE as NAMESPACE
from pathprover.deployment import SERVICE_NAME as SERVICE

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def entry_point_for(correlation_id_path: str) -> Callable[[Handler], Handler]:
    """The decorator stack with the execution found at ``correlation_id_path`` of the event."""

    def decorate(func: Handler) -> Handler:
        @functools.wraps(func)
        @logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)
        @metrics.log_metrics
        @tracer.capture_lambda_handler(capture_response=False)
        def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return func(event, context)

        return wrapper

    return decorate


entry_point = entry_point_for("execution_id")
"""Logger with the execution as correlation id, EMF metrics flushed per call, X-Ray tracing."""


def count(name: str, dimension: str, value: str) -> None:
    """One EMF count with its own dimension (outcome, category), so dimensions never pile up."""
    if is_metrics_disabled():  # the local runtime: stdout stays clean
        return
    with single_metric(
        name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE, default_dimensions={"service": SERVICE}
    ) as metric:
        metric.add_dimension(name=dimension, value=value)
