"""What `cdk deploy MlccCiHarnessStack` creates: present with the flags, absent without, configured as issue 5 asks."""

from __future__ import annotations

import importlib
import json
from collections import Counter
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C
from aws_cdk.assertions import Match
from infra.iam import flatten

from pathprover import deployment
from pathprover.core import schema
from pathprover.settings import ENV_PREFIX, Settings
from tests.infra.conftest import ACCOUNT, Synth

PROVER_TYPES = {
    "AWS::Lambda::Function",
    "AWS::StepFunctions::StateMachine",
    "AWS::DynamoDB::Table",
    "AWS::CodeBuild::Project",
    "AWS::ECR::Repository",
    "AWS::Scheduler::Schedule",
    "AWS::Events::Rule",
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Topic",
    "AWS::KMS::Key",
    "AWS::IAM::Role",
    "AWS::ECR::PullThroughCacheRule",
    "Custom::PathProverRunnerImageBuild",
}
SETTINGS_ON_AWS = {
    f"{ENV_PREFIX}{name.upper()}"
    for name in Settings.model_fields
    if name not in {"warehouse", "catalog_dir", "region", "keep_on_failure", "state_machine_arn", "account_id"}
}
"""Everything Settings reads, except local-only fields, the region (AWS_REGION), a per-run flag, the
state machine ARN (the janitor's alone: the state machine depends on the other functions) and the account
id (an override: on AWS the identity port asks STS)."""


def _function(synth: Synth, name: str) -> dict:
    found = [r for r in synth.resources("AWS::Lambda::Function").values() if r["Properties"]["FunctionName"] == name]
    assert len(found) == 1, name
    return found[0]["Properties"]


# --------------------------------------------------------------------------- presence


def test_without_create_path_prover_the_stack_holds_only_the_benchmark_data(harness_only: Synth) -> None:
    types = Counter(r["Type"] for r in harness_only.json["Resources"].values())
    assert not PROVER_TYPES & set(types), f"prover resources without the flag: {types}"
    assert types["AWS::Glue::Database"] == 1
    assert types["AWS::Glue::Table"] == 2  # benchmark_results and benchmark_levels
    assert types["AWS::Athena::WorkGroup"] == 1
    assert types["AWS::S3::Bucket"] == 2  # results + access logs
    outputs = harness_only.json["Outputs"]
    assert {C.OUTPUT_RESULTS_TABLE, C.OUTPUT_LEVELS_TABLE, C.OUTPUT_ATHENA_WORKGROUP, C.OUTPUT_RESULTS_BUCKET} <= set(
        outputs
    )
    assert C.OUTPUT_STATE_MACHINE_ARN not in outputs


def test_with_create_path_prover_every_part_exists(full: Synth) -> None:
    count = full.template.resource_count_is
    # the handlers, the janitor, the stopped-execution clean-up, the runner build trigger
    count("AWS::Lambda::Function", len(C.FUNCTIONS) + 3)
    count("AWS::StepFunctions::StateMachine", 1)
    count("AWS::DynamoDB::Table", 1)
    count("AWS::CodeBuild::Project", 4)  # build, stage, benchmark, runner image
    count("AWS::ECR::Repository", 2)
    count("AWS::S3::Bucket", 3)  # results, access logs, artifacts
    count("AWS::Glue::Table", 2)
    count("AWS::Athena::WorkGroup", 1)
    count("AWS::Scheduler::Schedule", 1)
    count("AWS::CloudWatch::Alarm", 7)
    count("AWS::SNS::Topic", 1)
    count("AWS::SecretsManager::Secret", 0)  # the HF token is referenced, never created with a value


def test_outputs_name_the_state_machine_table_workgroup_and_bucket(full: Synth) -> None:
    outputs = full.json["Outputs"]
    machine, _ = full.one("AWS::StepFunctions::StateMachine")
    bucket = full.stack.get_logical_id(full.stack.data.bucket.node.default_child)
    assert outputs[C.OUTPUT_STATE_MACHINE_ARN]["Value"] == {"Ref": machine}
    assert outputs[C.OUTPUT_RESULTS_TABLE]["Value"] == "mlcc_ci.benchmark_results"
    assert outputs[C.OUTPUT_ATHENA_WORKGROUP]["Value"] == {"Ref": full.one("AWS::Athena::WorkGroup")[0]}
    assert outputs[C.OUTPUT_RESULTS_BUCKET]["Value"] == {"Ref": bucket}
    assert C.OUTPUT_STATE_MACHINE_ARN == "PathProverStateMachineArn"


# --------------------------------------------------------------------------- benchmark data


def test_results_bucket_is_encrypted_tls_only_private_with_lifecycle_and_retained(full: Synth) -> None:
    logical = full.stack.get_logical_id(full.stack.data.bucket.node.default_child)
    bucket = full.json["Resources"][logical]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate" and bucket["UpdateReplacePolicy"] == "Retain"
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-athena-results"]["Prefix"] == C.ATHENA_RESULTS_PREFIX
    assert "AbortIncompleteMultipartUpload" in rules["abort-uploads"]
    assert props["LoggingConfiguration"]["DestinationBucketName"]
    full.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logical},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def glue_table(synth: Synth, name: str) -> dict[str, Any]:
    """The AWS::Glue::Table named ``name``."""
    (table,) = [
        t for t in synth.resources("AWS::Glue::Table").values() if t["Properties"]["TableInput"]["Name"] == name
    ]
    return table


@pytest.mark.parametrize("table_def", schema.TABLES, ids=lambda t: t.name)
def test_glue_tables_are_built_from_the_one_schema_definition(full: Synth, table_def: schema.Table) -> None:
    table = glue_table(full, table_def.name)
    table_input = table["Properties"]["TableInput"]
    descriptor = table_input["StorageDescriptor"]
    assert table["Properties"]["DatabaseName"] == schema.TABLE_DATABASE
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == [(c.name, c.glue_type) for c in table_def.columns]
    assert [(c["Name"], c["Type"]) for c in table_input["PartitionKeys"]] == [("dt", "string")]
    assert descriptor["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert descriptor["InputFormat"].endswith("MapredParquetInputFormat")
    assert descriptor["OutputFormat"].endswith("MapredParquetOutputFormat")
    _, database = full.one("AWS::Glue::Database")
    assert database["Properties"]["DatabaseInput"]["Name"] == "mlcc_ci"
    assert database_logical_id(full) in table.get("DependsOn", [])


def test_the_results_table_carries_the_simulated_marker_from_the_record_definition(full: Synth) -> None:
    # Given the synthesized Glue table of the results / Then it has BenchmarkRecord's simulated column, boolean
    columns = glue_table(full, schema.TABLE_NAME)["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    assert ("simulated", "boolean") in [(c["Name"], c["Type"]) for c in columns]


def database_logical_id(synth: Synth) -> str:
    logical_id, _ = synth.one("AWS::Glue::Database")
    return logical_id


def test_the_levels_table_is_keyed_by_the_results_record_id(full: Synth) -> None:
    results = glue_table(full, schema.TABLE_NAME)["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    levels = glue_table(full, schema.LEVELS_TABLE_NAME)["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    assert results[0]["Name"] == levels[0]["Name"] == "record_id"
    assert "concurrency" in {c["Name"] for c in levels} and "concurrency" not in {c["Name"] for c in results}


@pytest.mark.parametrize("name", [schema.TABLE_NAME, schema.LEVELS_TABLE_NAME])
def test_glue_tables_use_partition_projection_on_dt(full: Synth, name: str) -> None:
    table = glue_table(full, name)
    params = table["Properties"]["TableInput"]["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.dt.type"] == "date"
    assert params["projection.dt.format"] == "yyyy-MM-dd"
    assert params["projection.dt.range"].endswith(",NOW")
    template = json.dumps(params["storage.location.template"])
    assert f"mlcc_ci/{name}/dt=${{dt}}/" in template
    location = json.dumps(table["Properties"]["TableInput"]["StorageDescriptor"]["Location"])
    assert location.endswith(f'"/mlcc_ci/{name}/"]]}}')  # where the AWS adapters write


def test_athena_workgroup_has_a_result_location_and_a_bytes_scanned_cutoff(full: Synth) -> None:
    _, workgroup = full.one("AWS::Athena::WorkGroup")
    props = workgroup["Properties"]
    config = props["WorkGroupConfiguration"]
    assert props["Name"] == C.ATHENA_WORKGROUP
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == C.ATHENA_BYTES_SCANNED_CUTOFF
    assert config["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    assert "athena-results/" in json.dumps(config["ResultConfiguration"]["OutputLocation"])


# --------------------------------------------------------------------------- ledger


def test_the_ledger_table(full: Synth) -> None:
    full.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": C.LEDGER_TABLE,
            "KeySchema": [{"AttributeName": C.LEDGER_PARTITION_KEY, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": C.LEDGER_PARTITION_KEY, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": C.LEDGER_TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


# --------------------------------------------------------------------------- functions


@pytest.mark.parametrize("spec", [*C.FUNCTIONS, C.JANITOR], ids=lambda s: s.name)
def test_each_function_is_python312_traced_with_its_own_role_logs_and_the_pandas_layer(
    full: Synth, spec: C.FunctionSpec
) -> None:
    props = _function(full, spec.name)
    assert props["Handler"] == spec.handler
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["x86_64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Layers"] == ["arn:aws:lambda:us-east-1:336392948345:layer:AWSSDKPandas-Python312:29"]
    log_group = full.json["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert log_group["LogGroupName"] == f"/aws/lambda/{spec.name}"
    assert log_group["RetentionInDays"] == C.LOG_RETENTION_DAYS
    env = props["Environment"]["Variables"]
    assert set(env) >= SETTINGS_ON_AWS, f"missing: {sorted(SETTINGS_ON_AWS - set(env))}"
    assert env["PATHPROVER_RUNTIME"] == "aws"
    assert env["POWERTOOLS_SERVICE_NAME"] == C.SERVICE_NAME
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == C.METRICS_NAMESPACE


def test_every_function_has_a_role_of_its_own(full: Synth) -> None:
    roles = [json.dumps(r["Properties"]["Role"]) for r in full.resources("AWS::Lambda::Function").values()]
    assert len(roles) == len(set(roles)) == len(C.FUNCTIONS) + 3


def test_the_function_environment_is_what_settings_reads(full: Synth) -> None:
    env = _function(full, "pathprover-brain")["Environment"]["Variables"]
    plain = {k: flatten(v) for k, v in env.items()}  # tokens as cdk-nag prints them: <Logical.Arn>, <AWS::URLSuffix>
    settings = Settings.from_env({**plain, "AWS_REGION": "us-east-1"})
    assert settings.runtime == "aws"
    assert settings.glue_database == schema.TABLE_DATABASE and settings.glue_table == schema.TABLE_NAME
    assert settings.glue_levels_table == schema.LEVELS_TABLE_NAME
    assert settings.levels_location is not None and settings.levels_location.endswith(f"/{C.LEVELS_PREFIX}")
    assert (settings.build_project, settings.stage_project, settings.benchmark_project) == (
        C.BUILD_PROJECT,
        C.STAGE_PROJECT,
        C.BENCHMARK_PROJECT,
    )
    assert settings.athena_workgroup == C.ATHENA_WORKGROUP
    assert (
        settings.training_image
        == f"{C.TRAINING_IMAGE_ACCOUNT}.dkr.ecr.us-east-1.<AWS::URLSuffix>/"
        + (Settings().training_image.split("/", 1)[1])
    )
    assert settings.results_bucket and settings.ledger_table and settings.sagemaker_role_arn


@pytest.mark.parametrize("spec", [*C.FUNCTIONS, C.JANITOR], ids=lambda s: s.name)
def test_handler_paths_exist_in_the_package(spec: C.FunctionSpec) -> None:
    pytest.importorskip("aws_lambda_powertools")
    module, attribute = spec.handler.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), attribute))


# --------------------------------------------------------------------------- builds, images, SageMaker


def test_codebuild_projects_take_their_buildspec_from_the_bundle(full: Synth) -> None:
    projects = {r["Properties"]["Name"]: r["Properties"] for r in full.resources("AWS::CodeBuild::Project").values()}
    assert set(projects) == {C.BUILD_PROJECT, C.STAGE_PROJECT, C.BENCHMARK_PROJECT, C.RUNNER_IMAGE_PROJECT}
    assert projects[C.BUILD_PROJECT]["Source"]["BuildSpec"] == "buildspec/build.yml"
    assert projects[C.STAGE_PROJECT]["Source"]["BuildSpec"] == "buildspec/stage.yml"
    assert projects[C.BENCHMARK_PROJECT]["Source"]["BuildSpec"] == "buildspec.yml"
    assert projects[C.BUILD_PROJECT]["Environment"]["PrivilegedMode"] is True
    assert projects[C.STAGE_PROJECT]["Environment"].get("PrivilegedMode", False) is False
    for props in projects.values():
        assert props["Source"]["Type"] == "S3"
        assert props["EncryptionKey"]
        assert props["LogsConfig"]["CloudWatchLogs"]["Status"] == "ENABLED"
    benchmark_image = json.dumps(projects[C.BENCHMARK_PROJECT]["Environment"]["Image"])
    assert f':{full.stack.prover.farm.runner.tag}"' in benchmark_image  # the runner image, one tag scheme
    assert projects[C.BENCHMARK_PROJECT]["Environment"]["ImagePullCredentialsType"] == "SERVICE_ROLE"


def test_ecr_repositories_scan_on_push_with_immutable_tags_and_lifecycle(full: Synth) -> None:
    repos = {
        r["Properties"]["RepositoryName"]: r["Properties"] for r in full.resources("AWS::ECR::Repository").values()
    }
    assert set(repos) == {C.IMAGE_REPOSITORY, C.BENCHMARK_REPOSITORY}
    for props in repos.values():
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["ImageTagMutability"] == "IMMUTABLE"
        rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert {r["selection"]["tagStatus"] for r in rules} == {"untagged", "any"}


def test_sagemaker_role_is_assumed_by_sagemaker_only(full: Synth) -> None:
    role = full.json["Resources"][full.stack.get_logical_id(full.stack.prover.farm.sagemaker_role.node.default_child)]
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in statements] == [{"Service": "sagemaker.amazonaws.com"}]
    assert statements[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


# --------------------------------------------------------------------------- janitor and alarms


def test_janitor_runs_hourly_with_the_state_machine_to_check_executions_against(full: Synth) -> None:
    props = _function(full, C.JANITOR.name)
    machine, _ = full.one("AWS::StepFunctions::StateMachine")
    assert props["Handler"] == "pathprover.handlers.janitor.handler"
    assert props["Environment"]["Variables"]["PATHPROVER_STATE_MACHINE_ARN"] == {"Ref": machine}
    assert "ReservedConcurrentExecutions" not in props  # reserving would fail in accounts at the minimum
    rule = next(r for r in full.resources("AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"])
    janitor = next(k for k, v in full.resources("AWS::Lambda::Function").items() if v["Properties"] is props)
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 hour)"
    assert rule["Properties"]["State"] == "ENABLED"
    assert [t["Arn"] for t in rule["Properties"]["Targets"]] == [{"Fn::GetAtt": [janitor, "Arn"]}]


def test_an_execution_that_ends_failed_timed_out_or_aborted_is_cleaned_up_at_once(full: Synth) -> None:
    # Given the stack's rules, When one matches this state machine's ended executions
    props = _function(full, C.STOPPED_CLEANUP.name)
    machine, _ = full.one("AWS::StepFunctions::StateMachine")
    function = next(k for k, v in full.resources("AWS::Lambda::Function").items() if v["Properties"] is props)
    rules = [r for r in full.resources("AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    # Then it sends exactly those status changes to the clean-up handler, with retries
    assert len(rules) == 1
    pattern = rules[0]["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"] == {"stateMachineArn": [{"Ref": machine}], "status": ["FAILED", "TIMED_OUT", "ABORTED"]}
    (target,) = rules[0]["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 4
    assert props["Handler"] == "pathprover.handlers.stopped.handler"


def test_alarms_watch_failed_and_timed_out_executions_and_janitor_deletions(full: Synth) -> None:
    topic, topic_props = full.one("AWS::SNS::Topic")
    assert topic_props["Properties"]["KmsMasterKeyId"]
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in full.resources("AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {
        "pathprover-ExecutionsFailed",
        "pathprover-ExecutionsTimedOut",
        "pathprover-AccountFailures",
        "pathprover-HarnessFailures",
        "pathprover-JanitorDeleted",
        "pathprover-JanitorErrors",
        "pathprover-JanitorFailed",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": topic}]
        assert alarm["Threshold"] == 1
    assert alarms["pathprover-ExecutionsFailed"]["MetricName"] == "ExecutionsFailed"
    assert alarms["pathprover-ExecutionsTimedOut"]["MetricName"] == "ExecutionsTimedOut"
    deleted = alarms["pathprover-JanitorDeleted"]
    assert (deleted["Namespace"], deleted["MetricName"]) == ("PathProver", "JanitorDeleted")
    assert deleted["Dimensions"] == [{"Name": "service", "Value": C.SERVICE_NAME}]
    errors = alarms["pathprover-JanitorErrors"]
    assert (errors["Namespace"], errors["MetricName"]) == ("PathProver", "JanitorErrors")
    assert alarms["pathprover-JanitorFailed"]["MetricName"] == "Errors"
    for scope in ("account", "harness"):
        scoped = alarms[f"pathprover-{scope.capitalize()}Failures"]
        assert (scoped["Namespace"], scoped["MetricName"]) == ("PathProver", C.FAILURE_SCOPE_METRIC)
        assert scoped["Dimensions"] == [
            {"Name": "scope", "Value": scope},
            {"Name": "service", "Value": C.SERVICE_NAME},
        ] or scoped["Dimensions"] == [{"Name": "service", "Value": C.SERVICE_NAME}, {"Name": "scope", "Value": scope}]


def test_infra_takes_the_deployment_names_from_the_runtime_package() -> None:
    """One source: the Lambdas, the local runtime and the stack all read pathprover.deployment."""
    for name in (
        "SERVICE_NAME",
        "METRICS_NAMESPACE",
        "FAILURE_SCOPE_METRIC",
        "JANITOR_DELETED_METRIC",
        "JANITOR_ERRORS_METRIC",
        "LEDGER_TABLE",
        "LEDGER_PARTITION_KEY",
        "LEDGER_TTL_ATTRIBUTE",
        "ARTIFACT_PREFIX",
        "ARTIFACT_AREAS",
        "STATE_MACHINE_NAME",
        "FUNCTIONS",
        "JANITOR",
        "STOPPED_CLEANUP",
    ):
        assert getattr(C, name) is getattr(deployment, name), name
    assert C.STOPPED_STATUSES is deployment.ENDED_STATUSES
    assert C.FunctionSpec is deployment.FunctionSpec


def test_cloudwatch_may_publish_this_accounts_alarms_to_the_topic(full: Synth) -> None:
    # Given the alarm topic's policy / Then CloudWatch may publish, scoped to this account's Path Prover alarms
    _, policy = full.one("AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    publish = [s for s in statements if s["Effect"] == "Allow" and s["Action"] == "sns:Publish"]
    assert len(publish) == 1 and publish[0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    conditions = publish[0]["Condition"]
    assert "aws:SourceAccount" in conditions["StringEquals"]
    assert str(conditions["ArnLike"]["aws:SourceArn"]).endswith(":alarm:pathprover-*")


def test_the_training_image_statement_names_its_repository(full: Synth) -> None:
    # Given the SageMaker role's ECR pull statement / Then the DLC repository ARN names the repository
    rendered = json.dumps(full.json["Resources"])
    assert f":{C.TRAINING_IMAGE_ACCOUNT}:repository/{C.TRAINING_IMAGE_REPOSITORY}" in rendered
    assert f':{C.TRAINING_IMAGE_ACCOUNT}:repository"' not in rendered


def test_kept_resources_are_deleted_when_a_first_create_rolls_back(full: Synth) -> None:
    # Given the buckets and repositories that outlive the stack / Then a failed first create removes them
    everything = full.json["Resources"]
    kept = {name: r for name, r in everything.items() if str(r.get("DeletionPolicy", "")).startswith("Retain")}
    assert any(r["Type"] == "AWS::ECR::Repository" for r in kept.values())
    assert any(r["Type"] == "AWS::S3::Bucket" for r in kept.values())
    for name, resource in kept.items():
        assert resource["DeletionPolicy"] == "RetainExceptOnCreate", name


def test_functions_that_wait_on_athena_outlast_the_wait(full: Synth) -> None:
    # Given the Lambda functions and the Athena adapter's wait bound
    import inspect

    from pathprover.adapters.aws.results import AthenaResultsStore

    athena_wait = inspect.signature(AthenaResultsStore.__init__).parameters["max_wait_s"].default
    timeouts = {
        f["Properties"]["FunctionName"]: f["Properties"]["Timeout"]
        for f in full.resources("AWS::Lambda::Function").values()
        if "FunctionName" in f["Properties"]
    }
    # Then Brain and Begin (the ones that query the table) have a minute of headroom over it
    for name in ("pathprover-brain", "pathprover-begin"):
        assert timeouts[name] >= athena_wait + 60, name
