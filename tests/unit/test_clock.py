"""pathprover/clock.py: the virtual clock only moves forward, by Wait states; the system clock is real UTC."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pathprover.clock import SystemClock, VirtualClock

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_a_virtual_clock_stands_still_until_advanced() -> None:
    clock = VirtualClock(START)
    assert clock.now() == clock.now() == START
    assert clock.advance(90) == START + timedelta(seconds=90)
    clock.sleep(30)  # waiting is advancing, at once
    assert clock.now() == START + timedelta(minutes=2)


@pytest.mark.parametrize("seconds", [-1.0, math.inf, math.nan])
def test_a_virtual_clock_never_moves_back_or_without_bound(seconds: float) -> None:
    clock = VirtualClock(START)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(seconds)
    clock.sleep(-5)  # a negative wait is no wait
    assert clock.now() == START


def test_advance_to_ignores_the_past_and_reads_naive_times_as_utc() -> None:
    clock = VirtualClock(START.replace(tzinfo=None))
    assert clock.now() == START and clock.now().tzinfo is UTC
    assert clock.advance_to(START - timedelta(hours=1)) == START
    paris = timezone(timedelta(hours=1))
    assert clock.advance_to(datetime(2026, 12, 1, 10, 0, tzinfo=paris)) == START + timedelta(hours=1)


def test_the_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


def test_virtual_clock_moves_only_forward_and_system_clock_is_utc() -> None:
    clock = VirtualClock(datetime(2026, 1, 1))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    clock.sleep(7200)
    assert clock.advance(0.5) == datetime(2026, 1, 1, 2, 0, 0, 500000, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert SystemClock().now().tzinfo is UTC
