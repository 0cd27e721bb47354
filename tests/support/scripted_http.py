"""A small scripted HTTP/1.1 server for the load generator's client tests (asyncio streams, in-process).

Each request is answered by a script: a list of actions, run in order — ``bytes`` are written (and
drained), a ``float`` pauses that many seconds, :data:`CLOSE` closes the connection. So a test can
state exactly how the server misbehaves (drop mid-stream, close a keep-alive connection, never answer).
The server records every request (connection number, head, body) and counts connections. It parses
nothing but the request head's Content-Length; it shares no code with the client under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


class _Close:
    def __repr__(self) -> str:
        return "CLOSE"


CLOSE = _Close()
Action = bytes | float | _Close
Script = Callable[[int], Sequence[Action]]
"""Request number (from 0, over all connections) -> what the server does."""


@dataclass
class SeenRequest:
    connection: int
    head: bytes
    body: bytes

    def header(self, name: str) -> str | None:
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


@dataclass
class ScriptedServer:
    """``async with ScriptedServer(script) as url:`` serves on 127.0.0.1 (TLS with ``ssl_context``)."""

    script: Script
    ssl_context: ssl.SSLContext | None = None
    requests: list[SeenRequest] = field(default_factory=list)
    connections: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_context)
        port = self._server.sockets[0].getsockname()[1]
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{port}"

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        number = self.connections
        try:
            while await self._serve_one(number, reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _serve_one(self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request and run its script; False once the connection is to be closed."""
        head = await reader.readuntil(b"\r\n\r\n")
        seen = SeenRequest(number, head, b"")
        seen.body = await reader.readexactly(int(seen.header("Content-Length") or 0))
        index = len(self.requests)
        self.requests.append(seen)
        for action in self.script(index):
            if isinstance(action, _Close):
                return False
            if isinstance(action, float):
                await asyncio.sleep(action)
            else:
                writer.write(action)
                await writer.drain()
        return True


def chunked(*events: bytes, headers: str = "") -> list[Action]:
    """A 200 ``text/event-stream`` response with chunked transfer-encoding: the head, one chunk per event, the end."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n{headers}\r\n"
    return [head.encode(), *(b"%x\r\n%s\r\n" % (len(e), e) for e in events), b"0\r\n\r\n"]


def whole(status: str, body: bytes, *, content_type: str = "text/event-stream", headers: str = "") -> list[Action]:
    """A response with a Content-Length body, written at once."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    return [head.encode() + body]
