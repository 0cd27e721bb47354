"""The local adapters wired as a Lambda's Services, for tests that call lifecycle steps directly."""

from __future__ import annotations

from pathlib import Path

from pathprover.adapters.local.account import fresh_account
from pathprover.adapters.local.artifacts import LocalArtifactStore
from pathprover.adapters.local.builder import SimulatedBuilder
from pathprover.adapters.local.fleet import SimulatedFleet
from pathprover.adapters.local.ledger import SqliteLedger
from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.catalog import default_catalog
from pathprover.clock import VirtualClock
from pathprover.protocols import Services
from pathprover.settings import Settings

CATALOG = default_catalog()
RUNNER = "000000000000.dkr.ecr.us-east-1.amazonaws.com/pathprover-benchmark:runner-abc"


def local_services(root: Path) -> Services:
    """A fresh account's simulated fleet and builder on a virtual clock, a DuckDB warehouse and SQLite ledger."""
    clock = VirtualClock()
    artifacts = LocalArtifactStore(root / "artifacts", s3_bucket="pathprover-local")
    settings = Settings(
        warehouse=root / "wh",
        runner_image_uri=RUNNER,
        runner_source_s3_uri=artifacts.put_bytes("runner/source.zip", b"zip"),
        hf_token_secret="pathprover/huggingface-token",
    )
    account = fresh_account()
    return Services(
        settings=settings,
        catalog=CATALOG,
        store=LocalWarehouse(root / "wh"),
        builder=SimulatedBuilder(clock, CATALOG, artifacts=artifacts, account=account, runner_image_uri=RUNNER),
        fleet=SimulatedFleet(clock, CATALOG, artifacts=artifacts, account=account),
        artifacts=artifacts,
        ledger=SqliteLedger(root / "ledger.sqlite"),
        clock=clock,
        simulated=True,
    )
