"""The stopped-execution clean-up Lambda: an EventBridge "Execution Status Change" event for an execution
that ended FAILED, TIMED_OUT or ABORTED releases what it held (the handler on the local adapters)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pathprover.core.targets import ValidationTarget, to_run_config
from pathprover.handlers import stopped
from pathprover.runtime.local import LocalRuntime
from pathprover.services import use_services
from pathprover.stages import lifecycle
from pathprover.stages.state import ProveState
from pathprover.workflow.planning import run_key

STATE_MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:mlcc-path-prover"


class _Context:
    function_name = "pathprover-stopped-cleanup"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:pathprover-stopped-cleanup"
    aws_request_id = "req-1"


def _event(name: str, status: str) -> dict[str, Any]:
    """The event Step Functions sends to EventBridge (shape from the Step Functions user guide)."""
    return {
        "version": "0",
        "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "111111111111",
        "time": "2026-12-06T16:00:00Z",
        "region": "us-east-1",
        "resources": [f"{STATE_MACHINE.replace(':stateMachine:', ':execution:')}:{name}"],
        "detail": {
            "executionArn": f"{STATE_MACHINE.replace(':stateMachine:', ':execution:')}:{name}",
            "stateMachineArn": STATE_MACHINE,
            "name": name,
            "status": status,
            "startDate": 1765036800000,
            "stopDate": 1765040400000,
            "input": "{}",
            "output": None,
        },
    }


@pytest.fixture
def runtime(tmp_path: Path):
    with LocalRuntime(tmp_path / "warehouse") as rt:
        use_services(rt.services)
        try:
            yield rt
        finally:
            use_services(None)


def _prove_in_flight(runtime: LocalRuntime, execution: str) -> ProveState:
    """A prove that took its lease and reservation, as Begin leaves it, with its lane queue stored."""
    svc = runtime.services
    run = to_run_config(ValidationTarget(model_name="Qwen/Qwen3-4B", instance_type="ml.g6.xlarge"), svc.catalog)
    run = run.model_copy(update={"estimated_cost_usd": 2.0})
    prove = ProveState(execution_id=execution, run=run, lane=0, max_cost_usd=50.0)
    svc.artifacts.put_bytes(run_key(execution, "lanes/0.json"), json.dumps([prove.model_dump(mode="json")]).encode())
    prove = lifecycle.begin(prove, svc)
    assert prove.status == "next"
    return prove


def test_an_aborted_execution_is_released_and_recorded_once(runtime: LocalRuntime) -> None:
    # Given an execution that holds a lease and a reservation for a prove in flight
    prove = _prove_in_flight(runtime, "run-aborted")
    assert runtime.services.ledger.in_flight("run-aborted")
    # When EventBridge delivers its ABORTED status change (twice: delivery is at least once)
    first = stopped.handler(_event("run-aborted", "ABORTED"), _Context())
    second = stopped.handler(_event("run-aborted", "ABORTED"), _Context())
    # Then the lease and reservation are gone and the prove has exactly one harness row saying why
    assert first["leases_released"] == [prove.config_id]
    assert first["reservations_settled"] == [prove.config_id]
    assert first["recorded"] == [prove.config_id]
    assert second["recorded"] == [] and second["leases_released"] == []
    assert runtime.services.ledger.in_flight("run-aborted") == {}
    rows = runtime.services.store.query(
        "SELECT status, failure_scope, failure_reason FROM mlcc_ci.benchmark_results WHERE execution_id = 'run-aborted'"
    ).rows
    assert len(rows) == 1
    status, scope, reason = rows[0]
    assert (status, scope) == ("failed", "harness")
    assert "was stopped (ABORTED)" in reason


def test_a_timed_out_execution_says_so(runtime: LocalRuntime) -> None:
    _prove_in_flight(runtime, "run-late")
    stopped.handler(_event("run-late", "TIMED_OUT"), _Context())
    reason = runtime.services.store.query(
        "SELECT failure_reason FROM mlcc_ci.benchmark_results WHERE execution_id = 'run-late'"
    ).rows[0][0]
    assert "timed out (TIMED_OUT)" in reason


@pytest.mark.parametrize(
    "change",
    [
        {"status": "SUCCEEDED"},  # a finished execution cleaned up after itself
        {"status": "RUNNING"},
        {"name": None},
    ],
)
def test_an_event_that_is_not_an_ended_execution_is_refused(runtime: LocalRuntime, change: dict[str, Any]) -> None:
    event = _event("run-x", "ABORTED")
    event["detail"].update(change)
    with pytest.raises(ValidationError):
        stopped.handler(event, _Context())


def test_an_incomplete_clean_up_raises_so_eventbridge_delivers_it_again(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _prove_in_flight(runtime, "run-broken")

    def refuse(*_: Any, **__: Any) -> None:
        raise RuntimeError("ThrottlingException: Rate exceeded")

    monkeypatch.setattr(runtime.services.fleet, "inventory", refuse)
    with pytest.raises(stopped.CleanupIncomplete, match="Rate exceeded"):
        stopped.handler(_event("run-broken", "FAILED"), _Context())
    # What could be released was released; the retry finds nothing more to do but the fleet
    assert runtime.services.ledger.in_flight("run-broken") == {}
