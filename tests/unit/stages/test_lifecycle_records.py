"""One attempt, one row: the lifecycle's failure path after the record was written (called directly)."""

from __future__ import annotations

from datetime import timedelta

from pathprover.protocols import Services
from pathprover.stages import lifecycle
from pathprover.stages.state import ProveState, StageRecord
from tests.unit.conftest import NewProve


def _registered(svc: Services, new_prove: NewProve) -> ProveState:
    """A prove whose register stage wrote its completed row, now in its clean stage."""
    state = lifecycle.begin(new_prove(), svc)
    now = svc.clock.now()
    state.started_at = now - timedelta(hours=1)
    state.index = state.plan.index("register")
    state.status = "next"
    state = lifecycle.advance(state, svc)  # register: writes the row
    assert state.records_written >= 1 and state.status == "next"
    state.current = "clean"
    state.history.append(StageRecord(stage="clean", started_at=now))
    return state


def _rows(svc: Services) -> list[tuple]:
    return svc.store.query("SELECT status, failure_scope FROM mlcc_ci.benchmark_results WHERE execution_id = 'e1'").rows


def test_a_clean_up_that_crashes_after_register_writes_no_second_row(svc: Services, new_prove: NewProve) -> None:
    # Given a proved config whose row is written
    state = _registered(svc, new_prove)
    before = _rows(svc)
    assert before and {r[0] for r in before} == {"completed"}
    # When its clean stage crashes (the task raised; the Catch hands the error to HandleFailure)
    error = {
        "Error": "ClientError",
        "Cause": '{"errorMessage": "ThrottlingException: Rate exceeded on DeleteEndpoint"}',
    }
    state = lifecycle.handle_failure(state, svc, error)
    # Then no failure row joins the completed one; the prove stays completed, with the error noted
    assert _rows(svc) == before
    assert state.outcome == "completed"
    assert any("after the record was written" in n and "Rate exceeded" in n for n in state.notes)
    # And Clean and Settle still run and end it as proved
    state = lifecycle.clean(state, svc)
    state = lifecycle.settle(state, svc)
    assert state.outcome == "completed" and state.status == "finished"
    assert svc.ledger.in_flight("e1") == {}


def test_a_failure_before_register_still_writes_its_one_failure_row(svc: Services, new_prove: NewProve) -> None:
    state = lifecycle.begin(new_prove(), svc)
    state.current = "deploy"
    state = lifecycle.handle_failure(state, svc, {"Error": "ClientError", "Cause": "AccessDeniedException: no"})
    assert [r[0] for r in _rows(svc)] == ["failed"]
    assert state.outcome == "failed"


def test_a_begin_error_after_the_lease_gets_its_one_harness_row_at_settle(svc: Services, new_prove: NewProve) -> None:
    # Given a prove that took its lease in Begin, whose task then failed (Begin's Catch goes to Settle)
    state = lifecycle.begin(new_prove(), svc)
    state.notes.append("task error before settle: ClientError: ThrottlingException on reserve")
    state.outcome = "error"
    # When Settle runs, twice (a retried task)
    state = lifecycle.settle(state, svc)
    state = lifecycle.settle(state, svc)
    # Then the attempt has exactly one row, failed with scope harness, and holds nothing
    assert [tuple(r) for r in _rows(svc)] == [("failed", "harness")]
    assert state.records_written == 1
    assert svc.ledger.in_flight("e1") == {}


def test_settle_after_handle_failure_adds_no_second_row(svc: Services, new_prove: NewProve) -> None:
    # Given a prove whose failure handler wrote its row and marked it an internal error
    state = lifecycle.begin(new_prove(), svc)
    state.current = "deploy"
    state = lifecycle.handle_failure(state, svc, {"Error": "ClientError", "Cause": "AccessDeniedException: no"})
    rows = _rows(svc)
    state.outcome = "error"
    state.records_written = 0  # as if the handler timed out after its append: the count was lost
    # When Settle runs
    lifecycle.settle(state, svc)
    # Then the table still holds that one row
    assert _rows(svc) == rows and len(rows) == 1
