"""One logger, metrics and tracer for every handler; the decorator stack every entry point uses.

The X-Ray SDK costs about 0.2 s to import (Powertools' ``Tracer()`` imports it even when tracing is
disabled), so the tracer is created on the first call, and only where Powertools would trace: on
Lambda, outside SAM local, without ``POWERTOOLS_TRACE_DISABLED``. Importing a handler stays cheap.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

from pathprover.deployment import FAILURE_SCOPE_METRIC as FAILURE_SCOPE_METRIC
from pathprover.deployment import METRICS_NAMESPACE as NAMESPACE
from pathprover.deployment import SERVICE_NAME as SERVICE

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
_tracer: Tracer | None = None

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def tracing_enabled() -> bool:
    """Where Powertools' Tracer would trace (its own rule): on Lambda, not SAM local or Chalice local,
    and not disabled with POWERTOOLS_TRACE_DISABLED."""
    if resolve_truthy_env_var_choice(env=os.getenv(constants.TRACER_DISABLED_ENV, "false")):
        return False
    if os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV):
        return False
    return bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV))


def get_tracer() -> Tracer:
    """The one Tracer, created (and the X-Ray SDK imported) on first use."""
    global _tracer
    if _tracer is None:
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(service=SERVICE)
    return _tracer


def entry_point_for(correlation_id_path: str) -> Callable[[Handler], Handler]:
    """The decorator stack with the execution found at ``correlation_id_path`` of the event."""

    def decorate(func: Handler) -> Handler:
        traced: Handler | None = None

        def call(event: dict[str, Any], context: Any) -> dict[str, Any]:
            nonlocal traced
            if not tracing_enabled():
                return func(event, context)
            if traced is None:
                traced = get_tracer().capture_lambda_handler(func, capture_response=False)
            return traced(event, context)

        flushed = metrics.log_metrics(call)

        @functools.wraps(func)
        @logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)
        def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
            # Where metrics are disabled (the local runtime) nothing is recorded, and Powertools' flush of an
            # empty set would only warn "No application metrics to publish" into the run's output.
            return call(event, context) if is_metrics_disabled() else flushed(event, context)

        return wrapper

    return decorate


entry_point = entry_point_for("execution_id")
"""Logger with the execution as correlation id, EMF metrics flushed per call, X-Ray tracing (on Lambda)."""


def record(name: str, unit: MetricUnit, value: float) -> None:
    """Add one value to this call's EMF metrics, flushed by the entry point; skipped where metrics are
    disabled (the local runtime). Powertools' ``add_metric`` prints the metric set to stdout once a metric
    holds 100 values, disabled or not, and with flushing off its buffer never empties: a long local run
    would put an EMF line into the middle of its own output."""
    if is_metrics_disabled():
        return
    metrics.add_metric(name=name, unit=unit, value=value)


def count(name: str, dimension: str, value: str) -> None:
    """One EMF count with its own dimension (outcome, category), so dimensions never pile up."""
    if is_metrics_disabled():  # the local runtime: stdout stays clean
        return
    with single_metric(
        name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE, default_dimensions={"service": SERVICE}
    ) as metric:
        metric.add_dimension(name=dimension, value=value)
