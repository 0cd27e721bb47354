"""Fixtures shared by the unit tests that call lifecycle steps directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from pathprover.protocols import Services
from tests.support.local_services import local_services


@pytest.fixture
def svc(tmp_path: Path) -> Services:
    return local_services(tmp_path)
