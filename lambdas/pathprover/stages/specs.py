"""Ports the lifecycle stages use: a builder (CodeBuild), a fleet (SageMaker) and an artifact store (S3).

Everything here is pure: typed specs and references the stages pass around (and
Step Functions carries between Lambda tasks as JSON), the Protocols the AWS and
local adapters implement, deterministic resource names, standard tags and the
adaptive poll interval. No boto3.

Long jobs are started fire-and-forget (``start*`` returns a :class:`JobRef`) and
polled (``check`` returns a :class:`JobState` with a ``wait_seconds`` suggestion
for the workflow's Wait state). A failure that belongs to the *config* (a quota,
a stock-out, a container that ran out of memory) is never raised: it comes back
as a failed :class:`JobState` whose ``failure_text`` the classifier reads.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pathprover.core.dimensions import DeploymentTargetName

BuildKind = Literal["build", "stage", "benchmark", "runner"]
"""Jobs the Builder runs. `runner`: the benchmark runner image, built once per tag (at deploy, or by the first
prove that needs it)."""
FleetKind = Literal["endpoint", "transform", "training"]
"""Jobs and resources the Fleet runs."""
JobKind = Literal[BuildKind, FleetKind]
BUILD_KINDS: Final[tuple[BuildKind, ...]] = get_args(BuildKind)
FLEET_KINDS: Final[tuple[FleetKind, ...]] = get_args(FleetKind)
JobStatus = Literal["running", "succeeded", "failed"]
ManagedKind = Literal["endpoint", "endpoint-config", "model", "training-job", "transform-job"]

ADAPTER_CHANNEL: Final = "adapter"
"""CreateModel AdditionalModelDataSources channel of a LoRA adapter; SageMaker copies (and, from a
model.tar.gz, extracts) it to /opt/ml/additional-model-data-sources/<channel> before the container starts."""
ADAPTER_DIR: Final = f"/opt/ml/additional-model-data-sources/{ADAPTER_CHANNEL}"
ADAPTER_NAME_ENV: Final = "PATHPROVER_ADAPTER_NAME"
"""Container variable naming the adapter: start.sh serves it under this name (the OpenAI `model`)."""
MIN_WAIT_SECONDS: Final = 10
MAX_WAIT_SECONDS: Final = 600
NAME_PREFIX: Final = "pp-"
SAGEMAKER_NAME: Final = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
SAGEMAKER_NAME_MAX: Final = 63

TAG_MANAGED_BY: Final = "managed-by"
TAG_MANAGED_BY_VALUE: Final = "path-prover"
TAG_EXECUTION: Final = "pathprover:execution"
TAG_CONFIG_ID: Final = "pathprover:config_id"
TAG_EXPIRY: Final = "pathprover:expiry"
TAG_STACK: Final = "pathprover:stack"
"""The deployment (CloudFormation stack) that made a resource: a janitor deletes only its own stack's."""
_TAG_CHARS: Final = re.compile(r"[^\w .:/=+\-@]")
_TAG_VALUE_MAX: Final = 256
_TAG_KEY_MAX: Final = 128

_S3_URI: Final = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.*)$")
_SECRET_NAME: Final = re.compile(
    r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)(_|$)", re.I
)
"""Whole name parts only: HF_TOKEN is a secret, INPUT_TOKENS is not."""
_ENV_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --------------------------------------------------------------------------- helpers


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``; raises ``ValueError`` for anything else."""
    match = _S3_URI.match(uri)
    if match is None:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    return match.group("bucket"), match.group("key")


def utc_iso(moment: datetime) -> str:
    """ISO-8601 UTC with a ``Z`` suffix and whole seconds (a valid tag value)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tag_value(value: str) -> str:
    return _TAG_CHARS.sub("_", value)[:_TAG_VALUE_MAX]


def tag_value(value: str) -> str:
    """``value`` as Path Prover writes it into a tag (characters tags refuse become ``_``; at most 256)."""
    return _tag_value(value)


def parse_utc_iso(value: str | None) -> datetime | None:
    """The inverse of :func:`utc_iso` (also accepts other ISO-8601 spellings); None if absent or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def standard_tags(execution_id: str, config_id: str, expiry: datetime, stack: str | None = None) -> dict[str, str]:
    """The tags every resource Path Prover creates carries (the janitor and cost reports use them).

    ``stack`` (the deployment's stack, ``Settings.stack``) adds ``pathprover:stack``: with it a janitor
    leaves another deployment's resources alone. None (a local run, or a deployment before the tag) adds
    nothing.
    """
    tags = {
        TAG_MANAGED_BY: TAG_MANAGED_BY_VALUE,
        TAG_EXECUTION: _tag_value(execution_id),
        TAG_CONFIG_ID: _tag_value(config_id),
        TAG_EXPIRY: utc_iso(expiry),
    }
    if stack:
        tags[TAG_STACK] = _tag_value(stack)
    return tags


def merge_tags(
    extra: dict[str, str], execution_id: str, config_id: str, expiry: datetime, stack: str | None = None
) -> dict[str, str]:
    """Caller tags plus the standard ones; the standard tags win."""
    merged = {k[:_TAG_KEY_MAX]: _tag_value(v) for k, v in extra.items()}
    merged.update(standard_tags(execution_id, config_id, expiry, stack))
    return merged


OVERDUE_BACKOFF: Final = 0.1
"""Past its expected end a job is polled every 10 % of the time it has taken so far (plus 15 s / 30 s):
real durations spread well past the catalog's figures, and a 1.5x deploy must not cost 20 polls."""


def suggest_wait(elapsed_s: float, expected_s: float, billing: bool) -> int:
    """How long the workflow should Wait before the next poll, in [10, 600] seconds.

    Before the expected end, wait most of the time left: all of it for a job
    that does not bill while we wait (a build), 90 % of it for a billing
    endpoint or job, so a 12-minute build is polled about twice and a 2-hour
    tune a handful of times, keeping state transitions low. Within two minutes
    of the expected end of billing work the next poll lands on the expected end, so a
    finished endpoint is seen promptly. Past the expected end it waits 15 s (billing) /
    30 s plus :data:`OVERDUE_BACKOFF` of the time taken so far, at most 120 s / 300 s.
    An unknown (zero or non-finite) expectation polls every 30 s / 60 s.
    """
    elapsed = elapsed_s if math.isfinite(elapsed_s) and elapsed_s > 0 else 0.0
    expected = expected_s if math.isfinite(expected_s) and expected_s > 0 else 0.0
    ceiling = float(MAX_WAIT_SECONDS)
    if expected == 0.0:
        raw = 30.0 if billing else 60.0
    elif elapsed < expected:
        remaining = expected - elapsed
        raw = remaining * (0.9 if billing else 1.0)
        if billing and remaining <= 120.0:
            raw = remaining  # land on the expected end; overdue polls are short
    else:
        overdue = elapsed - expected
        raw = (15.0 if billing else 30.0) + (expected + overdue) * OVERDUE_BACKOFF
        ceiling = 120.0 if billing else 300.0
    return int(min(ceiling, max(float(MIN_WAIT_SECONDS), math.ceil(raw))))


# --------------------------------------------------------------------------- names


class ResourceNames(BaseModel):
    """SageMaker names of one prove's resources: deterministic, so a retried task finds what it made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    endpoint_config: str
    endpoint: str
    transform_job: str
    training_job: str

    @field_validator("*")
    @classmethod
    def _valid(cls, value: str) -> str:
        if len(value) > SAGEMAKER_NAME_MAX or not SAGEMAKER_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid SageMaker resource name")
        return value


def resource_names(execution_id: str, config_id: str, attempt: int, variant: str = "") -> ResourceNames:
    """Names derived from sha256(execution, config, attempt, variant), prefixed ``pp-``.

    ``variant`` separates a second deployment of the same prove (``"adapter"``
    for the tuned model). The first characters of the config id are kept
    (alphanumerics only) so a person can tell resources apart in the console.
    """
    payload = json.dumps([execution_id, config_id, int(attempt), variant], separators=(",", ":"))
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
    slug = re.sub(r"[^a-z0-9]", "", config_id.lower())[:12]
    stem = f"{NAME_PREFIX}{slug}-{digest}" if slug else f"{NAME_PREFIX}{digest}"
    return ResourceNames(
        model=f"{stem}-m",
        endpoint_config=f"{stem}-ec",
        endpoint=f"{stem}-ep",
        transform_job=f"{stem}-bt",
        training_job=f"{stem}-tr",
    )


# --------------------------------------------------------------------------- references and states


class JobRef(BaseModel):
    """A started job or resource; JSON-serialisable so Step Functions can carry it between tasks.

    ``start_failure`` is set when the start call itself was refused for a reason
    that belongs to the config (a quota, no capacity): ``check`` then reports the
    failure without calling the cloud, so the workflow has one failure path.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: JobKind
    name: str
    arn_or_id: str
    started_at: datetime
    meta: dict[str, str] = Field(default_factory=dict)
    start_failure: str | None = None

    @field_validator("started_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def elapsed_seconds(self, now: datetime) -> float:
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        return max(0.0, (now - self.started_at).total_seconds())


class JobState(BaseModel):
    """The answer to one poll."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    done: bool
    status: JobStatus
    wait_seconds: int = Field(ge=0, le=MAX_WAIT_SECONDS, description="suggested Wait before the next poll")
    detail: dict[str, Any] = Field(default_factory=dict)
    failure_text: str | None = None
    failure_stage: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.done != (self.status != "running"):
            raise ValueError("done must be true exactly when status is succeeded or failed")
        if self.status == "failed" and not (self.failure_text or "").strip():
            raise ValueError("a failed JobState needs a failure_text for the classifier")
        if self.status != "failed" and self.failure_text is not None:
            raise ValueError("failure_text is only set on a failed JobState")
        return self

    @classmethod
    def running(cls, wait_seconds: int, detail: dict[str, Any] | None = None) -> JobState:
        wait = max(MIN_WAIT_SECONDS, min(MAX_WAIT_SECONDS, int(wait_seconds)))
        return cls(done=False, status="running", wait_seconds=wait, detail=detail or {})

    @classmethod
    def succeeded(cls, detail: dict[str, Any] | None = None) -> JobState:
        return cls(done=True, status="succeeded", wait_seconds=0, detail=detail or {})

    @classmethod
    def failed(cls, text: str, stage: str | None, detail: dict[str, Any] | None = None) -> JobState:
        return cls(
            done=True,
            status="failed",
            wait_seconds=0,
            detail=detail or {},
            failure_text=text.strip() or "failed without a message",
            failure_stage=stage,
        )


class InvokeResult(BaseModel):
    """One request to a deployed model. Not-ready is status 503, never an exception."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status_code: int
    body: bytes = b""
    error: str | None = None
    output_location: str | None = Field(default=None, description="async inference: where the answer will be")

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300 and self.error is None


class CleanReport(BaseModel):
    """What ``clean`` did; already-gone resources count as success."""

    model_config = ConfigDict(extra="forbid")

    deleted: list[str] = Field(default_factory=list)
    already_gone: list[str] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ManagedResource(BaseModel):
    """One SageMaker resource tagged ``managed-by=path-prover``, as the janitor sees it.

    ``label`` (``kind/name``) is the spelling :class:`CleanReport` uses.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ManagedKind
    name: str = Field(min_length=1)
    arn: str
    tags: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    status: str | None = Field(default=None, description="SageMaker's status word, where the listing gives one")

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def managed(self) -> bool:
        return self.tags.get(TAG_MANAGED_BY) == TAG_MANAGED_BY_VALUE

    @property
    def execution(self) -> str | None:
        """The ``pathprover:execution`` tag (the execution name as :func:`tag_value` wrote it), if any."""
        return self.tags.get(TAG_EXECUTION) or None

    @property
    def stack(self) -> str | None:
        """The ``pathprover:stack`` tag (the deployment that made it), if any: older resources have none."""
        return self.tags.get(TAG_STACK) or None

    @property
    def expiry(self) -> datetime | None:
        """The ``pathprover:expiry`` tag, parsed; None if missing or unreadable."""
        return parse_utc_iso(self.tags.get(TAG_EXPIRY))


# --------------------------------------------------------------------------- specs


def _check_env(env: dict[str, str], what: str) -> dict[str, str]:
    for name in env:
        if not _ENV_NAME.match(name):
            raise ValueError(f"{what}: {name!r} is not a valid environment variable name")
    return env


class BuildJob(BaseModel):
    """One CodeBuild run: build a serving image, pre-stage weights, or run the benchmark."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_name: str = Field(min_length=2, max_length=255)
    kind: BuildKind
    source_s3_uri: str = Field(description="s3://bucket/key.zip (or a folder ending in /): CodeBuild's S3 source")
    source_digest: str = Field(min_length=8, description="sha256 of the bundle; the build verifies it")
    env: dict[str, str] = Field(default_factory=dict, description="PLAINTEXT variables; never secrets")
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="variable name -> Secrets Manager reference (secret-id[:json-key:...]); passed as SECRETS_MANAGER",
    )
    timeout_minutes: int = Field(default=60, ge=5, le=2160)
    compute_type: str | None = Field(
        default=None, pattern=r"^BUILD_GENERAL1_[A-Z0-9]+$", description="computeTypeOverride (a bigger disk)"
    )
    execution_id: str
    config_id: str
    attempt: int = Field(default=1, ge=1)
    expected_minutes: float | None = Field(default=None, ge=0, description="for the poll interval; default timeout/2")

    @field_validator("source_s3_uri")
    @classmethod
    def _source(cls, value: str) -> str:
        _, key = parse_s3_uri(value)
        if not (key.endswith(".zip") or key.endswith("/")):
            raise ValueError(
                "CodeBuild's S3 source must be a .zip object or a folder ending in '/', "
                f"not {value!r} (a tarball cannot be used as the source)"
            )
        return value

    @field_validator("env")
    @classmethod
    def _plaintext(cls, value: dict[str, str]) -> dict[str, str]:
        _check_env(value, "env")
        for name in value:
            if _SECRET_NAME.search(name):
                raise ValueError(f"env: {name} looks like a secret; pass it in `secrets` (Secrets Manager)")
        return value

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_env(value, "secrets")

    @model_validator(mode="after")
    def _disjoint(self) -> Self:
        both = set(self.env) & set(self.secrets)
        if both:
            raise ValueError(f"variables given both as env and secrets: {sorted(both)}")
        return self

    @property
    def failure_stage(self) -> str:
        return "build" if self.kind == "runner" else self.kind


class DeploySpec(BaseModel):
    """What SageMaker needs to host one config (endpoint) or run it once over a dataset (transform)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    execution_id: str
    config_id: str
    attempt: int = Field(default=1, ge=1)
    names: ResourceNames
    image_uri: str = Field(min_length=1)
    model_data_uri: str | None = Field(
        default=None, description="s3://.../model.tar.gz, or an s3:// folder ending in / (uncompressed)"
    )
    adapter_data_uri: str | None = Field(
        default=None,
        description="a LoRA adapter: s3://.../model.tar.gz (a training job's artifact) or a folder ending in /; "
        f"copied to {ADAPTER_DIR}",
    )
    env: dict[str, str] = Field(default_factory=dict)
    instance_type: str = Field(pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
    instance_count: int = Field(default=1, ge=1, le=100)
    target: DeploymentTargetName
    async_output_s3: str | None = None
    async_failure_s3: str | None = None
    async_max_concurrent_invocations: int | None = Field(default=None, ge=1, le=1000)
    batch_input_s3: str | None = None
    batch_output_s3: str | None = None
    batch_content_type: str = "application/jsonlines"
    capacity_reservation_arn: str | None = None
    role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    tags: dict[str, str] = Field(default_factory=dict)
    stack: str | None = Field(default=None, description="the deployment's stack: the pathprover:stack tag")
    expiry: datetime
    startup_health_check_timeout_s: int | None = Field(default=None, ge=60, le=3600)
    model_download_timeout_s: int | None = Field(default=None, ge=60, le=3600)
    volume_size_gb: int | None = Field(default=None, ge=1, le=512)
    expected_ready_s: int = Field(default=900, ge=0, description="typical time to InService / to finish")
    stage: str = Field(default="deploy", description="lifecycle stage a failure is charged to (deploy, adapter)")

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_env(value, "env")

    @field_validator(
        "model_data_uri", "adapter_data_uri", "async_output_s3", "async_failure_s3", "batch_input_s3", "batch_output_s3"
    )
    @classmethod
    def _s3(cls, value: str | None) -> str | None:
        if value is not None:
            parse_s3_uri(value)
        return value

    @model_validator(mode="after")
    def _target_fields(self) -> Self:
        if self.target == "async-inference" and not self.async_output_s3:
            raise ValueError("async-inference needs async_output_s3")
        if self.target == "batch-transform":
            if not (self.batch_input_s3 and self.batch_output_s3):
                raise ValueError("batch-transform needs batch_input_s3 and batch_output_s3")
            if self.capacity_reservation_arn:
                raise ValueError("SageMaker batch transform cannot use a capacity reservation")
        if self.adapter_data_uri and not self.env.get(ADAPTER_NAME_ENV):
            raise ValueError(f"adapter_data_uri needs env {ADAPTER_NAME_ENV}: the name the adapter is served under")
        return self

    @property
    def all_tags(self) -> dict[str, str]:
        return merge_tags(self.tags, self.execution_id, self.config_id, self.expiry, self.stack)


class TrainingSpec(BaseModel):
    """A SageMaker training job for the tune stage (SFT with LoRA): the image and hyperparameters are inputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    execution_id: str
    config_id: str
    attempt: int = Field(default=1, ge=1)
    job_name: str
    training_image: str = Field(min_length=1)
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    instance_type: str = Field(pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
    instance_count: int = Field(default=1, ge=1, le=64)
    input_channels: dict[str, str] = Field(default_factory=dict, description="channel name -> s3:// prefix")
    output_s3: str
    checkpoint_s3: str | None = None
    max_runtime_s: int = Field(default=4 * 3600, ge=60, le=28 * 24 * 3600)
    volume_size_gb: int = Field(default=100, ge=1, le=16384)
    env: dict[str, str] = Field(default_factory=dict)
    capacity_reservation_arn: str | None = Field(default=None, description="a SageMaker training plan ARN")
    tags: dict[str, str] = Field(default_factory=dict)
    stack: str | None = Field(default=None, description="the deployment's stack: the pathprover:stack tag")
    expiry: datetime
    expected_s: int = Field(default=3600, ge=0)

    @field_validator("hyperparameters", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        """SageMaker hyperparameters are strings; numbers and booleans are converted (JSON spelling)."""
        if isinstance(value, dict):
            return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
        return value

    @field_validator("job_name")
    @classmethod
    def _name(cls, value: str) -> str:
        if len(value) > SAGEMAKER_NAME_MAX or not SAGEMAKER_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid SageMaker training job name")
        return value

    @field_validator("output_s3", "checkpoint_s3")
    @classmethod
    def _s3(cls, value: str | None) -> str | None:
        if value is not None:
            parse_s3_uri(value)
        return value

    @field_validator("input_channels")
    @classmethod
    def _channels(cls, value: dict[str, str]) -> dict[str, str]:
        for channel, uri in value.items():
            if not re.match(r"^[A-Za-z0-9\.\-_]{1,64}$", channel):
                raise ValueError(f"invalid channel name {channel!r}")
            parse_s3_uri(uri)
        return value

    @property
    def all_tags(self) -> dict[str, str]:
        return merge_tags(self.tags, self.execution_id, self.config_id, self.expiry, self.stack)


def resource_components(ref: JobRef) -> list[tuple[str, str]]:
    """The SageMaker resources behind a job reference, in deletion order: (kind, name)."""
    meta = ref.meta
    if ref.kind == "endpoint":
        return [
            ("endpoint", meta.get("endpoint", ref.name)),
            ("endpoint-config", meta.get("endpoint_config", "")),
            ("model", meta.get("model", "")),
        ]
    if ref.kind == "transform":
        return [("transform-job", meta.get("transform_job", ref.name)), ("model", meta.get("model", ""))]
    if ref.kind == "training":
        return [("training-job", ref.name)]
    return []


# --------------------------------------------------------------------------- protocols


class Builder(Protocol):
    """Runs containerised jobs from a source bundle (CodeBuild on AWS)."""

    def start(self, job: BuildJob) -> JobRef: ...

    def check(self, ref: JobRef) -> JobState:
        """``detail["image_digest"]`` on a successful build that exported IMAGE_DIGEST."""
        ...

    def stop(self, ref: JobRef) -> None:
        """Stop the job if it still runs; a finished or unknown job is not an error."""
        ...

    def image_exists(self, image_uri: str) -> bool:
        """Whether ``repository:tag`` is in the registry (the benchmark runner image before its first use)."""
        ...

    def running(self, execution_id: str, project: str) -> list[JobRef]:
        """Builds of ``project`` that ``execution_id`` started and that still run (to stop after the
        execution was stopped)."""
        ...

    def in_progress(self, project: str) -> list[JobRef]:
        """Every build of ``project`` that still runs, with the execution that started it in
        ``meta["execution_id"]`` (absent when the build carries none): what the janitor judges."""
        ...


class ManagedInventory(Protocol):
    """What the janitor needs from a fleet: everything Path Prover made, and a way to remove it."""

    def inventory(self) -> list[ManagedResource]:
        """Every endpoint, endpoint config and model, and every in-progress training and transform job,
        tagged ``managed-by=path-prover`` (untagged resources are skipped)."""
        ...

    def delete(self, resources: list[ManagedResource]) -> CleanReport:
        """Delete endpoints, endpoint configs and models, stop jobs; not-found (or a job no longer running)
        is ``already_gone``; an API refusal goes to ``errors`` and the rest are still removed. Labels are
        :attr:`ManagedResource.label`."""
        ...


class Fleet(ManagedInventory, Protocol):
    """Hosts and runs models (SageMaker on AWS)."""

    def start_deploy(self, spec: DeploySpec) -> JobRef:
        """One ref: kind ``endpoint`` (realtime/async) or ``transform``; component names in ``meta``."""
        ...

    def check(self, ref: JobRef) -> JobState: ...

    def invoke(self, ref: JobRef, body: bytes, content_type: str) -> InvokeResult: ...

    def start_training(self, spec: TrainingSpec) -> JobRef: ...

    def clean(self, refs: list[JobRef], keep: bool) -> CleanReport:
        """Delete or stop everything the refs name; idempotent; ``keep`` reports instead of deleting."""
        ...

    def alive(self, tag_filter: dict[str, str]) -> list[str]:
        """ARNs of billing resources (endpoints, running jobs) whose tags include ``tag_filter``."""
        ...


class ExecutionLookup(Protocol):
    """The status of a workflow execution (Step Functions on AWS)."""

    def status(self, execution_name: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED (or PENDING_REDRIVE); None if no such execution.

        ``execution_name`` is the value of the ``pathprover:execution`` tag. Anything other than
        "does not exist" (a permission, throttling past the retries) raises.
        """
        ...


class ArtifactStore(Protocol):
    """Blobs: bundles, benchmark samples, manifests (S3 on AWS)."""

    def uri(self, key: str) -> str:
        """The URI an object (or, for a key ending in /, a prefix) has in this store; writes nothing."""
        ...

    def put_bytes(self, key: str, data: bytes) -> str:
        """Store under ``key`` (relative to the store's prefix); returns the URI."""
        ...

    def get_bytes(self, uri: str) -> bytes: ...

    def exists(self, uri: str) -> bool: ...
