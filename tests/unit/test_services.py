"""pathprover/services.py: which adapters the handlers get, installed locally or built from settings on AWS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pathprover import services
from pathprover.protocols import Services
from tests.support.local_services import local_services


@pytest.fixture(autouse=True)
def _no_installed_services() -> Iterator[None]:
    services.use_services(None)
    yield
    services.use_services(None)


def test_installed_services_are_what_every_handler_gets(tmp_path: Path) -> None:
    installed = local_services(tmp_path)
    services.use_services(installed)
    assert services.get_services() is installed
    assert services.get_services() is installed


def test_without_installed_services_the_local_runtime_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATHPROVER_RUNTIME", raising=False)
    with pytest.raises(RuntimeError, match="no local services installed"):
        services.get_services()


def test_on_aws_the_services_are_built_from_settings_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Services] = []

    def build(settings: object, catalog: object) -> Services:
        built.append(object.__new__(Services))
        return built[-1]

    monkeypatch.setenv("PATHPROVER_RUNTIME", "aws")
    monkeypatch.setattr("pathprover.adapters.aws.factory.build_aws_services", build)
    first = services.get_services()
    assert services.get_services() is first and built == [first]


def test_the_aws_factory_refuses_settings_without_its_bucket_and_ledger() -> None:
    from pathprover.adapters.aws.factory import build_aws_services
    from pathprover.catalog import default_catalog
    from pathprover.settings import Settings

    with pytest.raises(RuntimeError, match="PATHPROVER_RESULTS_BUCKET, PATHPROVER_LEDGER_TABLE"):
        build_aws_services(Settings(runtime="aws"), default_catalog())
