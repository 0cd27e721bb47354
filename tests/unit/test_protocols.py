"""pathprover/protocols.py: record_time stamps rows with wall-clock UTC, never the simulated clock."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pathprover.clock import VirtualClock
from pathprover.protocols import Services, TransientFailure, record_time
from tests.support.local_services import local_services


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def svc(tmp_path: Path) -> Services:
    return local_services(tmp_path)


def test_without_a_wall_clock_the_services_clock_stamps_the_row(svc: Services) -> None:
    # Given services whose clock is the real time (as on AWS: no wall_clock)
    at = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    svc = dataclasses.replace(svc, clock=FixedClock(at), wall_clock=None)
    # Then a row written now carries that time
    assert record_time(svc) == at


def test_a_simulated_clock_hours_ahead_does_not_stamp_the_row(svc: Services) -> None:
    # Given the local runtime's virtual clock, advanced by hours of simulated waiting, and the wall clock
    clock = VirtualClock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    clock.advance(6 * 3600)
    wall = datetime(2026, 12, 6, 9, 1, tzinfo=UTC)
    svc = dataclasses.replace(svc, clock=clock, wall_clock=FixedClock(wall))
    # Then the row's time is the wall clock's, not the simulated one
    assert record_time(svc) == wall
    assert record_time(svc) != clock.now()


def test_a_naive_time_is_read_as_utc_and_an_aware_one_is_kept(svc: Services) -> None:
    naive = datetime(2026, 12, 6, 9, 30)
    assert record_time(dataclasses.replace(svc, clock=FixedClock(naive), wall_clock=None)) == naive.replace(tzinfo=UTC)
    cet = datetime(2026, 12, 6, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    stamped = record_time(dataclasses.replace(svc, clock=FixedClock(cet), wall_clock=None))
    assert stamped == cet and stamped.utcoffset() == timedelta(hours=1)


def test_a_transient_failure_is_an_exception_with_its_message() -> None:
    with pytest.raises(TransientFailure, match="TransactionConflict"):
        raise TransientFailure("reserve c1: cancelled (TransactionConflict); retry")
