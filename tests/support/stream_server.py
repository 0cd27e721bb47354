"""A reference OpenAI-compatible streaming server with exactly known timing.

It is deliberately independent of :mod:`pathprover.loadgen`: it imports
nothing from the package and uses Python's standard library only — raw
non-blocking sockets driven by an ``asyncio`` event loop (``add_reader``,
``sock_accept``) and a hand-written HTTP/1.1 parser, no aiohttp — so a bug
shared between client and server cannot cancel itself out.

Timing model, per request (``POST /v1/completions`` with ``stream: true``):

* ``t0`` (receipt) is the kernel's receive timestamp (``SO_TIMESTAMPNS``,
  read with ``recvmsg``) of the bytes that complete the request, i.e. when the
  request reached this server's socket, however busy this process was.
* Response headers go out at once; token ``k`` (0-based) is written at
  ``t0 + ttft + k * itl`` — absolute deadlines, so jitter never accumulates.
* The last token is followed at once by ``data: [DONE]`` and the end of the
  chunked body; the connection stays open (HTTP/1.1 keep-alive).

Timer precision, without busy-waiting:

* The default asyncio loop on Linux sleeps in ``epoll_wait``, whose timeout is
  whole milliseconds rounded *up* (0-1 ms overshoot on every sleep). This
  server runs on a ``selectors.SelectSelector`` loop instead: ``select()``
  takes a microsecond timeout.
* Even then a wake-up lands some time after the timer expires (on a small VM,
  ~0.2-0.4 ms). The server measures that latency continuously and asks for
  each wake-up earlier by the median of the last 512 latencies (calibrated
  with 48 sleeps before it starts listening), so the *median* write lands on
  its deadline; individual writes land a little before or after it.

What the server adds is measured, not assumed: for every token the actual
write time minus its deadline (negative = early), and for every read how long
after the kernel's receipt this process read the bytes. ``GET /stats`` reports
percentiles of both plus a ``log`` of ``[receipt_ns, first_token_write_ns]``
per streamed request; ``POST /stats/reset`` clears them. Times are
``time.perf_counter_ns()`` — CLOCK_MONOTONIC on Linux, the same clock in every
process on the machine, so a client in another process can line its own
stamps up with these.

A configurable fraction of requests gets ``HTTP 500`` immediately; the choice
is deterministic (a running accumulator), so ``--error-fraction 0.2`` fails
exactly one request in five.

Run it as a script: ``python stream_server.py --port 0 --ttft-ms 60 --itl-ms 12``;
it prints ``LISTENING <host> <port>`` once bound. :func:`spawn_server` does
that in a subprocess on 127.0.0.1 with a free port and yields the base URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import selectors
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORDS = ("alpha", "beta", "gamma", "delta", "echo", "fox", "golf", "hotel")


@dataclass
class ServerConfig:
    ttft_ms: float = 60.0
    itl_ms: float = 12.0
    error_fraction: float = 0.0
    default_max_tokens: int = 16
    send_usage: bool = False


@dataclass
class ServerStats:
    requests: int = 0
    errors: int = 0
    first_token_late_ns: list[int] = field(default_factory=list)
    token_late_ns: list[int] = field(default_factory=list)
    recv_latency_ns: list[int] = field(default_factory=list)
    # one [receipt, first-token write] pair per streamed request, in receipt order
    log: list[list[int]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def pct(values: list[int], q: float) -> float | None:
            if not values:
                return None
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] / 1e6

        return {
            "requests": self.requests,
            "errors": self.errors,
            "first_token_late_p50_ms": pct(self.first_token_late_ns, 50),
            "first_token_late_p99_ms": pct(self.first_token_late_ns, 99),
            "token_late_p50_ms": pct(self.token_late_ns, 50),
            "token_late_p99_ms": pct(self.token_late_ns, 99),
            "recv_latency_p50_ms": pct(self.recv_latency_ns, 50),
            "recv_latency_p99_ms": pct(self.recv_latency_ns, 99),
            "log": self.log,
        }


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    t0: int


SO_TIMESTAMPNS = 35  # Linux <asm-generic/socket.h>; SCM_TIMESTAMPNS has the same value
_TIMESPEC = struct.Struct("qq")


def kernel_receipt_ns(ancdata: list[tuple[int, int, bytes]]) -> int | None:
    """The kernel's receive timestamp of a ``recvmsg`` (CLOCK_REALTIME), moved to perf_counter_ns."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(data)
            offset = time.time_ns() - time.perf_counter_ns()
            return sec * 1_000_000_000 + nsec - offset
    return None


class Connection:
    """One client connection on a raw non-blocking socket.

    Reads with ``recvmsg`` so every read carries the kernel's receive timestamp
    (``SO_TIMESTAMPNS``): a request's receipt time ``t0`` is when its last
    bytes reached the socket, not when this process got round to reading them
    — the server's own read latency does not leak into the deadlines (it is
    measured and reported as ``recv_latency_*``). Parses requests as bytes
    arrive and serves them one at a time (HTTP/1.1 keep-alive).
    """

    def __init__(self, server: StreamServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.buf = b""
        self.out = b""
        self.closed = False
        self.pending_close = False
        self.pending: deque[Request] = deque()
        self.worker: asyncio.Task[None] | None = None
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.loop.add_reader(sock.fileno(), self.on_readable)

    def on_readable(self) -> None:
        try:
            data, ancdata, _flags, _addr = self.sock.recvmsg(65536, 256)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        now = time.perf_counter_ns()
        if not data:
            self.close()
            return
        receipt = kernel_receipt_ns(ancdata)
        if receipt is None or receipt > now:
            receipt = now
        self.server.stats.recv_latency_ns.append(now - receipt)
        self.feed(data, receipt)

    def feed(self, data: bytes, receipt: int) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            method, target, _ = lines[0].split(" ", 2)
            self.pending.append(Request(method, target, headers, body, receipt))
            if self.worker is None or self.worker.done():
                self.worker = self.loop.create_task(self.serve_pending())

    async def serve_pending(self) -> None:
        while self.pending and not self.closed:
            request = self.pending.popleft()
            await self.server.dispatch(request, self)
            if request.headers.get("connection", "").lower() == "close":
                self.close_after_flush()

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if self.out:
            self.out += data
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.close()
            return
        if sent < len(data):
            self.out = data[sent:]
            self.loop.add_writer(self.sock.fileno(), self.on_writable)

    def on_writable(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        self.out = self.out[sent:]
        if not self.out:
            self.loop.remove_writer(self.sock.fileno())
            if self.pending_close:
                self.close()

    def close_after_flush(self) -> None:
        if self.out:
            self.pending_close = True
        else:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.remove_reader(self.sock.fileno())
        self.loop.remove_writer(self.sock.fileno())
        if self.worker is not None and self.worker is not asyncio.current_task():
            self.worker.cancel()
        self.sock.close()


class StreamServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.stats = ServerStats()
        self._error_acc = 0.0
        self.wake_bias_ns = 0
        self._wakes: deque[int] = deque(maxlen=512)
        self._wake_count = 0
        self._frame_cache: dict[tuple[str, int], tuple[list[bytes], bytes]] = {}

    def _should_fail(self) -> bool:
        self._error_acc += self.config.error_fraction
        if self._error_acc >= 1.0 - 1e-9:
            self._error_acc -= 1.0
            return True
        return False

    @staticmethod
    def _simple(conn: Connection, status: str, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        conn.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n".encode()
            + data
        )

    async def dispatch(self, request: Request, conn: Connection) -> None:
        path = request.target.split("?", 1)[0]
        method = request.method
        if method == "GET" and path == "/health":
            self._simple(conn, "200 OK", {"ok": True})
        elif method == "GET" and path == "/stats":
            self._simple(conn, "200 OK", {**self.stats.summary(), "wake_bias_ms": self.wake_bias_ns / 1e6})
        elif method == "POST" and path == "/stats/reset":
            self.stats = ServerStats()
            self._error_acc = 0.0
            self._simple(conn, "200 OK", {"ok": True})
        elif method == "POST" and path == "/v1/completions":
            await self.completions(request, conn)
        else:
            self._simple(conn, "404 Not Found", {"error": f"no route {method} {path}"})

    async def completions(self, request: Request, conn: Connection) -> None:
        t0 = request.t0
        self.stats.requests += 1
        if self._should_fail():
            self.stats.errors += 1
            self._simple(conn, "500 Internal Server Error", {"error": "injected failure"})
            return
        body = json.loads(request.body or b"{}")
        n_tokens = int(body.get("max_tokens") or self.config.default_max_tokens)
        model = str(body.get("model", "test-model"))
        if not body.get("stream", False):
            await self.sleep_until(t0 + self._deadline_offset_ns(n_tokens - 1))
            text = "".join(" " + WORDS[k % len(WORDS)] for k in range(n_tokens))
            self._simple(conn, "200 OK", {"choices": [{"index": 0, "text": text}], "model": model})
            return
        entry = [t0, 0]
        self.stats.log.append(entry)
        conn.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
        )
        frames, tail = self._frames(model, n_tokens)
        for k, frame in enumerate(frames):
            deadline = t0 + self._deadline_offset_ns(k)
            await self.sleep_until(deadline)
            sent = time.perf_counter_ns()
            conn.write(frame)
            if k == 0:
                self.stats.first_token_late_ns.append(sent - deadline)
                entry[1] = sent
            else:
                self.stats.token_late_ns.append(sent - deadline)
        conn.write(tail)

    def _deadline_offset_ns(self, k: int) -> int:
        return round((self.config.ttft_ms + k * self.config.itl_ms) * 1e6)

    async def sleep_until(self, deadline_ns: int) -> None:
        """Sleep until ``deadline_ns``, waking ``wake_bias_ns`` early to cancel the median timer lateness."""
        target = deadline_ns - self.wake_bias_ns
        now = time.perf_counter_ns()
        if target <= now:
            return
        await asyncio.sleep((target - now) / 1e9)
        self._wakes.append(time.perf_counter_ns() - target)
        self._wake_count += 1
        if self._wake_count % 16 == 0:
            ordered = sorted(self._wakes)
            self.wake_bias_ns = max(0, min(2_000_000, ordered[len(ordered) // 2]))

    async def calibrate(self, rounds: int = 48) -> None:
        """Measure the loop's timer wake-up latency before serving (about 0.1 s)."""
        for _ in range(rounds):
            await self.sleep_until(time.perf_counter_ns() + 2_000_000)

    def _frames(self, model: str, n_tokens: int) -> tuple[list[bytes], bytes]:
        """The chunked-encoding frames of every token event and the tail, built once per shape."""
        key = (model, n_tokens)
        cached = self._frame_cache.get(key)
        if cached is not None:
            return cached
        frames = []
        for k in range(n_tokens):
            event = {
                "id": "cmpl-test",
                "object": "text_completion",
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "text": " " + WORDS[k % len(WORDS)],
                        "finish_reason": "length" if k == n_tokens - 1 else None,
                    }
                ],
            }
            payload = b"data: " + json.dumps(event).encode() + b"\n\n"
            frames.append(b"%x\r\n%s\r\n" % (len(payload), payload))
        tail = b""
        if self.config.send_usage:
            usage = {"choices": [], "usage": {"prompt_tokens": 0, "completion_tokens": n_tokens}}
            payload = b"data: " + json.dumps(usage).encode() + b"\n\n"
            tail += b"%x\r\n%s\r\n" % (len(payload), payload)
        done = b"data: [DONE]\n\n"
        tail += b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done)
        if len(self._frame_cache) < 64:
            self._frame_cache[key] = (frames, tail)
        return frames, tail


async def serve(host: str, port: int, config: ServerConfig) -> None:
    server = StreamServer(config)
    await server.calibrate()
    loop = asyncio.get_running_loop()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(512)
    listener.setblocking(False)
    bound = listener.getsockname()
    print(f"LISTENING {bound[0]} {bound[1]}", flush=True)
    connections: list[Connection] = []
    while True:
        sock, _ = await loop.sock_accept(listener)
        connections = [c for c in connections if not c.closed]
        connections.append(Connection(server, sock))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Streaming test server with exact token timing.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft-ms", type=float, default=60.0)
    parser.add_argument("--itl-ms", type=float, default=12.0)
    parser.add_argument("--error-fraction", type=float, default=0.0)
    parser.add_argument("--send-usage", action="store_true")
    args = parser.parse_args(argv)
    config = ServerConfig(
        ttft_ms=args.ttft_ms,
        itl_ms=args.itl_ms,
        error_fraction=args.error_fraction,
        send_usage=args.send_usage,
    )
    # select() takes a microsecond timeout; epoll (asyncio's default) rounds up to whole milliseconds.
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(serve(args.host, args.port, config))
    except KeyboardInterrupt:
        pass
    finally:
        loop.close()


@contextlib.contextmanager
def spawn_server(
    *,
    ttft_ms: float = 60.0,
    itl_ms: float = 12.0,
    error_fraction: float = 0.0,
    send_usage: bool = False,
    python: str = sys.executable,
) -> Iterator[str]:
    """Run the server in a subprocess on 127.0.0.1 with a free port; yield its base URL."""
    cmd = [
        python,
        str(Path(__file__).resolve()),
        "--port",
        "0",
        "--ttft-ms",
        str(ttft_ms),
        "--itl-ms",
        str(itl_ms),
        "--error-fraction",
        str(error_fraction),
    ]
    if send_usage:
        cmd.append("--send-usage")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "LISTENING":
            raise RuntimeError(f"stream server failed to start: {line!r}")
        yield f"http://{line[1]}:{line[2]}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fetch_stats(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}/stats", timeout=5) as resp:
        return dict(json.loads(resp.read()))


def reset_stats(base_url: str) -> None:
    req = urllib.request.Request(f"{base_url}/stats/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        resp.read()


if __name__ == "__main__":
    main()
