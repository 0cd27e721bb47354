"""Clocks: a virtual one that Wait states advance (the local runtime), and the real one (Lambda, the CLI).

Neutral ground: the AWS factory and the local runtime both import it, so neither adapter set
imports the other.

Both satisfy :class:`pathprover.protocols.Clock` (``now()`` returns an aware UTC
datetime) and add ``sleep(seconds)``, so code that waits can be handed either:
with :class:`VirtualClock` a two-hour SageMaker job "passes" the moment the
workflow's Wait state calls ``sleep(7200)``.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class VirtualClock:
    """Simulated time: stands still until :meth:`advance` (or :meth:`sleep`) moves it. Thread-safe.

    ``start`` defaults to the real current time (UTC); a naive datetime is taken as UTC.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _utc(start) if start is not None else datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward by ``seconds`` (>= 0, finite); returns the new time."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"a virtual clock only moves forward by a finite amount, not {seconds!r} s")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def advance_to(self, moment: datetime) -> datetime:
        """Move time forward to ``moment``; a moment in the past leaves the clock where it is."""
        target = _utc(moment)
        with self._lock:
            if target > self._now:
                self._now = target
            return self._now

    def sleep(self, seconds: float) -> None:
        """Waiting on a virtual clock is advancing it (returns at once)."""
        self.advance(max(0.0, seconds))

    def __repr__(self) -> str:
        return f"VirtualClock({self.now().isoformat()})"


class SystemClock:
    """Real time (UTC); ``sleep`` really sleeps."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"
