"""loadgen/transports.py: stream decoding, URLs and the factory, the SageMaker transport over a fake client
(the HTTP client under the OpenAI transport is tested in test_http11.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

import pytest

from pathprover.loadgen import (
    Exchange,
    LoadgenError,
    SageMakerTransport,
    decode_stream,
    make_transport,
)
from pathprover.loadgen.runner import to_sample
from pathprover.loadgen.transports import OpenAIHTTPTransport, completions_url
from tests.unit.loadgen.conftest import sse, text_event

T = TypeVar("T")

# ----------------------------------------------------------------------------- stream decoding


def test_decode_sse_counts_nonempty_text_and_dates_lines_by_completing_chunk() -> None:
    e1, e2, e3 = sse(text_event(" a")), sse(text_event("")), sse(text_event(" b"))
    # e3 is split across two chunks: it is dated by the chunk that completes it.
    chunks = [e1, e2 + e3[:10], e3[10:] + b"data: [DONE]\n\n"]
    decoded = decode_stream(chunks, [100, 200, 300])
    assert decoded.token_times_ns == [100, 300]
    assert decoded.output_tokens == 2
    assert decoded.done and decoded.error is None


def test_decode_usage_wins_and_other_formats() -> None:
    usage = {"choices": [], "usage": {"completion_tokens": 5}}
    decoded = decode_stream([sse(text_event("ab")), sse(usage), b"data: [DONE]\n\n"], [1, 2, 3])
    assert decoded.output_tokens == 5 and decoded.token_times_ns == [1]
    chat = {"choices": [{"index": 0, "delta": {"content": "hi"}}]}
    assert decode_stream([sse(chat)], [7]).token_times_ns == [7]
    tgi = b'{"token": {"text": " x", "special": false}}\n{"token": {"text": "</s>", "special": true}}\n'
    assert decode_stream([tgi], [9]).token_times_ns == [9]
    crlf = b"data: " + json.dumps(text_event("z")).encode() + b"\r\n\r\n: keep-alive\r\n\r\n"
    assert decode_stream([crlf], [4]).output_tokens == 1


def test_decode_error_event_and_garbage() -> None:
    err = decode_stream([sse({"error": {"message": "boom"}})], [1])
    assert err.error == "boom"
    assert decode_stream([b"data: {not json\n\n"], [1]).error is not None


def test_urls_and_factory() -> None:
    assert completions_url("http://h:8000") == "http://h:8000/v1/completions"
    assert completions_url("http://h:8000/v1/") == "http://h:8000/v1/completions"
    assert completions_url("http://h/v1/completions") == "http://h/v1/completions"
    assert isinstance(make_transport("http://h:1"), OpenAIHTTPTransport)
    sm = make_transport("sagemaker://my-endpoint?region=us-west-2")
    assert isinstance(sm, SageMakerTransport) and sm.endpoint_name == "my-endpoint"
    with pytest.raises(LoadgenError):
        make_transport("ftp://h")


# ----------------------------------------------------------------------------- SageMaker (fake client)


class EndpointConnectionError(Exception):
    """Same class name as botocore's; the transport classifies by name."""


class FakeEvents:
    def __init__(self) -> None:
        self.handlers: list[Any] = []

    def register(self, name: str, handler: Any, unique_id: str | None = None) -> None:
        assert name == "before-send.sagemaker-runtime.InvokeEndpointWithResponseStream"
        self.handlers.append(handler)


class FakeSageMakerClient:
    def __init__(self, events: list[dict[str, Any]] | Exception) -> None:
        self.meta = type("Meta", (), {"events": FakeEvents()})()
        self._events = events
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint_with_response_stream(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        for handler in self.meta.events.handlers:
            handler(request=None)
        if isinstance(self._events, Exception):
            raise self._events
        return {"ResponseMetadata": {"HTTPStatusCode": 200}, "Body": iter(self._events)}


async def sagemaker_exchange(client: FakeSageMakerClient) -> Exchange:
    transport = SageMakerTransport("ep", client=client)
    await transport.open(2)
    try:
        return await transport.send(b'{"prompt": "x"}')
    finally:
        await transport.close()


def test_sagemaker_transport_payload_parts() -> None:
    parts = [sse(text_event(" a")), sse(text_event(" b")) + b"data: [DONE]\n\n"]
    client = FakeSageMakerClient([{"PayloadPart": {"Bytes": p}} for p in parts])
    ex = asyncio.run(sagemaker_exchange(client))
    assert ex.error is None and ex.status == 200
    assert ex.chunks == parts
    assert ex.start_ns <= ex.sent_ns <= ex.chunk_times_ns[0] <= ex.chunk_times_ns[1] <= ex.end_ns
    assert client.calls[0]["EndpointName"] == "ep" and client.calls[0]["ContentType"] == "application/json"
    sample = to_sample(0, ex)
    assert sample.ok and sample.output_tokens == 2


def test_sagemaker_transport_errors() -> None:
    stream_error = {"ModelStreamError": {"Message": "timeout", "ErrorCode": "ModelInvocationTimeExceeded"}}
    ex = asyncio.run(sagemaker_exchange(FakeSageMakerClient([stream_error])))
    assert ex.error is not None and "ModelInvocationTimeExceeded" in ex.error
    ex = asyncio.run(sagemaker_exchange(FakeSageMakerClient(EndpointConnectionError("no route"))))
    assert ex.connect_failed and "EndpointConnectionError" in (ex.error or "")
