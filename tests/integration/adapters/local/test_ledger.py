"""SqliteLedger: the local runtime's budget reservations and config leases, in one SQLite file.

(What a stopped execution still holds is checked against both ledgers in aws/test_ledger.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pathprover.adapters.local.ledger import SqliteLedger

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    return SqliteLedger(tmp_path / "ledger.sqlite")


def test_reservations_stop_at_the_runs_budget(ledger: SqliteLedger) -> None:
    # Given a run with a $10 budget
    # When proves reserve 4 and 5, Then both fit; a third of 2 would pass the budget and is refused
    assert ledger.reserve("run-1", "c1", 4.0, 10.0)
    assert ledger.reserve("run-1", "c2", 5.0, 10.0)
    assert not ledger.reserve("run-1", "c3", 2.0, 10.0)
    assert ledger.totals("run-1") == (0.0, 9.0)
    # And another run's budget is its own
    assert ledger.reserve("run-2", "c3", 2.0, 10.0)


def test_settling_frees_the_reservation_and_spends_the_actual_cost(ledger: SqliteLedger) -> None:
    # Given two reservations filling the budget
    assert ledger.reserve("run-1", "c1", 6.0, 10.0)
    assert ledger.reserve("run-1", "c2", 4.0, 10.0)
    # When the first prove settles for less than it reserved
    ledger.settle("run-1", "c1", 1.5)
    # Then the difference is free again, and settling twice spends nothing more
    assert ledger.totals("run-1") == (1.5, 4.0)
    ledger.settle("run-1", "c1", 1.5)
    assert ledger.totals("run-1") == (1.5, 4.0)
    assert ledger.reserve("run-1", "c3", 4.5, 10.0)


def test_a_retried_reservation_keeps_its_open_one_and_a_settled_one_is_spent(ledger: SqliteLedger) -> None:
    assert ledger.reserve("run-1", "c1", 3.0, 10.0)
    assert ledger.reserve("run-1", "c1", 3.0, 10.0)  # the task retried: the same reservation, not a second
    assert ledger.totals("run-1") == (0.0, 3.0)
    ledger.settle("run-1", "c1", 2.0)
    assert not ledger.reserve("run-1", "c1", 3.0, 10.0)  # a settled prove cannot reserve again


def test_a_negative_reservation_is_refused_and_unknown_settles_are_ignored(ledger: SqliteLedger) -> None:
    with pytest.raises(ValueError, match="negative"):
        ledger.reserve("run-1", "c1", -1.0, 10.0)
    ledger.settle("run-1", "never-reserved", 5.0)
    assert ledger.totals("run-1") == (0.0, 0.0)


def test_a_lease_is_held_until_it_expires_or_is_released(ledger: SqliteLedger) -> None:
    # Given run-1 leasing config c1 for 10 minutes
    assert ledger.acquire_lease("c1", "run-1#0", 600, NOW)
    # Then another run cannot take it meanwhile, the owner can renew it
    assert not ledger.acquire_lease("c1", "run-2#0", 600, NOW + timedelta(minutes=5))
    assert ledger.acquire_lease("c1", "run-1#0", 600, NOW + timedelta(minutes=5))
    # And after it expires anyone can
    assert ledger.acquire_lease("c1", "run-2#0", 600, NOW + timedelta(minutes=16))
    # A release by someone else does nothing; by the owner it frees the config
    ledger.release_lease("c1", "run-1#0")
    assert not ledger.acquire_lease("c1", "run-3#0", 600, NOW + timedelta(minutes=17))
    ledger.release_lease("c1", "run-2#0")
    assert ledger.acquire_lease("c1", "run-3#0", 600, NOW + timedelta(minutes=17))


def test_the_ledger_survives_a_new_instance_on_the_same_file(tmp_path: Path) -> None:
    # Given a reservation written by one process
    SqliteLedger(tmp_path / "ledger.sqlite").reserve("run-1", "c1", 2.0, 10.0)
    # Then the next one (a resumed local run) finds it
    assert SqliteLedger(tmp_path / "ledger.sqlite").totals("run-1") == (0.0, 2.0)


def test_settling_every_reservation_leaves_exactly_nothing_reserved(tmp_path) -> None:
    # Given reservations whose binary sums do not cancel (0.1 + 0.2 - 0.1 - 0.2 != 0 in floating point)
    ledger = SqliteLedger(tmp_path / "ledger.sqlite")
    amounts = {"a": 0.1, "b": 0.2, "c": 1.24, "d": 0.65, "e": 0.88}
    for config_id, amount in amounts.items():
        assert ledger.reserve("exec", config_id, amount, 4.0)
    # When each is settled at what it cost
    for config_id, amount in amounts.items():
        ledger.settle("exec", config_id, amount * 0.7)
    # Then nothing is left reserved, exactly, and the spend is the sum to the micro-dollar
    spent, reserved = ledger.totals("exec")
    assert reserved == 0.0
    assert spent == round(sum(amounts.values()) * 0.7, 6)
