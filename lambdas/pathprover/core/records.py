"""The rows of `benchmark_results` (one per prove attempt) and `benchmark_levels` (one per benchmarked
concurrency level of an attempt): one definition of each table, used by every writer and reader.

The pydantic models *are* the schemas: :mod:`pathprover.core.schema` derives the
DuckDB, Parquet and Glue column types from their fields, so the local warehouse,
the Glue tables and the docs cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from pathprover.core.dimensions import DIMENSIONS, ConfigVector, config_id_of

RunType = Literal["ci", "optimization", "manual", "path_prove"]
Status = Literal["completed", "failed", "unfeasible"]
RUN_TYPES: Final[tuple[RunType, ...]] = get_args(RunType)
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
FailureCategory = Literal[
    "capacity", "timeout", "oom", "code_bug", "model_incompatibility", "service_limitation", "unknown"
]
FailureScope = Literal["config", "account", "harness"]
"""Who is at fault: the configuration, the account's state (quotas, permissions), or this deployment."""
FAILURE_SCOPES: Final[tuple[FailureScope, ...]] = get_args(FailureScope)
PARTITION_COLUMN: Final = "dt"
"""Hive partition key (`dt=YYYY-MM-DD`), derived from run_timestamp; projected by Athena."""


def record_id_of(execution_id: str, config_id: str, attempt: int) -> str:
    """Deterministic id of one prove attempt, so a re-run of the same register never duplicates a row.

    The trailing null is where tables of the older layout (a row per concurrency level) put the level:
    keeping it leaves the ids of failure and manual rows, which never had a level, unchanged.
    """
    payload = json.dumps([execution_id, config_id, int(attempt), None], separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _as_utc(value: datetime) -> datetime:
    """Naive timestamps are UTC; aware ones are converted to it."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def _metric(description: str) -> Any:
    return Field(default=None, description=description)


class BenchmarkRecord(BaseModel):
    """One row of `mlcc_ci.benchmark_results`: one prove (or CI run) attempt, with its headline metrics."""

    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(description="sha256 of (execution_id, config_id, attempt); idempotency key")
    config_id: str = Field(description="sha256 of the canonical JSON of the six normalised dimensions (16 hex)")
    run_type: RunType = Field(description="ci | optimization | manual | path_prove")
    status: Status = Field(description="completed | failed (retryable) | unfeasible (not retryable)")
    run_timestamp: UtcDatetime = Field(
        description="when the row was written (the attempt ended), wall-clock UTC, also on simulated rows"
    )
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
    duration_seconds: float | None = Field(
        default=None,
        description="how long the prove took on the workflow's clock: simulated seconds where simulated is true",
    )
    levels_benchmarked: int | None = Field(
        default=None, description="concurrency levels benchmarked (their rows are in mlcc_ci.benchmark_levels)"
    )
    latency_concurrency: int | None = Field(
        default=None, description="lowest concurrency benchmarked: the level the latency columns are from"
    )
    ttft_p50_ms: float | None = _metric("time to first token, median, at latency_concurrency")
    ttft_p99_ms: float | None = _metric("time to first token, p99, at latency_concurrency")
    itl_p50_ms: float | None = _metric("inter-token latency, median, at latency_concurrency")
    itl_p99_ms: float | None = _metric("inter-token latency, p99, at latency_concurrency")
    e2e_latency_p50_ms: float | None = _metric("request latency, median, at latency_concurrency")
    e2e_latency_p99_ms: float | None = _metric("request latency, p99, at latency_concurrency")
    peak_concurrency: int | None = Field(
        default=None, description="concurrency level with the highest output token throughput"
    )
    peak_output_token_throughput_tps: float | None = _metric("generated tokens per second at peak_concurrency")
    peak_request_throughput_rps: float | None = _metric("completed requests per second at peak_concurrency")
    cost_per_1m_tokens: float | None = _metric("USD per million generated tokens at peak_concurrency")
    input_tokens_mean: float | None = _metric("mean prompt tokens per request at peak_concurrency")
    output_tokens_mean: float | None = _metric("mean generated tokens per request at peak_concurrency")
    error_rate: float | None = _metric("failed requests / all requests, highest of any level")
    artifacts_uri: str | None = Field(default=None, description="where per-request samples and the manifest are")
    serving_params: str | None = Field(default=None, description="engine arguments as JSON text")
    infra_params: str | None = Field(default=None, description="infrastructure parameters as JSON text")
    run_config_hash: str | None = Field(default=None, description="hash of the full RunConfig (nested fields included)")
    image_digest: str | None = Field(default=None, description="digest of the serving image that was proved")
    tuned: bool | None = Field(default=None, description="whether the prove included tune/adapter stages")
    notes: str | None = Field(default=None, description="free text, e.g. resources kept for post-mortem")
    simulated: bool | None = Field(
        default=None,
        description="true: written by the local runtime (simulated fleet and builder) or synthetic (pathprover "
        "seed); false: measured on AWS, or a manual entry; NULL (read as false): written before the column",
    )

    @property
    def vector(self) -> ConfigVector:
        return ConfigVector(**{name: getattr(self, name) for name in DIMENSIONS})

    @property
    def partition(self) -> str:
        return partition_of(self.run_timestamp)


def partition_of(run_timestamp: datetime) -> str:
    """The `dt` partition of a row: the UTC date of its attempt's run_timestamp (both tables)."""
    return run_timestamp.astimezone(UTC).strftime("%Y-%m-%d")


class LevelRecord(BaseModel):
    """One row of `mlcc_ci.benchmark_levels`: one benchmarked concurrency level of a prove attempt.

    Keyed by `record_id` (the attempt's row in `benchmark_results`) and `concurrency`; in the same `dt`
    partition as that row, so a join can prune partitions on both sides.
    """

    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(description="the attempt's record_id in mlcc_ci.benchmark_results")
    config_id: str = Field(description="the attempt's config_id (for queries that need no join)")
    run_timestamp: UtcDatetime = Field(description="the attempt's run_timestamp, UTC")
    concurrency: int | None = Field(default=None, description="requests in flight at this level")
    mode: str | None = Field(
        default=None,
        description="how it was measured: stream (realtime, tokens streamed), async (InvokeEndpointAsync, "
        "submission to output object: no TTFT/ITL), batch (a transform job's billed time: no latencies)",
    )
    requests: int | None = _metric("measured requests (warm-up excluded)")
    errors: int | None = _metric("failed requests")
    error_rate: float | None = _metric("failed requests / all requests")
    total_output_tokens: int | None = _metric("generated tokens of the successful requests")
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
    cost_per_1m_tokens: float | None = _metric("USD per million generated tokens at the catalog price")

    @property
    def partition(self) -> str:
        return partition_of(self.run_timestamp)


LEVEL_KEYS: Final[tuple[str, ...]] = ("record_id", "config_id", "run_timestamp")
"""What a level row takes from its attempt; every other LevelRecord field comes from the benchmark."""
LEVEL_METRICS: Final[tuple[str, ...]] = tuple(n for n in LevelRecord.model_fields if n not in LEVEL_KEYS)
"""The per-level values (concurrency first): the keys of a level dict the load generator emits that are kept."""

LATENCY_HEADLINE: Final[tuple[str, ...]] = (
    *(f"{m}_{s}_ms" for m in ("ttft", "itl", "e2e_latency") for s in ("p50", "p99")),
)
"""Results columns copied from the lowest benchmarked level (same name in both tables)."""
PEAK_HEADLINE: Final[dict[str, str]] = {
    "peak_output_token_throughput_tps": "output_token_throughput_tps",
    "peak_request_throughput_rps": "request_throughput_rps",
    "cost_per_1m_tokens": "cost_per_1m_tokens",
    "input_tokens_mean": "input_tokens_mean",
    "output_tokens_mean": "output_tokens_mean",
}
"""Results column -> level column, taken from the level with the highest output token throughput."""
PEAK_BY: Final = "output_token_throughput_tps"


def headline(levels: Sequence[LevelRecord]) -> dict[str, Any]:
    """The attempt's headline metrics from its levels: latency at the lowest concurrency (where a user
    alone sees it), throughput, cost and token counts at the peak level (ties: the lower concurrency),
    the worst error rate. A level with no concurrency sorts last; a missing metric stays NULL."""
    if not levels:
        return {}
    ordered = sorted(levels, key=lambda lvl: (lvl.concurrency is None, lvl.concurrency or 0))
    lowest = ordered[0]
    measured = [lvl for lvl in ordered if getattr(lvl, PEAK_BY) is not None]
    peak = max(measured, key=lambda lvl: float(getattr(lvl, PEAK_BY))) if measured else None
    rates = [lvl.error_rate for lvl in ordered if lvl.error_rate is not None]
    return {
        "levels_benchmarked": len(ordered),
        "latency_concurrency": lowest.concurrency,
        **{name: getattr(lowest, name) for name in LATENCY_HEADLINE},
        "peak_concurrency": peak.concurrency if peak else None,
        **{name: (getattr(peak, source) if peak else None) for name, source in PEAK_HEADLINE.items()},
        "error_rate": max(rates) if rates else None,
    }


class ProveContext(BaseModel):
    """What the `path_prove` row of one prove attempt carries besides its outcome and metrics."""

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
    simulated: bool = False
    """The prove ran on the local runtime's simulated fleet and builder (Services.simulated)."""


def _base(ctx: ProveContext, finished_at: datetime) -> dict[str, Any]:
    config_id = config_id_of(ctx.vector.as_dict())
    return {
        "record_id": record_id_of(ctx.execution_id, config_id, ctx.attempt),
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
        "serving_params": json.dumps(ctx.serving_params, sort_keys=True) if ctx.serving_params else None,
        "infra_params": json.dumps(ctx.infra_params, sort_keys=True) if ctx.infra_params else None,
        "run_config_hash": ctx.run_config_hash,
        "image_digest": ctx.image_digest,
        "tuned": ctx.tuned,
        "notes": ctx.notes,
        "simulated": ctx.simulated,
    }


def level_records(record: BenchmarkRecord, levels: Sequence[Mapping[str, Any]]) -> list[LevelRecord]:
    """The `benchmark_levels` rows of an attempt from the level dicts the benchmark emitted.

    Keys this table does not know (the load generator's `duration_s`, a transport's extras) are left
    out, and missing ones are NULL: an async or batch benchmark has no TTFT, for instance.
    """
    return [
        LevelRecord(
            record_id=record.record_id,
            config_id=record.config_id,
            run_timestamp=record.run_timestamp,
            **{k: level[k] for k in LEVEL_METRICS if level.get(k) is not None},
        )
        for level in levels
    ]


def completed_records(
    ctx: ProveContext,
    finished_at: datetime,
    levels: Sequence[Mapping[str, Any]],
    artifacts_uri: str | None = None,
) -> tuple[BenchmarkRecord, list[LevelRecord]]:
    """The `completed` row of a prove attempt (headline metrics) and its rows in `benchmark_levels`."""
    record = BenchmarkRecord(**_base(ctx, finished_at), status="completed", artifacts_uri=artifacts_uri)
    rows = level_records(record, levels)
    return record.model_copy(update=headline(rows)), rows


def status_of_failure(retryable: bool, scope: FailureScope, *, sure: bool = True) -> Status:
    """The one rule: only a non-retryable failure of the configuration itself is `unfeasible`, and only
    when the classifier is sure of it (a low-confidence best guess must not hide a config for good)."""
    return "unfeasible" if scope == "config" and not retryable and sure else "failed"


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
    sure: bool = True,
) -> BenchmarkRecord:
    """One row for a failed prove.

    `unfeasible` only when the configuration itself is at fault and a retry cannot help;
    an account or harness failure is always `failed`, so it never hides a config for good.
    """
    if not reason.strip():
        raise ValueError("a failure record needs a failure_reason")
    return BenchmarkRecord(
        **_base(ctx, finished_at),
        status=status_of_failure(retryable, scope, sure=sure),
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
        record_id=record_id_of(f"manual:{marked_by}:{reason.strip()}", config_id, 1),
        config_id=config_id,
        run_type="manual",
        status="unfeasible",
        run_timestamp=marked_at,
        **vector.as_dict(),
        failure_reason=reason.strip(),
        failure_scope="config",
        failure_retryable=False,
        notes=f"marked unfeasible by {marked_by}",
        simulated=False,
    )
