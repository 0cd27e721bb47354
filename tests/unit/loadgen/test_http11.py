"""loadgen/http11.py: the HTTP/1.1 client under the OpenAI transport, against real local servers
(scripted to misbehave): keep-alive, reconnects, timing by receive, errors, timeouts and TLS."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pathprover.loadgen import (
    Exchange,
    LoadgenError,
)
from pathprover.loadgen.runner import to_sample
from pathprover.loadgen.transports import OpenAIHTTPTransport
from tests.support.scripted_http import CLOSE, Action, ScriptedServer, chunked, whole
from tests.unit.loadgen.conftest import sse, text_event

T = TypeVar("T")

# ----------------------------------------------------------------------------- OpenAI HTTP (h11 over asyncio)

A, B = sse(text_event(" a")), sse(text_event(" b"))
DONE = b"data: [DONE]\n\n"
BODY = b'{"model": "m", "prompt": "x", "stream": true}'


def stream(*events: bytes, headers: str = "") -> list[Action]:
    return chunked(*events, DONE, headers=headers)


def with_transport(
    server: ScriptedServer,
    scenario: Callable[[OpenAIHTTPTransport], Awaitable[T]],
    *,
    concurrency: int = 1,
    **options: Any,
) -> T:
    """Serve ``server``, open a transport on it, run ``scenario``, close both."""

    async def main() -> T:
        async with server as url:
            transport = OpenAIHTTPTransport(url, **options)
            await transport.open(concurrency)
            try:
                return await scenario(transport)
            finally:
                await transport.close()

    return asyncio.run(main())


async def send_n(transport: OpenAIHTTPTransport, n: int, pause_s: float = 0.0) -> list[Exchange]:
    out = []
    for _ in range(n):
        out.append(await transport.send(BODY))
        await asyncio.sleep(pause_s)
    return out


def assert_streamed(ex: Exchange, tokens: int = 2) -> None:
    assert ex.error is None and ex.status == 200 and not ex.connect_failed, ex.error
    assert ex.start_ns <= ex.sent_ns <= ex.chunk_times_ns[0] <= ex.chunk_times_ns[-1] <= ex.end_ns
    sample = to_sample(0, ex)
    assert sample.ok and sample.output_tokens == tokens


def test_http_sends_the_request_and_reuses_one_keepalive_connection() -> None:
    # Given a server that streams two tokens per request over a keep-alive connection
    server = ScriptedServer(lambda _: stream(A, B))

    # When one worker sends three requests in a row, with an API key
    exchanges = with_transport(server, lambda t: send_n(t, 3), api_key="secret-key")

    # Then all three succeed on the one connection, with the request the server expects
    for ex in exchanges:
        assert_streamed(ex)
        assert b"".join(ex.chunks) == A + B + DONE  # the decoded body: no chunk framing
    assert server.connections == 1 and len(server.requests) == 3
    seen = server.requests[0]
    port = server.requests[0].header("Host")
    assert seen.head.startswith(b"POST /v1/completions HTTP/1.1\r\n") and port and port.startswith("127.0.0.1:")
    assert seen.header("Content-Type") == "application/json"
    assert seen.header("Accept") == "text/event-stream"
    assert seen.header("Authorization") == "Bearer secret-key"
    assert seen.header("Content-Length") == str(len(BODY)) and seen.body == BODY
    assert seen.header("Accept-Encoding") is None  # the body is never compressed


def test_http_each_worker_keeps_its_own_connection() -> None:
    # Given a server that takes 20 ms per response
    server = ScriptedServer(lambda _: [0.02, *stream(A, B)])

    # When two workers send two requests each, concurrently
    async def two_workers(t: OpenAIHTTPTransport) -> list[list[Exchange]]:
        return list(await asyncio.gather(send_n(t, 2), send_n(t, 2)))

    results = with_transport(server, two_workers, concurrency=2)

    # Then there were exactly two connections, each reused once
    assert all(ex.error is None for worker in results for ex in worker)
    assert server.connections == 2
    assert sorted(r.connection for r in server.requests) == [1, 1, 2, 2]


def test_http_stamps_each_piece_with_the_receive_that_delivered_it() -> None:
    # Given a server that sends the first token, waits 50 ms, then sends the second
    head, first, second, *tail = stream(A, B)
    server = ScriptedServer(lambda _: [head, first, 0.05, second, *tail])

    # When one request is sent
    (ex,) = with_transport(server, lambda t: send_n(t, 1))

    # Then the pieces are dated 50 ms apart, by when they arrived
    assert_streamed(ex)
    assert ex.chunks[0] == A
    assert 45e6 <= ex.chunk_times_ns[1] - ex.chunk_times_ns[0] < 500e6


def test_http_reads_a_content_length_body() -> None:
    # Given a server that answers with the whole event stream as a Content-Length body
    server = ScriptedServer(lambda _: whole("200 OK", A + B + DONE))

    # When two requests are sent
    exchanges = with_transport(server, lambda t: send_n(t, 2))

    # Then both are read to their end on one connection
    for ex in exchanges:
        assert_streamed(ex)
    assert server.connections == 1


def test_http_reconnects_after_the_server_closes_a_keepalive_connection() -> None:
    # Given a server that drops the connection after the first response, without saying so,
    # and one that announces it with Connection: close
    silent = ScriptedServer(lambda n: [*stream(A, B), CLOSE] if n == 0 else stream(A, B))
    announced = ScriptedServer(lambda n: [*stream(A, B, headers="Connection: close\r\n"), CLOSE])

    for server in (silent, announced):
        # When a request follows once the first connection has gone
        exchanges = with_transport(server, lambda t: send_n(t, 2, pause_s=0.05))

        # Then it succeeds on a new connection
        for ex in exchanges:
            assert_streamed(ex)
        assert server.connections == 2


def test_http_non_200_is_an_error_with_the_body_as_detail() -> None:
    # Given a server that is overloaded, with a long explanation, then recovers
    detail = b"overloaded: " + b"x" * 400
    server = ScriptedServer(
        lambda n: whole("503 Service Unavailable", detail, content_type="text/plain") if n == 0 else stream(A, B)
    )

    # When two requests are sent
    rejected, ok = with_transport(server, lambda t: send_n(t, 2))

    # Then the first is an HTTP error with the body's first 300 bytes, and the connection stays usable
    assert rejected.status == 503 and not rejected.connect_failed
    assert rejected.error == "HTTP 503: " + detail[:300].decode()
    assert rejected.chunks == [] and rejected.sent_ns > 0
    assert_streamed(ok)
    assert server.connections == 1


def test_http_server_dropping_mid_stream_is_an_error_keeping_what_arrived() -> None:
    # Given a server that sends one token and then closes the connection
    head, first, *_ = stream(A, B)
    server = ScriptedServer(lambda _: [head, first, CLOSE])

    # When a request is sent
    (ex,) = with_transport(server, lambda t: send_n(t, 1))

    # Then it failed after the request was sent, named by h11, with the token that did arrive
    assert ex.error is not None and ex.error.startswith("RemoteProtocolError: peer closed connection"), ex.error
    assert not ex.connect_failed and ex.status is None and ex.sent_ns > 0
    assert ex.chunks == [A]


def test_http_server_closing_before_responding_is_an_error() -> None:
    # Given a server that reads the request and closes the connection without a word
    server = ScriptedServer(lambda _: [CLOSE])

    # When a request is sent
    (ex,) = with_transport(server, lambda t: send_n(t, 1))

    # Then it failed as a disconnection, not as a connection failure
    assert ex.error == "ServerDisconnected: the server closed the connection before responding"
    assert not ex.connect_failed and ex.sent_ns > 0


def test_http_request_timeout_fails_the_request_and_drops_the_connection() -> None:
    # Given a server that never answers the first request
    server = ScriptedServer(lambda n: [5.0] if n == 0 else stream(A, B))

    # When requests are sent with a 0.2 s total timeout
    late, ok = with_transport(server, lambda t: send_n(t, 2), request_timeout_s=0.2)

    # Then the first times out and the second goes over a new connection
    assert late.error == "TimeoutError: no complete response within 0.2 s" and not late.connect_failed
    assert 0.2e9 <= late.end_ns - late.start_ns < 2e9
    assert_streamed(ok)
    assert server.connections == 2


def free_port() -> int:
    with socket.socket() as sock:  # free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def send_once(url: str, **options: Any) -> Exchange:
    transport = OpenAIHTTPTransport(url, **options)
    await transport.open(1)
    try:
        return await transport.send(BODY)
    finally:
        await transport.close()


def test_http_connection_refused_and_unknown_host_are_connect_failures() -> None:
    # Given a port nobody listens on and a host name that cannot resolve
    refused_url = f"http://127.0.0.1:{free_port()}"

    # When a request is sent to each (with an API key)
    refused = asyncio.run(send_once(refused_url, api_key="secret-key"))
    unknown = asyncio.run(send_once("http://no-such-host.invalid:8000", connect_timeout_s=5))

    # Then both are connection failures with a clear reason, and the key appears nowhere
    assert refused.connect_failed and refused.status is None and refused.sent_ns == 0
    assert "Connect call failed" in (refused.error or "") and "secret" not in (refused.error or "")
    assert unknown.connect_failed
    assert (unknown.error or "").startswith(("cannot resolve 'no-such-host.invalid'", "no connection to")), (
        unknown.error
    )


def test_http_connect_timeout_covers_the_tls_handshake() -> None:
    # Given a server that accepts TCP connections and never says a word (so a TLS handshake hangs)
    async def main() -> Exchange:
        accepted: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            # When an https request is sent with a 0.3 s connect timeout
            ex = await send_once(f"https://127.0.0.1:{port}", connect_timeout_s=0.3)
            for writer in accepted:
                writer.close()
                await writer.wait_closed()
            return ex

    ex = asyncio.run(main())

    # Then it is a connection failure that names the timeout
    assert ex.connect_failed and ex.sent_ns == 0
    assert (ex.error or "").startswith("no connection to 127.0.0.1:") and ex.error.endswith("within 0.3 s")


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (written with ``cryptography``)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_https_builds_a_tls_context_and_http_does_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a TLS server whose certificate the client's default context is made to trust, counting contexts built
    cert_file, key_file = self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert_file, key_file)
    real_default = ssl.create_default_context
    built: list[ssl.SSLContext] = []

    def default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = real_default(cafile=str(cert_file))
        built.append(context)
        return context

    monkeypatch.setattr(ssl, "create_default_context", default_context)

    # When a plain http transport is used
    (plain,) = with_transport(ScriptedServer(lambda _: stream(A, B)), lambda t: send_n(t, 1))

    # Then no TLS context was built (the CA bundle is never read)
    assert_streamed(plain)
    assert built == []

    # When an https transport sends two requests
    server = ScriptedServer(lambda _: stream(A, B), ssl_context=server_tls)
    secure = with_transport(server, lambda t: send_n(t, 2))

    # Then one default context was built and used, with the hostname checked, over one connection
    for ex in secure:
        assert_streamed(ex)
    assert len(built) == 1 and built[0].check_hostname and built[0].verify_mode == ssl.CERT_REQUIRED
    assert server.connections == 1


def test_http_rejects_a_header_value_without_echoing_the_key() -> None:
    # Given an API key with a line break in it
    transport = OpenAIHTTPTransport("http://127.0.0.1:1", api_key="secret\r\nX-Evil: 1")

    # When the transport opens
    with pytest.raises(LoadgenError) as caught:
        asyncio.run(transport.open(1))

    # Then it refuses, without the key in the message
    assert "secret" not in str(caught.value)


def test_the_http_client_does_not_import_aiohttp() -> None:
    # Given a server in this process (which may already have aiohttp loaded by other tests)
    server = ScriptedServer(lambda _: stream(A, B))

    # When a fresh interpreter sends one request through the transport
    async def main() -> tuple[bytes, int]:
        async with server as url:
            code = (
                "import asyncio, sys\n"
                "from pathprover.loadgen.transports import OpenAIHTTPTransport\n"
                "async def main():\n"
                f"    t = OpenAIHTTPTransport({url!r})\n"
                "    await t.open(1)\n"
                "    ex = await t.send(b'{}')\n"
                "    await t.close()\n"
                "    assert ex.error is None, ex.error\n"
                "asyncio.run(main())\n"
                "print(sorted(m for m in ('aiohttp', 'yarl', 'multidict') if m in sys.modules))\n"
            )
            proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE)
            out, _ = await proc.communicate()
            return out, proc.returncode or 0

    out, code = asyncio.run(main())

    # Then it worked and loaded no aiohttp
    assert code == 0 and out.strip() == b"[]"
