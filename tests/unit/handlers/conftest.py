"""Fixtures the handler tests share: the local services installed as a Lambda's, Powertools quiet but metrics on,
and a lane event as the plan hands it over."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from pathprover.protocols import Services
from pathprover.services import use_services
from pathprover.workflow.models import LaneTask
from tests.unit.conftest import NewProve


@pytest.fixture
def installed(svc: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """``svc`` installed as the handlers' services; no X-Ray; EMF metrics printed to stdout as on Lambda."""
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    use_services(svc)
    yield svc
    use_services(None)


def lane_event(new_prove: NewProve, *queued: str) -> dict[str, Any]:
    """A lane as the plan hands it over: its first prove in flight, the rest queued inline."""
    proves = [new_prove(execution_id="run-1"), *(new_prove(model=m, execution_id="run-1") for m in queued)]
    lane = LaneTask(execution_id="run-1", lane=0, max_cost_usd=50.0, queue=proves[1:])
    lane.prove, lane.has_prove, lane.status = proves[0], True, "begin"
    return lane.model_dump(mode="json")


def emf(stdout: str) -> dict[str, Any]:
    """The EMF metrics printed on stdout: metric name -> the blob that carries it."""
    blobs = [json.loads(line) for line in stdout.splitlines() if line.startswith("{") and '"_aws"' in line]
    return {m["Name"]: b for b in blobs for d in b["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
