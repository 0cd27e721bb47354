"""The janitor Lambda handler end to end over a SimulatedFleet and a local execution lookup."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pathprover.adapters.local.artifacts import LocalArtifactStore
from pathprover.adapters.local.builder import SimulatedBuilder
from pathprover.adapters.local.executions import LocalExecutions
from pathprover.adapters.local.fleet import SimulatedFleet
from pathprover.adapters.local.ledger import SqliteLedger
from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.catalog import Catalog
from pathprover.clock import VirtualClock
from pathprover.protocols import Services
from pathprover.runtime.moto_patches import LambdaContext
from pathprover.services import use_services
from pathprover.settings import Settings
from tests.support.simulated_fleet import deploy_spec_for as deploy_spec

# --------------------------------------------------------------------------- the handler


@pytest.fixture
def services(tmp_path: Path, clock: VirtualClock, catalog: Catalog, sim: SimulatedFleet) -> Iterator[Services]:
    artifacts = LocalArtifactStore(tmp_path / "artifacts", s3_bucket="pathprover-local")
    svc = Services(
        settings=Settings(warehouse=tmp_path / "warehouse"),
        catalog=catalog,
        store=LocalWarehouse(tmp_path / "warehouse"),
        builder=SimulatedBuilder(clock, catalog, artifacts=artifacts),
        fleet=sim,
        artifacts=artifacts,
        ledger=SqliteLedger(tmp_path / "ledger.sqlite"),
        clock=clock,
        simulated=True,
        executions=LocalExecutions({"run-live": "RUNNING", "run-done": "SUCCEEDED"}),
    )
    use_services(svc)
    yield svc
    use_services(None)


def emf(stdout: str) -> list[dict[str, Any]]:
    blobs = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


def test_handler_sweeps_with_the_installed_services(
    services: Services,
    sim: SimulatedFleet,
    clock: VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pathprover.handlers.janitor import handler

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    live, done, crashed = deploy_spec("run-live"), deploy_spec("run-done"), deploy_spec("run-crashed")
    for spec in (live, done, crashed):
        sim.start_deploy(spec)
    context = LambdaContext("pathprover-janitor")

    # Within the grace nothing goes
    young = handler({"dry_run": True}, context)
    assert young["examined"] == 9 and young["would_delete"] == [] and young["deleted"] == []

    clock.advance(3600)
    dry = handler({"dry_run": True}, context)
    assert dry["dry_run"] is True and dry["deleted"] == []
    assert sorted(d["execution"] for d in dry["would_delete"]) == ["run-crashed"] * 3 + ["run-done"] * 3
    assert len(sim.inventory()) == 9  # a dry run deletes nothing

    capsys.readouterr()
    report = handler({"version": "0", "detail-type": "Scheduled Event", "detail": {}}, context)
    assert report["dry_run"] is False and report["errors"] == []
    assert len(report["deleted"]) == 6
    reasons = {d["execution"]: d["reason"] for d in report["deleted"]}
    assert reasons == {
        "run-done": "execution run-done is SUCCEEDED",
        "run-crashed": "execution run-crashed is unknown to the workflow",
    }
    assert {d["execution"] for d in report["kept"]} == {"run-live"}
    assert sorted(r.name for r in sim.inventory()) == sorted(
        [live.names.endpoint, live.names.endpoint_config, live.names.model]
    )
    blobs = emf(capsys.readouterr().out)
    assert [b["_aws"]["CloudWatchMetrics"][0]["Namespace"] for b in blobs] == ["PathProver"]
    values = {m: b[m] for b in blobs for m in ("JanitorDeleted", "JanitorErrors")}
    assert {m: sum(v) if isinstance(v, list) else v for m, v in values.items()} == {
        "JanitorDeleted": 6.0,
        "JanitorErrors": 0.0,
    }

    # Past the expiry even the running execution's resources go
    clock.advance(12 * 3600)
    last = handler({}, context)
    assert len(last["deleted"]) == 3 and all(d["reason"].startswith("expired at") for d in last["deleted"])
    assert sim.inventory() == []


def test_handler_keeps_another_stacks_resources(
    services: Services, sim: SimulatedFleet, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deployments in one account: the janitor of `mine` deletes its ended execution's resources and
    an untagged (pre-tag) leftover, and keeps everything tagged pathprover:stack=theirs, even expired."""
    from pathprover.handlers.janitor import handler

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    use_services(dataclasses.replace(services, settings=Settings(warehouse=Path("unused"), stack="mine")))
    ours = deploy_spec("run-done").model_copy(update={"stack": "mine"})
    theirs = deploy_spec("run-crashed").model_copy(update={"stack": "theirs"})
    legacy = deploy_spec("run-done", config_id="c0ffee0000000002")
    for spec in (ours, theirs, legacy):
        sim.start_deploy(spec)
    clock.advance(13 * 3600)  # past every expiry
    report = handler({}, LambdaContext("pathprover-janitor"))
    assert report["errors"] == []
    assert len(report["deleted"]) == 6
    assert [r.name for r in sim.inventory()] and all(r.stack == "theirs" for r in sim.inventory())
    assert len(report["kept"]) == 3
    assert all("pathprover:stack=theirs: another deployment's" in d["reason"] for d in report["kept"])
