"""Where proves are built and run: artifact bucket, ECR, the CodeBuild projects, the SageMaker role.

- `pathprover-build` (privileged: Docker) builds and pushes the serving image from a bundle's
  `buildspec/build.yml`, its parent pulled through the ECR pull-through cache (image_cache.py);
  `pathprover-stage` pre-stages weights from the Hugging Face hub with
  `buildspec/stage.yml` (token from Secrets Manager); `pathprover-benchmark` runs
  `pathprover benchmark-job` (the bundle's `buildspec.yml`) in the benchmark runner image, which
  `pathprover-runner-image` builds at deploy (runner_image.py) under the one tag both use.
  The lifecycle starts each build with an S3 source override (a bundle zip under
  `pathprover/bundles/`) and environment overrides; nothing here waits on a build.
- The SageMaker execution role may only be passed to SageMaker (`iam:PassedToService`).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants as C
from infra.config import names_of
from infra.constructs.benchmark_data import secure_bucket
from infra.constructs.image_cache import BaseImageCache
from infra.constructs.runner_image import RunnerImage
from infra.iam import acknowledge, allow, allow_unscoped, least_privilege_role, sagemaker_arns, service_principal

ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
ECR_PUSH = (
    *ECR_PULL,
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)


def artifact_objects(bucket: s3.IBucket, area: str) -> str:
    """ARN of the objects under one artifact area: `<bucket>/pathprover/<area>/*`."""
    if area not in C.ARTIFACT_AREAS:
        raise ValueError(f"unknown artifact area {area!r}")
    return bucket.arn_for_objects(f"{C.ARTIFACT_PREFIX}/{area}/*")


def list_areas(bucket: s3.IBucket, *areas: str) -> iam.PolicyStatement:
    """s3:ListBucket on the bucket, only for keys under the given artifact areas."""
    return allow(
        ["s3:ListBucket"],
        [bucket.bucket_arn],
        {"StringLike": {"s3:prefix": [f"{C.ARTIFACT_PREFIX}/{a}/*" for a in areas]}},
    )


class BuildFarm(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        access_logs: s3.IBucket,
        hf_token_secret: str,
        benchmark_image_tag: str | None = None,
        docker_hub_credential: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.hf_token_secret_name = hf_token_secret
        self.artifacts = self._build_artifact_bucket(access_logs)
        self.repository = self._build_repository("Repository", names_of(self).scoped(C.IMAGE_REPOSITORY))
        self.benchmark_repository = self._build_repository(
            "BenchmarkRepository", names_of(self).scoped(C.BENCHMARK_REPOSITORY)
        )
        self.image_cache = BaseImageCache(
            self,
            "BaseImageCache",
            docker_hub_credential=docker_hub_credential,
            owner=names_of(self).deployment is None,
        )
        self.runner = RunnerImage(
            self,
            "RunnerImage",
            repository=self.benchmark_repository,
            key=key,
            cache=self.image_cache,
            tag=benchmark_image_tag,
        )
        self.hf_token_secret_arn = self._hf_token_secret_arn()
        self.sagemaker_role = self._build_sagemaker_role()
        self.build_project = self._build_build_project()
        self.stage_project = self._build_stage_project()
        self.benchmark_project = self._build_benchmark_project(self.runner.tag)

    @property
    def projects(self) -> list[codebuild.Project]:
        return [self.build_project, self.stage_project, self.benchmark_project]

    # ------------------------------------------------------------------ storage
    def _build_artifact_bucket(self, access_logs: s3.IBucket) -> s3.Bucket:
        def expire(area: str, days: int) -> s3.LifecycleRule:
            return s3.LifecycleRule(
                id=f"expire-{area}", prefix=f"{C.ARTIFACT_PREFIX}/{area}/", expiration=Duration.days(days)
            )

        return secure_bucket(
            self,
            "ArtifactBucket",
            access_logs=access_logs,
            access_logs_prefix="artifact-bucket/",
            lifecycle_rules=[
                expire("bundles", 30),
                expire("io", 14),
                expire("tune", 30),
                expire("models", 90),
                expire("runs", 30),
                s3.LifecycleRule(id="abort-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
        )

    def _build_repository(self, construct_id: str, name: str) -> ecr.Repository:
        return ecr.Repository(
            self,
            construct_id,
            repository_name=name,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.AES_256,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    rule_priority=1,
                    description="untagged layers of interrupted pushes",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=Duration.days(7),
                ),
                ecr.LifecycleRule(
                    rule_priority=2,
                    description="keep the newest 500 images",
                    tag_status=ecr.TagStatus.ANY,
                    max_image_count=500,
                ),
            ],
            # Kept when the stack is deleted or replaces it, but deleted when a failed first create
            # rolls back, so the retry does not fail on "already exists".
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )

    def _hf_token_secret_arn(self) -> str:
        """The Hugging Face token secret, referenced by name (created outside the stack, never with a value here)."""
        return Stack.of(self).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{self.hf_token_secret_name}-??????",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    # ------------------------------------------------------------------ SageMaker
    def _build_sagemaker_role(self) -> iam.Role:
        stack = Stack.of(self)
        # The AWS Deep Learning Containers registry's repository (its own account, this region).
        training_repository = stack.format_arn(
            service="ecr",
            resource="repository",
            resource_name=C.TRAINING_IMAGE_REPOSITORY,
            account=C.TRAINING_IMAGE_ACCOUNT,
        )
        sagemaker_logs = [
            stack.format_arn(
                service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
            )
            for name in (
                f"/aws/sagemaker/Endpoints/{C.SAGEMAKER_NAME_PREFIX}*",
                f"/aws/sagemaker/Endpoints/{C.SAGEMAKER_NAME_PREFIX}*:log-stream:*",
                "/aws/sagemaker/TrainingJobs",
                f"/aws/sagemaker/TrainingJobs:log-stream:{C.SAGEMAKER_NAME_PREFIX}*",
                "/aws/sagemaker/TransformJobs",
                f"/aws/sagemaker/TransformJobs:log-stream:{C.SAGEMAKER_NAME_PREFIX}*",
            )
        ]
        bucket = self.artifacts
        role, _ = least_privilege_role(
            self,
            "SageMakerRole",
            assumed_by=service_principal("sagemaker.amazonaws.com", self),
            description="Path Prover: what SageMaker endpoints, transform and training jobs of a prove may do",
            statements=[
                allow_unscoped(["ecr:GetAuthorizationToken"]),
                allow(ECR_PULL, [self.repository.repository_arn, training_repository]),
                allow(
                    ["s3:GetObject"],
                    [artifact_objects(bucket, a) for a in ("models", "io", "tune")],
                ),
                list_areas(bucket, "models", "io", "tune"),
                allow(["s3:PutObject"], [artifact_objects(bucket, a) for a in ("io", "tune")]),
                allow(
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    sagemaker_logs,
                ),
                allow_unscoped(
                    ["cloudwatch:PutMetricData"], {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}
                ),
            ],
        )
        return role

    def pass_role_statement(self) -> iam.PolicyStatement:
        """iam:PassRole on the SageMaker role, to SageMaker only."""
        return allow(
            ["iam:PassRole"],
            [self.sagemaker_role.role_arn],
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )

    # ------------------------------------------------------------------ CodeBuild
    def _project_role(
        self, construct_id: str, purpose: str, log_group: logs.ILogGroup
    ) -> tuple[iam.Role, iam.PolicyDocument]:
        bucket = self.artifacts
        return least_privilege_role(
            self,
            construct_id,
            assumed_by=service_principal("codebuild.amazonaws.com", self),
            description=f"Path Prover CodeBuild: {purpose}",
            statements=[
                allow(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group.log_group_arn]),
                allow(["s3:GetObject", "s3:GetObjectVersion"], [artifact_objects(bucket, "bundles")]),
                allow(["s3:GetBucketAcl", "s3:GetBucketLocation"], [bucket.bucket_arn]),
                allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], [self._key.key_arn]),
            ],
        )

    def _log_group(self, construct_id: str, project_name: str) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            construct_id,
            log_group_name=f"/aws/codebuild/{project_name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _project(
        self,
        construct_id: str,
        *,
        name: str,
        description: str,
        role: iam.IRole,
        log_group: logs.ILogGroup,
        build_image: codebuild.IBuildImage,
        compute: codebuild.ComputeType,
        buildspec: str,
        timeout_minutes: int,
        privileged: bool = False,
        environment: dict[str, str] | None = None,
    ) -> codebuild.Project:
        return codebuild.Project(
            self,
            construct_id,
            project_name=name,
            description=description,
            role=role,
            source=codebuild.Source.s3(bucket=self.artifacts, path=f"{C.ARTIFACT_PREFIX}/bundles/"),
            build_spec=codebuild.BuildSpec.from_source_filename(buildspec),
            environment=codebuild.BuildEnvironment(
                build_image=build_image,
                compute_type=compute,
                privileged=privileged,
                environment_variables={
                    k: codebuild.BuildEnvironmentVariable(value=v) for k, v in (environment or {}).items()
                },
            ),
            encryption_key=self._key,
            timeout=Duration.minutes(timeout_minutes),
            queued_timeout=Duration.hours(8),
            logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)),
        )

    def _build_build_project(self) -> codebuild.Project:
        log_group = self._log_group("BuildLogs", names_of(self).scoped(C.BUILD_PROJECT))
        role, document = self._project_role("BuildRole", "build and push serving images", log_group)
        document.add_statements(
            allow_unscoped(["ecr:GetAuthorizationToken"]),
            allow(ECR_PUSH, [self.repository.repository_arn, self.benchmark_repository.repository_arn]),
            allow(["s3:GetObject"], [artifact_objects(self.artifacts, "wheels")]),
            self.image_cache.pull_statement(),
            self.image_cache.mirror_statement(),
        )
        project = self._project(
            "BuildProject",
            name=names_of(self).scoped(C.BUILD_PROJECT),
            description="Path Prover: docker build + push of a bundle's serving image (buildspec/build.yml)",
            role=role.without_policy_updates(),
            log_group=log_group,
            build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
            compute=codebuild.ComputeType.LARGE,
            buildspec=C.BUILD_BUILDSPEC,
            timeout_minutes=C.BUILD_TIMEOUT_MINUTES,
            privileged=True,
            environment={
                "IMAGE_REPO_URI": self.repository.repository_uri,
                "BENCHMARK_REPO_URI": self.benchmark_repository.repository_uri,
            },
        )
        acknowledge(
            project,
            "AwsSolutions-CB3",
            "Privileged mode is what lets CodeBuild run the Docker daemon that builds and pushes the serving "
            "image; the project only runs bundles the lifecycle rendered and uploaded itself.",
        )
        return project

    def _build_stage_project(self) -> codebuild.Project:
        log_group = self._log_group("StageLogs", names_of(self).scoped(C.STAGE_PROJECT))
        role, document = self._project_role("StageRole", "pre-stage model weights to S3", log_group)
        models = artifact_objects(self.artifacts, "models")
        document.add_statements(
            allow(["secretsmanager:GetSecretValue"], [self.hf_token_secret_arn]),
            allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], [models]),
            list_areas(self.artifacts, "models"),
        )
        return self._project(
            "StageProject",
            name=names_of(self).scoped(C.STAGE_PROJECT),
            description="Path Prover: pre-stage weights from the Hugging Face hub to S3 (buildspec/stage.yml)",
            role=role.without_policy_updates(),
            log_group=log_group,
            build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
            compute=codebuild.ComputeType.LARGE,
            buildspec=C.STAGE_BUILDSPEC,
            timeout_minutes=C.STAGE_TIMEOUT_MINUTES,
        )

    def _build_benchmark_project(self, image_tag: str) -> codebuild.Project:
        log_group = self._log_group("BenchmarkLogs", names_of(self).scoped(C.BENCHMARK_PROJECT))
        role, document = self._project_role("BenchmarkRole", "benchmark an endpoint under test", log_group)
        document.add_statements(
            allow_unscoped(["ecr:GetAuthorizationToken"]),
            allow(ECR_PULL, [self.benchmark_repository.repository_arn]),
            allow(
                [
                    "sagemaker:InvokeEndpoint",
                    "sagemaker:InvokeEndpointWithResponseStream",
                    "sagemaker:InvokeEndpointAsync",
                ],
                sagemaker_arns(self, "endpoint"),
            ),
            allow(["s3:GetObject", "s3:PutObject"], [artifact_objects(self.artifacts, "benchmarks")]),
            # async inference: uploads each request under io/ and polls its output (or failure) object there;
            # batch transform: reads the benchmark job's input and output there. ListBucket makes a missing
            # output a 404 (not yet) rather than a 403.
            allow(["s3:GetObject", "s3:PutObject"], [artifact_objects(self.artifacts, "io")]),
            list_areas(self.artifacts, "io"),
        )
        project = self._project(
            "BenchmarkProject",
            name=names_of(self).scoped(C.BENCHMARK_PROJECT),
            description="Path Prover: `pathprover benchmark-job` against the endpoint under test",
            role=role.without_policy_updates(),
            log_group=log_group,
            build_image=codebuild.LinuxBuildImage.from_ecr_repository(self.benchmark_repository, image_tag),
            compute=codebuild.ComputeType.MEDIUM,
            buildspec=C.BENCHMARK_BUILDSPEC,
            timeout_minutes=C.BENCHMARK_TIMEOUT_MINUTES,
            environment={
                "PATHPROVER_RUNTIME": "aws",
                "PATHPROVER_ARTIFACT_BUCKET": self.artifacts.bucket_name,
            },
        )
        acknowledge(
            project,
            "AwsSolutions-CB5",
            "The benchmark runs in the project's own runner image (python + the pathprover wheel, built at "
            "deploy by the pathprover-runner-image project into the pathprover-benchmark ECR repository, "
            "scanned on push); no CodeBuild managed image carries the load generator.",
        )
        return project
