"""loadgen/exchange.py: what a transport returns for one request."""

from __future__ import annotations

from pathprover.loadgen import Exchange
from pathprover.loadgen.exchange import Exchange as LeafExchange


def test_a_new_exchange_has_its_own_empty_pieces_and_reads_as_streamed_and_not_yet_sent() -> None:
    # Given two exchanges started at once
    first, second = Exchange(start_ns=1), Exchange(start_ns=1)
    # When a piece arrives on the first
    first.chunks.append(b"data: x\n\n")
    first.chunk_times_ns.append(2)
    # Then the second's lists are untouched, and neither was sent, failed or read whole
    assert second.chunks == [] and second.chunk_times_ns == []
    assert (second.sent_ns, second.status, second.error, second.connect_failed) == (0, None, None, False)
    assert second.streamed is True


def test_the_package_exports_the_leaf_modules_type() -> None:
    # Given the type the transports and the HTTP client share
    # When it is imported from the package and from its own module
    # Then both names are one class (no copy that could drift)
    assert Exchange is LeafExchange
