"""A prove never bills more than it reserved, whatever the poll spacing (issue 10: $3.07 against $3.05).

The check is driven directly over a job that never finishes: the only thing that can stop billing is
the budget stop, so what was billed when it fires is the worst case of every path that polls.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathprover.catalog import default_catalog
from pathprover.clock import VirtualClock
from pathprover.core.targets import ValidationTarget, to_run_config
from pathprover.protocols import Services
from pathprover.settings import Settings
from pathprover.stages import lifecycle
from pathprover.stages.jobs import JobRef, JobState
from pathprover.stages.state import ProveState, StageRecord

CATALOG = default_catalog()


class _NeverDone:
    """A benchmark job (or endpoint) that is still running at every poll."""

    def check(self, ref: JobRef) -> JobState:
        return JobState(done=False, status="running", wait_seconds=600)


class _Leases:
    """The prove keeps its lease (the check renews it on every poll)."""

    def acquire_lease(self, *args: Any) -> bool:
        return True


def _svc(clock: VirtualClock) -> Services:
    never: Any = _NeverDone()
    leases: Any = _Leases()
    unused: Any = None
    return Services(
        settings=Settings(warehouse=Path("/nonexistent")),
        catalog=CATALOG,
        store=unused,
        builder=never,
        fleet=never,
        artifacts=unused,
        ledger=leases,
        clock=clock,
        simulated=True,
    )


def _polling(
    clock: VirtualClock, instance: str, stage: str, reserved: float, open_spans: int, allowance: int | None
) -> ProveState:
    run = to_run_config(ValidationTarget(model_name="Qwen/Qwen3-0.6B", instance_type=instance), CATALOG)
    now = clock.now()
    state = ProveState(
        execution_id="e1",
        run=run,
        plan=lifecycle.stage_plan(run),
        reserved_usd=reserved,
        events_allowance=allowance,
    )
    state.index = state.plan.index("benchmark") if stage == "benchmark" else state.plan.index("deploy")
    state.current = stage
    state.status = "polling"
    state.stage_started_at = now
    state.deadline = now + timedelta(hours=48)
    state.max_polls = 10_000
    state.history.append(StageRecord(stage=stage, started_at=now))
    state.job = JobRef(
        kind="benchmark" if stage == "benchmark" else "endpoint", name="j", arn_or_id="j", started_at=now
    )
    for index in range(open_spans):  # an endpoint, plus a training job or a second endpoint (tune, adapter)
        state.billing[f"r{index}"] = [now.isoformat()]
    return state


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    instance=st.sampled_from(["ml.g5.xlarge", "ml.g6.12xlarge", "ml.p4d.24xlarge", "ml.p5.48xlarge"]),
    stage=st.sampled_from(["deploy", "benchmark"]),
    hours=st.floats(min_value=0.02, max_value=40.0),
    open_spans=st.integers(min_value=1, max_value=2),
    allowance=st.one_of(st.none(), st.integers(min_value=60, max_value=2000)),
)
def test_a_budget_stop_always_comes_before_the_reservation_is_spent(
    instance: str, stage: str, hours: float, open_spans: int, allowance: int | None
) -> None:
    # Given a prove whose job never finishes, billing on one or two resources, with a reservation that lasts
    # `hours` (well before the stage deadline) and any share of history events
    clock = VirtualClock()
    svc = _svc(clock)
    reserved = round(hours * CATALOG.instance(instance).price_per_hour_usd * open_spans, 2)
    state = _polling(clock, instance, stage, reserved, open_spans, allowance)
    # When it is polled, waiting what each check asks, until something stops it
    for _ in range(5000):
        state = lifecycle.check(state, svc)
        if state.status != "polling":
            break
        clock.advance(state.wait_seconds)
    # Then it is the budget stop, and what was billed by then (clean-up included) is within the reservation
    assert state.status == "failed" and state.failure is not None
    assert "reserved budget" in state.failure.text
    billed = lifecycle._billing_cost(svc, state, clock.now())
    assert billed <= reserved + 1e-6, (billed, reserved)
