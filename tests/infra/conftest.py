"""Synthesize each variant of the app once per test session (bundling skipped: no network, no Docker).

`full` is the guide's command: `-c CreatePathProver=true -c PathProverSchedule="rate(1 day)"`;
every variant is synthesized with cdk-nag registered exactly as `cdk synth` runs it, so an
unacknowledged AwsSolutions finding fails synthesis here too. The variants are bound to the account
and region `cdk deploy` resolves (:data:`ACCOUNT`, :data:`REGION`), except `agnostic`: the guide's
command synthesized without credentials (no environment at all).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import infra.constants as C
import pytest

# jsii prints a Node end-of-life banner per process (the value lists the Node majors to silence);
# it says nothing about the app.
for _flag in ("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"):
    os.environ.setdefault(_flag, "18,19,20,21")

NEEDS_CDK = "the CDK app needs the infra extra: pip install -e '.[infra]'"
try:
    from aws_cdk import App, Environment, Stack
    from aws_cdk.assertions import Template
    from infra.app import build_app
except ImportError:  # pragma: no cover - every test module skips itself with NEEDS_CDK
    App = Environment = Stack = Template = None  # type: ignore[assignment,misc]

ACCOUNT = "123456789012"
REGION = "us-east-1"

NO_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
FULL = {C.CTX_CREATE_PATH_PROVER: "true", C.CTX_SCHEDULE: "rate(1 day)"}
UNSCHEDULED = {C.CTX_CREATE_PATH_PROVER: "true"}
EXISTING_BUCKET = "mlcc-ci-benchmarks-example"
EXISTING_TABLE = {
    **FULL,
    C.CTX_USE_EXISTING_TABLE: "true",
    C.CTX_TABLE_LOCATION: f"s3://{EXISTING_BUCKET}/{C.TABLE_PREFIX}",
}
CUSTOM_SCHEDULE = {
    C.CTX_CREATE_PATH_PROVER: "true",
    C.CTX_SCHEDULE: "cron(0 6 ? * MON-FRI *)",
    C.CTX_MAX_PROVES: "3",
    C.CTX_MAX_COST: "12.5",
}


@dataclass
class Synth:
    app: App
    stack: Stack
    template: Template
    json: dict[str, Any]
    template_path: Path

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == type_}

    def one(self, type_: str) -> tuple[str, dict[str, Any]]:
        found = self.resources(type_)
        assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
        return next(iter(found.items()))


def synthesize(context: dict[str, Any], outdir: Path, *, agnostic: bool = False) -> Synth:
    env = None if agnostic else Environment(account=ACCOUNT, region=REGION)
    app, stack = build_app({**NO_BUNDLING, **context}, nag=True, outdir=str(outdir), env=env)
    assembly = app.synth()
    artifact = assembly.get_stack_by_name(C.STACK_NAME)
    path = Path(artifact.template_full_path)
    return Synth(app, stack, Template.from_json(artifact.template), json.loads(path.read_text()), path)


@pytest.fixture(scope="session")
def full(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(FULL, tmp_path_factory.mktemp("cdk-full"))


@pytest.fixture(scope="session")
def unscheduled(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(UNSCHEDULED, tmp_path_factory.mktemp("cdk-unscheduled"))


@pytest.fixture(scope="session")
def custom_schedule(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(CUSTOM_SCHEDULE, tmp_path_factory.mktemp("cdk-custom"))


@pytest.fixture(scope="session")
def harness_only(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize({}, tmp_path_factory.mktemp("cdk-harness"))


@pytest.fixture(scope="session")
def agnostic(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The guide's command without credentials: no CDK_DEFAULT_ACCOUNT, so no environment."""
    return synthesize(FULL, tmp_path_factory.mktemp("cdk-agnostic"), agnostic=True)


@pytest.fixture(scope="session")
def existing_table(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The guide's command on an account that already has mlcc_ci.benchmark_results."""
    return synthesize(EXISTING_TABLE, tmp_path_factory.mktemp("cdk-existing-table"))
