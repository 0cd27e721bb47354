"""`python infra/app.py -c ...` synthesizes like `cdk synth` (cdk.json runs `python -m infra.app`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C
from infra.app import environment, parse_context_args

from tests.infra.conftest import Synth

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
    # Given no credentials / Then the stack is environment-agnostic, never bound to a made-up account
    assert manifest["artifacts"][C.STACK_NAME]["environment"] == "aws://unknown-account/unknown-region"
    text = json.dumps(template)
    assert "111111111111" not in text
    assert '{"Ref": "AWS::AccountId"}' in text and '{"Ref": "AWS::Region"}' in text


def test_without_an_account_there_is_no_environment() -> None:
    assert environment({}) is None
    assert environment({"CDK_DEFAULT_REGION": "eu-west-1"}) is None
    env = environment({"CDK_DEFAULT_ACCOUNT": "123456789012", "CDK_DEFAULT_REGION": "eu-west-1"})
    assert env is not None and (env.account, env.region) == ("123456789012", "eu-west-1")


def test_an_agnostic_synth_names_no_account_and_picks_the_layer_by_region(agnostic: Synth) -> None:
    # Given the guide's command synthesized without CDK_DEFAULT_ACCOUNT
    text = json.dumps(agnostic.json)
    # Then no account number is baked in: every ARN uses the pseudo parameters
    assert "111111111111" not in text
    assert not [m for m in re.findall(r"\b\d{12}\b", text) if m not in LAYER_ACCOUNTS], "a concrete account"
    assert '{"Ref": "AWS::AccountId"}' in text
    # And the pandas layer comes from the per-region table, resolved where the stack is deployed
    mapping = agnostic.json["Mappings"]["AwsSdkPandasLayerByRegion"]
    assert mapping["us-east-1"]["arn"] == C.PANDAS_LAYER_ARNS["us-east-1"]
    assert set(mapping) == set(C.PANDAS_LAYER_ARNS)
    for function in agnostic.resources("AWS::Lambda::Function").values():
        layers = function["Properties"].get("Layers")
        if layers is not None:
            assert layers == [{"Fn::FindInMap": ["AwsSdkPandasLayerByRegion", {"Ref": "AWS::Region"}, "arn"]}]


def test_a_known_region_without_a_layer_is_refused_at_synthesis(tmp_path: Path) -> None:
    from aws_cdk import Environment
    from infra.app import build_app
    from infra.constructs.prover_functions import LayerError

    context = {"aws:cdk:bundling-stacks": [], C.CTX_CREATE_PATH_PROVER: "true"}
    with pytest.raises(LayerError, match=C.CTX_PANDAS_LAYER_ARN):
        build_app(
            context, nag=False, outdir=str(tmp_path), env=Environment(account="123456789012", region="xx-nowhere-1")
        )
    layer = "arn:aws:lambda:xx-nowhere-1:123456789012:layer:AWSSDKPandas-Python312:1"
    _, stack = build_app(
        {**context, C.CTX_PANDAS_LAYER_ARN: layer},
        nag=False,
        outdir=str(tmp_path / "given"),
        env=Environment(account="123456789012", region="xx-nowhere-1"),
    )
    assert stack.prover is not None


LAYER_ACCOUNTS = {arn.split(":")[4] for arn in C.PANDAS_LAYER_ARNS.values()} | {C.TRAINING_IMAGE_ACCOUNT}
