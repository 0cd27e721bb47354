"""The simulated endpoint server: a real HTTP server on 127.0.0.1, started lazily."""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

import pytest

from pathprover.adapters.local.endpoint import SimulatedEndpointServer
from pathprover.adapters.local.latency import LatencyModel


def test_endpoint_server_starts_lazily_and_leaves_no_thread_behind() -> None:
    before = {t.ident for t in threading.enumerate()}
    srv = SimulatedEndpointServer()
    assert not srv.running
    url = srv.register("pp-ep", LatencyModel(decode_ms_per_token=2.0, prefill_ms_per_token=0.0), model_name="m")
    assert srv.running and url.endswith("/endpoints/pp-ep")
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
    conn.request("GET", parts.path + "/ping")
    assert conn.getresponse().status == 200
    conn.close()
    srv.close()
    srv.close()
    assert {t.ident for t in threading.enumerate()} <= before
    with pytest.raises(RuntimeError):
        srv.start()
