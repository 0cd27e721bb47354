"""IAM is scoped to named resources: every policy in the template walked against the justified exceptions.

Justified exceptions (infra/iam.py, with their reasons, also used to acknowledge cdk-nag IAM5):
- `Resource: "*"` only for actions without resource-level permissions (X-Ray, ecr:GetAuthorizationToken,
  SageMaker List*, Step Functions log delivery, cloudwatch:PutMetricData limited by namespace).
- wildcard resources only as name prefixes: SageMaker `pp-*` resources, one artifact area or the
  table / Athena-results prefix of a bucket, this state machine's executions, SageMaker log groups.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C
from infra.iam import RESOURCE_STAR_ACTIONS, WILDCARD_RESOURCES, flatten, justify_resource

from tests.infra.conftest import Synth


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policies(synth: Synth) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner, statement) for every statement of every identity policy in the template."""
    for logical, resource in synth.json["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            assert "ManagedPolicyArns" not in props, f"{logical}: managed policies are not least privilege"
            for policy in props.get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield logical, statement
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for statement in props["PolicyDocument"]["Statement"]:
                yield logical, statement


def role_statements(synth: Synth, role_logical_id: str) -> list[dict[str, Any]]:
    return [s for owner, s in policies(synth) if owner == role_logical_id]


def function_role(synth: Synth, name: str) -> str:
    for resource in synth.resources("AWS::Lambda::Function").values():
        if resource["Properties"]["FunctionName"] == name:
            return str(resource["Properties"]["Role"]["Fn::GetAtt"][0])
    raise AssertionError(name)


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in _list(s["Action"])}


@pytest.fixture(scope="module")
def statements(full: Synth) -> list[tuple[str, dict[str, Any]]]:
    found = list(policies(full))
    assert len(found) > 50
    return found


def test_no_statement_grants_a_wildcard_action(statements: list[tuple[str, dict[str, Any]]]) -> None:
    for owner, statement in statements:
        assert "NotAction" not in statement and "NotResource" not in statement, owner
        for action in _list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), f"{owner}: {action}"
            assert "*" not in action, f"{owner}: {action} (list the exact actions)"


def test_resource_star_only_for_actions_without_resource_level_permissions(
    statements: list[tuple[str, dict[str, Any]]],
) -> None:
    for owner, statement in statements:
        if "*" in _list(statement["Resource"]):
            assert _list(statement["Resource"]) == ["*"], owner
            unjustified = set(_list(statement["Action"])) - set(RESOURCE_STAR_ACTIONS)
            assert not unjustified, f"{owner}: {sorted(unjustified)} on '*'"


def test_wildcard_resources_are_justified_name_prefixes(statements: list[tuple[str, dict[str, Any]]]) -> None:
    used = set()
    for owner, statement in statements:
        for resource in _list(statement["Resource"]):
            flat = flatten(resource)
            if "*" in flat and flat != "*":
                reason = justify_resource(flat)
                assert reason, f"{owner}: unjustified wildcard resource {flat}"
                used.add(reason)
    assert used, "expected the pp- prefixes to be used"


def test_every_exception_has_a_written_reason() -> None:
    assert all(len(reason) > 20 for reason in RESOURCE_STAR_ACTIONS.values())
    assert all(len(reason) > 20 for _, reason in WILDCARD_RESOURCES)


def test_pass_role_only_for_the_sagemaker_role_only_to_sagemaker_only_by_advance(full: Synth) -> None:
    sagemaker_role = full.stack.get_logical_id(full.stack.prover.farm.sagemaker_role.node.default_child)
    passing = [(owner, s) for owner, s in policies(full) if "iam:PassRole" in _list(s["Action"])]
    assert [owner for owner, _ in passing] == [function_role(full, "pathprover-advance")]
    statement = passing[0][1]
    assert statement["Resource"] == {"Fn::GetAtt": [sagemaker_role, "Arn"]}
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_sagemaker_resources_are_scoped_to_the_pp_prefix(statements: list[tuple[str, dict[str, Any]]]) -> None:
    for owner, statement in statements:
        actions = _list(statement["Action"])
        if not any(a.startswith("sagemaker:") and not a.startswith("sagemaker:List") for a in actions):
            continue
        if any(a.startswith("sagemaker:List") and a != "sagemaker:ListTags" for a in actions):
            continue
        for resource in _list(statement["Resource"]):
            assert flatten(resource).rsplit("/", 1)[-1] == f"{C.SAGEMAKER_NAME_PREFIX}*", f"{owner}: {resource}"


EXPECTED_SERVICES = {
    # function -> the AWS services its role may call (besides logs and X-Ray)
    "pathprover-brain": {"athena", "glue", "s3", "secretsmanager", "servicequotas"},
    "pathprover-begin": {"athena", "glue", "s3", "dynamodb"},
    "pathprover-advance": {"athena", "glue", "s3", "codebuild", "sagemaker", "iam", "ecr"},
    "pathprover-check": {"s3", "codebuild", "sagemaker", "ecr", "dynamodb"},
    "pathprover-failure": {"athena", "glue", "s3"},
    "pathprover-clean": {"codebuild", "sagemaker"},
    "pathprover-settle": {"dynamodb", "s3"},
    "pathprover-drop": {"s3"},
    "pathprover-summary": {"sagemaker", "s3"},
    "pathprover-janitor": {"sagemaker", "states", "codebuild"},
    # deletes, stops, settles, frees and records what an ended execution held
    "pathprover-stopped-cleanup": {"athena", "codebuild", "dynamodb", "glue", "s3", "sagemaker"},
    C.RUNNER_TRIGGER_FUNCTION: {"codebuild"},  # starts the runner image build at deploy
}


@pytest.mark.parametrize(("function", "services"), sorted(EXPECTED_SERVICES.items()))
def test_each_function_role_reaches_only_the_services_its_handler_calls(
    full: Synth, function: str, services: set[str]
) -> None:
    actions = actions_of(role_statements(full, function_role(full, function)))
    assert {a.split(":")[0] for a in actions} - {"logs", "xray"} == services


def test_summary_writes_only_the_run_state(full: Synth) -> None:
    puts = [
        flatten(r)
        for s in role_statements(full, function_role(full, "pathprover-summary"))
        if "s3:PutObject" in _list(s["Action"])
        for r in _list(s["Resource"])
    ]
    assert puts and all(p.endswith(f"/{C.ARTIFACT_PREFIX}/runs/*") for p in puts)


def test_read_only_steps_cannot_create_delete_or_write_results(full: Synth) -> None:
    check = actions_of(role_statements(full, function_role(full, "pathprover-check"))) - {"logs:CreateLogStream"}
    assert not {a for a in check if ":Create" in a or ":Delete" in a or ":Stop" in a}
    assert not {a for a in check if a.startswith(("glue:", "athena:"))}
    # its one write: the lease renewal (a conditional PutItem on the ledger), never a budget change
    assert {a for a in check if a.startswith("dynamodb:")} == {"dynamodb:PutItem"}
    summary = actions_of(role_statements(full, function_role(full, "pathprover-summary")))
    assert summary - {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    } == {
        "sagemaker:ListEndpoints",
        "sagemaker:ListTrainingJobs",
        "sagemaker:ListTransformJobs",
        "sagemaker:ListTags",
        "s3:GetObject",  # the run's state, by key (pathprover/runs/) ...
        "s3:ListBucket",  # ... listed only under that prefix ...
        "s3:PutObject",  # ... and the run summary stored there (summary.json)
    }
    brain = actions_of(role_statements(full, function_role(full, "pathprover-brain")))
    assert "s3:PutObject" in brain  # Athena writes its results with the caller's rights ...
    brain_puts = [
        flatten(r)
        for s in role_statements(full, function_role(full, "pathprover-brain"))
        if "s3:PutObject" in _list(s["Action"])
        for r in _list(s["Resource"])
    ]
    # ... only there, and the run's state (plan, queue) it hands on by key
    assert all(p.endswith((f"/{C.ATHENA_RESULTS_PREFIX}*", f"/{C.ARTIFACT_PREFIX}/runs/*")) for p in brain_puts)


def test_lambda_roles_trust_lambda_only(full: Synth) -> None:
    for name in EXPECTED_SERVICES:
        role = full.json["Resources"][function_role(full, name)]["Properties"]
        assert [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]] == [
            {"Service": "lambda.amazonaws.com"}
        ]


def test_the_hf_token_secret_is_readable_by_the_stage_build_only(full: Synth) -> None:
    readers = [
        (owner, flatten(s["Resource"]))
        for owner, s in policies(full)
        if "secretsmanager:GetSecretValue" in _list(s["Action"])
    ]
    assert len(readers) == 1
    stage_role = full.stack.get_logical_id(full.stack.prover.farm.stage_project.role.node.default_child)
    assert readers[0][0] == stage_role
    assert readers[0][1].endswith(":secret:pathprover/huggingface-token-??????")


def test_no_policy_is_shared_between_principals(full: Synth) -> None:
    for logical, policy in full.resources("AWS::IAM::Policy").items():
        principals = [*policy["Properties"].get("Roles", []), *policy["Properties"].get("Users", [])]
        assert len(principals) <= 1, f"{logical} is attached to {json.dumps(principals)}"


RUN_STATE = f"/{C.ARTIFACT_PREFIX}/runs/*"
RUN_STATE_ACCESS = {
    # function -> S3 object actions on pathprover/runs/* (large state kept out of the execution payload)
    # pathprover.workflow: the brain stores the plan and lane queues and loads each lane's first prove
    # back; settle/drop file a prove's summary and load the next; the summary reads them all and stores
    # the run summary (summary.json) beside them
    "pathprover-brain": {"s3:GetObject", "s3:PutObject"},
    "pathprover-begin": {"s3:GetObject"},
    "pathprover-settle": {"s3:GetObject", "s3:PutObject"},
    "pathprover-drop": {"s3:GetObject", "s3:PutObject"},
    "pathprover-summary": {"s3:GetObject", "s3:PutObject"},
    "pathprover-advance": set(),
    "pathprover-check": set(),
    "pathprover-failure": set(),
    "pathprover-clean": set(),
}


@pytest.mark.parametrize(("function", "expected"), sorted(RUN_STATE_ACCESS.items()))
def test_run_state_in_s3_is_reachable_exactly_by_the_steps_that_pass_it_on(
    full: Synth, function: str, expected: set[str]
) -> None:
    granted = {
        action
        for s in role_statements(full, function_role(full, function))
        if any(flatten(r).endswith(RUN_STATE) for r in _list(s["Resource"]))
        for action in _list(s["Action"])
    }
    assert granted == expected


def test_only_the_summary_lists_run_state_and_only_under_its_prefix(full: Synth) -> None:
    listing = {}
    for function in RUN_STATE_ACCESS:
        for s in role_statements(full, function_role(full, function)):
            prefixes = s.get("Condition", {}).get("StringLike", {}).get("s3:prefix", [])
            if "s3:ListBucket" in _list(s["Action"]) and any("runs" in p for p in _list(prefixes)):
                listing[function] = _list(prefixes)
    assert listing == {"pathprover-summary": [f"{C.ARTIFACT_PREFIX}/runs/*"]}


def test_the_brain_may_only_describe_the_hf_token_secret(full: Synth) -> None:
    brain = role_statements(full, function_role(full, "pathprover-brain"))
    secret = [s for s in brain if any(a.startswith("secretsmanager:") for a in _list(s["Action"]))]
    assert [_list(s["Action"]) for s in secret] == [["secretsmanager:DescribeSecret"]]
    assert flatten(secret[0]["Resource"]).endswith(":secret:pathprover/huggingface-token-??????")
    env = next(
        r["Properties"]["Environment"]["Variables"]
        for r in full.resources("AWS::Lambda::Function").values()
        if r["Properties"]["FunctionName"] == "pathprover-brain"
    )
    assert env["PATHPROVER_HF_TOKEN_SECRET"] == "pathprover/huggingface-token"
    assert "PATHPROVER_ARTIFACT_BUCKET" in env


def test_run_state_expires_with_the_other_per_run_artifacts(full: Synth) -> None:
    bucket = full.stack.get_logical_id(full.stack.prover.farm.artifacts.node.default_child)
    rules = {r["Id"]: r for r in full.json["Resources"][bucket]["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-runs"]["Prefix"] == f"{C.ARTIFACT_PREFIX}/runs/"
    assert rules["expire-runs"]["ExpirationInDays"] == 30


# --------------------------------------------------------------------------- async and batch benchmarks


def _benchmark_project(synth: Synth) -> tuple[str, dict[str, Any]]:
    for logical, resource in synth.resources("AWS::CodeBuild::Project").items():
        if resource["Properties"]["Name"] == C.BENCHMARK_PROJECT:
            return logical, resource["Properties"]
    raise AssertionError(C.BENCHMARK_PROJECT)


def test_the_benchmark_job_may_invoke_async_on_pp_endpoints_and_use_only_the_io_and_benchmarks_areas(
    full: Synth,
) -> None:
    # Given the benchmark project's role
    _, project = _benchmark_project(full)
    role = project["ServiceRole"]["Fn::GetAtt"][0]
    statements = role_statements(full, role)
    # Then InvokeEndpointAsync is allowed, on pp- endpoints only
    invoke = [s for s in statements if "sagemaker:InvokeEndpointAsync" in _list(s["Action"])]
    assert invoke and all(
        flatten(r).endswith(f":endpoint/{C.SAGEMAKER_NAME_PREFIX}*") for s in invoke for r in _list(s["Resource"])
    )
    # And S3 objects are used only under its source (bundles), io (async requests, transform files) and
    # benchmarks (results); io is listable so a missing output object is "not yet", not "denied"
    objects = {
        flatten(r)
        for s in statements
        if {"s3:GetObject", "s3:PutObject"} & set(_list(s["Action"]))
        for r in _list(s["Resource"])
    }
    assert {o.rsplit("/", 2)[-2] for o in objects} == {"bundles", "io", "benchmarks"}
    listed = [s for s in statements if "s3:ListBucket" in _list(s["Action"])]
    prefixes = {p for s in listed for p in _list(s["Condition"]["StringLike"]["s3:prefix"])}
    assert f"{C.ARTIFACT_PREFIX}/io/*" in prefixes
    # And it can start, create or delete nothing in SageMaker
    assert not {
        a for a in actions_of(statements) if a.startswith("sagemaker:") and not a.startswith("sagemaker:Invoke")
    }


def test_check_may_start_only_the_benchmark_job_and_writes_no_bundle(full: Synth) -> None:
    # (a finished batch-benchmark transform job hands over to the benchmark job from the Check task)
    logical, _ = _benchmark_project(full)
    statements = role_statements(full, function_role(full, "pathprover-check"))
    starts = {
        json.dumps(r, sort_keys=True)
        for s in statements
        if "codebuild:StartBuild" in _list(s["Action"])
        for r in _list(s["Resource"])
    }
    benchmark = json.dumps({"Fn::GetAtt": [logical, "Arn"]}, sort_keys=True)
    assert benchmark in starts
    build = [p for p in starts if "BuildProject" in p or "StageProject" in p]
    assert build == []
    puts = [flatten(r) for s in statements if "s3:PutObject" in _list(s["Action"]) for r in _list(s["Resource"])]
    assert puts and all(p.endswith(f"/{C.ARTIFACT_PREFIX}/io/*") for p in puts)
