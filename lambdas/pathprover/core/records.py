"""The `benchmark_results` row: one definition of the table, used by every writer and reader.

The pydantic model *is* the schema: :mod:`pathprover.core.schema` derives the
DuckDB, Parquet and Glue column types from its fields, so the local warehouse,
the Glue table and the docs cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pathprover.core.dimensions import DIMENSIONS, ConfigVector, config_id_of

RunType = Literal["ci", "optimization", "manual", "path_prove"]
Status = Literal["completed", "failed", "unfeasible"]
RUN_TYPES: Final[tuple[str, ...]] = ("ci", "optimization", "manual", "path_prove")
STATUSES: Final[tuple[str, ...]] = ("completed", "failed", "unfeasible")
FailureCategory = Literal[
    "capacity", "timeout", "oom", "code_bug", "model_incompatibility", "service_limitation", "unknown"
]
FailureScope = Literal["config", "account", "harness"]
"""Who is at fault: the configuration, the account's state (quotas, permissions), or this deployment."""
FAILURE_SCOPES: Final[tuple[str, ...]] = ("config", "account", "harness")
PARTITION_COLUMN: Final = "dt"
"""Hive partition key (`dt=YYYY-MM-DD`), derived from run_timestamp; projected by Athena."""

_METRIC_FAMILIES: Final = ("ttft", "itl", "tpot", "e2e_latency")
_STATS: Final = ("avg", "p50", "p90", "p99")


def record_id_of(execution_id: str, config_id: str, attempt: int, concurrency: int | None) -> str:
    """Deterministic row id, so a re-run of the same prove never duplicates a row."""
    payload = json.dumps([execution_id, config_id, int(attempt), concurrency], separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _metric(description: str) -> Any:
    return Field(default=None, description=description)


class BenchmarkRecord(BaseModel):
    """One row of `mlcc_ci.benchmark_results`."""

    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(description="sha256 of (execution_id, config_id, attempt, concurrency); idempotency key")
    config_id: str = Field(description="sha256 of the canonical JSON of the six normalised dimensions (16 hex)")
    run_type: RunType = Field(description="ci | optimization | manual | path_prove")
    status: Status = Field(description="completed | failed (retryable) | unfeasible (not retryable)")
    run_timestamp: datetime = Field(description="when the run finished, UTC")
    deployment_config: str = Field(description="serving stack, e.g. transformers-vllm")
    model_family: str = Field(description="e.g. qwen3")
    instance_family: str = Field(description="e.g. g5")
    quantization: str = Field(description="none | fp8 | awq | gptq (fp16 is stored as none)")
    tp_degree: int = Field(description="tensor-parallel degree")
    deployment_target: str = Field(description="realtime-inference | async-inference | batch-transform")
    model_name: str | None = Field(default=None, description="HF model id that was deployed")
    instance_type: str | None = Field(default=None, description="SageMaker instance type, e.g. ml.g5.xlarge")
    region: str | None = Field(default=None, description="AWS region of the run")
    failure_reason: str | None = Field(default=None, description="evidence line of the failure (secrets redacted)")
    failure_category: FailureCategory | None = Field(default=None, description="classifier category")
    failure_scope: FailureScope | None = Field(
        default=None,
        description="who is at fault: config | account (quota, permission) | harness (this deployment); "
        "only config may be unfeasible",
    )
    failure_stage: str | None = Field(default=None, description="lifecycle stage the failure arose in")
    failure_retryable: bool | None = Field(default=None, description="whether a later run may retry it")
    execution_id: str | None = Field(default=None, description="Step Functions execution (or local run) id")
    attempt: int | None = Field(default=None, description="1 for the first prove of a config, 2 for a retry ...")
    estimated_cost_usd: float | None = Field(default=None, description="cost the planner reserved")
    actual_cost_usd: float | None = Field(default=None, description="instance-hours actually billed x $/hr")
    duration_seconds: float | None = Field(default=None, description="wall time of the prove")
    concurrency: int | None = Field(default=None, description="benchmark concurrency level of this row")
    input_tokens_mean: float | None = _metric("mean prompt tokens per request")
    output_tokens_mean: float | None = _metric("mean generated tokens per request")
    request_throughput_rps: float | None = _metric("completed requests per second")
    output_token_throughput_tps: float | None = _metric("generated tokens per second")
    ttft_avg_ms: float | None = _metric("time to first token, mean")
    ttft_p50_ms: float | None = _metric("time to first token, median")
    ttft_p90_ms: float | None = _metric("time to first token, p90")
    ttft_p99_ms: float | None = _metric("time to first token, p99")
    itl_avg_ms: float | None = _metric("inter-token latency, mean")
    itl_p50_ms: float | None = _metric("inter-token latency, median")
    itl_p90_ms: float | None = _metric("inter-token latency, p90")
    itl_p99_ms: float | None = _metric("inter-token latency, p99")
    tpot_avg_ms: float | None = _metric("time per output token after the first, mean")
    tpot_p50_ms: float | None = _metric("time per output token, median")
    tpot_p90_ms: float | None = _metric("time per output token, p90")
    tpot_p99_ms: float | None = _metric("time per output token, p99")
    e2e_latency_avg_ms: float | None = _metric("request latency, mean")
    e2e_latency_p50_ms: float | None = _metric("request latency, median")
    e2e_latency_p90_ms: float | None = _metric("request latency, p90")
    e2e_latency_p99_ms: float | None = _metric("request latency, p99")
    error_rate: float | None = _metric("failed requests / all requests")
    cost_per_1m_tokens: float | None = _metric("USD per million generated tokens at the catalog price")
    artifacts_uri: str | None = Field(default=None, description="where per-request samples and the manifest are")
    serving_params: str | None = Field(default=None, description="engine arguments as JSON text")
    infra_params: str | None = Field(default=None, description="infrastructure parameters as JSON text")
    run_config_hash: str | None = Field(default=None, description="hash of the full RunConfig (nested fields included)")
    image_digest: str | None = Field(default=None, description="digest of the serving image that was proved")
    tuned: bool | None = Field(default=None, description="whether the prove included tune/adapter stages")
    notes: str | None = Field(default=None, description="free text, e.g. resources kept for post-mortem")

    @field_validator("run_timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def vector(self) -> ConfigVector:
        return ConfigVector(**{name: getattr(self, name) for name in DIMENSIONS})

    @property
    def partition(self) -> str:
        return self.run_timestamp.strftime("%Y-%m-%d")


METRIC_COLUMNS: Final[tuple[str, ...]] = (
    *tuple(f"{m}_{s}_ms" for m in _METRIC_FAMILIES for s in _STATS),
    "request_throughput_rps",
    "output_token_throughput_tps",
    "error_rate",
    "cost_per_1m_tokens",
    "input_tokens_mean",
    "output_tokens_mean",
)


class ProveContext(BaseModel):
    """What every `path_prove` row of one prove shares."""

    model_config = ConfigDict(extra="forbid")

    vector: ConfigVector
    execution_id: str
    attempt: int = Field(default=1, ge=1)
    model_name: str | None = None
    instance_type: str | None = None
    region: str | None = None
    estimated_cost_usd: float | None = None
    actual_cost_usd: float | None = None
    duration_seconds: float | None = None
    serving_params: dict[str, Any] = Field(default_factory=dict)
    infra_params: dict[str, Any] = Field(default_factory=dict)
    run_config_hash: str | None = None
    image_digest: str | None = None
    tuned: bool = False
    notes: str | None = None


def _base(ctx: ProveContext, finished_at: datetime, concurrency: int | None) -> dict[str, Any]:
    config_id = config_id_of(ctx.vector.as_dict())
    return {
        "record_id": record_id_of(ctx.execution_id, config_id, ctx.attempt, concurrency),
        "config_id": config_id,
        "run_type": "path_prove",
        "run_timestamp": finished_at,
        **ctx.vector.as_dict(),
        "model_name": ctx.model_name,
        "instance_type": ctx.instance_type,
        "region": ctx.region,
        "execution_id": ctx.execution_id,
        "attempt": ctx.attempt,
        "estimated_cost_usd": ctx.estimated_cost_usd,
        "actual_cost_usd": ctx.actual_cost_usd,
        "duration_seconds": ctx.duration_seconds,
        "concurrency": concurrency,
        "serving_params": json.dumps(ctx.serving_params, sort_keys=True) if ctx.serving_params else None,
        "infra_params": json.dumps(ctx.infra_params, sort_keys=True) if ctx.infra_params else None,
        "run_config_hash": ctx.run_config_hash,
        "image_digest": ctx.image_digest,
        "tuned": ctx.tuned,
        "notes": ctx.notes,
    }


def completed_records(
    ctx: ProveContext,
    finished_at: datetime,
    levels: list[dict[str, Any]],
    artifacts_uri: str | None = None,
) -> list[BenchmarkRecord]:
    """One `completed` row per benchmark concurrency level (one row with no metrics if none ran)."""
    if not levels:
        return [BenchmarkRecord(**_base(ctx, finished_at, None), status="completed", artifacts_uri=artifacts_uri)]
    rows = []
    for level in levels:
        metrics = {k: level[k] for k in METRIC_COLUMNS if level.get(k) is not None}
        concurrency = int(level["concurrency"])
        rows.append(
            BenchmarkRecord(
                **_base(ctx, finished_at, concurrency),
                status="completed",
                artifacts_uri=artifacts_uri,
                **metrics,
            )
        )
    return rows


def status_of_failure(retryable: bool, scope: FailureScope) -> Status:
    """The one rule: only a non-retryable failure of the configuration itself is `unfeasible`."""
    return "unfeasible" if scope == "config" and not retryable else "failed"


def failure_record(
    ctx: ProveContext,
    finished_at: datetime,
    *,
    category: str,
    retryable: bool,
    reason: str,
    stage: str | None,
    scope: FailureScope = "config",
    artifacts_uri: str | None = None,
) -> BenchmarkRecord:
    """One row for a failed prove.

    `unfeasible` only when the configuration itself is at fault and a retry cannot help;
    an account or harness failure is always `failed`, so it never hides a config for good.
    """
    if not reason.strip():
        raise ValueError("a failure record needs a failure_reason")
    return BenchmarkRecord(
        **_base(ctx, finished_at, None),
        status=status_of_failure(retryable, scope),
        failure_category=category,
        failure_scope=scope,
        failure_retryable=retryable,
        failure_reason=reason.strip()[:1000],
        failure_stage=stage,
        artifacts_uri=artifacts_uri,
    )


def manual_unfeasible_record(
    vector: ConfigVector, reason: str, marked_at: datetime, marked_by: str = "manual"
) -> BenchmarkRecord:
    """A `manual` row that marks a config unfeasible (operators' override)."""
    if not reason.strip():
        raise ValueError("--reason must say why the config is unfeasible")
    config_id = vector.config_id
    return BenchmarkRecord(
        record_id=record_id_of(f"manual:{marked_by}:{reason.strip()}", config_id, 1, None),
        config_id=config_id,
        run_type="manual",
        status="unfeasible",
        run_timestamp=marked_at,
        **vector.as_dict(),
        failure_reason=reason.strip(),
        failure_scope="config",
        failure_retryable=False,
        notes=f"marked unfeasible by {marked_by}",
    )
