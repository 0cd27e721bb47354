"""What a transport returns for one request: a leaf module, so the transports and the HTTP client under
one of them (:mod:`.http11`) share the type without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Exchange:
    """One request as the transport saw it: raw body pieces and their arrival times.

    ``start_ns`` is when :meth:`Transport.send` was entered; ``sent_ns`` when the
    request bytes were handed to the socket (0 if they never were).
    """

    start_ns: int
    end_ns: int = 0
    status: int | None = None
    chunk_times_ns: list[int] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    error: str | None = None
    connect_failed: bool = False
    sent_ns: int = 0
    streamed: bool = True
    """False for a whole response read at once (async inference): its arrival time is not a first token."""
