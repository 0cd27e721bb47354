"""The benchmark runner image exists before the first benchmark: built at deploy, with one tag scheme.

- The build source is a deterministic zip made at synthesis (infra/runner_source.py: the rendered
  benchmark Dockerfile and the pathprover wheel), shipped as a CDK file asset. Its sha256 names the tag:
  `pathprover-benchmark:runner-<sha12>`. The benchmark project runs in exactly that image, and the
  Lambdas get the same URI (PATHPROVER_RUNNER_IMAGE_URI).
- CodeBuild `pathprover-runner-image` builds and pushes it (skipping the build when the tag is there: tags
  are immutable). Its parent comes through the ECR Public pull-through cache when it can.
- A custom resource starts that build on every create and on every update that changes the tag, so the
  image is being built as soon as the stack is deployed (a few minutes; the deploy does not wait).
- The workflow checks the image before the first benchmark of a run (ecr:DescribeImages) and, if the
  deploy-time build failed or is still missing, starts the same project itself
  (PATHPROVER_RUNNER_IMAGE_PROJECT, PATHPROVER_RUNNER_SOURCE_S3_URI) and polls it, before anything bills.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra import constants as C
from infra.config import names_of
from infra.constructs.image_cache import BaseImageCache
from infra.iam import acknowledge, allow, allow_unscoped, least_privilege_role, service_principal
from infra.runner_source import build_runner_source

ECR_PUSH_RUNNER = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)

BUILD_SCRIPT = r"""set -euo pipefail
# IMAGE_URI (<registry>/<repository>:<tag>) is the project's, or the override the workflow starts it with.
registry="${IMAGE_URI%%/*}"
name="${IMAGE_URI#*/}"
repository="${name%:*}"
tag="${name##*:}"
region="$(cut -d. -f4 <<<"$registry")"
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
if aws ecr describe-images --region "$region" --repository-name "$repository" \
    --image-ids "imageTag=${tag}" >/dev/null 2>&1; then
  echo "runner: ${IMAGE_URI} is already in ECR; nothing to build"
else
  if [[ -n ${BASE_IMAGE_PULL:-} ]]; then
    # The Dockerfile names the upstream parent; fetch it through this account's pull-through cache and
    # tag it with that name, so the build below uses it without an anonymous pull.
    if docker pull "$BASE_IMAGE_PULL"; then
      docker tag "$BASE_IMAGE_PULL" "$BASE_IMAGE"
    else
      echo "runner: warning: ${BASE_IMAGE_PULL} could not be pulled through the cache; using ${BASE_IMAGE}" >&2
    fi
  fi
  docker build --tag "$IMAGE_URI" .
  docker push "$IMAGE_URI"
  echo "runner: pushed ${IMAGE_URI}"
fi
set +euo pipefail
"""


def build_spec() -> dict[str, Any]:
    return {
        "version": "0.2",
        "env": {"shell": "bash"},
        "phases": {"build": {"commands": [BUILD_SCRIPT]}},
    }


class RunnerImage(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository: ecr.IRepository,
        key: kms.IKey,
        cache: BaseImageCache,
        tag: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        from pathprover.generate.render import BENCHMARK_BASE_IMAGE

        source = build_runner_source()
        self.source_sha256 = source.sha256
        self.tag = tag or source.tag
        self.asset = s3_assets.Asset(self, "Source", path=str(source.path))
        self.source_s3_uri = self.asset.s3_object_url
        self.image_uri = f"{repository.repository_uri}:{self.tag}"
        self.project = self._build_project(repository, key, cache, BENCHMARK_BASE_IMAGE)
        self.trigger = self._build_trigger(cache)

    # ------------------------------------------------------------------ the build
    def _build_project(
        self, repository: ecr.IRepository, key: kms.IKey, cache: BaseImageCache, base_image: str
    ) -> codebuild.Project:
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/codebuild/{names_of(self).scoped(C.RUNNER_IMAGE_PROJECT)}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        bucket = self.asset.bucket
        role, _ = least_privilege_role(
            self,
            "Role",
            assumed_by=service_principal("codebuild.amazonaws.com", self),
            description="Path Prover CodeBuild: build and push the benchmark runner image",
            statements=[
                allow(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group.log_group_arn]),
                # The build source: this one asset object (a start-build override names the same object).
                allow(["s3:GetObject", "s3:GetObjectVersion"], [bucket.arn_for_objects(self.asset.s3_object_key)]),
                allow(["s3:GetBucketAcl", "s3:GetBucketLocation"], [bucket.bucket_arn]),
                allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], [key.key_arn]),
                allow_unscoped(["ecr:GetAuthorizationToken"]),
                allow(ECR_PUSH_RUNNER, [repository.repository_arn]),
                cache.pull_statement(),
            ],
        )
        pulled = cache.pull_reference(base_image)
        project = codebuild.Project(
            self,
            "Project",
            project_name=names_of(self).scoped(C.RUNNER_IMAGE_PROJECT),
            description="Path Prover: docker build + push of the benchmark runner image (python + pathprover wheel)",
            role=role.without_policy_updates(),
            source=codebuild.Source.s3(bucket=bucket, path=self.asset.s3_object_key),
            build_spec=codebuild.BuildSpec.from_object(build_spec()),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.SMALL,
                privileged=True,
                environment_variables={
                    "IMAGE_URI": codebuild.BuildEnvironmentVariable(value=self.image_uri),
                    "BASE_IMAGE": codebuild.BuildEnvironmentVariable(value=base_image),
                    "BASE_IMAGE_PULL": codebuild.BuildEnvironmentVariable(value=pulled or ""),
                },
            ),
            encryption_key=key,
            timeout=Duration.minutes(C.RUNNER_BUILD_TIMEOUT_MINUTES),
            queued_timeout=Duration.hours(8),
            logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)),
        )
        for rule in cache.rules.values():
            project.node.add_dependency(rule)
        acknowledge(
            project,
            "AwsSolutions-CB3",
            "Privileged mode is what lets CodeBuild run the Docker daemon that builds and pushes the benchmark "
            "runner image; the project only builds the source zip this stack ships (Dockerfile + wheel).",
        )
        return project

    # ------------------------------------------------------------------ started at deploy
    def _build_trigger(self, cache: BaseImageCache) -> cr.AwsCustomResource:
        log_group = logs.LogGroup(
            self,
            "TriggerLogs",
            log_group_name=f"/aws/lambda/{names_of(self).scoped(C.RUNNER_TRIGGER_FUNCTION)}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        role, _ = least_privilege_role(
            self,
            "TriggerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Path Prover: start the benchmark runner image build at deploy, nothing else",
            statements=[
                allow(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group.log_group_arn]),
                allow(["codebuild:StartBuild"], [self.project.project_arn]),
            ],
        )
        start = cr.AwsSdkCall(
            service="CodeBuild",
            action="startBuild",
            parameters={
                "projectName": self.project.project_name,
                "environmentVariablesOverride": [{"name": "IMAGE_URI", "value": self.image_uri, "type": "PLAINTEXT"}],
            },
            # A new tag (new source) is a new resource: CloudFormation calls onUpdate, which builds it.
            physical_resource_id=cr.PhysicalResourceId.of(self.tag),
            output_paths=["build.id"],
        )
        trigger = cr.AwsCustomResource(
            self,
            "BuildAtDeploy",
            resource_type="Custom::PathProverRunnerImageBuild",
            function_name=names_of(self).scoped(C.RUNNER_TRIGGER_FUNCTION),
            on_create=start,
            on_update=start,
            role=role.without_policy_updates(),
            log_group=log_group,
            install_latest_aws_sdk=False,
            timeout=Duration.minutes(2),
        )
        trigger.node.add_dependency(self.project)
        for rule in cache.rules.values():
            trigger.node.add_dependency(rule)
        return trigger

    # ------------------------------------------------------------------ what the Lambdas get
    def environment(self) -> dict[str, str]:
        return {
            "PATHPROVER_RUNNER_IMAGE_PROJECT": names_of(self).scoped(C.RUNNER_IMAGE_PROJECT),
            "PATHPROVER_RUNNER_IMAGE_URI": self.image_uri,
            "PATHPROVER_RUNNER_SOURCE_S3_URI": self.source_s3_uri,
        }

    def ensure_statements(self, repository: ecr.IRepository) -> list[iam.PolicyStatement]:
        """What a prove needs to make sure the image exists before its first benchmark."""
        return [
            allow(["codebuild:BatchGetBuilds", "codebuild:StartBuild"], [self.project.project_arn]),
            allow(["ecr:DescribeImages"], [repository.repository_arn]),
        ]
