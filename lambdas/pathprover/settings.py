"""Every environment variable Path Prover reads, in one typed model.

Nothing else in the package reads ``os.environ``; handlers and the CLI build a
:class:`Settings` once and pass what they need down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pathprover.core import schema

ENV_PREFIX = "PATHPROVER_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    warehouse: Path = Field(default=Path(".pathprover/warehouse"), description="local warehouse root")
    catalog_dir: Path | None = Field(default=None, description="catalog folder (default: the shipped catalog)")
    region: str = Field(default="us-east-1", description="AWS region of runs and prices")
    account_id: str | None = Field(
        default=None,
        pattern=r"^\d{12}$",
        description="the deploying account (replaces a literal ACCOUNT in a target's ARN); default: STS on AWS",
    )
    results_bucket: str | None = None
    table_location: str | None = Field(
        default=None,
        description="s3://bucket/prefix/ of the table's files (an existing table's); default: "
        "s3://<results_bucket>/<glue_database>/<glue_table>/",
    )
    athena_workgroup: str | None = None
    glue_database: str = schema.TABLE_DATABASE
    glue_table: str = schema.TABLE_NAME
    glue_levels_table: str = Field(
        default=schema.LEVELS_TABLE_NAME, description="Glue table of the benchmark levels (keyed by record_id)"
    )
    levels_location: str | None = Field(
        default=None,
        description="s3://bucket/prefix/ of the levels table's files; default: next to the results table's, "
        "s3://.../<glue_database>/<glue_levels_table>/",
    )
    runtime: Literal["local", "aws"] = Field(default="local", description="which adapters the handlers use")
    artifact_bucket: str = Field(default="pathprover-local", description="bundles, staged weights, benchmark output")
    image_repository_uri: str = "000000000000.dkr.ecr.us-east-1.amazonaws.com/pathprover"
    sagemaker_role_arn: str = "arn:aws:iam::000000000000:role/pathprover-local-sagemaker"
    build_project: str = "pathprover-build"
    stage_project: str = "pathprover-stage"
    benchmark_project: str = "pathprover-benchmark"
    runner_image_project: str = Field(
        default="pathprover-runner-image",
        description="CodeBuild project that builds the benchmark runner image (at deploy, and on demand)",
    )
    runner_image_uri: str = Field(
        default="000000000000.dkr.ecr.us-east-1.amazonaws.com/pathprover-benchmark:runner",
        description="the image the benchmark project runs in: repository:tag, one tag scheme for build and use",
    )
    runner_source_s3_uri: str | None = Field(
        default=None, description="s3://.../runner.zip: Dockerfile + wheel the runner image is built from"
    )
    base_image_registry: str | None = Field(
        default=None,
        description="ECR registry whose pull-through cache serves the base images: '<registry>' or "
        "'<registry>;<upstream>,...' (pathprover.generate.render.BaseImageRegistry); None pulls from the upstreams",
    )
    training_image: str = (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
        "huggingface-pytorch-training:2.5.1-transformers4.49.0-gpu-py311-cu124-ubuntu22.04"
    )
    ledger_table: str | None = Field(default=None, description="DynamoDB table of budget reservations and leases")
    hf_token_secret: str | None = Field(default=None, description="Secrets Manager id of the Hugging Face token")
    keep_on_failure: bool = False
    stack: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[A-Za-z][A-Za-z0-9-]*$",
        description="the CloudFormation stack of this deployment: every SageMaker resource is tagged "
        "pathprover:stack=<it>, and the janitor deletes only resources of its own stack",
    )
    state_machine_arn: str | None = Field(
        default=None, description="the Path Prover state machine; the janitor asks it for execution statuses"
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if key in env and env[key] != "":
                values[name] = env[key]
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if "region" not in values and region:
            values["region"] = region
        return cls(**values)


def job_environment() -> dict[str, str]:
    """The environment of a CodeBuild job (the benchmark runner): its inputs arrive as variables."""
    return dict(os.environ)
