"""handlers/_powertools.py: the decorator stack every entry point uses, and one EMF count per dimension."""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from pathprover.handlers._powertools import count, entry_point_for, logger, metrics, record
from pathprover.runtime.moto_patches import LambdaContext
from tests.unit.handlers.conftest import emf


@pytest.fixture(autouse=True)
def _no_xray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


def test_the_entry_point_logs_with_the_execution_as_correlation_id(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the shared logger writing to a buffer, and a handler wrapped with the execution at `lane.execution_id`
    out = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", out)

    @entry_point_for("lane.execution_id")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("inside")
        return {"seen": event["lane"]["execution_id"]}

    # When Lambda calls it
    result = handler({"lane": {"execution_id": "run-7"}}, LambdaContext("pathprover-x"))
    # Then it returns the function's answer, and its log lines carry the execution and the function
    assert result == {"seen": "run-7"}
    lines = [json.loads(line) for line in out.getvalue().splitlines() if '"message":"inside"' in line]
    assert lines and lines[0]["correlation_id"] == "run-7" and lines[0]["function_name"] == "pathprover-x"
    assert handler.__name__ == "handler"


def test_an_error_inside_the_entry_point_reaches_the_caller() -> None:
    @entry_point_for("execution_id")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError, match="the step failed"):
        handler({"execution_id": "run-1"}, LambdaContext("pathprover-x"))


def test_count_prints_one_metric_with_its_own_dimension(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    count("ProveOutcome", "outcome", "proven")
    count("ProveFailed", "category", "oom")
    metrics = emf(capsys.readouterr().out)
    assert metrics["ProveOutcome"]["outcome"] == "proven" and "category" not in metrics["ProveOutcome"]
    assert (
        metrics["ProveFailed"]["category"] == "oom"
        and metrics["ProveFailed"]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PathProver"
    )


def test_count_prints_nothing_where_metrics_are_disabled(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    count("ProveOutcome", "outcome", "proven")
    assert '"_aws"' not in capsys.readouterr().out


def test_record_adds_to_the_calls_metrics_and_the_entry_point_flushes_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given metrics enabled, as on Lambda, and a handler that records one value
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)

    @entry_point_for("execution_id")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        record("PlannedProves", MetricUnit.Count, 3)
        return {}

    # When Lambda calls it
    handler({"execution_id": "run-1"}, LambdaContext("pathprover-x"))
    # Then the call's EMF line carries the value
    assert emf(capsys.readouterr().out)["PlannedProves"]["PlannedProves"] in (3.0, [3.0])


def test_record_keeps_stdout_clean_however_many_values_a_long_local_run_records(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the local runtime's setting: metrics disabled, so nothing is ever flushed
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    # When 150 proves each record their cost (Powertools prints its buffer at 100 values, disabled or not)
    for _ in range(150):
        record("ProveActualCost", MetricUnit.NoUnit, 0.75)
    # Then nothing reaches stdout, and nothing piles up for a later flush
    assert '"_aws"' not in capsys.readouterr().out
    assert "ProveActualCost" not in metrics.metric_set


def test_an_entry_point_warns_nothing_where_metrics_are_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the local runtime's setting and a handler that records nothing there
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    @entry_point_for("execution_id")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        record("PlannedProves", MetricUnit.Count, 3)
        return {"ok": True}

    # When it is called, with every warning shown
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = handler({"execution_id": "run-1"}, LambdaContext("pathprover-x"))
    # Then it answers and no "No application metrics to publish" reaches the run's output
    assert result == {"ok": True}
    assert not [w for w in caught if "metrics" in str(w.message)]
