"""One attempt, one row: the lifecycle's failure path after the record was written (called directly)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pathprover.core.records import ProveContext, completed_records
from pathprover.core.targets import ValidationTarget, to_run_config
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


class _FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def _register_once(svc: Services, new_prove: NewProve) -> dict:
    _registered(svc, new_prove)
    result = svc.store.query(
        "SELECT run_timestamp, dt, duration_seconds, simulated, artifacts_uri FROM mlcc_ci.benchmark_results "
        "WHERE execution_id = 'e1'"
    )
    return dict(zip(result.columns, result.rows[0], strict=True))


def test_a_simulated_prove_is_stamped_with_the_wall_clock_and_its_duration_stays_simulated(
    svc: Services, new_prove: NewProve
) -> None:
    # Given the simulated fleet on a virtual clock three days ahead of the wall clock
    wall = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)
    svc.clock.advance_to(wall + timedelta(days=3))  # type: ignore[attr-defined]
    svc = replace(svc, wall_clock=_FixedClock(wall))
    # When a prove that ran one simulated hour registers its row
    row = _register_once(svc, new_prove)
    # Then the row is marked simulated, stamped (and partitioned) with the wall clock,
    # and its duration is the simulated hour
    assert row["simulated"] is True
    assert row["run_timestamp"].replace(tzinfo=UTC) == wall and row["dt"] == "2026-12-06"
    assert row["duration_seconds"] == 3600.0


def test_a_prove_on_aws_is_not_simulated_and_its_timestamp_is_its_one_clock(svc: Services, new_prove: NewProve) -> None:
    # Given services as on AWS: one real clock, not simulated
    svc = replace(svc, simulated=False)
    # When a prove registers its row
    row = _register_once(svc, new_prove)
    # Then the row is not simulated and carries the clock's time
    assert row["simulated"] is False
    assert row["run_timestamp"].replace(tzinfo=UTC) == svc.clock.now()


def test_a_row_written_after_the_plan_is_seen_though_the_workflow_clock_runs_ahead(svc: Services) -> None:
    # Given a plan made on the simulated clock, three days ahead of the wall clock that stamps rows
    wall = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)
    svc.clock.advance_to(wall + timedelta(days=3))  # type: ignore[attr-defined]
    svc = replace(svc, wall_clock=_FixedClock(wall))
    run = to_run_config(ValidationTarget(model_name="Qwen/Qwen3-4B", instance_type="ml.g6.xlarge"), svc.catalog)
    state = ProveState(
        execution_id="e2", run=run, plan=lifecycle.stage_plan(run), planned_at=svc.clock.now(), rows_since=wall
    )
    # And another execution that proved the same config a minute after the plan
    row, levels = completed_records(ProveContext(vector=run.vector, execution_id="e1"), wall + timedelta(minutes=1), [])
    svc.store.append([row], levels)
    # When the prove begins
    state = lifecycle.begin(state, svc)
    # Then it sees that row (compared on the rows' clock) and leaves the config alone
    assert state.outcome == "skipped"
    assert state.skip_reason == "already proved or recorded unfeasible by another execution"
