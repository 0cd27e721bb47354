"""Hypothesis runs the same examples on every machine (CI must not fail on a draw it never saw before);
`HYPOTHESIS_PROFILE=explore` draws new ones, to go looking for failures on purpose."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("repo", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repo"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test` runs two workers), the CDK tests stay on one worker: their
    session-scoped synths are costly and would otherwise be made once per worker."""
    infra = Path(__file__).parent / "infra"
    for item in items:
        if infra in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("infra"))
