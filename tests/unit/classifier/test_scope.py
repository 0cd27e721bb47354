"""Who is at fault: the scope judgement, the record's status rule, the brain's treatment of each scope."""

from datetime import UTC, datetime, timedelta

import pytest

from pathprover.brain.feasibility import ACCOUNT_COOLDOWN, history_verdict
from pathprover.brain.history import build_history
from pathprover.classifier import classify, judge_scope, normalise_origin
from pathprover.classifier.scope import account_action
from pathprover.core.dimensions import ConfigVector
from pathprover.core.records import ProveContext, failure_record, status_of_failure
from pathprover.stages.jobs import JobRef, JobState
from pathprover.stages.lifecycle import failure_origin

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
VECTOR = ConfigVector(
    deployment_config="transformers-vllm",
    model_family="qwen3",
    instance_family="g5",
    quantization="none",
    tp_degree=1,
    deployment_target="realtime-inference",
)


@pytest.mark.parametrize(
    ("text", "origin", "scope"),
    [
        # the account's state: quotas (two lanes racing for one quota too), permissions, SCPs, opt-in
        (
            "An error occurred (ResourceLimitExceeded) when calling the CreateEndpoint operation: The account-level "
            "service limit 'ml.g5.xlarge for endpoint usage' is 0 Instances, with current utilization of 0 "
            "Instances and a request delta of 1 Instances.",
            "api",
            "account",
        ),
        (
            "An error occurred (AccountLimitExceededException) when calling the StartBuild operation: Cannot have "
            "more than 1 builds in queue for the account",
            "api",
            "account",
        ),
        ("User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: s3:GetObject", "job", "account"),
        ("AccessDeniedException ... with an explicit deny in a service control policy", None, "account"),
        ("An error occurred (OptInRequired) when calling the RunInstances operation", "api", "account"),
        (
            "Access to model meta-llama/Llama-3.1-8B-Instruct is restricted. You must have access to it",
            "job",
            "account",
        ),
        # this deployment: its images, secrets, resources removed under it, its own exceptions
        ("CLIENT_ERROR: CannotPullContainerError: manifest unknown: Requested image not found", "job", "harness"),
        ("ResourceNotFoundException: Secrets Manager can't find the specified secret.", "job", "harness"),
        ('Could not find endpoint "pp-1-ep".', "job", "harness"),
        ("Endpoint pp-1-ep no longer exists", "job", "harness"),
        ("KeyError: 'levels'", "harness", "harness"),
        ("CodeBuild build path-prover-build:1234 not found", "job", "harness"),
        # a job someone stopped, as the lifecycle reports it (origin harness: see failure_origin)
        ("CodeBuild build pp:12 STOPPED (phase BUILD)\nphase BUILD STOPPED", "harness", "harness"),
        # a Hub 401 with no "gated" word (no token, or a token without access) is never the config's
        (
            "401 Client Error: Unauthorized for url: https://huggingface.co/meta-llama/Llama-3.1-8B/resolve/main/x",
            "job",
            "account",
        ),
        (
            "ClientError: An error occurred (ValidationException) when calling the CreateModel operation: Caller is "
            "not subscribed to the marketplace offering.",
            "api",
            "account",
        ),
        (
            "An error occurred (ThrottlingException) when calling the DescribeEndpoint operation: Rate exceeded",
            "api",
            "harness",
        ),
        # the configuration: its memory, its model, its instance type for this feature, its own code
        ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", "job", "config"),
        ("Model architectures ['Foo'] are not supported for now", "job", "config"),
        (
            "An error occurred (ValidationException) when calling the CreateEndpointConfig operation: The instance "
            "type ml.g5.xlarge is not supported for asynchronous inference.",
            "api",
            "config",
        ),
        ("InsufficientInstanceCapacity: We currently do not have sufficient ml.p5.48xlarge capacity", "api", "config"),
        ("Traceback (most recent call last):\nKeyError: 'prompt'", "job", "config"),
        # a 500 in the container's own answer is the container's, not AWS's control plane
        ('{"type": "InternalServerError", "code": 500} KeyError: \'prompt\'', "job", "config"),
    ],
)
def test_scope_is_judged_from_the_message_and_where_it_happened(text, origin, scope):
    # Given a real-looking failure message and where it was seen / When it is classified
    verdict = classify(text, origin=origin)
    # Then the scope names who is at fault, and only the config's own failure may be unfeasible
    assert verdict.failure_scope == scope, (verdict.scope_rule, verdict.category)
    assert verdict.status == ("unfeasible" if scope == "config" and not verdict.retryable else "failed")


def test_an_oom_that_mentions_a_vanished_worker_is_still_the_configs():
    # Given a cause that proves a property of the config next to a "no longer exists" consequence
    text = "torch.OutOfMemoryError: CUDA out of memory\nactor 3f2 no longer exists"
    # Then the config is at fault
    assert judge_scope(text, "oom", "job").scope == "config"


def test_the_account_action_names_the_limit_or_the_permission():
    assert "'ml.g5.xlarge for endpoint usage'" in account_action(
        "ResourceLimitExceeded: The account-level service limit 'ml.g5.xlarge for endpoint usage' is 0 Instances"
    )
    assert "sagemaker:CreateEndpoint" in account_action("is not authorized to perform: sagemaker:CreateEndpoint on")
    assert "VcpuLimitExceeded" in account_action("VcpuLimitExceeded: You have requested more vCPU capacity")


def test_unknown_origins_are_refused():
    assert normalise_origin(" API ") == "api" and normalise_origin("") is None
    with pytest.raises(ValueError, match="unknown origin 'cloud'"):
        normalise_origin("cloud")


@pytest.mark.parametrize(
    ("retryable", "scope", "status"),
    [
        (False, "config", "unfeasible"),
        (True, "config", "failed"),
        (False, "account", "failed"),
        (False, "harness", "failed"),
        (True, "harness", "failed"),
    ],
)
def test_only_the_configs_own_non_retryable_failure_is_unfeasible(retryable, scope, status):
    # Given a failure of some scope / When its row is made
    row = failure_record(
        ProveContext(vector=VECTOR, execution_id="e"),
        NOW,
        category="service_limitation",
        retryable=retryable,
        reason="x",
        stage="deploy",
        scope=scope,
    )
    # Then only the config's non-retryable failure is unfeasible, and the scope is recorded
    assert row.status == status == status_of_failure(retryable, scope)
    assert row.failure_scope == scope


def _outcome_row(failed_rows, category, failed_at, account_at=None, account_reason=None):
    """One OUTCOMES_SQL row for VECTOR (what the aggregate query returns)."""
    dims = [
        VECTOR.deployment_config,
        VECTOR.model_family,
        VECTOR.instance_family,
        VECTOR.quantization,
        VECTOR.tp_degree,
        VECTOR.deployment_target,
    ]
    return [*dims, 0, None, None, failed_rows, 0, 0, failed_at, category, "reason", account_at, account_reason]


def test_an_account_failure_holds_the_config_back_for_the_cooldown_only():
    # Given the latest account failure an hour ago, and no config failure
    history = build_history([], [_outcome_row(0, None, None, NOW - timedelta(hours=1), "service limit 'x' is 0")])
    entry = next(iter(history.configs.values()))
    # Then the config is held back until the cooldown passes, and counts no attempt
    verdict = history_verdict(entry, NOW)
    assert verdict is not None and verdict.kind == "account_cooldown" and "service limit 'x'" in verdict.reason
    assert history_verdict(entry, NOW - timedelta(hours=1) + ACCOUNT_COOLDOWN + timedelta(seconds=1)) is None
    assert entry.attempts == 0


def test_a_config_that_completed_after_its_account_failure_is_not_held_back():
    # Given an account failure, then a completed prove (the limit was raised)
    completed = [[*_outcome_row(0, None, None)[:6], 3, NOW]]
    history = build_history(completed, [_outcome_row(0, None, None, NOW - timedelta(hours=2), "quota")])
    entry = next(iter(history.configs.values()))
    # Then nothing holds it back
    assert history_verdict(entry, NOW) is None


@pytest.mark.parametrize(
    ("detail", "start_failure", "origin"),
    [
        ({"build_status": "FAILED"}, None, "job"),
        ({"build_status": "STOPPED"}, None, "harness"),
        ({"training_job_status": "Stopped"}, None, "harness"),
        ({"endpoint_status": "Failed"}, None, "job"),
        ({}, "An error occurred (ResourceLimitExceeded) when calling the CreateEndpoint operation", "api"),
    ],
)
def test_a_stopped_job_is_never_the_configs_failure(detail, start_failure, origin):
    # Given a failed job's state, stopped or failed on its own, or refused at start
    ref = JobRef(kind="build", name="b", arn_or_id="b:1", started_at=NOW, start_failure=start_failure)
    state = JobState.failed("phase BUILD " + detail.get("build_status", "FAILED"), "build", detail)
    # Then the origin the lifecycle gives the classifier says who stopped it
    assert failure_origin(ref, state) == origin


@pytest.mark.parametrize(
    "text",
    [
        "AlgorithmError: ExecuteUserScriptError:\nExitCode 2\nErrorMessage \"python3: can't open file "
        "'/opt/ml/code/train.py': [Errno 2] No such file or directory\"",
        "Failed to download model data for the additional model data source 'adapter' (s3://b/a/model.tar.gz).",
        "start.sh: error: PATHPROVER_ADAPTER_NAME=x but /opt/ml/additional-model-data-sources/adapter has no "
        "adapter_config.json: s3://b/a/ is not a PEFT adapter",
    ],
)
def test_the_tune_stages_own_plumbing_failing_is_the_harness_never_the_config(text):
    from pathprover.classifier import classify

    verdict = classify(text, stage="tune", origin="job")
    assert verdict.failure_scope == "harness", verdict


@pytest.mark.parametrize(
    ("text", "origin", "scope"),
    [
        # the service refuses this deployment's own resources: the harness's to fix, never the config's
        ("ValidationException: The S3 bucket must be in the same region as the endpoint.", "api", "harness"),
        (
            "FailedPrecondition: 400 The Cloud Storage bucket is in location `us`. It must be in the same regional "
            "location as the service.",
            "job",
            "harness",
        ),
        (
            'Resource handler returned message: "The runtime parameter of nodejs12.x is no longer supported for '
            'creating or updating AWS Lambda functions. (Service: Lambda, Status Code: 400)"',
            "api",
            "harness",
        ),
        # this deployment's own function over Lambda's fixed package size limit
        ("An error occurred: AdvanceFunction - Unzipped size must be smaller than 262144000 bytes", "api", "harness"),
        # what the account is not enabled for is the account's
        ("ValidationException: ml.p5.48xlarge is not supported for this account.", "api", "account"),
        # the API not offering a feature for this instance type stays the config's, and may be unfeasible
        (
            "An error occurred (ValidationException) when calling the CreateEndpoint operation: The instance type "
            "ml.inf2.xlarge is not supported for inference components.",
            "api",
            "config",
        ),
    ],
)
def test_a_service_refusing_the_deployments_own_resources_is_never_an_unfeasible_config(text, origin, scope):
    # Given a service limitation the cloud-API family decides, worded about a resource, the account or the config
    # When it is classified
    verdict = classify(text, stage="deploy", origin=origin)
    # Then it is a service limitation whose scope says whose it is, and only the config's may be unfeasible
    assert (verdict.category, verdict.failure_scope) == ("service_limitation", scope)
    assert (verdict.status == "unfeasible") is (scope == "config")


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        # the model directory the harness staged is missing files: the staging's fault
        (
            "start.sh: error: MODEL_SOURCE=s3 but /opt/ml/model has no config.json: the deploy request must set "
            "PrimaryContainer.ModelDataSource.S3DataSource to s3://bucket/weights/",
            "harness",
        ),
        (
            "OSError: Can't load tokenizer for '/opt/ml/model'. Make sure that: '/opt/ml/model' is the correct path",
            "harness",
        ),
        (
            "Failed to download model data (bucket: pp-weights, key: qwen/model.tar.gz). Please ensure that there is "
            "an object located at the URL and that the role has permission",
            "harness",
        ),
        # a Hub repository with no tokenizer is the model's, and may be unfeasible
        (
            "OSError: Can't load tokenizer for 'acme/model-x'. Make sure that: 'acme/model-x' is a correct model id",
            "config",
        ),
    ],
)
def test_a_missing_staged_model_directory_is_the_harnesss(text: str, scope: str) -> None:
    # Given a container that finds the staged /opt/ml/model incomplete, and one whose Hub repository lacks a file
    verdict = classify(text, stage="deploy", origin="job")
    # Then the staged directory is the harness's (recorded failed), the repository the config's
    assert (verdict.category, verdict.failure_scope) == ("code_bug", scope)
    assert (verdict.status == "unfeasible") is (scope == "config")
