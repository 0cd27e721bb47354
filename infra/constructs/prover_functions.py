"""The Lambda functions of the workflow: the brain and every stage handler, one least-privilege role each.

What each handler may do follows what it calls (pathprover.workflow.tasks -> stages.lifecycle ->
adapters.aws): e.g. `check` polls CodeBuild and SageMaker and reads benchmark metrics; it cannot
create, delete or write results. All functions share one code asset (the package, its data and the
wheels the runtime lacks) and the AWS SDK for pandas layer (numpy for the brain, awswrangler and
pandas for the writers), Python 3.12 on x86_64, X-Ray tracing and a log group with retention.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aws_cdk import Aws, CfnMapping, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants as C
from infra.config import names_of
from infra.constructs.benchmark_data import BenchmarkData
from infra.constructs.build_farm import BuildFarm, artifact_objects, list_areas
from infra.iam import (
    acknowledge,
    allow,
    allow_unscoped,
    least_privilege_role,
    sagemaker_arns,
    sagemaker_removal_statements,
    xray_statement,
)

PANDAS_LAYER_MAPPING = "AwsSdkPandasLayerByRegion"


@dataclass(frozen=True)
class Access:
    """What a handler reads and writes in the artifact bucket (areas under pathprover/)."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()


def shared_environment(data: BenchmarkData, ledger: dynamodb.ITable, farm: BuildFarm) -> dict[str, str]:
    """Every PATHPROVER_* variable pathprover.settings.Settings reads on AWS, plus Powertools'."""
    stack = Stack.of(farm)
    names = names_of(farm)
    training_image = f"{C.TRAINING_IMAGE_ACCOUNT}.dkr.ecr.{stack.region}.{stack.url_suffix}/{C.TRAINING_IMAGE_PATH}"
    return {
        "PATHPROVER_RUNTIME": "aws",
        # The runtime writes rows to s3://<this>/<database>/<table>/: the table's bucket (an existing table's, or ours).
        "PATHPROVER_RESULTS_BUCKET": data.table_bucket_name,
        # Where the table's files are (for a runtime that writes to the table's own location).
        "PATHPROVER_TABLE_LOCATION": data.table_location,
        "PATHPROVER_ATHENA_WORKGROUP": names.scoped(C.ATHENA_WORKGROUP),
        "PATHPROVER_GLUE_DATABASE": C.GLUE_DATABASE,
        "PATHPROVER_GLUE_TABLE": C.GLUE_TABLE,
        "PATHPROVER_GLUE_LEVELS_TABLE": C.GLUE_LEVELS_TABLE,
        "PATHPROVER_LEVELS_LOCATION": data.levels_location,
        "PATHPROVER_ARTIFACT_BUCKET": farm.artifacts.bucket_name,
        "PATHPROVER_IMAGE_REPOSITORY_URI": farm.repository.repository_uri,
        "PATHPROVER_SAGEMAKER_ROLE_ARN": farm.sagemaker_role.role_arn,
        "PATHPROVER_BUILD_PROJECT": names.scoped(C.BUILD_PROJECT),
        "PATHPROVER_STAGE_PROJECT": names.scoped(C.STAGE_PROJECT),
        "PATHPROVER_BENCHMARK_PROJECT": names.scoped(C.BENCHMARK_PROJECT),
        # The pathprover:stack tag of every SageMaker resource; the janitor deletes only this stack's.
        "PATHPROVER_STACK": stack.stack_name,
        "PATHPROVER_LEDGER_TABLE": ledger.table_name,
        "PATHPROVER_HF_TOKEN_SECRET": farm.hf_token_secret_name,
        "PATHPROVER_TRAINING_IMAGE": training_image,
        **farm.runner.environment(),
        "PATHPROVER_BASE_IMAGE_REGISTRY": farm.image_cache.spec,
        "POWERTOOLS_SERVICE_NAME": C.SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": C.METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    }


class LayerError(ValueError):
    """No AWS SDK for pandas layer is known for the stack's region and none was given."""


def pandas_layer_arn(scope: Construct, arn: str | None) -> str:
    """The AWS SDK for pandas layer version ARN for the stack's region.

    `-c PathProverPandasLayerArn` wins. A known region is looked up in :data:`C.PANDAS_LAYER_ARNS`; an
    environment-agnostic stack (region unknown at synthesis) carries the table as a CfnMapping and resolves
    the deploying region's entry (a region outside the table then fails the deploy on Fn::FindInMap, naming
    the key: pass the context value for such a region).
    """
    if arn:
        return arn
    stack = Stack.of(scope)
    if Token.is_unresolved(stack.region):
        mapping = stack.node.try_find_child(PANDAS_LAYER_MAPPING)
        if not isinstance(mapping, CfnMapping):
            mapping = CfnMapping(
                stack,
                PANDAS_LAYER_MAPPING,
                mapping={region: {"arn": value} for region, value in sorted(C.PANDAS_LAYER_ARNS.items())},
            )
        return mapping.find_in_map(Aws.REGION, "arn")
    try:
        return C.PANDAS_LAYER_ARNS[stack.region]
    except KeyError:
        raise LayerError(
            f"no AWS SDK for pandas layer (Python 3.12, x86_64) is known for region {stack.region}: pass "
            f"-c {C.CTX_PANDAS_LAYER_ARN}=arn:aws:lambda:{stack.region}:<account>:layer:AWSSDKPandas-Python312:<n> "
            "from https://aws-sdk-pandas.readthedocs.io/en/stable/layers.html"
        ) from None


def pandas_layer(scope: Construct, arn: str | None) -> lambda_.ILayerVersion:
    """The AWS SDK for pandas managed layer (awswrangler, pandas, pyarrow, numpy) for Python 3.12."""
    return lambda_.LayerVersion.from_layer_version_arn(scope, "AwsSdkPandasLayer", pandas_layer_arn(scope, arn))


def function_log_group(scope: Construct, construct_id: str, function_name: str) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=f"/aws/lambda/{function_name}",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )


def python_function(
    scope: Construct,
    spec: C.FunctionSpec,
    *,
    code: lambda_.Code,
    layers: list[lambda_.ILayerVersion],
    environment: Mapping[str, str],
    statements: list[iam.PolicyStatement],
) -> lambda_.Function:
    """A Path Prover function: its own role (logs to its own group, X-Ray, `statements`), Python 3.12."""
    name = names_of(scope).function(spec)
    log_group = function_log_group(scope, f"{spec.key}Logs", name)
    role, _ = least_privilege_role(
        scope,
        f"{spec.key}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Path Prover {name} ({spec.handler})",
        statements=[
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group.log_group_arn]),
            xray_statement(),
            *statements,
        ],
    )
    function = lambda_.Function(
        scope,
        spec.key,
        function_name=name,
        description=f"Path Prover: {spec.handler}",
        runtime=lambda_.Runtime.PYTHON_3_12,
        architecture=lambda_.Architecture.X86_64,
        handler=spec.handler,
        code=code,
        layers=layers,
        memory_size=spec.memory_mb,
        timeout=Duration.seconds(spec.timeout_s),
        environment=dict(environment),
        role=role.without_policy_updates(),
        log_group=log_group,
        tracing=lambda_.Tracing.ACTIVE,
    )
    acknowledge(
        function,
        "AwsSolutions-L1",
        "Pinned to Python 3.12: the AWS SDK for pandas managed layer the writers use is built per Python "
        "version (AWSSDKPandas-Python312), and the bundled wheels are installed for cp312.",
    )
    return function


class ProverFunctions(Construct):
    """The eight handlers the state machine calls; `functions[spec.key]`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        data: BenchmarkData,
        ledger: dynamodb.ITable,
        farm: BuildFarm,
    ) -> None:
        super().__init__(scope, construct_id)
        self._data = data
        self._ledger = ledger
        self._farm = farm
        environment = shared_environment(data, ledger, farm)
        permissions = self._permissions()
        self.functions: dict[str, lambda_.Function] = {
            spec.key: python_function(
                self,
                spec,
                code=code,
                layers=[layer],
                environment=environment,
                statements=permissions[spec.key](),
            )
            for spec in C.FUNCTIONS
        }

    def _permissions(self) -> dict[str, Callable[[], list[iam.PolicyStatement]]]:
        return {
            "Brain": lambda: [
                *self._query_results(),
                # writes the plan and the lane queues, then reads each queue back to load its first prove
                *self._run_state(read=True, write=True),
                *self._hf_token_exists(),
                # instance types the account's quota rules out (0) are left out of the plan
                allow_unscoped(["servicequotas:ListServiceQuotas"]),
            ],
            "Begin": lambda: [*self._ledger_items(), *self._query_results(), *self._run_state(read=True)],
            "Advance": lambda: [
                *self._artifacts(Access(read=("models", "io"), write=("bundles", "io", "tune"))),
                *self._start_builds(),
                *self._stop_builds(),
                *self._ensure_runner_image(),
                *self._deploy(),
                *self._invoke(),
                *self._clean_sagemaker(),
                *self._query_results(),
                *self._write_results(),
            ],
            "Check": lambda: [
                # renews the prove's lease on every poll (a conditional PutItem: a running prove never loses it)
                allow(["dynamodb:PutItem"], [self._ledger.table_arn]),
                *self._artifacts(Access(read=("benchmarks", "io"), write=("io",))),
                *self._poll_builds(),
                # a finished batch-benchmark transform job hands over to the benchmark job (its source is
                # uploaded by Advance, so Check writes no bundle)
                allow(["codebuild:StartBuild"], [self._farm.benchmark_project.project_arn]),
                *self._ensure_runner_image(),
                *self._poll_sagemaker(),
                *self._invoke(),
            ],
            "Failure": lambda: [*self._query_results(), *self._write_results()],
            "Clean": lambda: [*self._stop_builds(), *self._clean_sagemaker()],
            "Settle": lambda: [*self._ledger_items(), *self._run_state(read=True, write=True)],
            # files the prove as an error and loads the next (the run's state in S3)
            "Drop": lambda: self._run_state(read=True, write=True),
            # reads the per-prove summaries, stores the whole run summary (summary.json) beside them
            "Summary": lambda: [*self._inventory(), *self._run_state(read=True, write=True, list_=True)],
        }

    def stopped_cleanup_statements(self) -> list[iam.PolicyStatement]:
        """What releasing a stopped execution takes (pathprover.workflow.stopped.clean_up_stopped): its
        builds stopped, its open reservations and leases found (one ledger scan) and settled or freed, its
        lane queues read, and one failure row per prove in flight (after checking none was written).
        Deleting its SageMaker resources is the janitor's set of rights (the StoppedCleanup construct)."""
        return [
            allow(["codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds"], self._projects()),
            *self._stop_builds(),
            *self._ledger_items(),
            allow(["dynamodb:Scan"], [self._ledger.table_arn]),
            *self._artifacts(Access(read=("runs",))),
            *self._query_results(),
            *self._write_results(),
        ]

    # ------------------------------------------------------------------ run state (S3, passed by key)
    def _run_state(self, *, read: bool = False, write: bool = False, list_: bool = False) -> list[iam.PolicyStatement]:
        """The run's large state under `pathprover/runs/`: plan, queue and per-prove results, passed by key
        so the execution payload stays far below Step Functions' 256 KB."""
        bucket = self._farm.artifacts
        actions = [*(["s3:GetObject"] if read else []), *(["s3:PutObject"] if write else [])]
        statements = [allow(actions, [artifact_objects(bucket, "runs")])]
        if list_:
            statements.append(list_areas(bucket, "runs"))
        return statements

    def _hf_token_exists(self) -> list[iam.PolicyStatement]:
        """The plan checks the Hugging Face token secret exists before planning a gated model (metadata
        only: DescribeSecret never returns the value; only the stage build may read it)."""
        return [allow(["secretsmanager:DescribeSecret"], [self._farm.hf_token_secret_arn])]

    # ------------------------------------------------------------------ results (Athena, Glue, S3)
    def _glue_arns(self) -> list[str]:
        stack = Stack.of(self)
        return [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=C.GLUE_DATABASE),
            stack.format_arn(service="glue", resource="table", resource_name=f"{C.GLUE_DATABASE}/{C.GLUE_TABLE}"),
            stack.format_arn(
                service="glue", resource="table", resource_name=f"{C.GLUE_DATABASE}/{C.GLUE_LEVELS_TABLE}"
            ),
        ]

    def _query_results(self) -> list[iam.PolicyStatement]:
        """Athena (Trino) reads of the table in the workgroup, and what Athena does with the caller's rights."""
        stack = Stack.of(self)
        data = self._data
        bucket = data.bucket
        workgroup = stack.format_arn(
            service="athena", resource="workgroup", resource_name=names_of(self).scoped(C.ATHENA_WORKGROUP)
        )
        statements = [
            allow(
                [
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StartQueryExecution",
                    "athena:StopQueryExecution",
                ],
                [workgroup],
            ),
            allow(["glue:GetDatabase", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable"], self._glue_arns()),
            allow(["s3:GetObject"], [data.table_objects_arn, data.levels_objects_arn]),
            allow(
                ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
                [bucket.arn_for_objects(f"{C.ATHENA_RESULTS_PREFIX}*")],
            ),
        ]
        if data.existing_table is None:
            statements.append(
                allow(
                    ["s3:ListBucket"],
                    [bucket.bucket_arn],
                    {
                        "StringLike": {
                            "s3:prefix": [f"{C.TABLE_PREFIX}*", f"{C.LEVELS_PREFIX}*", f"{C.ATHENA_RESULTS_PREFIX}*"]
                        }
                    },
                )
            )
        else:
            # The existing table's files are in another bucket: list only its table prefix there (and the
            # levels prefix beside it when the tables are another deployment's).
            own = [] if data.shares_tables else [f"{C.LEVELS_PREFIX}*"]
            theirs = [f"{C.LEVELS_PREFIX}*"] if data.shares_tables else []
            statements += [
                allow(
                    ["s3:ListBucket"],
                    [bucket.bucket_arn],
                    {"StringLike": {"s3:prefix": [*own, f"{C.ATHENA_RESULTS_PREFIX}*"]}},
                ),
                allow(
                    ["s3:ListBucket"],
                    [data.table_bucket_arn],
                    {"StringLike": {"s3:prefix": [f"{data.table_prefix}*", *theirs]}},
                ),
                allow(["s3:GetBucketLocation"], [data.table_bucket_arn]),
            ]
        statements.append(allow(["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], [bucket.bucket_arn]))
        return statements

    def _write_results(self) -> list[iam.PolicyStatement]:
        """awswrangler's append: Parquet under the tables' prefixes, partitions registered in Glue (no table
        changes)."""
        return [
            allow(
                ["s3:AbortMultipartUpload", "s3:PutObject"],
                [self._data.table_objects_arn, self._data.levels_objects_arn],
            ),
            allow(["glue:BatchCreatePartition", "glue:CreatePartition"], self._glue_arns()),
        ]

    # ------------------------------------------------------------------ ledger
    def _ledger_items(self) -> list[iam.PolicyStatement]:
        """Conditional item writes and transactions (a transaction is authorised per item action)."""
        return [
            allow(
                [
                    "dynamodb:ConditionCheckItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ],
                [self._ledger.table_arn],
            )
        ]

    # ------------------------------------------------------------------ artifacts
    def _artifacts(self, access: Access) -> list[iam.PolicyStatement]:
        bucket = self._farm.artifacts
        statements = []
        if access.read:
            statements.append(allow(["s3:GetObject"], [artifact_objects(bucket, a) for a in access.read]))
            # ListBucket makes a missing key a 404 (exists() -> False) instead of a 403.
            statements.append(list_areas(bucket, *access.read))
        if access.write:
            statements.append(allow(["s3:PutObject"], [artifact_objects(bucket, a) for a in access.write]))
        return statements

    # ------------------------------------------------------------------ CodeBuild
    def _projects(self) -> list[str]:
        return [p.project_arn for p in self._farm.projects]

    def _start_builds(self) -> list[iam.PolicyStatement]:
        return [allow(["codebuild:StartBuild"], self._projects())]

    def _poll_builds(self) -> list[iam.PolicyStatement]:
        return [allow(["codebuild:BatchGetBuilds"], self._projects())]

    def _stop_builds(self) -> list[iam.PolicyStatement]:
        return [allow(["codebuild:StopBuild"], self._projects())]

    def _ensure_runner_image(self) -> list[iam.PolicyStatement]:
        """Before the first benchmark: does the runner image exist (ECR), and if not build it and poll the build."""
        return self._farm.runner.ensure_statements(self._farm.benchmark_repository)

    # ------------------------------------------------------------------ SageMaker
    def _deploy(self) -> list[iam.PolicyStatement]:
        return [
            allow(
                [
                    "sagemaker:AddTags",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:CreateModel",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DescribeModel",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:DescribeTransformJob",
                ],
                sagemaker_arns(self, *C.SAGEMAKER_RESOURCE_TYPES),
            ),
            self._farm.pass_role_statement(),
        ]

    def _invoke(self) -> list[iam.PolicyStatement]:
        return [allow(["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync"], sagemaker_arns(self, "endpoint"))]

    def _poll_sagemaker(self) -> list[iam.PolicyStatement]:
        return [
            allow(
                ["sagemaker:DescribeEndpoint", "sagemaker:DescribeTrainingJob", "sagemaker:DescribeTransformJob"],
                sagemaker_arns(self, "endpoint", "transform-job", "training-job"),
            )
        ]

    def _clean_sagemaker(self) -> list[iam.PolicyStatement]:
        return sagemaker_removal_statements(self)

    def _inventory(self) -> list[iam.PolicyStatement]:
        """The summary's leak check: live pp- endpoints and running pp- jobs, by tag."""
        return [
            allow_unscoped(["sagemaker:ListEndpoints", "sagemaker:ListTrainingJobs", "sagemaker:ListTransformJobs"]),
            allow(["sagemaker:ListTags"], sagemaker_arns(self, "endpoint", "transform-job", "training-job")),
        ]
