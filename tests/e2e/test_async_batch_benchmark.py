"""Async and batch targets are benchmarked end to end on the local runtime (issue 10, part 2)."""

import json

import duckdb
import pytest

from pathprover.adapters.local.faults import parse_faults
from pathprover.runtime.local import LocalRuntime
from tests.e2e.conftest import rows_for

COLUMNS = "config_id, deployment_target, status, artifacts_uri, failure_stage, failure_reason"
LEVEL_COLUMNS = (
    "r.deployment_target, r.status, l.concurrency, l.mode, l.ttft_p50_ms, l.itl_p50_ms, l.tpot_p50_ms, "
    "l.e2e_latency_p50_ms, l.e2e_latency_p99_ms, l.output_token_throughput_tps, l.cost_per_1m_tokens, l.error_rate"
)


def levels_for(warehouse, execution: str) -> list[dict]:
    """Each benchmarked level of the execution's proves, with its prove's target and status."""
    from pathprover.adapters.local.warehouse import LocalWarehouse

    result = LocalWarehouse(warehouse).query(
        f"SELECT {LEVEL_COLUMNS} FROM mlcc_ci.benchmark_levels l JOIN mlcc_ci.benchmark_results r "
        f"USING (record_id) WHERE r.execution_id = '{execution}'"
    )
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


ASYNC = {"model_name": "Qwen/Qwen3-1.7B", "instance_type": "ml.g5.xlarge", "deployment_target": "async-inference"}
BATCH = {"model_name": "Qwen/Qwen3-0.6B", "instance_type": "ml.g5.xlarge", "deployment_target": "batch-transform"}


def _artifacts(runtime: LocalRuntime, uri: str) -> tuple[dict, list[tuple]]:
    manifest = json.loads(runtime.artifacts.get_bytes(uri + "manifest.json"))
    path = runtime.artifacts.path_of(uri + "samples.parquet")
    samples = duckdb.sql(
        f"SELECT concurrency, ok, ttft_ms, e2e_latency_ms, output_tokens FROM '{path}' ORDER BY 1, 2"
    ).fetchall()
    return manifest, samples


def test_an_async_and_a_batch_prove_each_complete_with_metrics(seeded):
    # Given an async-inference target and a batch-transform target
    # When both are proved on the simulated fleet
    with LocalRuntime(seeded) as runtime:
        outcome = runtime.run({"TARGETS": [ASYNC, BATCH], "MAX_COST_PER_RUN": 50})
        alive = runtime.fleet.alive({})
        rows = rows_for(seeded, outcome.execution_name, COLUMNS)
        levels = levels_for(seeded, outcome.execution_name)
        artifacts = {r["deployment_target"]: _artifacts(runtime, r["artifacts_uri"]) for r in rows}
    assert outcome.status == "SUCCEEDED", outcome.cause
    summary = outcome.summary
    assert summary["leaked_resources"] == [] and alive == []
    for prove in summary["proves"]:
        # Then each prove completes with its benchmark stage run
        assert prove["status"] == "completed", prove
        assert {"test", "benchmark"} <= {s["stage"] for s in prove["stages"] if s["outcome"] == "succeeded"}

    # And each prove has one row in benchmark_results
    assert sorted(r["deployment_target"] for r in rows) == ["async-inference", "batch-transform"]
    # And the async prove has a level per concurrency (in-flight submissions) with end-to-end latency
    # and throughput, and no streaming metrics
    async_rows = sorted(
        (r for r in levels if r["deployment_target"] == "async-inference"), key=lambda r: r["concurrency"]
    )
    assert [r["concurrency"] for r in async_rows] == [1, 4, 8]
    for row in async_rows:
        assert row["status"] == "completed" and row["error_rate"] == 0 and row["mode"] == "async"
        assert row["ttft_p50_ms"] is None and row["itl_p50_ms"] is None and row["tpot_p50_ms"] is None
        assert 0 < row["e2e_latency_p50_ms"] <= row["e2e_latency_p99_ms"]
        assert row["output_token_throughput_tps"] > 0 and row["cost_per_1m_tokens"] > 0
    # more submissions in flight give more throughput on the simulated instance
    assert async_rows[-1]["output_token_throughput_tps"] > 2 * async_rows[0]["output_token_throughput_tps"]
    manifest, samples = artifacts["async-inference"]
    assert manifest["run_config"]["transport"] == "sagemaker-async"
    assert manifest["workload"]["streaming"] is False
    assert len(samples) == 3 * manifest["workload"]["requests"]
    assert all(
        ok and ttft is None and e2e > 0 and tokens == manifest["workload"]["output_tokens"]
        for _, ok, ttft, e2e, tokens in samples
    )

    # And the batch prove has one level: throughput and $/1M tokens from the job's billed time, no latency
    (batch,) = [r for r in levels if r["deployment_target"] == "batch-transform"]
    assert batch["status"] == "completed" and batch["error_rate"] == 0 and batch["mode"] == "batch"
    assert batch["e2e_latency_p50_ms"] is None and batch["ttft_p50_ms"] is None
    manifest, samples = artifacts["batch-transform"]
    config = manifest["run_config"]
    tokens = sum(s[4] for s in samples)
    assert config["transport"] == "sagemaker-batch" and len(samples) == manifest["workload"]["requests"] == 64
    assert tokens == 64 * manifest["workload"]["output_tokens"]
    assert batch["output_token_throughput_tps"] == pytest.approx(tokens / config["billed_seconds"])
    price = config["price_per_hour"] * config["instance_count"]
    assert batch["cost_per_1m_tokens"] == pytest.approx(config["billed_seconds"] * price / 3600 / tokens * 1e6)
    assert all(ok and e2e is None for _, ok, _, e2e, _ in samples)


def test_a_fault_at_benchmark_is_reached_for_async_and_batch_targets(seeded):
    # Given a benchmark fault for every qwen3 config
    timeout = "benchmark exceeded its timeout: the load generator did not finish within 40 minutes (Build timed out)"
    faults = parse_faults([{"match": {"model_family": "qwen3"}, "stage": "benchmark", "error": timeout}], "faults")
    # When an async and a batch target are proved
    with LocalRuntime(seeded, faults=faults) as runtime:
        outcome = runtime.run({"TARGETS": [ASYNC, BATCH], "MAX_COST_PER_RUN": 50})
        alive = runtime.fleet.alive({})
    assert outcome.status == "SUCCEEDED", outcome.cause
    # Then both fail at benchmark as a retryable timeout, one row each, nothing left alive
    rows = rows_for(seeded, outcome.execution_name, COLUMNS)
    assert sorted((r["deployment_target"], r["status"], r["failure_stage"]) for r in rows) == [
        ("async-inference", "failed", "benchmark"),
        ("batch-transform", "failed", "benchmark"),
    ]
    assert all("timeout" in (r["failure_reason"] or "") for r in rows)
    assert alive == [] and outcome.summary["leaked_resources"] == []
