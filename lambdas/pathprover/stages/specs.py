"""What the stages ask the builder and the fleet to run: a CodeBuild job, a SageMaker deployment (endpoint or
transform), a training job. Typed and validated before any call, JSON-serialisable; no boto3."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Final, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pathprover.core.dimensions import DeploymentTargetName
from pathprover.stages.jobs import BuildKind
from pathprover.stages.naming import SAGEMAKER_NAME, SAGEMAKER_NAME_MAX, ResourceNames, merge_tags, parse_s3_uri

ADAPTER_CHANNEL: Final = "adapter"
"""CreateModel AdditionalModelDataSources channel of a LoRA adapter; SageMaker copies (and, from a
model.tar.gz, extracts) it to /opt/ml/additional-model-data-sources/<channel> before the container starts."""
ADAPTER_DIR: Final = f"/opt/ml/additional-model-data-sources/{ADAPTER_CHANNEL}"
ADAPTER_NAME_ENV: Final = "PATHPROVER_ADAPTER_NAME"
"""Container variable naming the adapter: start.sh serves it under this name (the OpenAI `model`)."""
_SECRET_NAME: Final = re.compile(
    r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)(_|$)", re.I
)
"""Whole name parts only: HF_TOKEN is a secret, INPUT_TOKENS is not."""
_ENV_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
