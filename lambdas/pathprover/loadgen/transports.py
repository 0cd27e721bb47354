"""How requests reach a model server, behind one small :class:`Transport` protocol.

A transport only moves bytes and stamps them with ``perf_counter_ns``: when
the caller asks for the request (``start_ns``), when its bytes are handed to
the socket (``sent_ns`` — the origin of TTFT and E2E, so the client library's
own request-building time is not charged to the server), and when each piece
of the response body arrives; it keeps the raw pieces. Parsing the stream
(SSE or JSON lines) happens later, in :func:`decode_stream`, once the level
has finished — so the hot path per receive is a clock read, the HTTP
framing and two list appends per piece, and one stream's parsing never
delays another stream's stamps.

* :class:`OpenAIHTTPTransport` — ``POST {url}/v1/completions`` with
  ``stream: true`` over HTTP/1.1, one keep-alive connection per worker. The
  client is :mod:`.http11`: h11 (a pure-Python HTTP/1.1 state machine without
  I/O) driven by a plain ``asyncio.Protocol`` of this package — about 0.15-0.2
  CPU-s cheaper to start than aiohttp's client, which built two TLS contexts
  at import; the TLS context is built only for an https URL.

  - ``sent_ns`` is read immediately before the request (headers and body,
    coalesced into one buffer) goes to ``transport.write()``.
  - Every ``data_received`` reads the clock first, then feeds h11; each body
    piece h11 decodes from that receive (chunked or Content-Length) is kept
    with that time, and the receive that completes the message is ``end_ns``.
    A piece is dated by the receive that delivered it, not by when the
    waiting task gets scheduled — which matters when many streams deliver at
    once. Against the reference server (60 ms / 12 ms, 2-core VM), TTFT p50
    error at concurrency 1 / 16 / 32 with aiohttp's client was 0.45 / 0.53 /
    0.97 ms reading lines, 0.40 / 0.38 / 0.97 ms stamping ``readany()``
    returns, 0.31 / 0.23 / 0.48 ms stamping receives (medians of repeated
    runs). Medians of three ``scripts/bench_loadgen.py --quick`` runs each,
    in one later session: aiohttp stamping receives 0.38 / 0.30 / 0.35 ms,
    this client 0.42 / 0.14 / 0.18 ms.

* :class:`SageMakerTransport` — ``invoke_endpoint_with_response_stream``
  through a boto3 ``sagemaker-runtime`` client (passed in, or built lazily —
  boto3 is imported only then), one blocking call per worker thread;
  ``sent_ns`` comes from botocore's ``before-send`` event (after SigV4
  signing), and each ``PayloadPart`` event's ``Bytes`` carry the same SSE /
  JSON lines, stamped as the event stream yields them.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, urlsplit

from pathprover.core.errors import InputError
from pathprover.loadgen.exchange import Exchange

if TYPE_CHECKING:
    import ssl

    from pathprover.loadgen.http11 import Client


class LoadgenError(InputError, RuntimeError):
    """A run cannot proceed: the endpoint is unreachable, rejects every request, or the input is invalid."""

    code = "endpoint"


@runtime_checkable
class Transport(Protocol):
    """Sends one request body and returns its timed :class:`Exchange`; never raises for request errors."""

    kind: str
    target: str

    async def open(self, concurrency: int) -> None:
        """Prepare for ``concurrency`` requests in flight (connection pool, threads)."""

    async def send(self, body: bytes) -> Exchange:
        """Send ``body``; stamp the start and every arriving piece of the response."""

    async def close(self) -> None:
        """Release what :meth:`open` acquired."""


def unreachable_message(target: str, detail: str) -> str:
    return f"cannot connect to {target} — is the endpoint up? ({detail})"


# --------------------------------------------------------------------------- HTTP


def completions_url(url: str) -> str:
    base = url.rstrip("/")
    if base.endswith("/v1/completions"):
        return base
    if base.endswith("/v1"):
        return base + "/completions"
    return base + "/v1/completions"


class OpenAIHTTPTransport:
    """OpenAI-compatible ``/v1/completions`` streaming over HTTP/1.1: h11 with this package's own protocol.

    The request line, headers and connection target are worked out once here; :mod:`.http11` (imported
    when the transport opens) owns the connections. The TLS context (``ssl.create_default_context()``,
    which loads the CA bundle) is built only for an https URL, once per transport.
    """

    kind = "openai-http"

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        request_timeout_s: float = 600.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LoadgenError(f"not an http(s) URL: {url!r}")
        self.target = url
        self.endpoint = completions_url(url)
        where = urlsplit(self.endpoint)
        self._https = where.scheme == "https"
        try:
            self._port = where.port or (443 if self._https else 80)
            path = where.path + (f"?{where.query}" if where.query else "")
            self._path = path.encode("ascii")
            host = where.netloc.rpartition("@")[2].encode("ascii")  # Host: the URL's host[:port]
        except (ValueError, UnicodeEncodeError):
            raise LoadgenError(f"not an http(s) URL with an ASCII host, port and path: {url!r}") from None
        self._host = where.hostname or ""
        self._headers = [
            (b"Host", host),
            (b"Content-Type", b"application/json"),
            (b"Accept", b"text/event-stream"),
        ]
        if api_key:
            try:
                self._headers.append((b"Authorization", b"Bearer " + api_key.encode("latin-1")))
            except UnicodeEncodeError:
                raise LoadgenError("the API key has characters an HTTP header cannot carry") from None
        self._request_timeout_s = request_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._ssl_context: ssl.SSLContext | None = None
        self._client: Client | None = None

    def _tls(self) -> ssl.SSLContext | None:
        """The TLS context for an https URL, built on first use; None for http (the CA bundle is never read)."""
        if self._https and self._ssl_context is None:
            import ssl

            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    async def open(self, concurrency: int) -> None:
        from pathprover.loadgen.http11 import Client

        await self.close()
        client = Client(
            self._host,
            self._port,
            target=self._path,
            headers=self._headers,
            ssl_context=self._tls(),
            size=concurrency,  # exactly one keep-alive connection per worker
            connect_timeout_s=self._connect_timeout_s,
            request_timeout_s=self._request_timeout_s,
        )
        try:
            client.check_headers()
        except ValueError as exc:
            raise LoadgenError(str(exc)) from None
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def send(self, body: bytes) -> Exchange:
        client = self._client
        if client is None:
            raise LoadgenError("transport used before open()")
        return await client.send(body)


# --------------------------------------------------------------------------- SageMaker


class SageMakerTransport:
    """``invoke_endpoint_with_response_stream`` run in a thread per in-flight request."""

    kind = "sagemaker"

    def __init__(
        self,
        endpoint_name: str,
        *,
        client: Any | None = None,
        region_name: str | None = None,
        content_type: str = "application/json",
        accept: str | None = None,
        inference_component: str | None = None,
        read_timeout_s: float = 600.0,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.target = f"sagemaker://{endpoint_name}"
        self._client = client
        self._region_name = region_name
        self._content_type = content_type
        self._accept = accept
        self._inference_component = inference_component
        self._read_timeout_s = read_timeout_s
        self._executor: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._hooked = False

    def _on_before_send(self, request: Any = None, **_: Any) -> None:
        # botocore's last event before the signed request goes to the socket, in the calling thread.
        if getattr(self._local, "sent_ns", None) == 0:
            self._local.sent_ns = perf_counter_ns()

    def _hook(self, client: Any) -> None:
        if self._hooked:
            return
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is not None:
            events.register(
                "before-send.sagemaker-runtime.InvokeEndpointWithResponseStream",
                self._on_before_send,
                unique_id=f"pathprover-loadgen-{id(self)}",
            )
        self._hooked = True

    def _build_client(self, concurrency: int) -> Any:
        import boto3  # lazily: boto3 costs ~0.3 CPU-s to import
        from botocore.config import Config

        return boto3.client(
            "sagemaker-runtime",
            region_name=self._region_name,
            config=Config(
                max_pool_connections=max(10, concurrency),
                retries={"max_attempts": 1, "mode": "standard"},
                connect_timeout=10,
                read_timeout=self._read_timeout_s,
            ),
        )

    async def open(self, concurrency: int) -> None:
        await self.close()
        if self._client is None:
            self._client = await asyncio.to_thread(self._build_client, concurrency)
        self._hook(self._client)
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="loadgen-sagemaker")

    async def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            executor.shutdown(wait=False, cancel_futures=True)

    async def send(self, body: bytes) -> Exchange:
        if self._executor is None:
            raise LoadgenError("transport used before open()")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._invoke, body)

    def _invoke(self, body: bytes) -> Exchange:
        kwargs: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "Body": body,
            "ContentType": self._content_type,
        }
        if self._accept:
            kwargs["Accept"] = self._accept
        if self._inference_component:
            kwargs["InferenceComponentName"] = self._inference_component
        times: list[int] = []
        chunks: list[bytes] = []
        self._local.sent_ns = 0
        start = perf_counter_ns()
        status: int | None = None
        try:
            client = self._client
            if client is None:
                raise LoadgenError("transport used before open()")
            response = client.invoke_endpoint_with_response_stream(**kwargs)
            sent = self._local.sent_ns
            status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 200))
            for event in response["Body"]:
                now = perf_counter_ns()
                part = event.get("PayloadPart")
                if part is not None:
                    times.append(now)
                    chunks.append(part.get("Bytes", b""))
                    continue
                for key in ("ModelStreamError", "InternalStreamFailure"):
                    if key in event:
                        info = event[key] or {}
                        code = info.get("ErrorCode", "")
                        error = f"{key} {code}: {info.get('Message', '')}"
                        return Exchange(start, now, status, times, chunks, error=error, sent_ns=sent)
            return Exchange(start, perf_counter_ns(), status, times, chunks, sent_ns=sent)
        except Exception as exc:  # botocore raises many unrelated classes; classify by name
            end = perf_counter_ns()
            name = type(exc).__name__
            response_meta = getattr(exc, "response", None) or {}
            status = response_meta.get("ResponseMetadata", {}).get("HTTPStatusCode") or status
            original = response_meta.get("OriginalStatusCode")
            if original:
                status = int(original)
            connect_failed = name in {
                "EndpointConnectionError",
                "ConnectTimeoutError",
                "NoCredentialsError",
                "NoRegionError",
                "ConnectionClosedError",
            }
            return Exchange(
                start,
                end,
                status,
                times,
                chunks,
                error=f"{name}: {exc}",
                connect_failed=connect_failed,
                sent_ns=self._local.sent_ns,
            )


class ObjectStore(Protocol):
    """Where async requests and their answers live (S3 on AWS, the local artifact store offline)."""

    def put_bytes(self, key: str, data: bytes) -> str: ...

    def get_bytes(self, uri: str) -> bytes: ...

    def exists(self, uri: str) -> bool: ...


ASYNC_POLL_INITIAL_S = 0.02
ASYNC_POLL_MAX_S = 0.5
ASYNC_POLL_FRACTION = 0.05
"""The next poll comes after this share of the time since submission: the end is known to within 5 %."""
ASYNC_TIMEOUT_S = 900.0


class SageMakerAsyncTransport:
    """``InvokeEndpointAsync``: upload the body, submit it, wait for its output (or failure) object.

    SageMaker answers an async request with 202 and the S3 locations its answer will be written to;
    nothing is streamed. So the exchange is timed from the submission (botocore's ``before-send`` of
    InvokeEndpointAsync, after the input upload) to the poll that first finds the output object: an
    upper bound on the true end, late by at most the poll interval (``poll_max_s``). The whole answer
    arrives at once (``streamed=False``): no TTFT or inter-token times can be derived from it.

    Polling is capped: the next poll comes after 5 % of the time since submission, at least
    ``poll_initial_s`` and at most ``poll_max_s`` (so the end is late by at most 5 %, or ``poll_max_s``),
    and a request neither answered nor failed within ``timeout_s`` is an error. ``runtime_url`` points the
    client at another SageMaker Runtime endpoint (the simulated fleet's server offline).
    """

    kind = "sagemaker-async"

    def __init__(
        self,
        endpoint_name: str,
        store: ObjectStore,
        input_prefix: str,
        *,
        client: Any | None = None,
        region_name: str | None = None,
        runtime_url: str | None = None,
        content_type: str = "application/json",
        poll_initial_s: float = ASYNC_POLL_INITIAL_S,
        poll_max_s: float = ASYNC_POLL_MAX_S,
        timeout_s: float = ASYNC_TIMEOUT_S,
    ) -> None:
        if not 0 < poll_initial_s <= poll_max_s:
            raise LoadgenError(
                f"async polling needs 0 < poll_initial_s <= poll_max_s, not {poll_initial_s}, {poll_max_s}"
            )
        if not input_prefix or input_prefix.startswith("/"):
            raise LoadgenError(f"async input prefix must be a relative key prefix, not {input_prefix!r}")
        self.endpoint_name = endpoint_name
        self.target = f"sagemaker-async://{endpoint_name}"
        self.store = store
        self.input_prefix = input_prefix if input_prefix.endswith("/") else input_prefix + "/"
        self._client = client
        self._region_name = region_name
        self._runtime_url = runtime_url
        self._content_type = content_type
        self.poll_initial_s = poll_initial_s
        self.poll_max_s = poll_max_s
        self.timeout_s = timeout_s
        self._executor: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._hooked = False
        self._counter = 0
        self.polls = 0

    def _on_before_send(self, request: Any = None, **_: Any) -> None:
        if getattr(self._local, "sent_ns", None) == 0:
            self._local.sent_ns = perf_counter_ns()

    def _build_client(self, concurrency: int) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "sagemaker-runtime",
            region_name=self._region_name,
            endpoint_url=self._runtime_url,
            config=Config(
                max_pool_connections=max(10, concurrency),
                retries={"max_attempts": 1, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
            ),
        )

    async def open(self, concurrency: int) -> None:
        await self.close()
        if self._client is None:
            self._client = await asyncio.to_thread(self._build_client, concurrency)
        if not self._hooked:
            events = getattr(getattr(self._client, "meta", None), "events", None)
            if events is not None:
                events.register(
                    "before-send.sagemaker-runtime.InvokeEndpointAsync",
                    self._on_before_send,
                    unique_id=f"pathprover-loadgen-async-{id(self)}",
                )
            self._hooked = True
        # one thread per in-flight request for the submit, one more for its polls
        self._executor = ThreadPoolExecutor(max_workers=2 * concurrency, thread_name_prefix="loadgen-async")

    async def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            executor.shutdown(wait=False, cancel_futures=True)

    def _submit(self, key: str, body: bytes) -> tuple[int, dict[str, Any] | None, str | None, int | None, bool]:
        """Upload and submit; (sent_ns, response, error, status, connect_failed). Runs in a worker thread."""
        self._local.sent_ns = 0
        try:
            location = self.store.put_bytes(key, body)
        except Exception as exc:
            return 0, None, f"input upload failed: {type(exc).__name__}: {exc}", None, False
        try:
            client = self._client
            if client is None:
                raise LoadgenError("transport used before open()")
            response = client.invoke_endpoint_async(
                EndpointName=self.endpoint_name,
                InputLocation=location,
                ContentType=self._content_type,
                InferenceId=key.rsplit("/", 1)[-1].removesuffix(".json"),
            )
            return self._local.sent_ns, dict(response), None, None, False
        except Exception as exc:  # botocore raises many unrelated classes; classify by name
            name = type(exc).__name__
            meta = (getattr(exc, "response", None) or {}).get("ResponseMetadata", {})
            status = meta.get("HTTPStatusCode")
            connect = name in {"EndpointConnectionError", "ConnectTimeoutError", "NoCredentialsError", "NoRegionError"}
            return self._local.sent_ns, None, f"{name}: {exc}", status, connect

    def _look(self, output: str, failure: str | None) -> tuple[str, int, bytes] | None:
        """('output' | 'failure', when it was seen, body) once either object exists; None while neither does.
        Seen is stamped before the download, so the answer's size does not count as latency."""
        if self.store.exists(output):
            seen = perf_counter_ns()
            return "output", seen, self.store.get_bytes(output)
        if failure and self.store.exists(failure):
            seen = perf_counter_ns()
            return "failure", seen, self.store.get_bytes(failure)
        return None

    async def send(self, body: bytes) -> Exchange:
        executor = self._executor
        if executor is None:
            raise LoadgenError("transport used before open()")
        loop = asyncio.get_running_loop()
        self._counter += 1
        key = f"{self.input_prefix}{uuid.uuid4().hex[:16]}-{self._counter}.json"
        start = perf_counter_ns()
        sent, response, error, refused, connect = await loop.run_in_executor(executor, self._submit, key, body)
        if response is None:
            return Exchange(
                start, perf_counter_ns(), refused, error=error, connect_failed=connect, sent_ns=sent, streamed=False
            )
        status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode", 202))
        output = response.get("OutputLocation")
        failure = response.get("FailureLocation")
        if not output:
            return Exchange(
                start,
                perf_counter_ns(),
                status,
                error="InvokeEndpointAsync returned no OutputLocation",
                sent_ns=sent,
                streamed=False,
            )
        deadline = start + int(self.timeout_s * 1e9)
        while True:
            self.polls += 1
            try:
                found = await loop.run_in_executor(executor, self._look, output, failure)
            except Exception as exc:
                return Exchange(
                    start,
                    perf_counter_ns(),
                    status,
                    error=f"polling {output}: {type(exc).__name__}: {exc}",
                    sent_ns=sent,
                    streamed=False,
                )
            now = perf_counter_ns()
            if found is not None:
                which, now, payload = found
                if which == "failure":
                    text = payload[:300].decode("utf-8", "replace")
                    return Exchange(
                        start,
                        now,
                        status,
                        error=f"async inference failed ({failure}): {text}",
                        sent_ns=sent,
                        streamed=False,
                    )
                return Exchange(start, now, 200, [now], [payload], sent_ns=sent, streamed=False)
            if now >= deadline:
                return Exchange(
                    start,
                    now,
                    status,
                    error=f"no output at {output} within {self.timeout_s:g} s",
                    sent_ns=sent,
                    streamed=False,
                )
            elapsed_s = (now - (sent or start)) / 1e9
            interval = min(self.poll_max_s, max(self.poll_initial_s, elapsed_s * ASYNC_POLL_FRACTION))
            await asyncio.sleep(min(interval, max(0.0, (deadline - now) / 1e9)))


# --------------------------------------------------------------------------- factory


def make_transport(url: str, *, api_key: str | None = None, client: Any | None = None) -> Transport:
    """``http(s)://host[:port]`` → :class:`OpenAIHTTPTransport`;
    ``sagemaker://ENDPOINT[?region=R&component=C]`` → :class:`SageMakerTransport`."""
    parts = urlsplit(url)
    if parts.scheme == "sagemaker":
        if not parts.netloc:
            raise LoadgenError(f"sagemaker URL needs an endpoint name: {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return SageMakerTransport(
            parts.netloc,
            client=client,
            region_name=query.get("region"),
            inference_component=query.get("component"),
        )
    if parts.scheme in ("http", "https"):
        return OpenAIHTTPTransport(url, api_key=api_key)
    raise LoadgenError(f"unsupported URL {url!r}: use http(s)://HOST[:PORT] or sagemaker://ENDPOINT")


# --------------------------------------------------------------------------- stream decoding


@dataclass(slots=True)
class Decoded:
    token_times_ns: list[int]
    output_tokens: int
    error: str | None = None
    done: bool = False


def _event_text(obj: dict[str, Any]) -> str:
    choices = obj.get("choices")
    if choices:
        first = choices[0]
        text = first.get("text")
        if text is None:
            delta = first.get("delta") or {}
            text = delta.get("content")
        return text or ""
    token = obj.get("token")  # TGI / LMI JSON lines
    if isinstance(token, dict) and not token.get("special", False):
        return str(token.get("text") or "")
    return ""


def decode_stream(chunks: Sequence[bytes], times_ns: Sequence[int]) -> Decoded:
    """Turn raw body pieces into token arrival times and an output-token count.

    Lines are ``data: {json}`` (SSE) or bare ``{json}`` (JSON lines); other
    SSE fields, comments and blank lines are skipped. A token is attributed to
    the arrival time of the piece that *completed* its line. One token is
    counted per event with non-empty text, unless the server reports
    ``usage.completion_tokens``, which then wins.
    """
    token_times: list[int] = []
    usage_tokens: int | None = None
    error: str | None = None
    done = False
    buf = b""

    def handle(line: bytes, t: int) -> None:
        nonlocal usage_tokens, error, done
        line = line.strip()
        if line.startswith(b"data:"):
            payload = line[5:].strip()
        elif line.startswith(b"{"):
            payload = line
        else:
            return
        if not payload:
            return
        if payload == b"[DONE]":
            done = True
            return
        try:
            obj = json.loads(payload)
        except ValueError:
            error = error or f"undecodable event: {payload[:120]!r}"
            return
        if not isinstance(obj, dict):
            return
        if obj.get("error") and not obj.get("choices"):
            err = obj["error"]
            error = error or str(err.get("message", err) if isinstance(err, dict) else err)
            return
        if _event_text(obj):
            token_times.append(t)
        usage = obj.get("usage")
        if isinstance(usage, dict) and usage.get("completion_tokens"):
            usage_tokens = int(usage["completion_tokens"])

    for data, t in zip(chunks, times_ns, strict=True):
        buf = buf + data if buf else data
        start = 0
        while (nl := buf.find(b"\n", start)) >= 0:
            handle(buf[start:nl], t)
            start = nl + 1
        buf = buf[start:]
    if buf.strip() and times_ns:
        handle(buf, times_ns[-1])
    count = usage_tokens if usage_tokens is not None else len(token_times)
    return Decoded(token_times, count, error, done)


def decode_whole(body: bytes) -> Decoded:
    """A whole (non-streamed) JSON answer: its completion-token count, never a token time.

    The count is the server's ``usage.completion_tokens`` (OpenAI) or ``details.generated_tokens`` (TGI);
    an answer with neither is an error rather than a guess.
    """
    try:
        obj = json.loads(body)
    except ValueError:
        return Decoded([], 0, f"undecodable answer: {body[:120]!r}")
    if isinstance(obj, list) and len(obj) == 1:
        obj = obj[0]
    if not isinstance(obj, dict):
        return Decoded([], 0, f"unexpected answer: {body[:120]!r}")
    if obj.get("error") and not obj.get("choices"):
        err = obj["error"]
        return Decoded([], 0, str(err.get("message", err) if isinstance(err, dict) else err))
    usage = obj.get("usage")
    if isinstance(usage, dict) and usage.get("completion_tokens"):
        return Decoded([], int(usage["completion_tokens"]), done=True)
    details = obj.get("details")
    if isinstance(details, dict) and details.get("generated_tokens"):
        return Decoded([], int(details["generated_tokens"]), done=True)
    return Decoded([], 0, "the answer reports no completion token count (usage.completion_tokens)")
