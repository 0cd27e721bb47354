"""Fixtures the AWS adapter tests share: dummy credentials for every test, and stubbed clients (`env`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.aws_stubs import DUMMY_CREDENTIALS, Env


@pytest.fixture(autouse=True)
def _dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def env() -> Iterator[Env]:
    """Stubbed clients; at the end, every queued response must have been used."""
    environment = Env()
    yield environment
    environment.verify()
    for stubber in environment.stubs.values():
        stubber.deactivate()
