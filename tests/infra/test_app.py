"""`python infra/app.py -c ...` synthesizes like `cdk synth` (cdk.json runs `python -m infra.app`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C
from infra.app import parse_context_args

ROOT = Path(__file__).resolve().parents[2]


def test_cdk_json_runs_the_app_from_infra() -> None:
    config = json.loads((ROOT / "cdk.json").read_text())
    assert config["app"].endswith("-m infra.app")


def test_context_arguments_are_parsed_like_the_cli() -> None:
    assert parse_context_args(["-c", "CreatePathProver=true", "--context", "PathProverSchedule=rate(1 day)"]) == {
        "CreatePathProver": "true",
        "PathProverSchedule": "rate(1 day)",
    }
    with pytest.raises(SystemExit):
        parse_context_args(["CreatePathProver=true"])


@pytest.mark.slow
def test_running_the_file_directly_synthesizes_the_guides_stack(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path),
        "CDK_CONTEXT_JSON": json.dumps({"aws:cdk:bundling-stacks": []}),  # no pip here; tests run offline
    }
    env.pop("CDK_DEFAULT_ACCOUNT", None)
    env.pop("CDK_DEFAULT_REGION", None)
    command = [sys.executable, "infra/app.py", "-c", "CreatePathProver=true", "-c", "PathProverSchedule=rate(1 day)"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / f"{C.STACK_NAME}.template.json").read_text())
    schedules = [r for r in template["Resources"].values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert [s["Properties"]["ScheduleExpression"] for s in schedules] == ["rate(1 day)"]
    assert [s["Properties"]["State"] for s in schedules] == ["ENABLED"]
    assert C.OUTPUT_STATE_MACHINE_ARN in template["Outputs"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    environment = manifest["artifacts"][C.STACK_NAME]["environment"]
    assert environment == f"aws://{C.DEFAULT_ACCOUNT}/{C.DEFAULT_REGION}"
