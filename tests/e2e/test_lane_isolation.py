"""One lane that breaks for good does not take the others down: they prove their queues and clean up,
the summary says what the broken lane left, and the run's FAILED end releases what that lane held."""

from __future__ import annotations

from typing import Any

import pytest

from pathprover.handlers import prove as prove_handlers
from pathprover.runtime.local import LocalRuntime
from pathprover.workflow import tasks


def test_a_lane_whose_settle_and_drop_fail_stops_alone(seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given lane 0 can neither settle nor drop its prove (its storage refuses, not a transient error)
    real_settle = tasks.settle_and_next

    def settle(event: dict[str, Any], svc: Any) -> dict[str, Any]:
        if event.get("lane") == 0:
            raise PermissionError("AccessDenied: s3:PutObject on runs/ (lane 0 only)")
        return real_settle(event, svc)

    def drop(event: dict[str, Any], svc: Any) -> dict[str, Any]:
        raise PermissionError("AccessDenied: s3:PutObject on runs/ (lane 0 only)")

    monkeypatch.setattr(prove_handlers, "settle_and_next", settle)
    monkeypatch.setattr(prove_handlers, "drop_and_next", drop)
    with LocalRuntime(seeded) as runtime:
        # When a run of 4 proves in 2 lanes goes
        outcome = runtime.run({"MAX_PROVES_PER_RUN": 4, "MAX_COST_PER_RUN": 100, "PARALLEL_LANES": 2})
        summary = outcome.summary or {}
        # Then lane 1 proved its whole queue (2 of the 4; it was not aborted with lane 0)
        lane1 = [p for p in summary["proves"] if p["lane"] == 1]
        assert len(lane1) == 2, summary.get("errors")
        assert all(p["status"] in ("completed", "failed", "unfeasible") for p in lane1)
        # And the summary names what lane 0 left: its prove in flight (with why) and its queue
        errors = " | ".join(summary["errors"])
        assert "lane 0 stopped with" in errors and "AccessDenied" in errors
        # And the run ends FAILED, after which the clean-up (the EventBridge rule's handler) freed lane 0
        assert outcome.status == "FAILED"
        assert outcome.cleanup is not None and not outcome.cleanup.get("errors")
        assert outcome.cleanup["leases_released"] and outcome.cleanup["reservations_settled"]
        assert runtime.services.ledger.in_flight(outcome.execution_name) == {}
        assert runtime.fleet.alive({}) == []
