"""The handlers' Powertools stack: the tracer is created only where Powertools would trace."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("aws_lambda_powertools")

from pathprover.handlers import _powertools


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"}, False),
    ],
)
def test_tracing_follows_powertools_rule(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], enabled: bool) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _powertools.tracing_enabled() is enabled


def test_an_untraced_entry_point_runs_without_creating_the_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setattr(_powertools, "_tracer", None)
    calls: list[dict[str, Any]] = []

    @_powertools.entry_point
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        return {"ok": True}

    context = SimpleNamespace(
        function_name="pathprover-brain", memory_limit_in_mb=128, invoked_function_arn="arn", aws_request_id="r-1"
    )
    assert handler({"execution_id": "e-1"}, context) == {"ok": True}
    assert calls == [{"execution_id": "e-1"}]
    assert _powertools._tracer is None


@pytest.mark.parametrize("module", ["pathprover.handlers.brain", "pathprover.handlers.prove"])
def test_importing_a_handler_loads_neither_xray_nor_the_workflow(module: str) -> None:
    heavy = ["aws_xray_sdk", "pathprover.workflow.planning", "pathprover.catalog", "numpy", "pandas"]
    code = f"import sys, {module}; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_traced_entry_point_wraps_the_handler_with_the_tracer_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Lambda with tracing on, and a stand-in for the Tracer (no X-Ray daemon here)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    wrapped: list[dict[str, Any]] = []

    class StandIn:
        def capture_lambda_handler(self, func: Any, capture_response: bool) -> Any:
            wrapped.append({"capture_response": capture_response})

            def traced(event: dict[str, Any], context: Any) -> dict[str, Any]:
                return {**func(event, context), "traced": True}

            return traced

    monkeypatch.setattr(_powertools, "_tracer", StandIn())

    @_powertools.entry_point
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"ok": True}

    context = SimpleNamespace(
        function_name="pathprover-check", memory_limit_in_mb=128, invoked_function_arn="arn", aws_request_id="r-2"
    )
    # When it is called twice / Then each call goes through capture_lambda_handler, wrapped once, no response kept
    assert handler({"execution_id": "e-2"}, context) == {"ok": True, "traced": True}
    assert handler({"execution_id": "e-2"}, context) == {"ok": True, "traced": True}
    assert wrapped == [{"capture_response": False}]
