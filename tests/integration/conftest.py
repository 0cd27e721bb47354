"""Fixtures the integration tests share: the catalog, one endpoint server, a virtual clock, a simulated fleet."""

from collections.abc import Iterator

import pytest

from pathprover.adapters.local.endpoint import SimulatedEndpointServer
from pathprover.adapters.local.fleet import SimulatedFleet
from pathprover.catalog import Catalog, default_catalog
from pathprover.clock import VirtualClock
from tests.support.simulated_fleet import FLEET_START


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


@pytest.fixture
def sim(clock: VirtualClock, catalog: Catalog) -> Iterator[SimulatedFleet]:
    """A simulated fleet on the virtual clock, with its own endpoint server (closed at the end)."""
    with SimulatedEndpointServer() as server, SimulatedFleet(clock, catalog, server=server) as fleet:
        yield fleet
