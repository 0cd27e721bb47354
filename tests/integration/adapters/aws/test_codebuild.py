"""CodeBuildBuilder against a real boto3 client whose responses come from botocore's Stubber (moto cannot make
CodeBuild fail); Stubber validates each request against the service model.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pathprover.adapters.aws.codebuild import CodeBuildBuilder, idempotency_token
from pathprover.classifier import classify
from pathprover.stages.jobs import JobRef
from pathprover.stages.specs import BuildJob
from tests.support.aws_stubs import CONFIG, EXECUTION, NOW, Env
from tests.support.aws_stubs import stubbed_client as _clients

# --------------------------------------------------------------------------- CodeBuild


def build_job(**overrides: Any) -> BuildJob:
    values: dict[str, Any] = {
        "project_name": "path-prover-build",
        "kind": "build",
        "source_s3_uri": "s3://pp-bundles/run-42/bundle.zip",
        "source_digest": "b" * 64,
        "env": {"IMAGE_REPO": "pp-serving"},
        "secrets": {"HF_TOKEN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pp/hf-token"},
        "timeout_minutes": 60,
        "execution_id": EXECUTION,
        "config_id": CONFIG,
    }
    values.update(overrides)
    return BuildJob(**values)


def build(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": "path-prover-build:1234", "arn": "arn:aws:codebuild:...", "buildStatus": status, **extra}


def test_a_build_carries_the_deployments_stack(env: Env) -> None:
    cb = env.stub("codebuild")
    job = build_job(secrets={})
    expected = {
        "projectName": "path-prover-build",
        "sourceTypeOverride": "S3",
        "sourceLocationOverride": "pp-bundles/run-42/bundle.zip",
        "environmentVariablesOverride": [
            {"name": "IMAGE_REPO", "value": "pp-serving", "type": "PLAINTEXT"},
            {"name": "PP_ATTEMPT", "value": "1", "type": "PLAINTEXT"},
            {"name": "PP_CONFIG_ID", "value": CONFIG, "type": "PLAINTEXT"},
            {"name": "PP_EXECUTION_ID", "value": EXECUTION, "type": "PLAINTEXT"},
            {"name": "PP_JOB_KIND", "value": "build", "type": "PLAINTEXT"},
            {"name": "PP_SOURCE_DIGEST", "value": "b" * 64, "type": "PLAINTEXT"},
            {"name": "PP_STACK", "value": "MlccCiHarnessStack-blue", "type": "PLAINTEXT"},
        ],
        "timeoutInMinutesOverride": 60,
        "idempotencyToken": idempotency_token(EXECUTION, CONFIG, 1, "build"),
    }
    cb.add_response("start_build", {"build": build("IN_PROGRESS", startTime=NOW)}, expected)
    builder = CodeBuildBuilder(env.clients, now=env.now, sleep=env.sleep, stack="MlccCiHarnessStack-blue")
    builder.start(job)
    cb.assert_no_pending_responses()


def test_codebuild_start_request_and_success_exports_image_digest(env: Env) -> None:
    cb = env.stub("codebuild")
    job = build_job()
    cb.add_response(
        "start_build",
        {"build": build("IN_PROGRESS", startTime=NOW)},
        {
            "projectName": "path-prover-build",
            "sourceTypeOverride": "S3",
            "sourceLocationOverride": "pp-bundles/run-42/bundle.zip",
            "environmentVariablesOverride": [
                {"name": "IMAGE_REPO", "value": "pp-serving", "type": "PLAINTEXT"},
                {"name": "PP_ATTEMPT", "value": "1", "type": "PLAINTEXT"},
                {"name": "PP_CONFIG_ID", "value": CONFIG, "type": "PLAINTEXT"},
                {"name": "PP_EXECUTION_ID", "value": EXECUTION, "type": "PLAINTEXT"},
                {"name": "PP_JOB_KIND", "value": "build", "type": "PLAINTEXT"},
                {"name": "PP_SOURCE_DIGEST", "value": "b" * 64, "type": "PLAINTEXT"},
                {
                    "name": "HF_TOKEN",
                    "value": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pp/hf-token",
                    "type": "SECRETS_MANAGER",
                },
            ],
            "timeoutInMinutesOverride": 60,
            "idempotencyToken": idempotency_token(EXECUTION, CONFIG, 1, "build"),
        },
    )
    cb.add_response("batch_get_builds", {"builds": [build("IN_PROGRESS", currentPhase="BUILD")]})
    digest = "sha256:" + "c" * 64
    cb.add_response(
        "batch_get_builds",
        {
            "builds": [
                build(
                    "SUCCEEDED",
                    currentPhase="COMPLETED",
                    exportedEnvironmentVariables=[{"name": "IMAGE_DIGEST", "value": digest}],
                    logs={"deepLink": "https://console.aws.amazon.com/cloudwatch/..."},
                )
            ]
        },
        {"ids": ["path-prover-build:1234"]},
    )
    builder = env.builder()

    ref = builder.start(job)
    env.clock = NOW + timedelta(minutes=2)
    running = builder.check(ref)
    done = builder.check(ref)

    assert ref.arn_or_id == "path-prover-build:1234" and ref.kind == "build"
    assert running.status == "running" and running.wait_seconds > 60
    assert done.status == "succeeded" and done.detail["image_digest"] == digest
    assert done.detail["logs_url"].startswith("https://")


def test_codebuild_failure_text_carries_the_phase_context(env: Env) -> None:
    cb = env.stub("codebuild")
    context = "Error while executing command: python3 render.py --engine vllm. Reason: exit status 2"
    cb.add_response(
        "batch_get_builds",
        {
            "builds": [
                build(
                    "FAILED",
                    currentPhase="COMPLETED",
                    phases=[
                        {"phaseType": "INSTALL", "phaseStatus": "SUCCEEDED"},
                        {
                            "phaseType": "BUILD",
                            "phaseStatus": "FAILED",
                            "contexts": [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": context}],
                        },
                        {"phaseType": "COMPLETED"},
                    ],
                )
            ]
        },
    )
    ref = JobRef(kind="build", name="path-prover-build", arn_or_id="path-prover-build:1234", started_at=NOW)

    state = env.builder().check(ref)

    assert state.status == "failed" and state.failure_stage == "build"
    assert state.failure_text is not None and context in state.failure_text
    assert "BUILD FAILED" in state.failure_text and "COMMAND_EXECUTION_ERROR" in state.failure_text
    verdict = classify(state.failure_text, state.failure_stage)
    assert verdict.category == "code_bug" and verdict.failure_scope == "config"


def test_codebuild_timeout_and_benchmark_stage(env: Env) -> None:
    cb = env.stub("codebuild")
    cb.add_response(
        "batch_get_builds",
        {
            "builds": [
                build(
                    "TIMED_OUT",
                    timeoutInMinutes=60,
                    phases=[{"phaseType": "BUILD", "phaseStatus": "TIMED_OUT", "contexts": [{"message": ""}]}],
                )
            ]
        },
    )
    ref = JobRef(kind="benchmark", name="pp-bench", arn_or_id="pp-bench:1", started_at=NOW)
    state = env.builder().check(ref)
    assert state.failure_stage == "benchmark" and state.failure_text is not None
    assert classify(state.failure_text, state.failure_stage).category == "timeout"


def test_codebuild_stop_ignores_a_finished_build(env: Env) -> None:
    cb = env.stub("codebuild")
    cb.add_client_error("stop_build", "InvalidInputException", "Build is not in progress")
    env.builder().stop(JobRef(kind="build", name="p", arn_or_id="p:1", started_at=NOW))


def test_build_job_refuses_tarballs_and_plaintext_secrets() -> None:
    with pytest.raises(ValueError, match="zip"):
        build_job(source_s3_uri="s3://pp-bundles/run-42/bundle.tar.gz")
    with pytest.raises(ValueError, match="secrets"):
        build_job(env={"HF_TOKEN": "hf_abc"}, secrets={})


# --------------------------------------------------------------------------- day one

RUNNER = "123456789012.dkr.ecr.us-east-1.amazonaws.com/pathprover-benchmark:runner-0123456789ab"


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
