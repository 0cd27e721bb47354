"""The adapters a handler works with, chosen by configuration (AWS or local), built lazily.

Handlers call :func:`get_services`; on Lambda that builds the AWS adapters from
:class:`Settings` on first use. The local runtime installs its own set (DuckDB
warehouse, simulated builder and fleet, SQLite ledger, virtual clock) with
:func:`use_services`, so the same handlers run in both places.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: a handler's cold import does not load the catalog or the stage ports
    from pathprover.catalog import Catalog
    from pathprover.ports import AccountIdentity, Clock, Ledger, QuotaLookup, ResultsStore, SecretLookup
    from pathprover.settings import Settings
    from pathprover.stages.ports import ArtifactStore, Builder, ExecutionLookup, Fleet


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    store: ResultsStore
    builder: Builder
    fleet: Fleet
    artifacts: ArtifactStore
    ledger: Ledger
    clock: Clock
    simulated: bool
    executions: ExecutionLookup | None = None
    """Workflow execution statuses (the janitor); None where no state machine is configured."""
    secrets: SecretLookup | None = None
    """Whether the Hugging Face token secret exists (the plan checks it before planning a gated model)."""
    quotas: QuotaLookup | None = None
    """The account's instance quotas (the plan leaves out types the account may not run)."""
    identity: AccountIdentity | None = None
    """Who the deploying account is (settings' account_id wins; else STS on AWS, the simulated one locally)."""


_lock = threading.Lock()
_current: Services | None = None


def use_services(services: Services | None) -> None:
    """Install the adapters every handler in this process uses (None: back to building from settings)."""
    global _current
    with _lock:
        _current = services


def get_services() -> Services:
    global _current
    with _lock:
        if _current is None:
            from pathprover.settings import Settings

            _current = _build_from_settings(Settings.from_env())
        return _current


def _build_from_settings(settings: Settings) -> Services:
    if settings.runtime != "aws":
        raise RuntimeError(
            "no local services installed: the local runtime (`pathprover run` / `pathprover serve`) installs them; "
            "on Lambda set PATHPROVER_RUNTIME=aws"
        )
    from pathprover.adapters.aws.factory import build_aws_services
    from pathprover.catalog import load_catalog

    return build_aws_services(settings, load_catalog(settings.catalog_dir))
