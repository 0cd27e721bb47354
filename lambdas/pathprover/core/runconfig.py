"""A concrete, runnable prove: what the lifecycle stages need beyond the six dimensions."""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_validator

from pathprover.core.dimensions import ConfigVector
from pathprover.core.stage_table import DEFAULT_STAGES, REQUIRED_STAGES, Stage

SERVING_PARAM_KEY: Final = re.compile(r"^[a-z][a-z0-9_]*$")
ModelName = Annotated[str, Field(min_length=3, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9._-]+$")]
InstanceTypeName = Annotated[str, Field(pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")]
ServingValue = str | int | float | bool
ADAPTER_S3_URI: Final = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/[A-Za-z0-9!_.*'()/=+@-]+$")
"""A PEFT adapter in S3: a model.tar.gz (a training job's artifact) or a folder ending in /."""
ADAPTER_TARGET: Final = "realtime-inference"
"""Adapters are proved on real-time endpoints: the adapter test and benchmark call the adapter by name."""


def check_adapter_uri(value: str) -> str:
    """An adapter URI a person wrote: s3:// only (SageMaker copies model data from S3, nothing else)."""
    if not ADAPTER_S3_URI.match(value) or not (value.endswith("/") or value.endswith(".tar.gz")):
        raise ValueError(
            f"adapter_s3_uri must be an s3://bucket/key URI of a PEFT LoRA adapter, either a model.tar.gz "
            f"(a training job's artifact) or a folder ending in '/' holding adapter_config.json; got {value!r}"
        )
    return value


CAPACITY_RESERVATION_ARN: Final = (
    r"^arn:aws[a-z-]*:(sagemaker|ec2):[a-z0-9-]+:(\d{12}|ACCOUNT):[a-z-]+/[A-Za-z0-9._/-]+$"
)
"""A training plan or capacity reservation ARN; the account may be the guide's literal ACCOUNT (resolved at plan)."""


class InfraParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    capacity_reservation_arn: str | None = Field(
        default=None,
        pattern=CAPACITY_RESERVATION_ARN,
        description="SageMaker training plan / capacity reservation the endpoint or job must use",
    )


ACCOUNT_PLACEHOLDER: Final = "ACCOUNT"
"""The guide writes `arn:aws:sagemaker:us-east-2:ACCOUNT:training-plan/tp-XXX`: the deploying account's id."""


def has_account_placeholder(arn: str | None) -> bool:
    return arn is not None and arn.split(":")[4:5] == [ACCOUNT_PLACEHOLDER]


def resolve_account(arn: str, account_id: str | None) -> str:
    """The ARN with a literal ``ACCOUNT`` replaced by ``account_id``; ValueError when it cannot be.

    Names such as ``tp-XXX`` are left alone: they are real-looking resource names, and SageMaker answers
    for them with its own error.
    """
    if not has_account_placeholder(arn):
        return arn
    if account_id is None or not re.fullmatch(r"\d{12}", account_id):
        raise ValueError(
            f"capacity_reservation_arn {arn!r} names the account as the literal ACCOUNT and the deploying "
            "account is not known (set PATHPROVER_ACCOUNT_ID, or write the 12-digit id in the ARN)"
        )
    parts = arn.split(":")
    parts[4] = account_id
    return ":".join(parts)


StrictCount = Annotated[int, Strict()]
"""An integer a person wrote: 5, never true or "5"."""
MAX_SERVING_PARAMS: Final = 64
MAX_SERVING_STRING: Final = 512
MAX_SERVING_NUMBER: Final = 1e12


class TuningRequest(BaseModel):
    """Present only when the prove asks for fine-tuning; tune stages are skipped otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    technique: Literal["sft-lora"] = "sft-lora"
    max_steps: StrictCount = Field(default=50, ge=1, le=100_000)
    lora_rank: StrictCount = Field(default=8, ge=1, le=256)


class BenchmarkWorkload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency_levels: tuple[Annotated[StrictCount, Field(ge=1, le=1024)], ...] = Field(
        default=(1, 4, 8), min_length=1, max_length=16
    )
    requests_per_level: StrictCount = Field(default=64, ge=1, le=100_000)
    warmup_requests: StrictCount = Field(default=4, ge=0, le=1000)
    input_tokens: StrictCount = Field(default=512, ge=1, le=200_000)
    output_tokens: StrictCount = Field(default=128, ge=1, le=32_000)
    seed: StrictCount = Field(default=42, ge=0, le=2**31 - 1)

    @field_validator("concurrency_levels")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(v < 1 for v in value):
            raise ValueError("concurrency levels must be positive integers")
        return tuple(sorted(set(value)))


KV_CACHE_DTYPES: Final = frozenset({"auto", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc", "bfloat16", "float16"})
DTYPES: Final = frozenset({"auto", "half", "float16", "bfloat16", "float", "float32"})
_POSITIVE_INT_PARAMS: Final = frozenset(
    {"max_model_len", "context_length", "max_seq_len", "max_num_seqs", "max_num_batched_tokens", "max_new_tokens"}
)


def _known_param_problem(key: str, value: ServingValue) -> str | None:
    """Why a well-known engine argument has a value its engine would refuse at start-up (None: fine)."""
    if key in _POSITIVE_INT_PARAMS and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        return f"{value!r} is not a whole number of at least 1"
    if key == "gpu_memory_utilization" and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1
    ):
        return f"{value!r} is not a fraction in (0, 1]"
    if key == "kv_cache_dtype" and value not in KV_CACHE_DTYPES:
        return f"{value!r} is not one of {', '.join(sorted(KV_CACHE_DTYPES))}"
    if key == "dtype" and value not in DTYPES:
        return f"{value!r} is not one of {', '.join(sorted(DTYPES))}"
    return None


def validate_serving_params(params: dict[str, Any]) -> dict[str, ServingValue]:
    """Reject keys that cannot become a safe `SM_<ENGINE>_<KEY>` variable, before anything is rendered."""
    clean: dict[str, ServingValue] = {}
    if len(params) > MAX_SERVING_PARAMS:
        raise ValueError(f"serving_params: at most {MAX_SERVING_PARAMS} parameters, got {len(params)}")
    for key, value in params.items():
        if not isinstance(key, str) or not SERVING_PARAM_KEY.match(key) or len(key) > 64:
            raise ValueError(f"serving_params key {key!r} must match ^[a-z][a-z0-9_]*$ (at most 64 characters)")
        if isinstance(value, bool):
            clean[key] = value
        elif isinstance(value, int | float):
            if not math.isfinite(value) or abs(value) > MAX_SERVING_NUMBER:
                raise ValueError(f"serving_params.{key}: {value!r} is not a finite number within ±1e12")
            clean[key] = value
        elif isinstance(value, str):
            if any(ch in value for ch in "\n\r\x00"):
                raise ValueError(f"serving_params.{key}: value must be one line without control characters")
            if len(value) > MAX_SERVING_STRING:
                raise ValueError(f"serving_params.{key}: at most {MAX_SERVING_STRING} characters")
            clean[key] = value
        else:
            raise ValueError(f"serving_params.{key}: value must be a string, number or boolean, got {value!r}")
        if (problem := _known_param_problem(key, clean[key])) is not None:
            raise ValueError(f"serving_params.{key}: {problem}")
    return clean


class RunConfig(BaseModel):
    """A gap made concrete: a real model id and instance type, plus everything a prove needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vector: ConfigVector
    model_name: ModelName
    instance_type: InstanceTypeName
    serving_params: dict[str, ServingValue] = Field(default_factory=dict)
    infra_params: InfraParams = Field(default_factory=InfraParams)
    stages: tuple[Stage, ...] = DEFAULT_STAGES
    tuning: TuningRequest | None = None
    benchmark: BenchmarkWorkload = Field(default_factory=BenchmarkWorkload)
    timeout_multiplier: float = Field(default=1.0, ge=1.0, le=16.0)
    estimated_hours: float | None = None
    estimated_cost_usd: float | None = None
    budget_ceiling_usd: float | None = Field(
        default=None, description="what the run reserves for this prove; billing stops (timeout) before it"
    )
    adapter_s3_uri: str | None = Field(
        default=None, max_length=1024, description="an existing PEFT adapter the adapter stage validates (no tune)"
    )

    @model_validator(mode="before")
    @classmethod
    def _implied_stages(cls, data: Any) -> Any:
        """'tune' in stages asks for the default tuning; an adapter URI without stages asks for its validation."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        stages = data.get("stages")
        if stages is not None and "tune" in stages and data.get("tuning") is None:
            data["tuning"] = TuningRequest()
        if data.get("adapter_s3_uri") and stages is None:
            data["stages"] = (*DEFAULT_STAGES, "adapter")
        return data

    @field_validator("adapter_s3_uri")
    @classmethod
    def _adapter_uri(cls, value: str | None) -> str | None:
        return None if value is None else check_adapter_uri(value)

    @model_validator(mode="after")
    def _adapter_request(self) -> RunConfig:
        """An adapter stage always has an adapter to serve, and tuning is never silently dropped."""
        problems = adapter_request_problems(
            self.stages, self.tuning is not None, self.adapter_s3_uri, self.vector.deployment_target
        )
        if problems:
            raise ValueError(problems)
        return self

    @field_validator("stages")
    @classmethod
    def _proving_stages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """A prove must deploy and test the config; a plan without them could never prove anything."""
        missing = [stage for stage in REQUIRED_STAGES if stage not in value]
        if missing:
            raise ValueError(f"stages must include {', '.join(REQUIRED_STAGES)} (missing: {', '.join(missing)})")
        return value

    @field_validator("serving_params", mode="before")
    @classmethod
    def _serving(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("serving_params must be a mapping of engine argument to value")
        return validate_serving_params(value)

    @property
    def config_id(self) -> str:
        return self.vector.config_id

    @property
    def wants_tuning(self) -> bool:
        return self.tuning is not None

    @property
    def serves_adapter(self) -> bool:
        """Whether the prove deploys an adapter endpoint (a tuned one, or a given adapter to validate)."""
        return self.tuning is not None or self.adapter_s3_uri is not None

    @property
    def run_config_hash(self) -> str:
        """Hash over every field, nested ones included (the prior art dropped nested objects). An absent
        adapter_s3_uri is left out, so configs hashed before the field existed keep their hash."""
        exclude = {"adapter_s3_uri"} if self.adapter_s3_uri is None else set()
        payload = json.dumps(self.model_dump(mode="json", exclude=exclude), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def adapter_request_problems(
    stages: tuple[str, ...] | None, tuning: bool, adapter_s3_uri: str | None, deployment_target: str
) -> str | None:
    """Why a request for tune / adapter stages cannot be proved as written (None: it can)."""
    wanted = set(stages or ())
    tuned = tuning or "tune" in wanted
    if tuned and adapter_s3_uri is not None:
        return (
            "adapter_s3_uri and tune both given: a tune trains its own adapter; give adapter_s3_uri without 'tune' "
            "to validate an existing adapter"
        )
    if "adapter" in wanted and not tuned and adapter_s3_uri is None:
        return (
            "stages include 'adapter' but there is no adapter to serve: add 'tune' to train one, or give "
            "adapter_s3_uri (an s3:// PEFT adapter) to validate an existing one"
        )
    if adapter_s3_uri is not None and stages is not None and "adapter" not in wanted:
        return "adapter_s3_uri is given but stages do not include 'adapter' (the stage that validates it)"
    if (tuned or adapter_s3_uri is not None) and deployment_target != ADAPTER_TARGET:
        return (
            f"tune and adapter are proved on {ADAPTER_TARGET} only: the adapter test and benchmark call the adapter "
            f"by name on a real-time endpoint; {deployment_target} is not supported"
        )
    return None
