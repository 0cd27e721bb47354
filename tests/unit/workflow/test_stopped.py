"""workflow/stopped.py: a stopped execution's leases, reservations and unrecorded proves are released once."""

from __future__ import annotations

from pathprover.protocols import Services
from pathprover.stages import lifecycle
from pathprover.workflow.planning import plan_execution
from pathprover.workflow.stopped import StopReport, clean_up_stopped

TARGET = {"model_name": "Qwen/Qwen3-0.6B", "instance_type": "ml.g5.xlarge"}


def _rows(svc: Services, execution_id: str) -> list[list[object]]:
    return svc.store.query(
        f"SELECT config_id, status, failure_scope FROM mlcc_ci.benchmark_results WHERE execution_id = '{execution_id}'"
    ).rows


def test_a_prove_in_flight_is_recorded_as_the_harnesss_and_its_lease_and_reservation_released(svc: Services):
    # Given an execution whose one prove has begun (it holds the config's lease and a reservation)
    plan = plan_execution({"TARGETS": [TARGET], "MAX_COST_PER_RUN": 50}, "exec-stop-1", svc)
    [lane] = plan.lanes
    assert lane.prove is not None
    state = lifecycle.begin(lane.prove, svc)
    assert state.status == "next"
    config_id = state.config_id
    # When the execution is stopped and cleaned up
    report = clean_up_stopped("exec-stop-1", svc)
    # Then the prove is recorded failed for the harness, its reservation settled, its lease released
    assert (report.recorded, report.reservations_settled, report.leases_released) == ([config_id],) * 3
    assert report.errors == []
    assert _rows(svc, "exec-stop-1") == [[config_id, "failed", "harness"]]
    assert svc.ledger.in_flight("exec-stop-1") == {}
    # And a second clean-up (the event delivered twice) finds nothing more to do
    again = clean_up_stopped("exec-stop-1", svc)
    assert (again.recorded, again.reservations_settled, again.leases_released) == ([], [], [])
    assert len(_rows(svc, "exec-stop-1")) == 1


def test_an_execution_that_held_nothing_cleans_up_nothing(svc: Services):
    report = clean_up_stopped("exec-never-ran", svc)
    assert (report.deleted, report.builds_stopped, report.recorded, report.errors) == ([], [], [], [])


def test_the_report_names_every_kind_of_clean_up_or_none():
    report = StopReport("exec-9", deleted=["ep-1", "ep-2"], errors=["delete: boom"])
    assert report.lines() == [
        "execution exec-9 stopped; cleaned up:",
        "  deleted: ep-1, ep-2",
        "  builds stopped: none",
        "  recorded (failed, harness): none",
        "  leases released: none",
        "  reservations settled: none",
        "  errors: delete: boom",
    ]
