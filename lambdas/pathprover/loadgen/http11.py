"""The load generator's HTTP/1.1 client: h11 parses, a plain ``asyncio.Protocol`` stamps every receive.

Why not aiohttp's client: importing it costs 0.15-0.2 CPU-s (it builds two TLS contexts, loading the CA
bundle, at import, and has many modules) — a third of a one-request ``pathprover loadgen`` run. h11 is a
pure-Python HTTP/1.1 state machine without I/O (the engine under httpcore, httpx and uvicorn), so this
module owns the socket side, which for one origin and one request per connection at a time is small:

* :class:`Connection` — one keep-alive connection. Its ``data_received`` reads the clock *first*, feeds
  h11 and appends every decoded body piece (h11 ``Data``: chunked and Content-Length bodies alike) with
  that receive's time — a piece is dated by the receive that delivered it, not by when the waiting task
  gets scheduled, which matters when many streams deliver at once. ``EndOfMessage`` dates the end and
  wakes the request; EOF or a protocol error before it fails the request.
* :class:`Client` — a pool of those connections (one per worker, up to ``size``), reused while h11 can
  start another request/response cycle on them and the server has not closed them; the request bytes
  (headers and body built by h11, handed to ``transport.write`` in one call, ``sent_ns`` read just
  before); the connect and total timeouts; and the :class:`~pathprover.loadgen.exchange.Exchange`
  results and error strings.

No decompression (no ``Accept-Encoding`` is sent), no redirects, no proxies, no cookies: a benchmark
talks to one endpoint. Imported only when an http(s) transport opens — h11 is not in the Lambda asset,
and the stages the Lambdas run import :mod:`.transports` (through :mod:`.batch`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from time import perf_counter_ns
from typing import TYPE_CHECKING, cast

import h11

from pathprover.loadgen.exchange import Exchange

if TYPE_CHECKING:
    import ssl

CLOSE_WAIT_S = 1.0
"""How long :meth:`Client.close` lets connections close cleanly (a TLS close_notify) before aborting them."""


class ConnectFailed(Exception):
    """No connection could be made: refused, unresolvable, TLS handshake failed or timed out."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ServerDisconnected(ConnectionError):
    """The server closed the connection before it sent a response (an idle keep-alive it had dropped, or a crash)."""


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; every receive is stamped before h11 parses it.

    While a request is in flight, ``exchange`` is its :class:`Exchange` and the protocol fills it in
    directly (status, body pieces and their times, end), so nothing is copied or re-dated afterwards.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.h11 = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[None] = self._loop.create_future()
        self.exchange: Exchange | None = None
        self.error: BaseException | None = None
        self._done: asyncio.Future[None] | None = None

    # ----------------------------------------------------------------- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        now = perf_counter_ns()  # first: the arrival time, before any parsing
        if self.exchange is None:
            self._fail(h11.RemoteProtocolError("the server sent data with no request in flight"))
            return
        self._feed(data, now)

    def eof_received(self) -> bool:
        self._closed(perf_counter_ns(), None)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed(perf_counter_ns(), exc)
        if not self.lost.done():
            self.lost.set_result(None)

    # ----------------------------------------------------------------- parsing

    def _feed(self, data: bytes, now: int) -> None:
        """Feed h11 one receive (``b""`` = EOF) and file every event it completes, stamped ``now``."""
        ex = self.exchange
        if ex is None:
            return
        conn = self.h11
        try:
            conn.receive_data(data)
            while True:
                event = conn.next_event()
                if isinstance(event, h11.Data):
                    ex.chunks.append(bytes(event.data))
                    ex.chunk_times_ns.append(now)
                elif isinstance(event, h11.Response):
                    ex.status = event.status_code
                elif isinstance(event, h11.EndOfMessage):
                    ex.end_ns = now
                    self._finish()
                    return
                elif not isinstance(event, h11.InformationalResponse):
                    return  # NEED_DATA, PAUSED or ConnectionClosed: nothing more in this receive
        except h11.RemoteProtocolError as exc:
            self._fail(exc)

    def _closed(self, now: int, exc: BaseException | None) -> None:
        """EOF or a broken connection: ends a close-delimited body; fails any other response in flight."""
        ex = self.exchange
        if ex is None:
            return
        if exc is None and ex.status is not None:
            self._feed(b"", now)  # h11: EndOfMessage for a close-delimited body, else "incomplete body"
        if self.exchange is not None:
            self._fail(exc or ServerDisconnected("the server closed the connection before responding"))

    def _finish(self) -> None:
        self.exchange = None
        done = self._done
        if done is not None and not done.done():
            done.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        """The response in flight (if any) fails with ``exc``; the connection is closed either way."""
        if self.exchange is not None and self.error is None:
            self.error = exc
            self._finish()
        self.close()

    # ----------------------------------------------------------------- requests

    async def send(self, request: h11.Request, body: bytes, ex: Exchange) -> None:
        """Write ``request`` and ``body`` in one ``transport.write`` and wait for the end of the response.

        Raises what broke the exchange (an ``OSError`` or h11's ``RemoteProtocolError``).
        """
        transport = self.transport
        if transport is None or not self.usable:  # closed by the server between connect and now
            raise ServerDisconnected("the server closed the connection before the request was sent")
        conn = self.h11
        data = (conn.send(request) or b"") + (conn.send(h11.Data(data=body)) or b"")
        data += conn.send(h11.EndOfMessage()) or b""
        done = self._done = self._loop.create_future()
        self.error = None
        self.exchange = ex
        ex.sent_ns = perf_counter_ns()
        transport.write(data)
        try:
            await done
        finally:
            self.exchange = None
            self._done = None
        if self.error is not None:
            raise self.error

    @property
    def usable(self) -> bool:
        transport = self.transport
        return transport is not None and not transport.is_closing() and not self.lost.done()

    def recycle(self) -> bool:
        """Make ready for the next request, if both h11 (``Connection: close``? body read?) and the socket allow."""
        conn = self.h11
        if not self.usable or conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return False
        conn.start_next_cycle()
        return True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class Client:
    """Sends requests to one origin over a pool of keep-alive :class:`Connection` s and times them.

    At most ``size`` requests are in flight (a semaphore, which never waits with the runner's ``size``
    workers), so at most ``size`` connections are open. An idle connection is taken last-in first-out;
    one the server has closed meanwhile is dropped, and one that cannot carry another request is closed
    when its response ends; either way the next request opens a new one.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        target: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        ssl_context: ssl.SSLContext | None,
        size: int,
        connect_timeout_s: float,
        request_timeout_s: float,
    ) -> None:
        self._host = host
        self._port = port
        self._target = target
        self._headers = list(headers)
        self._ssl = ssl_context
        self._connect_timeout_s = connect_timeout_s
        self._request_timeout_s = request_timeout_s
        self._slots = asyncio.Semaphore(size)
        self._idle: list[Connection] = []
        self._open: set[Connection] = set()
        self.connections_opened = 0

    def _request(self, body: bytes) -> h11.Request:
        headers = [*self._headers, (b"Content-Length", b"%d" % len(body))]
        return h11.Request(method=b"POST", target=self._target, headers=headers)

    def check_headers(self) -> None:
        """Raise ``ValueError`` if h11 would refuse the headers — without echoing them (one may be a key)."""
        try:
            self._request(b"")
        except h11.LocalProtocolError:
            raise ValueError("a request header is not a valid HTTP header value (not shown)") from None

    async def send(self, body: bytes) -> Exchange:
        """POST ``body``; never raises for request errors (they are in the :class:`Exchange`)."""
        ex = Exchange(perf_counter_ns())
        deadline = asyncio.timeout(self._request_timeout_s)
        try:
            async with self._slots, deadline:
                await self._send(body, ex)
        except ConnectFailed as exc:
            return _failed(ex, exc.detail, connect_failed=True)
        except (OSError, h11.ProtocolError) as exc:  # TimeoutError is an OSError
            if deadline.expired():
                return _failed(ex, f"TimeoutError: no complete response within {self._request_timeout_s:g} s")
            return _failed(ex, f"{type(exc).__name__}: {exc}")
        if ex.status != 200:
            detail = b"".join(ex.chunks)[:300].decode("utf-8", "replace")
            ex.error = f"HTTP {ex.status}: {detail}"
            ex.chunks, ex.chunk_times_ns = [], []
        return ex

    async def _send(self, body: bytes, ex: Exchange) -> None:
        conn = await self._acquire()
        reuse = False
        try:
            await conn.send(self._request(body), body, ex)
            reuse = True
        finally:
            if reuse and conn.recycle():
                self._idle.append(conn)
            else:
                conn.close()

    async def _acquire(self) -> Connection:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.usable:
                return conn
            conn.close()  # the server closed it while it was idle
        return await self._connect()

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        deadline = asyncio.timeout(self._connect_timeout_s)
        try:
            async with deadline:
                _, conn = await loop.create_connection(Connection, self._host, self._port, ssl=self._ssl)
        except OSError as exc:  # refused, unresolvable, TLS, or the deadline (TimeoutError)
            raise ConnectFailed(self._connect_detail(exc, deadline.expired())) from exc
        self._open = {c for c in self._open if not c.lost.done()}
        self._open.add(conn)
        self.connections_opened += 1
        return conn

    def _connect_detail(self, exc: OSError, timed_out: bool) -> str:
        where = f"{self._host}:{self._port}"
        if timed_out:
            return f"no connection to {where} within {self._connect_timeout_s:g} s"
        if isinstance(exc, socket.gaierror):
            return f"cannot resolve {self._host!r}: {exc}"
        return str(exc) or f"{where}: {type(exc).__name__}"  # refused: "[Errno 111] Connect call failed (addr)"

    async def close(self) -> None:
        """Close every connection; wait up to :data:`CLOSE_WAIT_S` for them to close, then abort the rest."""
        conns = [c for c in self._open if not c.lost.done()]
        self._open.clear()
        self._idle.clear()
        for conn in conns:
            conn.close()
        if conns:
            await asyncio.wait([c.lost for c in conns], timeout=CLOSE_WAIT_S)
            for conn in conns:
                if not conn.lost.done():
                    conn.abort()


def _failed(ex: Exchange, error: str, *, connect_failed: bool = False) -> Exchange:
    """``ex`` as a failed exchange: no status, end now, the body pieces received so far kept."""
    ex.end_ns = perf_counter_ns()
    ex.status = None
    ex.error = error
    ex.connect_failed = connect_failed
    return ex
