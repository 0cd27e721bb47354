"""A real HTTP server that plays the simulated SageMaker endpoints' model servers.

No GPU runs here, so the local fleet serves every InService endpoint from one
:class:`SimulatedEndpointServer`: aiohttp on 127.0.0.1 with an ephemeral port,
in a background thread with its own event loop. Each endpoint lives under its
own path prefix, so a whole run uses one port::

    GET  /ping                                    the server itself (always 200)
    GET  /endpoints/<name>/ping                   200 once InService, 503 while Creating
    POST /endpoints/<name>/invocations            the SageMaker contract ("prompt", "messages" or "inputs")
    POST /endpoints/<name>/v1/completions         OpenAI completions, streaming (SSE) or not
    POST /endpoints/<name>/v1/chat/completions    OpenAI chat completions, streaming or not
    POST /endpoints/<name>/async-invocations      SageMaker Runtime's InvokeEndpointAsync (async endpoints)

so ``endpoint_url(name)`` is a base URL the real load generator takes as is.
Every response carries ``X-Simulated: true``.

The async route has the REST shape of SageMaker Runtime's InvokeEndpointAsync, so boto3's
``sagemaker-runtime`` client pointed at the server's base URL (``endpoint_url``) calls it
unchanged: it reads the request from ``X-Amzn-SageMaker-InputLocation`` in the endpoint's
:class:`AsyncIO` store, answers 202 with ``InferenceId`` and the output / failure locations at
once, generates the answer in the background with the same timing as a non-streamed request,
and then writes it to the output location (or the error to the failure location).

Timing: :class:`~pathprover.adapters.local.latency.LatencyModel` (the per-request TTFT and ITL of one replica).

The wake-up of each sleep is corrected by the running median lateness of the
event loop's timers (as the reference server in ``tests/support`` does), so
the median token lands on its deadline without busy-waiting.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from pathprover.adapters.local.latency import LatencyModel

if TYPE_CHECKING:
    from aiohttp import web

DEFAULT_MAX_TOKENS: Final = 16
MAX_OUTPUT_TOKENS: Final = 8192
SIMULATED_HEADER: Final = {"X-Simulated": "true"}

_WORDS: Final = ("alpha", "beta", "gamma", "delta", "echo", "fox", "golf", "hotel", "india", "juliet")


class AsyncStore(Protocol):
    """What an async endpoint reads its inputs from and writes its answers to (the local artifact store)."""

    def get_bytes(self, uri: str) -> bytes: ...

    def put_uri(self, uri: str, data: bytes) -> str: ...


@dataclass(frozen=True)
class AsyncIO:
    """An async endpoint's S3 locations (``AsyncInferenceConfig.OutputConfig``) in a local store."""

    store: AsyncStore
    output_prefix: str
    failure_prefix: str | None = None

    def output_location(self, inference_id: str) -> str:
        return f"{self.output_prefix.rstrip('/')}/{inference_id}.out"

    def failure_location(self, inference_id: str) -> str | None:
        if not self.failure_prefix:
            return None
        return f"{self.failure_prefix.rstrip('/')}/{inference_id}-error.out"


@dataclass
class _Endpoint:
    name: str
    latency: LatencyModel
    model_name: str
    ready: bool
    served_models: tuple[str, ...] | None = None
    """Names a request may ask for (the base model and any adapter); None: any name (no check)."""
    async_io: AsyncIO | None = None
    error_text: str | None = None
    error_fraction: float = 0.0
    error_acc: float = 0.0
    in_flight: int = 0
    requests: int = 0
    errors: int = 0


@dataclass
class _Request:
    openai_path: str
    body: dict[str, Any]


@dataclass
class _Timer:
    """Median lateness of timer wake-ups on the server loop (loop thread only)."""

    bias_s: float = 0.0
    samples: deque[float] = field(default_factory=lambda: deque(maxlen=256))
    count: int = 0

    def note(self, late_s: float) -> None:
        self.samples.append(late_s)
        self.count += 1
        if self.count % 16 == 0:
            ordered = sorted(self.samples)
            self.bias_s = max(0.0, min(0.002, ordered[len(ordered) // 2]))


def _json(status: int, payload: Any) -> web.Response:
    from aiohttp import web

    return web.Response(
        status=status,
        body=json.dumps(payload).encode("utf-8"),
        content_type="application/json",
        headers=SIMULATED_HEADER,
    )


def _error_body(status: int, message: str, kind: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "code": status}, "simulated": True}).encode()


def _error(status: int, message: str, kind: str) -> web.Response:
    return _json(status, {"error": {"message": message, "type": kind, "code": status}, "simulated": True})


def web_json(status: int, payload: Any, headers: Mapping[str, str]) -> web.Response:
    from aiohttp import web

    return web.Response(
        status=status, body=json.dumps(payload).encode("utf-8"), content_type="application/json", headers=headers
    )


def _api_error(status: int, code: str, message: str) -> web.Response:
    """An AWS REST-JSON error as botocore parses it (x-amzn-ErrorType and a message)."""
    return web_json(status, {"__type": code, "message": message}, {"x-amzn-ErrorType": code, **SIMULATED_HEADER})


@dataclass(frozen=True)
class _Plan:
    n_tokens: int
    ttft_s: float
    itl_s: float
    model: str
    ident: str
    usage: dict[str, int]


def _prompt_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(_prompt_text(v) for v in value)
    if isinstance(value, dict):
        return _prompt_text(value.get("content") or value.get("text") or "")
    return "" if value is None else str(value)


def _to_openai(body: Any) -> _Request:
    """Map an /invocations body as the serving container's serve.py does."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    if "messages" in body:
        return _Request("/v1/chat/completions", dict(body))
    if "prompt" in body:
        return _Request("/v1/completions", dict(body))
    if "inputs" in body:
        parameters = body.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ValueError('"parameters" must be an object')
        request: dict[str, Any] = {"prompt": body["inputs"], "stream": bool(body.get("stream", False))}
        for source, target in (("max_new_tokens", "max_tokens"), ("temperature", "temperature"), ("top_p", "top_p")):
            if source in parameters:
                request[target] = parameters[source]
        return _Request("/v1/completions", request)
    raise ValueError('expected "prompt", "messages" or "inputs" in the request body')


class SimulatedEndpointServer:
    """One local HTTP server hosting every simulated endpoint of a run (thread-safe; starts lazily).

    Use as a context manager or call :meth:`close`; the server thread is joined on close.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, shutdown_timeout_s: float = 1.0) -> None:
        self.host = host
        self._port = port
        self._shutdown_timeout_s = shutdown_timeout_s
        self._endpoints: dict[str, _Endpoint] = {}
        self._lock = threading.Lock()
        self._lifecycle = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._closed = False
        self._timer = _Timer()
        self._counter = 0
        self._background: set[asyncio.Task[None]] = set()
        """Async answers being generated (kept referenced until done)."""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Start the server thread if it is not running; returns the base URL."""
        with self._lifecycle:
            if self._closed:
                raise RuntimeError("the simulated endpoint server is closed")
            if self._base_url is not None:
                return self._base_url
            ready = threading.Event()
            box: dict[str, Any] = {}
            thread = threading.Thread(
                target=self._serve, args=(ready, box), name="pathprover-simulated-endpoints", daemon=True
            )
            thread.start()
            if not ready.wait(timeout=15):
                raise RuntimeError("the simulated endpoint server did not start within 15 s")
            if "error" in box:
                thread.join(timeout=5)
                raise RuntimeError(f"the simulated endpoint server failed to start: {box['error']}")
            self._thread = thread
            self._base_url = f"http://{self.host}:{box['port']}"
            return self._base_url

    def _serve(self, ready: threading.Event, box: dict[str, Any]) -> None:
        from aiohttp import web

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            app = web.Application()
            app.router.add_get("/ping", self._server_ping)
            app.router.add_get("/endpoints/{name}/ping", self._ping)
            app.router.add_post("/endpoints/{name}/invocations", self._invocations)
            app.router.add_post("/endpoints/{name}/async-invocations", self._async_invocations)
            app.router.add_post("/endpoints/{name}/v1/completions", self._completions)
            app.router.add_post("/endpoints/{name}/v1/chat/completions", self._chat)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=self._shutdown_timeout_s)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self._port)
            loop.run_until_complete(site.start())
            address = runner.addresses[0]
            box["port"] = int(address[1])
            self._runner = runner
            self._loop = loop
        except Exception as exc:  # surfaced by start()
            box["error"] = f"{type(exc).__name__}: {exc}"
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(runner.cleanup())
            finally:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

    def close(self) -> None:
        """Stop serving and join the server thread; safe to call twice."""
        with self._lifecycle:
            self._closed = True
            thread, loop = self._thread, self._loop
            self._thread = None
            self._loop = None
            self._base_url = None
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=15)
        if thread.is_alive():  # pragma: no cover - a handler that ignores cancellation
            raise RuntimeError("the simulated endpoint server thread did not stop within 15 s")

    def __enter__(self) -> SimulatedEndpointServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._base_url is not None

    @property
    def url(self) -> str:
        """Base URL of the server (starts it if needed)."""
        return self.start()

    def endpoint_url(self, name: str) -> str:
        """Base URL of one endpoint: append ``/v1/completions``, ``/invocations`` or ``/ping``."""
        return f"{self.start()}/endpoints/{name}"

    # ------------------------------------------------------------------ endpoints
    def register(
        self,
        name: str,
        latency: LatencyModel,
        *,
        model_name: str,
        ready: bool = True,
        served_models: list[str] | tuple[str, ...] | None = None,
        async_io: AsyncIO | None = None,
    ) -> str:
        """Host endpoint ``name`` (replacing one of the same name); returns its URL. With ``served_models``, a
        request naming another model is refused as the OpenAI-compatible engines do (404). With ``async_io``
        it also takes InvokeEndpointAsync requests (an async endpoint)."""
        with self._lock:
            self._endpoints[name] = _Endpoint(
                name=name,
                latency=latency,
                model_name=model_name,
                ready=ready,
                served_models=tuple(served_models) if served_models is not None else None,
                async_io=async_io,
            )
        return self.endpoint_url(name)

    def set_ready(self, name: str, ready: bool = True) -> None:
        with self._lock:
            self._get(name).ready = ready

    def inject_errors(self, name: str, text: str, fraction: float = 1.0) -> None:
        """Answer ``fraction`` of this endpoint's requests with HTTP 500 carrying ``text`` (deterministic)."""
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], not {fraction}")
        with self._lock:
            endpoint = self._get(name)
            endpoint.error_text = text
            endpoint.error_fraction = fraction
            endpoint.error_acc = 0.0

    def clear_errors(self, name: str) -> None:
        with self._lock:
            endpoint = self._get(name)
            endpoint.error_text = None
            endpoint.error_fraction = 0.0

    def unregister(self, name: str) -> bool:
        """Stop hosting ``name``; False if it was not hosted."""
        with self._lock:
            return self._endpoints.pop(name, None) is not None

    def endpoint_names(self) -> list[str]:
        with self._lock:
            return sorted(self._endpoints)

    def latency(self, name: str) -> LatencyModel:
        with self._lock:
            return self._get(name).latency

    def stats(self, name: str) -> dict[str, Any]:
        with self._lock:
            ep = self._get(name)
            return {"requests": ep.requests, "errors": ep.errors, "in_flight": ep.in_flight, "ready": ep.ready}

    def _get(self, name: str) -> _Endpoint:
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            raise KeyError(f"no simulated endpoint named {name!r}")
        return endpoint

    # ------------------------------------------------------------------ handlers
    async def _server_ping(self, request: web.Request) -> web.Response:
        return _json(200, {"status": "ok", "simulated": True, "endpoints": len(self.endpoint_names())})

    async def _ping(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        with self._lock:
            endpoint = self._endpoints.get(name)
            ready = endpoint is not None and endpoint.ready
        if endpoint is None:
            return _error(404, f"Endpoint {name} not found (simulated)", "NotFound")
        return _json(200, {"status": "healthy", "simulated": True}) if ready else _error(503, "loading", "NotReady")

    async def _invocations(self, request: web.Request) -> web.StreamResponse:
        t0 = asyncio.get_running_loop().time()
        try:
            mapped = _to_openai(json.loads(await request.read() or b"{}"))
        except ValueError as exc:
            return _error(400, f"Input validation error: {exc}", "BadRequestError")
        return await self._generate(
            request, t0, mapped.body, chat=mapped.openai_path.endswith("chat/completions"), proxied=True
        )

    async def _async_invocations(self, request: web.Request) -> web.StreamResponse:
        """InvokeEndpointAsync: 202 at once with the locations; the answer is written when it is done."""
        name = request.match_info["name"]
        with self._lock:
            endpoint = self._endpoints.get(name)
        if endpoint is None:
            return _api_error(400, "ValidationError", f"Endpoint {name} not found. (simulated)")
        io = endpoint.async_io
        if io is None:
            return _api_error(400, "ValidationError", f"Endpoint {name} is not an asynchronous endpoint. (simulated)")
        location = request.headers.get("X-Amzn-SageMaker-InputLocation", "")
        if not location:
            return _api_error(400, "ValidationError", "InputLocation is required. (simulated)")
        try:
            raw = await asyncio.to_thread(io.store.get_bytes, location)
        except (OSError, ValueError) as exc:
            return _api_error(400, "ValidationError", f"Could not read the input at {location}: {exc} (simulated)")
        self._counter += 1
        inference_id = request.headers.get("X-Amzn-SageMaker-Inference-Id") or f"sim-{self._counter:08d}"
        output, failure = io.output_location(inference_id), io.failure_location(inference_id)
        task = asyncio.get_running_loop().create_task(self._answer_async(name, io, raw, output, failure))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        headers = {"X-Amzn-SageMaker-OutputLocation": output, **SIMULATED_HEADER}
        if failure:
            headers["X-Amzn-SageMaker-FailureLocation"] = failure
        return web_json(202, {"InferenceId": inference_id}, headers)

    async def _answer_async(self, name: str, io: AsyncIO, raw: bytes, output: str, failure: str | None) -> None:
        """Generate as a non-streamed request would, then write the answer (or the error) to its location."""
        t0 = asyncio.get_running_loop().time()
        status, payload = 500, b""
        try:
            mapped = _to_openai(json.loads(raw or b"{}"))
            body = {**mapped.body, "stream": False}
            status, payload = await self._generate_whole(
                name, t0, body, chat=mapped.openai_path.endswith("chat/completions"), proxied=True
            )
        except ValueError as exc:
            status, payload = 400, json.dumps({"error": {"message": f"Input validation error: {exc}"}}).encode()
        target = output if status == 200 else failure
        if target is None:
            return  # SageMaker has nowhere to put the error when no S3FailurePath is configured
        try:
            await asyncio.to_thread(io.store.put_uri, target, payload)
        except (OSError, ValueError):
            return  # the endpoint went away with its store: nothing is written, as after a deletion

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        return await self._openai(request, chat=False)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._openai(request, chat=True)

    async def _openai(self, request: web.Request, *, chat: bool) -> web.StreamResponse:
        t0 = asyncio.get_running_loop().time()
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError as exc:
            return _error(400, f"Input validation error: request body is not JSON: {exc}", "BadRequestError")
        if not isinstance(body, dict):
            return _error(400, "Input validation error: the request body must be a JSON object", "BadRequestError")
        return await self._generate(request, t0, body, chat=chat)

    def _admit(self, name: str) -> tuple[_Endpoint | None, web.Response | None, int]:
        """Count the request; returns (endpoint, error response, in-flight count including this request)."""
        with self._lock:
            endpoint = self._endpoints.get(name)
            if endpoint is None:
                return None, _error(404, f"Endpoint {name} not found (simulated)", "NotFound"), 0
            endpoint.requests += 1
            if not endpoint.ready:
                endpoint.errors += 1
                return None, _error(503, f"Endpoint {name} is not ready (simulated)", "ServiceUnavailable"), 0
            if endpoint.error_text is not None:
                endpoint.error_acc += endpoint.error_fraction
                if endpoint.error_acc >= 1.0 - 1e-9:
                    endpoint.error_acc -= 1.0
                    endpoint.errors += 1
                    return None, _error(500, endpoint.error_text, "InternalServerError"), 0
            endpoint.in_flight += 1
            return endpoint, None, endpoint.in_flight

    def _release(self, endpoint: _Endpoint) -> None:
        with self._lock:
            endpoint.in_flight = max(0, endpoint.in_flight - 1)

    async def _sleep_until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        target = deadline - self._timer.bias_s
        delay = target - loop.time()
        if delay <= 0:
            return
        await asyncio.sleep(delay)
        self._timer.note(loop.time() - target)

    def _plan(
        self, endpoint: _Endpoint, body: Mapping[str, Any], chat: bool, in_flight: int, proxied: bool = False
    ) -> _Plan | tuple[int, bytes]:
        """The request's token count and timing, or (status, error body) for a bad request. ``proxied``: it came
        through the container's /invocations proxy (serve.py), which names the base model for anything but
        the adapter the container serves; the engine's own routes refuse an unknown model (404)."""
        try:
            n_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or DEFAULT_MAX_TOKENS)
        except (TypeError, ValueError):
            return 400, _error_body(400, "Input validation error: max_tokens must be an integer", "BadRequestError")
        if not 1 <= n_tokens <= MAX_OUTPUT_TOKENS:
            text = f"Input validation error: max_tokens must be in [1, {MAX_OUTPUT_TOKENS}]"
            return 400, _error_body(400, text, "BadRequestError")
        asked = body.get("model")
        if proxied and endpoint.served_models is not None and str(asked) not in endpoint.served_models:
            body = {**body, "model": endpoint.model_name}
        elif asked and endpoint.served_models is not None and str(asked) not in endpoint.served_models:
            # vLLM / SGLang: an unknown model (an adapter the engine did not load) is a 404, not the base model.
            error = {
                "object": "error",
                "message": f"The model `{asked}` does not exist.",
                "type": "NotFoundError",
                "param": None,
                "code": 404,
                "simulated": True,
            }
            return 404, json.dumps(error).encode("utf-8")
        prompt = _prompt_text(body.get("messages") if chat else body.get("prompt"))
        input_tokens = max(1, len(prompt.split()))
        self._counter += 1
        return _Plan(
            n_tokens=n_tokens,
            ttft_s=endpoint.latency.ttft_ms(input_tokens) / 1000.0,
            itl_s=endpoint.latency.itl_ms(in_flight) / 1000.0,
            model=str(body.get("model") or endpoint.model_name),
            ident=f"{'chatcmpl' if chat else 'cmpl'}-sim-{self._counter}",
            usage={
                "prompt_tokens": input_tokens,
                "completion_tokens": n_tokens,
                "total_tokens": input_tokens + n_tokens,
            },
        )

    async def _generate_whole(
        self, name: str, t0: float, body: Mapping[str, Any], *, chat: bool, proxied: bool = False
    ) -> tuple[int, bytes]:
        """A non-streamed answer, sent when its last token would be: (HTTP status, JSON body)."""
        endpoint, refused, in_flight = self._admit(name)
        if refused is not None or endpoint is None:
            assert refused is not None
            payload = refused.body
            return refused.status, payload if isinstance(payload, bytes) else b""
        try:
            plan = self._plan(endpoint, body, chat, in_flight, proxied)
            if isinstance(plan, tuple):
                return plan
            await self._sleep_until(t0 + plan.ttft_s + (plan.n_tokens - 1) * plan.itl_s)
            text = "".join(" " + _WORDS[k % len(_WORDS)] for k in range(plan.n_tokens))
            choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            obj = "chat.completion" if chat else "text_completion"
            answer = {"id": plan.ident, "object": obj, "model": plan.model, "choices": [choice], "usage": plan.usage}
            return 200, json.dumps(answer).encode("utf-8")
        finally:
            self._release(endpoint)

    async def _generate(
        self, request: web.Request, t0: float, body: Mapping[str, Any], *, chat: bool, proxied: bool = False
    ) -> web.StreamResponse:
        from aiohttp import web

        name = request.match_info["name"]
        if not body.get("stream", False):
            status, payload = await self._generate_whole(name, t0, body, chat=chat, proxied=proxied)
            return web.Response(status=status, body=payload, content_type="application/json", headers=SIMULATED_HEADER)
        endpoint, refused, in_flight = self._admit(name)
        if refused is not None or endpoint is None:
            assert refused is not None
            return refused
        try:
            plan = self._plan(endpoint, body, chat, in_flight, proxied)
            if isinstance(plan, tuple):
                return web.Response(
                    status=plan[0], body=plan[1], content_type="application/json", headers=SIMULATED_HEADER
                )
            n_tokens, ttft_s, itl_s, model, ident, usage = (
                plan.n_tokens,
                plan.ttft_s,
                plan.itl_s,
                plan.model,
                plan.ident,
                plan.usage,
            )
            response = web.StreamResponse(
                status=200,
                headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **SIMULATED_HEADER},
            )
            response.enable_chunked_encoding()
            await response.prepare(request)
            created = int(time.time())
            try:
                for k in range(n_tokens):
                    word = " " + _WORDS[k % len(_WORDS)]
                    finish = "length" if k == n_tokens - 1 else None
                    if chat:
                        event: dict[str, Any] = {
                            "id": ident,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": finish}],
                        }
                    else:
                        event = {
                            "id": ident,
                            "object": "text_completion",
                            "created": created,
                            "model": model,
                            "choices": [{"index": 0, "text": word, "finish_reason": finish}],
                        }
                    payload = b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"
                    await self._sleep_until(t0 + ttft_s + k * itl_s)
                    await response.write(payload)
                options = body.get("stream_options")
                if isinstance(options, dict) and options.get("include_usage"):
                    tail = {"id": ident, "model": model, "choices": [], "usage": usage}
                    await response.write(b"data: " + json.dumps(tail, separators=(",", ":")).encode() + b"\n\n")
                await response.write(b"data: [DONE]\n\n")
                await response.write_eof()
            except ConnectionError:
                pass  # the client went away mid-stream
            return response
        finally:
            self._release(endpoint)
