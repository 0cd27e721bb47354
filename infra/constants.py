"""Every name the CDK app uses, in one place.

Names the runtime package already defines (the functions, metric service,
namespace and names, the ledger's table and keys, the artifact prefix and
state machine name in ``pathprover.deployment``; the table, the project names
the Lambdas default to, the SageMaker name prefix and tags, the execution input
defaults) are imported from it, so the infrastructure and the code that runs
on it cannot drift apart and no test has to compare two copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pathprover import deployment
from pathprover.core import schema
from pathprover.generate.render import (
    BASE_IMAGE_CACHE_PREFIXES,
    BASE_IMAGE_MIRROR_PREFIXES,
    DOCKER_HUB,
    MIRROR_SPEC_PREFIX,
)
from pathprover.settings import Settings
from pathprover.stages import jobs, naming
from pathprover.workflow.models import WorkflowInput

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
LAMBDA_SOURCE_DIR: Final = REPO_ROOT / "lambdas"
PACKAGE_DIR: Final = LAMBDA_SOURCE_DIR / "pathprover"
ASL_FILE: Final = REPO_ROOT / "statemachines" / "path-prover.asl.json"
PACKAGE_DATA: Final[dict[str, Path]] = {
    # folder in the Lambda asset (inside the package) -> source folder; the loaders look there
    "_catalog": REPO_ROOT / "catalog",
    "_containers": REPO_ROOT / "containers",
    "_statemachines": REPO_ROOT / "statemachines",
}

# --------------------------------------------------------------------------- app and context
STACK_NAME: Final = "MlccCiHarnessStack"
# No default account or region: without CDK_DEFAULT_ACCOUNT (no credentials) the stack is synthesized
# environment-agnostic (AWS::AccountId / AWS::Region in the template), never bound to a made-up account.

CTX_CREATE_PATH_PROVER: Final = "CreatePathProver"
CTX_NAME: Final = "PathProverName"
"""A second deployment in the same account and region: `-c PathProverName=blue` makes the stack
`MlccCiHarnessStack-blue` and scopes every physical name (`pathprover-blue-*`, `mlcc-path-prover-blue`, ...);
unset, every name is exactly today's (:class:`Names`)."""
CTX_SCHEDULE: Final = "PathProverSchedule"
CTX_MAX_PROVES: Final = "PathProverMaxProves"
CTX_MAX_COST: Final = "PathProverMaxCost"
CTX_PANDAS_LAYER_ARN: Final = "PathProverPandasLayerArn"
CTX_BENCHMARK_IMAGE_TAG: Final = "PathProverBenchmarkImageTag"
CTX_HF_TOKEN_SECRET: Final = "PathProverHfTokenSecret"
CTX_ALARM_EMAIL: Final = "PathProverAlarmEmail"
CTX_BUNDLING: Final = "PathProverBundling"
"""`strict` (default: the Lambda dependencies must install, or synthesis fails) or `pip` (an offline synth
may ship the package alone, with a warning; never deploy such an asset)."""
DEFAULT_BUNDLING: Final = "strict"
CTX_DOCKER_HUB_CREDENTIAL: Final = "DockerHubCredentialSecret"
"""Secrets Manager secret (name `ecr-pullthroughcache/...` or its ARN) with a Docker Hub username and access
token: with it the stack adds the Docker Hub pull-through cache rule; without it Docker Hub parents are
pulled anonymously (rate-limited)."""
CTX_USE_EXISTING_TABLE: Final = "UseExistingBenchmarkTable"
"""`true`: the account already has the Glue database and table (the guide's prerequisite made them): create
neither, grant on them by ARN. Needs CTX_TABLE_LOCATION."""
CTX_TABLE_LOCATION: Final = "BenchmarkTableLocation"
"""`s3://bucket/mlcc_ci/benchmark_results/`: where the existing table's Parquet files are."""

DEFAULT_MAX_PROVES: Final[int] = int(WorkflowInput.model_fields["MAX_PROVES_PER_RUN"].default)
DEFAULT_MAX_COST: Final[float] = float(WorkflowInput.model_fields["MAX_COST_PER_RUN"].default)
INPUT_MAX_PROVES: Final = "MAX_PROVES_PER_RUN"
INPUT_MAX_COST: Final = "MAX_COST_PER_RUN"

# --------------------------------------------------------------------------- benchmark data
GLUE_DATABASE: Final = schema.TABLE_DATABASE
GLUE_TABLE: Final = schema.TABLE_NAME
RESULTS_TABLE: Final = schema.QUALIFIED_TABLE
TABLE_PREFIX: Final = f"{GLUE_DATABASE}/{GLUE_TABLE}/"
"""Where the rows live in the results bucket (the AWS adapters write there: s3://bucket/db/table/)."""
GLUE_LEVELS_TABLE: Final = schema.LEVELS_TABLE_NAME
LEVELS_TABLE: Final = schema.QUALIFIED_LEVELS_TABLE
LEVELS_PREFIX: Final = f"{GLUE_DATABASE}/{GLUE_LEVELS_TABLE}/"
"""Where the level rows live: always in the stack's results bucket (also with an existing results table,
whose prerequisite never made a levels table: the stack creates and owns this one)."""
ATHENA_RESULTS_PREFIX: Final = "athena-results/"
ATHENA_WORKGROUP: Final = "pathprover"
ATHENA_BYTES_SCANNED_CUTOFF: Final = 10 * 1024**3
PROJECTION_RANGE: Final = "2020-01-01,NOW"
ATHENA_RESULTS_EXPIRY_DAYS: Final = 30
ACCESS_LOG_EXPIRY_DAYS: Final = 365
NONCURRENT_VERSION_EXPIRY_DAYS: Final = 90

# --------------------------------------------------------------------------- ledger
LEDGER_TABLE: Final = deployment.LEDGER_TABLE
LEDGER_PARTITION_KEY: Final = deployment.LEDGER_PARTITION_KEY
LEDGER_TTL_ATTRIBUTE: Final = deployment.LEDGER_TTL_ATTRIBUTE

# --------------------------------------------------------------------------- builds and SageMaker
_DEFAULTS: Final = Settings()
BUILD_PROJECT: Final = _DEFAULTS.build_project
STAGE_PROJECT: Final = _DEFAULTS.stage_project
BENCHMARK_PROJECT: Final = _DEFAULTS.benchmark_project
BUILD_BUILDSPEC: Final = "buildspec/build.yml"
STAGE_BUILDSPEC: Final = "buildspec/stage.yml"
BENCHMARK_BUILDSPEC: Final = "buildspec.yml"
IMAGE_REPOSITORY: Final = "pathprover"
BENCHMARK_REPOSITORY: Final = f"{IMAGE_REPOSITORY}-benchmark"
"""The generator names the runner image's repository `<image repository>-benchmark`."""
RUNNER_IMAGE_PROJECT: Final = _DEFAULTS.runner_image_project
RUNNER_TAG_PREFIX: Final = "runner-"
"""The runner image's tag is `runner-<sha256[:12] of its build source zip>` (infra/runner_source.py): the
runner build pushes it, the benchmark project runs in it, the Lambdas check it exists."""
RUNNER_BUILD_TIMEOUT_MINUTES: Final = 60
RUNNER_TRIGGER_FUNCTION: Final = "pathprover-runner-image-trigger"
"""The custom resource's function that starts the runner image build at deploy."""
ARTIFACT_PREFIX: Final = deployment.ARTIFACT_PREFIX
ARTIFACT_AREAS: Final = deployment.ARTIFACT_AREAS
TRAINING_IMAGE_ACCOUNT: Final = _DEFAULTS.training_image.split(".", 1)[0]
TRAINING_IMAGE_PATH: Final = _DEFAULTS.training_image.split("/", 1)[1]
"""`huggingface-pytorch-training:<tag>` from the Settings default; the registry is made regional."""
TRAINING_IMAGE_REPOSITORY: Final = TRAINING_IMAGE_PATH.split(":", 1)[0]
SAGEMAKER_NAME_PREFIX: Final = naming.NAME_PREFIX
SAGEMAKER_RESOURCE_TYPES: Final = jobs.MANAGED_KINDS
"""What the janitor and the prove may tag, list and delete: the kinds the runtime manages."""
TAG_MANAGED_BY: Final = naming.TAG_MANAGED_BY
TAG_MANAGED_BY_VALUE: Final = naming.TAG_MANAGED_BY_VALUE
TAG_EXECUTION: Final = naming.TAG_EXECUTION
TAG_EXPIRY: Final = naming.TAG_EXPIRY
TAG_STACK: Final = naming.TAG_STACK
BUILD_TIMEOUT_MINUTES: Final = 120
STAGE_TIMEOUT_MINUTES: Final = 480
BENCHMARK_TIMEOUT_MINUTES: Final = 180

# --------------------------------------------------------------------------- base images (ECR pull-through cache)
BASE_IMAGE_CACHE_ROOT: Final = "pathprover-cache"
"""Every cache rule's repository prefix starts with it (pathprover.generate.render.BASE_IMAGE_CACHE_PREFIXES):
the cached repositories the builds may create and import into are `pathprover-cache/*`."""
PULL_THROUGH_UPSTREAMS: Final[dict[str, tuple[str, str]]] = {
    # upstream (as render names it) -> (UpstreamRegistry, UpstreamRegistryUrl) of AWS::ECR::PullThroughCacheRule
    DOCKER_HUB: ("docker-hub", "registry-1.docker.io"),
    "public.ecr.aws": ("ecr-public", "public.ecr.aws"),
    "quay.io": ("quay", "quay.io"),
}
assert set(PULL_THROUGH_UPSTREAMS) == set(BASE_IMAGE_CACHE_PREFIXES)
assert all(p.startswith(f"{BASE_IMAGE_CACHE_ROOT}/") for p in BASE_IMAGE_CACHE_PREFIXES.values())
BASE_IMAGE_MIRROR_ROOT: Final = "pathprover-mirror"
"""One-time mirrors of parents whose upstream has no cache rule (Docker Hub without a credential): the build
that first needs a parent pulls it once and pushes it to `pathprover-mirror/<upstream>/<path>`."""
assert all(p.startswith(f"{BASE_IMAGE_MIRROR_ROOT}/") for p in BASE_IMAGE_MIRROR_PREFIXES.values())
MIRROR_UPSTREAM_SPEC: Final = MIRROR_SPEC_PREFIX
DOCKER_HUB_CREDENTIAL_PREFIX: Final = "ecr-pullthroughcache/"
"""ECR reads an upstream credential only from a secret whose name starts with this."""

# --------------------------------------------------------------------------- functions
PYTHON_VERSION: Final = "3.12"
PANDAS_LAYER_RELEASE: Final = "3.17.0"
PANDAS_LAYER_ARNS: Final[dict[str, str]] = {
    # AWS SDK for pandas managed layer, Python 3.12, x86_64, release 3.17.0, per region: the table in
    # https://aws-sdk-pandas.readthedocs.io/en/stable/layers.html (docs/source/layers.rst of aws/aws-sdk-pandas).
    # Version numbers and, outside the older regions, publishing accounts differ by region. A region not
    # listed needs `-c PathProverPandasLayerArn=...`.
    **{
        region: f"arn:aws:lambda:{region}:336392948345:layer:AWSSDKPandas-Python312:{version}"
        for region, version in (
            ("af-south-1", 28),
            ("ap-northeast-1", 29),
            ("ap-northeast-2", 29),
            ("ap-northeast-3", 29),
            ("ap-south-1", 29),
            ("ap-southeast-1", 29),
            ("ap-southeast-2", 29),
            ("ca-central-1", 29),
            ("eu-central-1", 29),
            ("eu-north-1", 29),
            ("eu-west-1", 29),
            ("eu-west-2", 29),
            ("eu-west-3", 29),
            ("sa-east-1", 29),
            ("us-east-1", 29),
            ("us-east-2", 29),
            ("us-west-1", 29),
            ("us-west-2", 29),
        )
    },
    "ap-east-1": "arn:aws:lambda:ap-east-1:839552336658:layer:AWSSDKPandas-Python312:26",
    "ap-south-2": "arn:aws:lambda:ap-south-2:246107603503:layer:AWSSDKPandas-Python312:26",
    "ap-southeast-3": "arn:aws:lambda:ap-southeast-3:258944054355:layer:AWSSDKPandas-Python312:26",
    "ap-southeast-4": "arn:aws:lambda:ap-southeast-4:945386623051:layer:AWSSDKPandas-Python312:26",
    "ca-west-1": "arn:aws:lambda:ca-west-1:941713567376:layer:AWSSDKPandas-Python312:3",
    "eu-central-2": "arn:aws:lambda:eu-central-2:956415814219:layer:AWSSDKPandas-Python312:26",
    "eu-south-1": "arn:aws:lambda:eu-south-1:774444163449:layer:AWSSDKPandas-Python312:26",
    "eu-south-2": "arn:aws:lambda:eu-south-2:982086096842:layer:AWSSDKPandas-Python312:26",
    "il-central-1": "arn:aws:lambda:il-central-1:263840725265:layer:AWSSDKPandas-Python312:26",
    "me-central-1": "arn:aws:lambda:me-central-1:593833071574:layer:AWSSDKPandas-Python312:26",
    "cn-north-1": "arn:aws-cn:lambda:cn-north-1:406640652441:layer:AWSSDKPandas-Python312:10",
    "cn-northwest-1": "arn:aws-cn:lambda:cn-northwest-1:406640652441:layer:AWSSDKPandas-Python312:10",
}
"""When the region is known at synthesis the ARN is looked up here; when it is not (an environment-agnostic
synth) the template carries this table as a CfnMapping and picks the deploying region's entry."""
SERVICE_NAME: Final = deployment.SERVICE_NAME
METRICS_NAMESPACE: Final = deployment.METRICS_NAMESPACE
LOG_RETENTION_DAYS: Final = 30


FunctionSpec = deployment.FunctionSpec
FUNCTIONS: Final = deployment.FUNCTIONS
JANITOR: Final = deployment.JANITOR
JANITOR_SCHEDULE: Final = "rate(1 hour)"
STOPPED_CLEANUP: Final = deployment.STOPPED_CLEANUP
STOPPED_STATUSES: Final = deployment.ENDED_STATUSES
JANITOR_DELETED_METRIC: Final = deployment.JANITOR_DELETED_METRIC
JANITOR_ERRORS_METRIC: Final = deployment.JANITOR_ERRORS_METRIC
FAILURE_SCOPE_METRIC: Final = deployment.FAILURE_SCOPE_METRIC


def substitution(spec: FunctionSpec) -> str:
    """The ASL placeholder a function's ARN fills: `${BrainFunctionArn}` -> `BrainFunctionArn`."""
    return spec.substitution


# --------------------------------------------------------------------------- workflow, schedule, alarms
STATE_MACHINE_NAME: Final = deployment.STATE_MACHINE_NAME
STATE_MACHINE_LOG_GROUP: Final = f"/aws/vendedlogs/states/{STATE_MACHINE_NAME}"
SCHEDULE_NAME: Final = "pathprover-scheduled-run"
ALARM_TOPIC: Final = "pathprover-alarms"

OUTPUT_STATE_MACHINE_ARN: Final = "PathProverStateMachineArn"
OUTPUT_RESULTS_TABLE: Final = "ResultsTable"
OUTPUT_LEVELS_TABLE: Final = "LevelsTable"
OUTPUT_ATHENA_WORKGROUP: Final = "AthenaWorkgroup"
OUTPUT_RESULTS_BUCKET: Final = "ResultsBucket"
OUTPUT_ARTIFACT_BUCKET: Final = "ArtifactBucket"
OUTPUT_ALARM_TOPIC: Final = "AlarmTopicArn"

# --------------------------------------------------------------------------- one deployment's physical names
DEPLOYMENT_NAME: Final = re.compile(r"^[a-z][a-z0-9]{0,11}$")
"""`-c PathProverName`: lower-case letters and digits, at most 12, so every scoped name stays within its
service's limits (Lambda function names 64, ECR repositories lower-case) and reads as one word in them."""


@dataclass(frozen=True)
class Names:
    """Every physical name of one deployment, from its `-c PathProverName` (None: today's names, unchanged).

    The constants above are the default deployment's names; a named deployment scopes each of them with
    :meth:`scoped`: `pathprover-brain` -> `pathprover-blue-brain`, `pathprover` -> `pathprover-blue`,
    `mlcc-path-prover` -> `mlcc-path-prover-blue`. Names that are not the deployment's own (the Glue
    database and tables, the pull-through cache and mirror prefixes, SageMaker's `pp-` resources, the
    Hugging Face secret) are never scoped: they are shared by design (docs/deploy.md, *Two deployments in
    one account*)."""

    deployment: str | None = None

    def __post_init__(self) -> None:
        if self.deployment is not None and not DEPLOYMENT_NAME.match(self.deployment):
            raise ValueError(f"deployment name {self.deployment!r} does not match {DEPLOYMENT_NAME.pattern}")

    @property
    def stack(self) -> str:
        """The CloudFormation stack (and the `pathprover:stack` tag of its SageMaker resources)."""
        return STACK_NAME if self.deployment is None else f"{STACK_NAME}-{self.deployment}"

    def scoped(self, name: str) -> str:
        """``name`` (one of the constants above) as this deployment spells it."""
        if self.deployment is None:
            return name
        if name in ("pathprover", STATE_MACHINE_NAME):
            return f"{name}-{self.deployment}"
        if name.startswith("pathprover-"):
            return f"pathprover-{self.deployment}-{name.removeprefix('pathprover-')}"
        raise ValueError(f"{name!r} is not one of the deployment's own names (pathprover*, {STATE_MACHINE_NAME})")

    def function(self, spec: FunctionSpec) -> str:
        return self.scoped(spec.name)

    @property
    def state_machine(self) -> str:
        return self.scoped(STATE_MACHINE_NAME)

    @property
    def state_machine_log_group(self) -> str:
        return f"/aws/vendedlogs/states/{self.state_machine}"

    @property
    def alarm_prefix(self) -> str:
        """Every alarm is `<this>-<id>`; the topic's and the key's CloudWatch grants match `<this>-*`."""
        return self.scoped("pathprover")


# --------------------------------------------------------------------------- Lambda dependencies
LAMBDA_REQUIREMENTS: Final = ("pydantic", "pyyaml", "jinja2", "aws-lambda-powertools[tracer]", "pyathena")
"""What the handlers import that neither the Python 3.12 runtime (boto3) nor the AWS SDK for pandas
layer (numpy, pandas, pyarrow, awswrangler) provides: pyathena (with fsspec, tenacity, tzdata) reads
the brain's Athena results, with the layer's pyarrow (so without its `arrow` extra). duckdb, sqlglot,
typer, rich, aiohttp and h11 are local-only (or the runner image's) and stay out of the asset."""
PROVIDED_BY_RUNTIME: Final = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "python-dateutil",
    "six",
    "numpy",
)
"""Distributions pip pulls in as dependencies but Lambda already has: removed from the asset so the
runtime's (and the layer's) copies are the ones imported."""
