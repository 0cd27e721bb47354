"""Scoped deployments: two stacks in one account and region, the stack tag, the janitor's tag condition and the
source conditions of every service grant on the KMS key.

`two_stacks` synthesizes the default deployment (the guide's command) and a second one,
`-c PathProverName=blue` on the first's table (`UseExistingBenchmarkTable=true`), into one app bound to one
account and region, with cdk-nag registered as `cdk synth` runs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C
from aws_cdk import App, Environment, Validations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from infra.app import FEATURE_FLAGS, add_stack
from infra.config import ConfigError, HarnessConfig

from pathprover.settings import Settings
from tests.infra.conftest import ACCOUNT, EXISTING_BUCKET, FULL, NO_BUNDLING, REGION, Synth
from tests.infra.test_iam import function_role, policies, role_statements

BLUE = {
    **FULL,
    C.CTX_NAME: "blue",
    C.CTX_USE_EXISTING_TABLE: "true",
    C.CTX_TABLE_LOCATION: f"s3://{EXISTING_BUCKET}/{C.TABLE_PREFIX}",
}
BLUE_STACK = f"{C.STACK_NAME}-blue"

# Every physical name the default deployment had before -c PathProverName existed (the guide and the
# operations docs name them): the default synth must keep each one exactly.
DEFAULT_NAMES = {
    "AWS::Lambda::Function/FunctionName": {
        "pathprover-brain",
        "pathprover-begin",
        "pathprover-advance",
        "pathprover-check",
        "pathprover-failure",
        "pathprover-clean",
        "pathprover-settle",
        "pathprover-drop",
        "pathprover-summary",
        "pathprover-janitor",
        "pathprover-stopped-cleanup",
        "pathprover-runner-image-trigger",
    },
    "AWS::StepFunctions::StateMachine/StateMachineName": {"mlcc-path-prover"},
    "AWS::DynamoDB::Table/TableName": {"pathprover-ledger"},
    "AWS::CodeBuild::Project/Name": {
        "pathprover-build",
        "pathprover-stage",
        "pathprover-benchmark",
        "pathprover-runner-image",
    },
    "AWS::ECR::Repository/RepositoryName": {"pathprover", "pathprover-benchmark"},
    "AWS::Athena::WorkGroup/Name": {"pathprover"},
    "AWS::SNS::Topic/TopicName": {"pathprover-alarms"},
    "AWS::Scheduler::Schedule/Name": {"pathprover-scheduled-run"},
    "AWS::CloudWatch::Alarm/AlarmName": {
        f"pathprover-{a}"
        for a in (
            "ExecutionsFailed",
            "ExecutionsTimedOut",
            "AccountFailures",
            "HarnessFailures",
            "JanitorDeleted",
            "JanitorErrors",
            "JanitorFailed",
        )
    },
}
NOT_PHYSICAL = {"DisplayName", "PolicyName", "MetricName"}
"""`*Name` properties that are not names of a resource in the account: an SNS display name, an inline
policy's name (per role), the metric an alarm watches."""

TAG_CONDITION_ACTIONS = {
    # Each authorizes one resource type whose condition keys include aws:ResourceTag/${TagKey}
    # (endpoint, endpoint-config, model, training-job, transform-job): Service Authorization Reference,
    # "Actions, resources, and condition keys for Amazon SageMaker".
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteModel",
    "sagemaker:StopTrainingJob",
    "sagemaker:StopTransformJob",
}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def two_stacks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synth, Synth]:
    outdir = tmp_path_factory.mktemp("cdk-two-stacks")
    app = App(context=FEATURE_FLAGS, post_cli_context=dict(NO_BUNDLING), outdir=str(outdir))
    env = Environment(account=ACCOUNT, region=REGION)
    stacks = [add_stack(app, HarnessConfig.from_mapping(ctx), env=env) for ctx in (FULL, BLUE)]
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    assembly = app.synth()
    synths = []
    for stack in stacks:
        artifact = assembly.get_stack_by_name(stack.stack_name)
        path = Path(artifact.template_full_path)
        synths.append(Synth(app, stack, Template.from_json(artifact.template), json.loads(path.read_text()), path))
    return synths[0], synths[1]


def physical_names(synth: Synth) -> Iterator[tuple[str, str]]:
    """(`<type>/<property>`, value) for every top-level `*Name` property of every resource that is a
    literal name (a `Ref`/`Fn::GetAtt` points at a resource of the same stack, e.g. a permission's function)."""
    for resource in synth.json["Resources"].values():
        for key, value in resource.get("Properties", {}).items():
            if key.endswith("Name") and key not in NOT_PHYSICAL and isinstance(value, str):
                yield f"{resource['Type']}/{key}", value


# --------------------------------------------------------------------------- names


def test_the_default_synth_keeps_every_name(full: Synth) -> None:
    found: dict[str, set[str]] = {}
    for where, value in physical_names(full):
        found.setdefault(where, set()).add(value)
    for where, names in DEFAULT_NAMES.items():
        assert found.get(where) == names, where
    assert full.stack.stack_name == C.STACK_NAME
    machine = next(iter(full.resources("AWS::StepFunctions::StateMachine").values()))
    assert machine["Properties"]["StateMachineName"] == "mlcc-path-prover"  # the guide's ARN still holds


def test_two_deployments_share_no_physical_name(two_stacks: tuple[Synth, Synth]) -> None:
    default, blue = two_stacks
    assert (default.stack.stack_name, blue.stack.stack_name) == (C.STACK_NAME, BLUE_STACK)
    ours, theirs = set(physical_names(default)), set(physical_names(blue))
    assert len(ours) > 40 and len(theirs) > 40
    clashes = {value for _, value in ours} & {value for _, value in theirs}
    assert not clashes, sorted(clashes)
    # every literal name of the second deployment is its own
    for where, value in theirs:
        if "pathprover" in value:
            assert "pathprover-blue" in value, (where, value)


def test_a_second_deployment_creates_nothing_account_wide(two_stacks: tuple[Synth, Synth]) -> None:
    """Glue database and tables and the pull-through cache rules exist once per account and region: the
    named deployment shares the first's (its data and its base-image cache)."""
    default, blue = two_stacks
    for type_ in ("AWS::Glue::Database", "AWS::Glue::Table", "AWS::ECR::PullThroughCacheRule"):
        assert default.resources(type_), type_
        assert blue.resources(type_) == {}, type_


def test_the_runtime_learns_its_names_from_the_environment(two_stacks: tuple[Synth, Synth]) -> None:
    _, blue = two_stacks
    projects = {p["Properties"]["Name"] for p in blue.resources("AWS::CodeBuild::Project").values()}
    workgroup = next(iter(blue.resources("AWS::Athena::WorkGroup").values()))["Properties"]["Name"]
    functions = [f for f in blue.resources("AWS::Lambda::Function").values() if "Environment" in f["Properties"]]
    prover = [f["Properties"]["Environment"]["Variables"] for f in functions]
    prover = [env for env in prover if env.get("PATHPROVER_RUNTIME") == "aws"]
    assert len(prover) == 11
    for env in prover:
        settings = Settings.from_env(
            {k: v for k, v in env.items() if isinstance(v, str) and k.startswith("PATHPROVER_")}
        )
        assert settings.stack == BLUE_STACK
        assert {
            settings.build_project,
            settings.stage_project,
            settings.benchmark_project,
            settings.runner_image_project,
        } == projects
        assert settings.athena_workgroup == workgroup
        # the shared tables: the first deployment's, levels beside its results
        assert settings.levels_location == f"s3://{EXISTING_BUCKET}/{C.LEVELS_PREFIX}"


def test_the_default_stack_tags_its_resources_with_its_own_name(full: Synth) -> None:
    functions = full.resources("AWS::Lambda::Function").values()
    stacks = {
        f["Properties"]["Environment"]["Variables"].get("PATHPROVER_STACK")
        for f in functions
        if f["Properties"].get("Environment", {}).get("Variables", {}).get("PATHPROVER_RUNTIME") == "aws"
    }
    assert stacks == {C.STACK_NAME}


def test_deployment_names_are_checked() -> None:
    for bad in ("Blue", "blue-1", "1blue", "averyveryverylongname", "a b"):
        with pytest.raises(ConfigError, match=C.CTX_NAME):
            HarnessConfig.from_mapping({C.CTX_NAME: bad})
    assert HarnessConfig.from_mapping({}).names == C.Names()
    assert HarnessConfig.from_mapping({C.CTX_NAME: "blue"}).names.stack == BLUE_STACK
    assert C.Names("blue").scoped(C.LEDGER_TABLE) == "pathprover-blue-ledger"
    with pytest.raises(ValueError, match="not one of the deployment's own names"):
        C.Names("blue").scoped(C.GLUE_DATABASE)


# --------------------------------------------------------------------------- the janitor only touches its own


CLEAN = next(f for f in C.FUNCTIONS if f.key == "Clean")


@pytest.mark.parametrize("function", [C.JANITOR, C.STOPPED_CLEANUP, CLEAN])
def test_cleanup_deletes_and_stops_only_its_stacks_resources(two_stacks: tuple[Synth, Synth], function: Any) -> None:
    for synth in two_stacks:
        names = C.Names(None if synth.stack.stack_name == C.STACK_NAME else "blue")
        statements = role_statements(synth, function_role(synth, names.function(function)))
        destructive = [
            s
            for s in statements
            if any(a.startswith(("sagemaker:Delete", "sagemaker:Stop")) for a in _list(s["Action"]))
        ]
        assert {a for s in destructive for a in _list(s["Action"])} == TAG_CONDITION_ACTIONS
        for statement in destructive:
            assert statement["Condition"] == {
                "StringEqualsIfExists": {f"aws:ResourceTag/{C.TAG_STACK}": synth.stack.stack_name}
            }


def test_the_tag_condition_goes_only_on_actions_that_support_it(full: Synth) -> None:
    """A condition key an action does not support never matches: on an Allow it would silently deny."""
    tagged = [
        s
        for _, s in policies(full)
        if any("aws:ResourceTag/" in key for op in s.get("Condition", {}).values() for key in op)
    ]
    assert tagged
    for statement in tagged:
        assert set(_list(statement["Action"])) <= TAG_CONDITION_ACTIONS, statement


# --------------------------------------------------------------------------- KMS grants to services


def key_service_statements(synth: Synth) -> list[dict[str, Any]]:
    statements = []
    for key in synth.resources("AWS::KMS::Key").values():
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            if "Service" in statement.get("Principal", {}):
                statements.append(statement)
    return statements


@pytest.mark.parametrize("variant", ["full", "agnostic"])
def test_every_service_grant_on_the_key_carries_source_conditions(variant: str, request: pytest.FixtureRequest) -> None:
    synth: Synth = request.getfixturevalue(variant)
    statements = key_service_statements(synth)
    assert statements, "the alarm topic's key must let CloudWatch publish"
    account = ACCOUNT if variant == "full" else {"Ref": "AWS::AccountId"}
    for statement in statements:
        conditions = statement["Condition"]
        assert conditions["StringEquals"]["aws:SourceAccount"] == account
        assert _list(statement["Principal"]["Service"]) == ["cloudwatch.amazonaws.com"]
        # CloudWatch alarms support aws:SourceArn: the alarm ARNs of this deployment
        source = json.dumps(conditions["ArnLike"]["aws:SourceArn"])
        assert ":cloudwatch:" in source and ":alarm:pathprover-*" in source


def test_each_deployments_key_and_topic_accept_only_its_alarms(two_stacks: tuple[Synth, Synth]) -> None:
    _, blue = two_stacks
    (statement,) = key_service_statements(blue)
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == (
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:pathprover-blue-*"
    )
    (policy,) = blue.resources("AWS::SNS::TopicPolicy").values()
    publish = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "CloudWatchAlarmsPublish"
    ]
    assert publish[0]["Condition"] == statement["Condition"]
    alarms = {a["Properties"]["AlarmName"] for a in blue.resources("AWS::CloudWatch::Alarm").values()}
    assert alarms and all(a.startswith("pathprover-blue-") for a in alarms)


def test_cdk_nag_has_no_unacknowledged_findings_in_either_deployment(two_stacks: tuple[Synth, Synth]) -> None:
    default, _ = two_stacks
    result = AwsSolutionsChecks(verbose=True).validate_scope(default.app)
    findings = [
        f"{v.rule_name}: {', '.join(r.construct_path for r in v.violating_resources)}" for v in result.violations
    ]
    assert result.success and not findings, "\n".join(findings)
