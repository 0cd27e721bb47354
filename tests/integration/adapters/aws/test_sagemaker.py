"""SageMakerFleet against a real boto3 client whose responses come from botocore's Stubber.

moto cannot make SageMaker fail (see research/local-runtime.md), so every status sequence and failure here is
stubbed. Stubber also validates each request against the service model, so a misspelt parameter fails the test.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from pathprover.adapters.aws.sagemaker import training_job_request
from pathprover.classifier import classify
from pathprover.stages.jobs import JobRef, ManagedResource
from pathprover.stages.naming import (
    TAG_CONFIG_ID,
    TAG_EXECUTION,
    TAG_EXPIRY,
    TAG_MANAGED_BY,
    resource_names,
    standard_tags,
)
from pathprover.stages.specs import DeploySpec, TrainingSpec
from tests.support.aws_stubs import ACCOUNT_ARN, CONFIG, EXECUTION, NAMES, NOW, ROLE, Env


def spec(**overrides: Any) -> DeploySpec:
    values: dict[str, Any] = {
        "execution_id": EXECUTION,
        "config_id": CONFIG,
        "names": NAMES,
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pp-serving@sha256:" + "a" * 64,
        "model_data_uri": None,
        "env": {"SM_VLLM_MAX_MODEL_LEN": "4096", "HF_MODEL_ID": "Qwen/Qwen3-0.6B"},
        "instance_type": "ml.g5.12xlarge",
        "target": "realtime-inference",
        "role_arn": ROLE,
        "tags": {"team": "ml-platform"},
        "expiry": NOW + timedelta(hours=6),
        "expected_ready_s": 900,
    }
    values.update(overrides)
    return DeploySpec(**values)


def tags_of(s: DeploySpec) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(s.all_tags.items())]


def arn(kind: str, name: str) -> str:
    return f"{ACCOUNT_ARN}:{kind}/{name}"


def stub_create_model(stub: Stubber, s: DeploySpec) -> None:
    stub.add_response(
        "create_model",
        {"ModelArn": arn("model", s.names.model)},
        {
            "ModelName": s.names.model,
            "PrimaryContainer": {"Image": s.image_uri, "Environment": dict(s.env)},
            "ExecutionRoleArn": ROLE,
            "Tags": tags_of(s),
        },
    )


def stub_create_endpoint(stub: Stubber, s: DeploySpec, config_params: Any = None) -> None:
    stub_create_model(stub, s)
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": arn("endpoint-config", s.names.endpoint_config)},
        config_params,
    )
    stub.add_response(
        "create_endpoint",
        {"EndpointArn": arn("endpoint", s.names.endpoint)},
        {"EndpointName": s.names.endpoint, "EndpointConfigName": s.names.endpoint_config, "Tags": tags_of(s)},
    )


def describe_endpoint(status: str, reason: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "EndpointName": NAMES.endpoint,
        "EndpointArn": arn("endpoint", NAMES.endpoint),
        "EndpointConfigName": NAMES.endpoint_config,
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    if reason:
        response["FailureReason"] = reason
    return response


# --------------------------------------------------------------------------- SageMaker endpoints


def test_endpoint_reaches_in_service_after_several_polls(env: Env) -> None:
    sm = env.stub("sagemaker")
    s = spec()
    stub_create_endpoint(sm, s)
    for status in ("Creating", "Creating", "InService"):
        sm.add_response("describe_endpoint", describe_endpoint(status), {"EndpointName": NAMES.endpoint})
    fleet = env.fleet()

    ref = fleet.start_deploy(s)
    assert (ref.kind, ref.arn_or_id, ref.start_failure) == ("endpoint", arn("endpoint", NAMES.endpoint), None)
    assert ref.meta["model"] == NAMES.model and ref.meta["endpoint_config"] == NAMES.endpoint_config

    env.clock = NOW + timedelta(seconds=60)
    first = fleet.check(ref)
    env.clock = NOW + timedelta(seconds=850)
    second = fleet.check(ref)
    env.clock = NOW + timedelta(seconds=900)
    third = fleet.check(ref)

    assert (first.status, second.status, third.status) == ("running", "running", "succeeded")
    # early: a long wait; near the expected end: a short one; done: no wait
    assert first.wait_seconds > second.wait_seconds >= 10
    assert third.done and third.wait_seconds == 0
    assert third.detail["endpoint_status"] == "InService"
    # the ref survives a JSON round trip through Step Functions
    assert JobRef.model_validate_json(ref.model_dump_json()) == ref


def test_endpoint_failure_reason_reaches_failure_text_and_is_classified(env: Env) -> None:
    reason = (
        "The primary container for production variant AllTraffic did not pass the ping health check. "
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    )
    sm = env.stub("sagemaker")
    sm.add_response("describe_endpoint", describe_endpoint("Failed", reason), {"EndpointName": NAMES.endpoint})
    ref = JobRef(kind="endpoint", name=NAMES.endpoint, arn_or_id="x", started_at=NOW, meta={"endpoint": NAMES.endpoint})

    state = env.fleet().check(ref)

    assert state.status == "failed" and state.done and state.failure_stage == "deploy"
    assert state.failure_text is not None and reason in state.failure_text
    verdict = classify(state.failure_text, state.failure_stage)
    assert (verdict.category, verdict.retryable) == ("oom", False)


def test_capacity_error_on_create_endpoint_is_a_failed_state_not_an_exception(env: Env) -> None:
    message = (
        "The account-level service limit 'ml.g5.12xlarge for endpoint usage' is 0 Instances, with current "
        "utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to "
        "request an increase for this quota."
    )
    sm = env.stub("sagemaker")
    s = spec()
    stub_create_model(sm, s)
    sm.add_response("create_endpoint_config", {"EndpointConfigArn": arn("endpoint-config", NAMES.endpoint_config)})
    sm.add_client_error("create_endpoint", "ResourceLimitExceeded", message)
    fleet = env.fleet()

    ref = fleet.start_deploy(s)
    state = fleet.check(ref)  # no AWS call: the start failure is reported as it is

    assert ref.start_failure is not None and "ResourceLimitExceeded" in ref.start_failure
    assert state.status == "failed" and state.failure_text is not None and message in state.failure_text
    verdict = classify(state.failure_text, state.failure_stage)
    assert (verdict.category, verdict.retryable) == ("service_limitation", False)
    # the ref still names what was created, so clean can remove it
    assert ref.meta["model"] == NAMES.model and ref.meta["endpoint_config"] == NAMES.endpoint_config


def test_insufficient_capacity_on_create_is_a_retryable_failed_state(env: Env) -> None:
    sm = env.stub("sagemaker")
    s = spec()
    stub_create_model(sm, s)
    sm.add_client_error(
        "create_endpoint_config",
        "InsufficientCapacityException",
        "We currently do not have sufficient capacity to launch new ml.g5.12xlarge instances.",
    )
    state = env.fleet().check(env.fleet().start_deploy(s))
    assert state.failure_text is not None
    assert classify(state.failure_text, "deploy").category == "capacity"


def test_throttling_on_create_is_retried_then_succeeds(env: Env) -> None:
    sm = env.stub("sagemaker")
    s = spec()
    sm.add_client_error("create_model", "ThrottlingException", "Rate exceeded", http_status_code=400)
    sm.add_client_error("create_model", "ThrottlingException", "Rate exceeded", http_status_code=400)
    stub_create_endpoint(sm, s)

    ref = env.fleet().start_deploy(s)

    assert ref.start_failure is None and ref.arn_or_id == arn("endpoint", NAMES.endpoint)
    assert len(env.sleeps) == 2 and all(0 < d <= 20 for d in env.sleeps)


def test_throttling_that_never_ends_raises_after_a_bounded_number_of_tries(env: Env) -> None:
    sm = env.stub("sagemaker")
    for _ in range(5):
        sm.add_client_error("create_model", "ThrottlingException", "Rate exceeded")
    with pytest.raises(Exception, match="ThrottlingException"):
        env.fleet().start_deploy(spec())
    assert len(env.sleeps) == 4


def test_other_errors_on_create_raise(env: Env) -> None:
    sm = env.stub("sagemaker")
    sm.add_client_error("create_model", "AccessDeniedException", "not authorized to perform iam:PassRole")
    with pytest.raises(Exception, match="AccessDenied"):
        env.fleet().start_deploy(spec())


def test_already_existing_resources_are_adopted(env: Env) -> None:
    sm = env.stub("sagemaker")
    created = NOW - timedelta(minutes=5)
    sm.add_client_error(
        "create_model", "ValidationException", f'Cannot create already existing model "{arn("model", NAMES.model)}".'
    )
    sm.add_response(
        "describe_model",
        {"ModelName": NAMES.model, "CreationTime": created, "ModelArn": arn("model", NAMES.model)},
        {"ModelName": NAMES.model},
    )
    sm.add_client_error(
        "create_endpoint_config",
        "ValidationException",
        f'Cannot create already existing endpoint configuration "{arn("endpoint-config", NAMES.endpoint_config)}".',
    )
    sm.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": NAMES.endpoint_config,
            "EndpointConfigArn": arn("endpoint-config", NAMES.endpoint_config),
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": NAMES.model}],
            "CreationTime": created,
        },
        {"EndpointConfigName": NAMES.endpoint_config},
    )
    sm.add_client_error(
        "create_endpoint",
        "ValidationException",
        f'Cannot create already existing endpoint "{arn("endpoint", NAMES.endpoint)}".',
    )
    existing = describe_endpoint("Creating")
    existing["CreationTime"] = created
    sm.add_response("describe_endpoint", existing, {"EndpointName": NAMES.endpoint})

    ref = env.fleet().start_deploy(spec())

    assert ref.start_failure is None
    assert ref.arn_or_id == arn("endpoint", NAMES.endpoint)
    assert ref.meta["adopted"] == "model,endpoint_config,endpoint"
    assert ref.started_at == created  # the poll interval counts from the real start


def test_clean_half_created_endpoint_then_clean_again(env: Env) -> None:
    sm = env.stub("sagemaker")
    ref = JobRef(
        kind="endpoint",
        name=NAMES.endpoint,
        arn_or_id=NAMES.endpoint,
        started_at=NOW,
        meta={"endpoint": NAMES.endpoint, "endpoint_config": NAMES.endpoint_config, "model": NAMES.model},
        start_failure="CreateEndpoint failed: ResourceLimitExceeded: ...",
    )
    gone = f'Could not find endpoint "{arn("endpoint", NAMES.endpoint)}".'
    sm.add_client_error(
        "delete_endpoint", "ValidationException", gone, expected_params={"EndpointName": NAMES.endpoint}
    )
    sm.add_response("delete_endpoint_config", {}, {"EndpointConfigName": NAMES.endpoint_config})
    sm.add_response("delete_model", {}, {"ModelName": NAMES.model})
    # second clean: everything is gone
    sm.add_client_error("delete_endpoint", "ValidationException", gone)
    sm.add_client_error(
        "delete_endpoint_config",
        "ValidationException",
        f'Could not find endpoint configuration "{arn("endpoint-config", NAMES.endpoint_config)}".',
    )
    sm.add_client_error("delete_model", "ValidationException", f'Could not find model "{arn("model", NAMES.model)}".')
    fleet = env.fleet()

    first = fleet.clean([ref], keep=False)
    second = fleet.clean([ref], keep=False)

    assert first.ok and second.ok
    assert first.already_gone == [f"endpoint/{NAMES.endpoint}"]
    assert first.deleted == [f"endpoint-config/{NAMES.endpoint_config}", f"model/{NAMES.model}"]
    assert second.deleted == [] and len(second.already_gone) == 3


def test_clean_reports_real_errors_and_keep_keeps_everything(env: Env) -> None:
    sm = env.stub("sagemaker")
    ref = JobRef(
        kind="endpoint",
        name=NAMES.endpoint,
        arn_or_id="x",
        started_at=NOW,
        meta={"endpoint": NAMES.endpoint, "endpoint_config": NAMES.endpoint_config, "model": NAMES.model},
    )
    kept = env.fleet().clean([ref], keep=True)  # no AWS call at all
    assert kept.kept == [
        f"endpoint/{NAMES.endpoint}",
        f"endpoint-config/{NAMES.endpoint_config}",
        f"model/{NAMES.model}",
    ]
    assert kept.deleted == [] and kept.ok

    sm.add_client_error(
        "delete_endpoint", "AccessDeniedException", "not authorized to perform sagemaker:DeleteEndpoint"
    )
    sm.add_response("delete_endpoint_config", {})
    sm.add_response("delete_model", {})
    report = env.fleet().clean([ref], keep=False)
    assert not report.ok and "AccessDeniedException" in report.errors[0]
    assert len(report.deleted) == 2  # the rest is still cleaned


def test_async_endpoint_config_has_the_s3_output_path(env: Env) -> None:
    sm = env.stub("sagemaker")
    s = spec(
        target="async-inference",
        async_output_s3="s3://pp-results/async/out/",
        async_failure_s3="s3://pp-results/async/failed/",
    )
    expected_config = {
        "EndpointConfigName": NAMES.endpoint_config,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": NAMES.model,
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 1.0,
            }
        ],
        "Tags": tags_of(s),
        "AsyncInferenceConfig": {
            "OutputConfig": {
                "S3OutputPath": "s3://pp-results/async/out/",
                "S3FailurePath": "s3://pp-results/async/failed/",
            }
        },
    }
    stub_create_endpoint(sm, s, expected_config)
    ref = env.fleet().start_deploy(s)
    assert ref.meta["target"] == "async-inference"

    # invoking an async endpoint stages the body in S3 and returns where the answer will appear
    s3 = env.stub("s3")
    s3.add_response(
        "put_object", {}, {"Bucket": "pp-results", "Key": ANY, "Body": b"{}", "ContentType": "application/json"}
    )
    rt = env.stub("sagemaker-runtime")
    rt.add_response(
        "invoke_endpoint_async",
        {"OutputLocation": "s3://pp-results/async/out/abc.out", "InferenceId": "abc"},
        {"EndpointName": NAMES.endpoint, "InputLocation": ANY, "ContentType": "application/json"},
    )
    result = env.fleet().invoke(ref, b"{}", "application/json")
    assert (result.status_code, result.output_location) == (202, "s3://pp-results/async/out/abc.out")


def test_capacity_reservation_arn_reaches_the_request(env: Env) -> None:
    reservation = "arn:aws:sagemaker:us-east-1:123456789012:training-plan/pp-g5-plan"
    sm = env.stub("sagemaker")
    s = spec(capacity_reservation_arn=reservation, startup_health_check_timeout_s=1800)
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": NAMES.model,
        "InstanceType": "ml.g5.12xlarge",
        "InitialInstanceCount": 1,
        "InitialVariantWeight": 1.0,
        "ContainerStartupHealthCheckTimeoutInSeconds": 1800,
        "CapacityReservationConfig": {
            "CapacityReservationPreference": "capacity-reservations-only",
            "MlReservationArn": reservation,
        },
    }
    stub_create_endpoint(
        sm, s, {"EndpointConfigName": NAMES.endpoint_config, "ProductionVariants": [variant], "Tags": tags_of(s)}
    )
    env.fleet().start_deploy(s)


def test_every_resource_is_tagged_with_the_standard_tags() -> None:
    tags = spec().all_tags
    assert tags[TAG_MANAGED_BY] == "path-prover"
    assert tags[TAG_CONFIG_ID] == CONFIG
    assert tags[TAG_EXECUTION] == EXECUTION
    assert tags[TAG_EXPIRY] == "2026-11-23T18:00:00Z"
    assert tags["team"] == "ml-platform"


def test_names_are_valid_sagemaker_names() -> None:
    for name in NAMES.model_dump().values():
        assert len(name) <= 63 and name.startswith("pp-")
    assert resource_names(EXECUTION, CONFIG, 1) == NAMES  # a retry finds the same resources
    assert resource_names(EXECUTION, CONFIG, 2) != NAMES


# --------------------------------------------------------------------------- invoke


def test_invoke_returns_the_body_and_reports_not_ready_as_503(env: Env) -> None:
    rt = env.stub("sagemaker-runtime")
    ref = JobRef(kind="endpoint", name=NAMES.endpoint, arn_or_id="x", started_at=NOW, meta={"endpoint": NAMES.endpoint})
    payload = b'{"generated_text": "hi"}'
    rt.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(payload), len(payload)), "ContentType": "application/json"},
        {"EndpointName": NAMES.endpoint, "Body": b"{}", "ContentType": "application/json"},
    )
    rt.add_client_error("invoke_endpoint", "ModelNotReadyException", "Model is not ready", http_status_code=429)
    rt.add_client_error(
        "invoke_endpoint",
        "ModelError",
        "Received server error (500) from primary with message ...",
        http_status_code=424,
        modeled_fields={"OriginalStatusCode": 500, "OriginalMessage": "CUDA out of memory"},
    )
    fleet = env.fleet()

    ok = fleet.invoke(ref, b"{}", "application/json")
    not_ready = fleet.invoke(ref, b"{}", "application/json")
    model_error = fleet.invoke(ref, b"{}", "application/json")

    assert ok.ok and ok.body == payload
    assert not_ready.status_code == 503 and not_ready.error is not None and "not ready" in not_ready.error
    assert model_error.status_code == 500 and model_error.body == b"CUDA out of memory"


def test_invoke_connection_error_is_503(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import EndpointConnectionError

    fleet = env.fleet()
    runtime = env.clients.get("sagemaker-runtime")

    def refuse(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com")

    monkeypatch.setattr(runtime, "invoke_endpoint", refuse)
    ref = JobRef(kind="endpoint", name=NAMES.endpoint, arn_or_id="x", started_at=NOW)
    result = fleet.invoke(ref, b"{}", "application/json")
    assert result.status_code == 503 and not result.ok


# --------------------------------------------------------------------------- batch transform and training


def test_batch_transform_path(env: Env) -> None:
    sm = env.stub("sagemaker")
    s = spec(
        target="batch-transform",
        batch_input_s3="s3://pp-results/batch/in/",
        batch_output_s3="s3://pp-results/batch/out/",
        expected_ready_s=1800,
    )
    stub_create_model(sm, s)
    sm.add_response(
        "create_transform_job",
        {"TransformJobArn": arn("transform-job", NAMES.transform_job)},
        {
            "TransformJobName": NAMES.transform_job,
            "ModelName": NAMES.model,
            "BatchStrategy": "SingleRecord",
            "MaxConcurrentTransforms": 1,
            "ModelClientConfig": {"InvocationsTimeoutInSeconds": 3600, "InvocationsMaxRetries": 1},
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://pp-results/batch/in/"}},
                "ContentType": "application/jsonlines",
                "SplitType": "Line",
            },
            "TransformOutput": {"S3OutputPath": "s3://pp-results/batch/out/", "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": "ml.g5.12xlarge", "InstanceCount": 1},
            "Tags": tags_of(s),
        },
    )
    base = {
        "TransformJobName": NAMES.transform_job,
        "TransformJobArn": arn("transform-job", NAMES.transform_job),
        "ModelName": NAMES.model,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}},
        "TransformResources": {"InstanceType": "ml.g5.12xlarge", "InstanceCount": 1},
        "TransformOutput": {"S3OutputPath": "s3://pp-results/batch/out/"},
        "CreationTime": NOW,
    }
    sm.add_response("describe_transform_job", {**base, "TransformJobStatus": "InProgress"})
    times = {"TransformStartTime": NOW + timedelta(minutes=2), "TransformEndTime": NOW + timedelta(minutes=22)}
    sm.add_response("describe_transform_job", {**base, **times, "TransformJobStatus": "Completed"})
    # clean: the job finished (nothing to stop), the model is deleted
    sm.add_response("describe_transform_job", {**base, "TransformJobStatus": "Completed"})
    sm.add_response("delete_model", {}, {"ModelName": NAMES.model})
    fleet = env.fleet()

    ref = fleet.start_deploy(s)
    running = fleet.check(ref)
    done = fleet.check(ref)
    report = fleet.clean([ref], keep=False)

    assert ref.kind == "transform" and "endpoint" not in ref.meta
    assert running.status == "running" and 10 <= running.wait_seconds <= 600
    assert done.status == "succeeded" and done.detail["output_s3"] == "s3://pp-results/batch/out/"
    # the billed time a batch benchmark is priced from: TransformStartTime -> TransformEndTime x instances
    assert (done.detail["started"], done.detail["ended"]) == (
        (NOW + timedelta(minutes=2)).isoformat(),
        (NOW + timedelta(minutes=22)).isoformat(),
    )
    assert done.detail["instance_count"] == 1
    assert report.already_gone == [f"transform-job/{NAMES.transform_job}"]
    assert report.deleted == [f"model/{NAMES.model}"]
    with pytest.raises(ValueError, match="only endpoints"):
        fleet.invoke(ref, b"{}", "application/json")


def training_spec(**overrides: Any) -> TrainingSpec:
    values: dict[str, Any] = {
        "execution_id": EXECUTION,
        "config_id": CONFIG,
        "job_name": NAMES.training_job,
        "training_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pp-sft-lora:1",
        "hyperparameters": {"lora_rank": 8, "max_steps": 50, "base_model": "Qwen/Qwen3-0.6B"},
        "role_arn": ROLE,
        "instance_type": "ml.g5.2xlarge",
        "input_channels": {"train": "s3://pp-results/tune/data/"},
        "output_s3": "s3://pp-results/tune/out/",
        "max_runtime_s": 7200,
        "expiry": NOW + timedelta(hours=6),
    }
    values.update(overrides)
    return TrainingSpec(**values)


def test_training_job_request_timeout_and_clean(env: Env) -> None:
    sm = env.stub("sagemaker")
    t = training_spec()
    sm.add_response(
        "create_training_job",
        {"TrainingJobArn": arn("training-job", NAMES.training_job)},
        {
            "TrainingJobName": NAMES.training_job,
            "AlgorithmSpecification": {"TrainingImage": t.training_image, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "HyperParameters": {"base_model": "Qwen/Qwen3-0.6B", "lora_rank": "8", "max_steps": "50"},
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": "s3://pp-results/tune/data/",
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://pp-results/tune/out/"},
            "ResourceConfig": {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 100},
            "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
            "Environment": {},
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(t.all_tags.items())],
        },
    )
    desc = {
        "TrainingJobName": NAMES.training_job,
        "TrainingJobArn": arn("training-job", NAMES.training_job),
        "ModelArtifacts": {"S3ModelArtifacts": ""},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
        "CreationTime": NOW,
    }
    sm.add_response("describe_training_job", {**desc, "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training"})
    sm.add_response(
        "describe_training_job", {**desc, "TrainingJobStatus": "Stopped", "SecondaryStatus": "MaxRuntimeExceeded"}
    )
    # clean: a job still running is stopped
    sm.add_response("describe_training_job", {**desc, "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training"})
    sm.add_response("stop_training_job", {}, {"TrainingJobName": NAMES.training_job})
    fleet = env.fleet()

    ref = fleet.start_training(t)
    env.clock = NOW + timedelta(minutes=5)
    running = fleet.check(ref)
    stopped = fleet.check(ref)
    report = fleet.clean([ref], keep=False)

    assert ref.kind == "training" and running.status == "running"
    assert running.wait_seconds >= 300  # early in a one-hour job: no need to poll often
    assert stopped.status == "failed" and stopped.failure_stage == "tune"
    assert stopped.failure_text is not None
    assert classify(stopped.failure_text, stopped.failure_stage).category == "timeout"
    assert report.deleted == [f"training-job/{NAMES.training_job}"]


def test_training_quota_error_is_a_failed_state(env: Env) -> None:
    sm = env.stub("sagemaker")
    sm.add_client_error(
        "create_training_job",
        "ResourceLimitExceeded",
        "The account-level service limit 'ml.p5.48xlarge for training job usage' is 0 Instances",
    )
    fleet = env.fleet()
    state = fleet.check(fleet.start_training(training_spec(instance_type="ml.p5.48xlarge")))
    assert state.status == "failed" and state.failure_text is not None
    assert classify(state.failure_text, state.failure_stage).category == "service_limitation"


def test_check_throttled_poll_keeps_waiting(env: Env) -> None:
    sm = env.stub("sagemaker")
    sm.add_client_error("describe_endpoint", "ThrottlingException", "Rate exceeded")
    ref = JobRef(kind="endpoint", name=NAMES.endpoint, arn_or_id="x", started_at=NOW, meta={"expected_s": "600"})
    state = env.fleet().check(ref)
    assert state.status == "running" and state.detail == {"throttled": True}


def test_alive_lists_tagged_billing_resources(env: Env) -> None:
    sm = env.stub("sagemaker")
    ep_arn = arn("endpoint", NAMES.endpoint)
    other = arn("endpoint", "pp-someone-else")
    sm.add_response(
        "list_endpoints",
        {
            "Endpoints": [
                {
                    "EndpointName": NAMES.endpoint,
                    "EndpointArn": ep_arn,
                    "CreationTime": NOW,
                    "LastModifiedTime": NOW,
                    "EndpointStatus": "InService",
                },
                {
                    "EndpointName": "pp-someone-else",
                    "EndpointArn": other,
                    "CreationTime": NOW,
                    "LastModifiedTime": NOW,
                    "EndpointStatus": "InService",
                },
            ]
        },
        {"NameContains": "pp-"},
    )
    sm.add_response("list_transform_jobs", {"TransformJobSummaries": []})
    sm.add_response("list_training_jobs", {"TrainingJobSummaries": []})
    sm.add_response("list_tags", {"Tags": tags_of(spec())}, {"ResourceArn": ep_arn})
    sm.add_response("list_tags", {"Tags": [{"Key": "managed-by", "Value": "someone-else"}]}, {"ResourceArn": other})
    assert env.fleet().alive({TAG_EXECUTION: EXECUTION}) == [ep_arn]


# --------------------------------------------------------------------------- tune and adapter (issue 10)


def test_the_tune_training_job_request_carries_the_entry_point_and_its_source(env: Env) -> None:
    # Given the tune stage's script-mode hyperparameters and channels
    from pathprover.generate.training import script_mode_hyperparameters

    hyper = script_mode_hyperparameters(
        "s3://pp-results/tune/source/sourcedir-0123.tar.gz", "us-east-1", {"model_id": "Qwen/Qwen3-4B", "max_steps": 50}
    )
    t = training_spec(
        hyperparameters=hyper,
        input_channels={"train": "s3://pp-results/tune/data/", "model": "s3://pp-results/models/abc/"},
    )
    request = training_job_request(t)
    # Then CreateTrainingJob names the program and the source as the SageMaker SDK does, with both channels
    assert request["HyperParameters"]["sagemaker_program"] == '"train.py"'
    assert (
        request["HyperParameters"]["sagemaker_submit_directory"]
        == '"s3://pp-results/tune/source/sourcedir-0123.tar.gz"'
    )
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["model", "train"]
    # And botocore accepts it as is (the Stubber validates the request against the API model)
    sm = env.stub("sagemaker")
    sm.add_response("create_training_job", {"TrainingJobArn": arn("training-job", NAMES.training_job)}, request)
    ref = env.fleet().start_training(t)
    assert ref.kind == "training" and ref.start_failure is None


def test_an_adapter_deploy_adds_the_adapter_as_an_additional_model_data_source(env: Env) -> None:
    # Given an adapter endpoint's spec: the training job's model.tar.gz and the name to serve it under
    s = spec(
        adapter_data_uri="s3://pp-results/tune/pp-x-tr/output/pp-x-tr/output/model.tar.gz",
        env={"HF_MODEL_ID": "Qwen/Qwen3-0.6B", "PATHPROVER_ADAPTER_NAME": "pathprover-lora"},
        stage="adapter",
    )
    sm = env.stub("sagemaker")
    container = {
        "Image": s.image_uri,
        "Environment": dict(s.env),
        "AdditionalModelDataSources": [
            {
                "ChannelName": "adapter",
                "S3DataSource": {"S3Uri": s.adapter_data_uri, "S3DataType": "S3Object", "CompressionType": "Gzip"},
            }
        ],
    }
    sm.add_response(
        "create_model",
        {"ModelArn": arn("model", s.names.model)},
        {"ModelName": s.names.model, "PrimaryContainer": container, "ExecutionRoleArn": ROLE, "Tags": tags_of(s)},
    )
    sm.add_response("create_endpoint_config", {"EndpointConfigArn": arn("endpoint-config", s.names.endpoint_config)})
    sm.add_response("create_endpoint", {"EndpointArn": arn("endpoint", s.names.endpoint)})
    # When it is deployed, Then CreateModel carries the adapter channel SageMaker extracts beside the model
    ref = env.fleet().start_deploy(s)
    assert ref.start_failure is None and ref.meta["failure_stage"] == "adapter"


def test_an_adapter_spec_without_a_name_to_serve_it_under_is_refused() -> None:
    with pytest.raises(ValueError, match="PATHPROVER_ADAPTER_NAME"):
        spec(adapter_data_uri="s3://pp-results/a/model.tar.gz")


# --------------------------------------------------------------------------- the janitor's inventory and delete


LIST_ARGS = {"NameContains": "pp-", "MaxResults": 100}


def tag_list(execution: str = "run-1") -> list[dict[str, str]]:
    tags = standard_tags(execution, "cfg", NOW + timedelta(hours=12))
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def endpoint_item(name: str, status: str = "InService") -> dict[str, Any]:
    return {
        "EndpointName": name,
        "EndpointArn": arn("endpoint", name),
        "CreationTime": NOW - timedelta(hours=1),
        "LastModifiedTime": NOW,
        "EndpointStatus": status,
    }


def managed(kind: Any, name: str, status: str | None = None) -> ManagedResource:
    return ManagedResource(kind=kind, name=name, arn=arn(kind, name), tags={}, created_at=NOW, status=status)


# --------------------------------------------------------------------------- SageMakerFleet.inventory


def test_inventory_pages_filters_and_reads_tags(env: Env) -> None:
    sm = env.stub("sagemaker")
    # endpoints: two pages; a Deleting one and a name that only contains pp- are not even tag-read
    sm.add_client_error("list_endpoints", "ThrottlingException", "Rate exceeded", expected_params=LIST_ARGS)
    sm.add_response(
        "list_endpoints",
        {
            "Endpoints": [endpoint_item("pp-a-ep"), endpoint_item("pp-gone-ep", "Deleting"), endpoint_item("app-ep")],
            "NextToken": "page-2",
        },
        LIST_ARGS,
    )
    sm.add_response("list_tags", {"Tags": tag_list()}, {"ResourceArn": arn("endpoint", "pp-a-ep")})
    sm.add_response(
        "list_endpoints",
        {"Endpoints": [endpoint_item("pp-b-ep", "Failed"), endpoint_item("pp-foreign-ep")]},
        {**LIST_ARGS, "NextToken": "page-2"},
    )
    sm.add_response("list_tags", {"Tags": tag_list("run-2")}, {"ResourceArn": arn("endpoint", "pp-b-ep")})
    sm.add_response(
        "list_tags",
        {"Tags": [{"Key": "managed-by", "Value": "someone-else"}]},
        {"ResourceArn": arn("endpoint", "pp-foreign-ep")},
    )
    # in-progress jobs
    sm.add_response(
        "list_training_jobs",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": "pp-a-tr",
                    "TrainingJobArn": arn("training-job", "pp-a-tr"),
                    "CreationTime": NOW,
                    "TrainingJobStatus": "InProgress",
                }
            ]
        },
        {**LIST_ARGS, "StatusEquals": "InProgress"},
    )
    sm.add_response("list_tags", {"Tags": []}, {"ResourceArn": arn("training-job", "pp-a-tr")})  # untagged
    sm.add_response("list_transform_jobs", {"TransformJobSummaries": []}, {**LIST_ARGS, "StatusEquals": "InProgress"})
    # configs and models; a model that vanished between the listing and ListTags is skipped
    sm.add_response(
        "list_endpoint_configs",
        {
            "EndpointConfigs": [
                {
                    "EndpointConfigName": "pp-a-ec",
                    "EndpointConfigArn": arn("endpoint-config", "pp-a-ec"),
                    "CreationTime": NOW,
                }
            ]
        },
        LIST_ARGS,
    )
    sm.add_response("list_tags", {"Tags": tag_list()}, {"ResourceArn": arn("endpoint-config", "pp-a-ec")})
    sm.add_response(
        "list_models",
        {
            "Models": [
                {"ModelName": "pp-a-m", "ModelArn": arn("model", "pp-a-m"), "CreationTime": NOW},
                {"ModelName": "pp-gone-m", "ModelArn": arn("model", "pp-gone-m"), "CreationTime": NOW},
            ]
        },
        LIST_ARGS,
    )
    sm.add_response("list_tags", {"Tags": tag_list()[:2], "NextToken": "t2"}, {"ResourceArn": arn("model", "pp-a-m")})
    sm.add_response("list_tags", {"Tags": tag_list()[2:]}, {"ResourceArn": arn("model", "pp-a-m"), "NextToken": "t2"})
    sm.add_client_error(
        "list_tags",
        "ValidationException",
        f'Could not find model "{arn("model", "pp-gone-m")}".',
        expected_params={"ResourceArn": arn("model", "pp-gone-m")},
    )

    found = env.fleet().inventory()

    assert [r.label for r in found] == [
        "endpoint/pp-a-ep",
        "endpoint/pp-b-ep",
        "endpoint-config/pp-a-ec",
        "model/pp-a-m",
    ]
    first = found[0]
    assert first.arn == arn("endpoint", "pp-a-ep") and first.status == "InService"
    assert first.execution == "run-1" and first.expiry == NOW + timedelta(hours=12)
    assert first.created_at == NOW - timedelta(hours=1)
    assert found[1].status == "Failed" and found[1].execution == "run-2"
    assert found[3].tags == dict((t["Key"], t["Value"]) for t in tag_list())  # both tag pages
    assert len(env.sleeps) == 1  # the throttled page was retried


def test_inventory_reads_at_most_inventory_limit_tags(env: Env) -> None:
    sm = env.stub("sagemaker")
    sm.add_response("list_endpoints", {"Endpoints": [endpoint_item("pp-1-ep"), endpoint_item("pp-2-ep")]}, LIST_ARGS)
    sm.add_response("list_tags", {"Tags": tag_list()}, {"ResourceArn": arn("endpoint", "pp-1-ep")})
    found = env.fleet(inventory_limit=1).inventory()
    assert [r.name for r in found] == ["pp-1-ep"]


def test_inventory_raises_on_a_real_error(env: Env) -> None:
    from botocore.exceptions import ClientError

    sm = env.stub("sagemaker")
    sm.add_client_error("list_endpoints", "AccessDeniedException", "not authorized to perform sagemaker:ListEndpoints")
    with pytest.raises(ClientError):
        env.fleet().inventory()


# --------------------------------------------------------------------------- SageMakerFleet.delete


def test_delete_removes_billing_first_and_reports_gone_and_errors(env: Env) -> None:
    sm = env.stub("sagemaker")
    resources = [
        managed("model", "pp-a-m"),
        managed("endpoint-config", "pp-a-ec"),
        managed("transform-job", "pp-a-bt", "InProgress"),
        managed("training-job", "pp-a-tr", "InProgress"),
        managed("endpoint", "pp-a-ep", "InService"),
        managed("endpoint", "pp-a-ep", "InService"),  # a duplicate is removed once
        managed("endpoint", "pp-dying-ep", "Deleting"),
    ]
    sm.add_client_error("delete_endpoint", "ThrottlingException", "Rate exceeded")
    sm.add_response("delete_endpoint", {}, {"EndpointName": "pp-a-ep"})
    sm.add_response(
        "describe_training_job",
        {
            "TrainingJobName": "pp-a-tr",
            "TrainingJobArn": arn("training-job", "pp-a-tr"),
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "img"},
            "ModelArtifacts": {"S3ModelArtifacts": "s3://b/k"},
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Training",
            "ResourceConfig": {"InstanceCount": 1, "VolumeSizeInGB": 10, "InstanceType": "ml.g5.2xlarge"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "CreationTime": NOW,
        },
        {"TrainingJobName": "pp-a-tr"},
    )
    sm.add_response("stop_training_job", {}, {"TrainingJobName": "pp-a-tr"})
    sm.add_response(
        "describe_transform_job",
        {
            "TransformJobName": "pp-a-bt",
            "TransformJobArn": arn("transform-job", "pp-a-bt"),
            "TransformJobStatus": "Completed",
            "ModelName": "pp-a-m",
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}},
            "TransformResources": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1},
            "CreationTime": NOW,
        },
        {"TransformJobName": "pp-a-bt"},
    )
    sm.add_client_error(
        "delete_endpoint_config",
        "ValidationException",
        f'Could not find endpoint configuration "{arn("endpoint-config", "pp-a-ec")}".',
        expected_params={"EndpointConfigName": "pp-a-ec"},
    )
    sm.add_client_error(
        "delete_model",
        "AccessDeniedException",
        "not authorized to perform sagemaker:DeleteModel",
        expected_params={"ModelName": "pp-a-m"},
    )

    report = env.fleet().delete(resources)

    assert report.deleted == ["endpoint/pp-a-ep", "training-job/pp-a-tr"]
    assert report.already_gone == [
        "endpoint/pp-dying-ep",
        "transform-job/pp-a-bt",  # finished: nothing to stop
        "endpoint-config/pp-a-ec",
    ]
    assert len(report.errors) == 1 and report.errors[0].startswith("model/pp-a-m: AccessDeniedException")
    assert len(env.sleeps) == 1
