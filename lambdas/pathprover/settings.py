"""Every environment variable Path Prover reads, in one typed model.

Nothing else in the package reads ``os.environ``; handlers and the CLI build a
:class:`Settings` once and pass what they need down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "PATHPROVER_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    warehouse: Path = Field(default=Path(".pathprover/warehouse"), description="local warehouse root")
    catalog_dir: Path | None = Field(
        default=None, description="catalog folder (default: the shipped catalog)"
    )
    region: str = Field(default="us-east-1", description="AWS region of runs and prices")
    results_bucket: str | None = None
    athena_workgroup: str | None = None
    glue_database: str = "mlcc_ci"
    glue_table: str = "benchmark_results"

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
