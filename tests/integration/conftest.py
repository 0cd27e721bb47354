"""Fixtures the simulated-fleet tests share: the catalog, one endpoint server, a virtual clock."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pathprover.adapters.local.endpoint import SimulatedEndpointServer
from pathprover.catalog import Catalog, default_catalog
from pathprover.clock import VirtualClock

FLEET_START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatedEndpointServer]:
    with SimulatedEndpointServer() as srv:
        yield srv


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(FLEET_START)
