"""The AWS adapters day one needs, on real boto3 clients answered by botocore's Stubber: the runner image
check (ECR), the token secret check (Secrets Manager), the account's quotas (Service Quotas) and the
table location of an existing table."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.codebuild import CodeBuildBuilder
from pathprover.adapters.aws.factory import build_aws_services
from pathprover.adapters.aws.quotas import ServiceQuotasLookup
from pathprover.adapters.aws.secrets import SecretsManagerLookup
from pathprover.catalog import default_catalog
from pathprover.settings import Settings

RUNNER = "123456789012.dkr.ecr.us-east-1.amazonaws.com/pathprover-benchmark:runner-0123456789ab"


def _clients(service: str) -> tuple[AwsClients, Stubber]:
    clients = AwsClients("us-east-1")
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    clients.set(service, client)
    return clients, Stubber(client)


def test_the_runner_image_is_found_by_its_tag_in_its_registry():
    clients, stub = _clients("ecr")
    expected = {
        "repositoryName": "pathprover-benchmark",
        "imageIds": [{"imageTag": "runner-0123456789ab"}],
        "registryId": "123456789012",
    }
    stub.add_response("describe_images", {"imageDetails": [{"imageTags": ["runner-0123456789ab"]}]}, expected)
    stub.add_client_error("describe_images", "ImageNotFoundException", expected_params=expected)
    stub.add_client_error("describe_images", "RepositoryNotFoundException", expected_params=expected)
    stub.add_client_error("describe_images", "AccessDeniedException", expected_params=expected)
    builder = CodeBuildBuilder(clients)
    with stub:
        assert builder.image_exists(RUNNER) is True
        assert builder.image_exists(RUNNER) is False  # the deploy's build has not pushed it yet
        assert builder.image_exists(RUNNER) is False  # no repository yet
        with pytest.raises(Exception, match="AccessDenied"):  # a real problem is not "missing"
            builder.image_exists(RUNNER)
    with pytest.raises(ValueError, match="tag"):
        builder.image_exists("123456789012.dkr.ecr.us-east-1.amazonaws.com/pathprover-benchmark")


def test_the_token_secret_is_checked_without_reading_its_value():
    clients, stub = _clients("secretsmanager")
    stub.add_response("describe_secret", {"Name": "pathprover/huggingface-token"}, {"SecretId": "pathprover/hf"})
    stub.add_client_error("describe_secret", "ResourceNotFoundException", expected_params={"SecretId": "pathprover/hf"})
    stub.add_response(
        "describe_secret",
        {"Name": "pathprover/hf", "DeletedDate": "2026-12-01T00:00:00Z"},
        {"SecretId": "pathprover/hf"},
    )
    lookup = SecretsManagerLookup(clients)
    with stub:
        assert lookup.exists("pathprover/hf") is True
        assert lookup.exists("pathprover/hf") is False
        assert lookup.exists("pathprover/hf") is False  # scheduled for deletion: the stage job cannot read it
    stub.assert_no_pending_responses()


def test_the_accounts_instance_quotas_are_read_once_and_unknown_ones_stay_unknown():
    clients, stub = _clients("service-quotas")
    quotas = [
        {"QuotaName": "ml.g5.xlarge for endpoint usage", "Value": 4.0},
        {"QuotaName": "ml.p4d.24xlarge for endpoint usage", "Value": 0.0},
        {"QuotaName": "ml.g5.xlarge for transform job usage", "Value": 1.0},
    ]
    stub.add_response("list_service_quotas", {"Quotas": quotas, "NextToken": "n"}, {"ServiceCode": "sagemaker"})
    stub.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker", "NextToken": "n"})
    lookup = ServiceQuotasLookup(clients)
    with stub:
        assert lookup.instance_quota("ml.p4d.24xlarge", "endpoint usage") == 0
        assert lookup.instance_quota("ml.g5.xlarge", "endpoint usage") == 4
        assert lookup.instance_quota("ml.g5.xlarge", "transform job usage") == 1
        assert lookup.instance_quota("ml.g6.xlarge", "endpoint usage") is None
    stub.assert_no_pending_responses()


def test_quotas_that_cannot_be_read_leave_the_plan_without_them():
    clients, stub = _clients("service-quotas")
    stub.add_client_error("list_service_quotas", "AccessDeniedException")
    lookup = ServiceQuotasLookup(clients)
    with stub:
        assert lookup.instance_quota("ml.p4d.24xlarge", "endpoint usage") is None


def test_an_existing_tables_location_is_where_rows_are_written():
    base = {"runtime": "aws", "results_bucket": "results", "ledger_table": "ledger"}
    default = build_aws_services(Settings(**base), default_catalog())
    assert default.store.table_s3_uri == "s3://results/mlcc_ci/benchmark_results/"  # type: ignore[attr-defined]
    existing = build_aws_services(Settings(**base, table_location="s3://x/y"), default_catalog())
    assert existing.store.table_s3_uri == "s3://x/y/"  # type: ignore[attr-defined]


def test_a_large_checkpoint_is_staged_on_a_bigger_build_via_compute_type_override():
    from botocore.stub import ANY

    from pathprover.stages.specs import BuildJob

    clients, stub = _clients("codebuild")
    job = BuildJob(
        project_name="pathprover-stage",
        kind="stage",
        source_s3_uri="s3://bucket/bundles/stage.zip",
        source_digest="a" * 64,
        execution_id="e1",
        config_id="c1",
        compute_type="BUILD_GENERAL1_2XLARGE",
    )
    stub.add_response(
        "start_build",
        {"build": {"id": "pathprover-stage:1", "buildStatus": "IN_PROGRESS"}},
        {
            "projectName": "pathprover-stage",
            "sourceTypeOverride": "S3",
            "sourceLocationOverride": "bucket/bundles/stage.zip",
            "environmentVariablesOverride": ANY,
            "timeoutInMinutesOverride": 60,
            "idempotencyToken": ANY,
            "computeTypeOverride": "BUILD_GENERAL1_2XLARGE",
        },
    )
    with stub:
        CodeBuildBuilder(clients).start(job)
    stub.assert_no_pending_responses()


def _dynamo_ledger():
    from moto import mock_aws

    from pathprover.adapters.aws.ledger import DynamoLedger

    mock = mock_aws()
    mock.start()
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    client.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    clients = AwsClients("us-east-1")
    clients.set("dynamodb", client)
    return mock, DynamoLedger(clients, "ledger")


@pytest.mark.parametrize("ledger_kind", ["sqlite", "dynamodb"])
def test_what_a_stopped_execution_still_holds_is_found_in_both_ledgers(tmp_path, ledger_kind):
    from datetime import UTC, datetime

    from pathprover.adapters.local.ledger import SqliteLedger
    from pathprover.protocols import Held

    mock = None
    if ledger_kind == "sqlite":
        ledger = SqliteLedger(tmp_path / "ledger.sqlite")
    else:
        mock, ledger = _dynamo_ledger()
    try:
        now = datetime.now(UTC)
        # Given an execution with one prove in flight, one settled, and another execution's lease
        assert ledger.reserve("run_1", "c1", 2.5, 10)
        assert ledger.acquire_lease("c1", "run_1#0", 600, now)
        assert ledger.reserve("run_1", "c2", 1.0, 10)
        ledger.settle("run_1", "c2", 0.5)
        assert ledger.acquire_lease("c3", "runX1#0", 600, now)  # `_` is not a wildcard
        # Then only the one in flight is held, with its lease and its open reservation
        assert ledger.in_flight("run_1") == {"c1": Held(lease_owner="run_1#0", reserved_usd=2.5)}
    finally:
        if mock is not None:
            mock.stop()


@pytest.mark.parametrize("view", ["running", "in_progress"])
def test_the_builds_a_stopped_execution_started_are_found_on_codebuild(view):
    clients, stub = _clients("codebuild")

    def build(build_id: str, status: str, execution: str) -> dict:
        variables = [
            {"name": "PP_EXECUTION_ID", "value": execution, "type": "PLAINTEXT"},
            {"name": "PP_JOB_KIND", "value": "stage", "type": "PLAINTEXT"},
        ]
        return {
            "id": build_id,
            "buildStatus": status,
            "environment": {
                "type": "LINUX_CONTAINER",
                "image": "x",
                "computeType": "BUILD_GENERAL1_LARGE",
                "environmentVariables": variables,
            },
        }

    stub.add_response(
        "list_builds_for_project",
        {"ids": ["p:1", "p:2", "p:3"]},
        {"projectName": "pathprover-stage", "sortOrder": "DESCENDING"},
    )
    stub.add_response(
        "batch_get_builds",
        {
            "builds": [
                build("p:1", "IN_PROGRESS", "run-1"),
                build("p:2", "SUCCEEDED", "run-1"),
                build("p:3", "IN_PROGRESS", "run-2"),
            ]
        },
        {"ids": ["p:1", "p:2", "p:3"]},
    )
    with stub:
        builder = CodeBuildBuilder(clients)
        if view == "running":  # a stopped execution's own builds
            refs = builder.running("run-1", "pathprover-stage")
            assert [(r.arn_or_id, r.kind) for r in refs] == [("p:1", "stage")]
        else:  # what the janitor judges: every build in progress, with its execution
            refs = builder.in_progress("pathprover-stage")
            assert [(r.arn_or_id, r.meta["execution_id"]) for r in refs] == [("p:1", "run-1"), ("p:3", "run-2")]


@pytest.mark.parametrize("operation", ["reserve", "settle"])
def test_a_transaction_conflict_is_retried_never_read_as_over_budget_or_settled(operation):
    from pathprover.adapters.aws.ledger import DynamoLedger
    from pathprover.protocols import TransientFailure

    clients, stub = _clients("dynamodb")
    ledger = DynamoLedger(clients, "ledger")
    reasons = {"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]}
    if operation == "reserve":
        stub.add_client_error("put_item", "ConditionalCheckFailedException")  # the budget exists
        stub.add_client_error("transact_write_items", "TransactionCanceledException", modeled_fields=reasons)

        def call() -> object:
            return ledger.reserve("run-1", "c1", 2.0, 10.0)
    else:
        stub.add_response(
            "get_item",
            {"Item": {"pk": {"S": "reservation#run-1#c1"}, "amount": {"N": "2"}, "settled": {"BOOL": False}}},
            {"TableName": "ledger", "Key": {"pk": {"S": "reservation#run-1#c1"}}, "ConsistentRead": True},
        )
        stub.add_client_error("transact_write_items", "TransactionCanceledException", modeled_fields=reasons)

        def call() -> object:
            return ledger.settle("run-1", "c1", 1.5)

    # Then the conflict is raised as transient (the task is retried), not answered False or swallowed
    with stub, pytest.raises(TransientFailure, match="TransactionConflict"):
        call()


def test_the_workflow_retries_a_transient_failure():
    from pathprover.protocols import TransientFailure
    from pathprover.workflow.tasks import TransientError, retry_transient

    def conflict() -> None:
        raise TransientFailure("reserve c1: DynamoDB transaction cancelled (TransactionConflict); retry")

    with pytest.raises(TransientError):
        retry_transient(conflict)


def test_a_throttled_table_read_in_the_plan_is_retried_not_a_failed_plan(tmp_path):
    from pathprover.handlers.brain import handler
    from pathprover.runtime.local import LocalRuntime
    from pathprover.runtime.moto_patches import LambdaContext
    from pathprover.workflow.tasks import TransientError

    class Throttled(Exception):
        def __init__(self, message: str) -> None:
            super().__init__(message)
            self.response = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}

    class ThrottledStore:
        def query(self, sql: str) -> object:
            raise Throttled("An error occurred (ThrottlingException) when calling the StartQueryExecution operation")

    with LocalRuntime(tmp_path / "warehouse") as runtime:
        runtime.services.store = ThrottledStore()  # type: ignore[assignment]
        # When the plan's first table read is throttled, the Lambda raises TransientError (the ASL retries it)
        with pytest.raises(TransientError, match="ThrottlingException"):
            handler(
                {"input": {"MAX_PROVES_PER_RUN": 1}, "execution_id": "e-throttle"}, LambdaContext("pathprover-brain")
            )
