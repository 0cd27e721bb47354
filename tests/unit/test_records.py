"""path_prove record builder and the one schema definition."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pathprover.core import schema
from pathprover.core.dimensions import ConfigVector
from pathprover.core.records import (
    ProveContext,
    completed_records,
    failure_record,
    manual_unfeasible_record,
    record_id_of,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
VECTOR = ConfigVector(deployment_config="vllm", model_family="qwen3", instance_family="g5")


def ctx(**kw):
    return ProveContext(vector=VECTOR, execution_id="exec-1", model_name="Qwen/Qwen3-0.6B", **kw)


def test_record_id_is_deterministic_and_pinned():
    assert record_id_of("exec-1", "a85629ebfe1da8c1", 1, 4) == record_id_of("exec-1", "a85629ebfe1da8c1", 1, 4)
    assert record_id_of("exec-1", "a85629ebfe1da8c1", 1, 4) == "e50ba5c1ae8d4e0086f5dd59373a7857"
    assert record_id_of("exec-1", "x", 1, 4) != record_id_of("exec-1", "x", 2, 4)
    assert record_id_of("exec-1", "x", 1, 4) != record_id_of("exec-1", "x", 1, 8)


def test_completed_rows_one_per_concurrency_level():
    # Given a benchmark with three levels / When records are built
    rows = completed_records(ctx(), NOW, [{"concurrency": c, "ttft_p50_ms": 10.0 * c} for c in (1, 4, 8)])
    # Then there is one completed path_prove row per level, with distinct ids and the metric set
    assert [r.concurrency for r in rows] == [1, 4, 8]
    assert {r.status for r in rows} == {"completed"} and {r.run_type for r in rows} == {"path_prove"}
    assert len({r.record_id for r in rows}) == 3
    assert rows[2].ttft_p50_ms == 80.0
    assert rows[0].config_id == VECTOR.config_id


def test_retryable_failure_is_failed_and_non_retryable_is_unfeasible():
    failed = failure_record(
        ctx(), NOW, category="capacity", retryable=True, reason="InsufficientInstanceCapacity", stage="deploy"
    )
    unfeasible = failure_record(
        ctx(), NOW, category="oom", retryable=False, reason="CUDA out of memory", stage="deploy"
    )
    assert (failed.status, failed.failure_retryable) == ("failed", True)
    assert (unfeasible.status, unfeasible.failure_reason, unfeasible.failure_category) == (
        "unfeasible",
        "CUDA out of memory",
        "oom",
    )


def test_failure_needs_a_reason():
    with pytest.raises(ValueError, match="failure_reason"):
        failure_record(ctx(), NOW, category="oom", retryable=False, reason="  ", stage="deploy")


def test_manual_row():
    row = manual_unfeasible_record(VECTOR, "licence forbids", NOW)
    assert (row.run_type, row.status, row.failure_retryable) == ("manual", "unfeasible", False)


def test_schema_has_the_columns_the_guide_and_issue_need():
    cols = {c.name: c for c in schema.columns()}
    needed = [
        "config_id",
        "run_type",
        "status",
        "run_timestamp",
        "deployment_config",
        "model_family",
        "instance_family",
        "quantization",
        "tp_degree",
        "deployment_target",
        "model_name",
        "instance_type",
        "region",
        "failure_reason",
        "failure_category",
        "failure_stage",
        "failure_retryable",
        "execution_id",
        "attempt",
        "estimated_cost_usd",
        "actual_cost_usd",
        "duration_seconds",
        "concurrency",
        "ttft_p50_ms",
        "ttft_p99_ms",
        "itl_p50_ms",
        "e2e_latency_p99_ms",
        "request_throughput_rps",
        "output_token_throughput_tps",
        "error_rate",
        "cost_per_1m_tokens",
        "artifacts_uri",
        "serving_params",
    ]
    assert not [n for n in needed if n not in cols]
    assert cols["tp_degree"].type == "int"
    assert cols["run_timestamp"].type == "timestamp"
    assert cols["failure_retryable"].type == "boolean"


def test_schema_doc_is_in_sync():
    # Given docs/schema.md / Then it embeds the table generated from the one definition
    doc = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text()
    assert schema.markdown_table() in doc
