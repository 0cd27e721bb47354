"""AthenaResultsStore's request building, polling and failures against botocore's Stubber (the rows of a
finished query and the writes with the real awswrangler are in test_athena_reader.py's moto server tests).
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from pathprover.adapters.aws.results import (
    AthenaQueryError,
    AthenaQueryTimeout,
    AthenaResultsStore,
    MissingDependencyError,
    existing_ids_sql,
)
from pathprover.core.dimensions import ConfigVector
from pathprover.core.records import ProveContext, completed_records
from tests.support.aws_stubs import NOW, Env

# --------------------------------------------------------------------------- Athena


def athena_store(env: Env, **overrides: Any) -> AthenaResultsStore:
    values: dict[str, Any] = {
        "table_s3_uri": "s3://pp-results/mlcc_ci/benchmark_results",
        "workgroup": "path-prover",
        "poll_interval_s": 1.0,
        "max_wait_s": 10.0,
        "sleep": env.sleep,
    }
    values.update(overrides)
    return AthenaResultsStore(env.clients, **values)


def execution(state: str, reason: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {"QueryExecution": {"QueryExecutionId": "q-1", "StatementType": "DML", "Status": status}}


def test_athena_query_builds_the_request_and_polls_until_it_ends(env: Env) -> None:
    # The rows of a SUCCEEDED query are read by pyathena from its result file: see test_athena_moto.py
    athena = env.stub("athena")
    sql = "SELECT config_id, tp_degree, ttft_p50_ms, tuned FROM mlcc_ci.benchmark_results"
    athena.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q-1"},
        {"QueryString": sql, "QueryExecutionContext": {"Database": "mlcc_ci"}, "WorkGroup": "path-prover"},
    )
    athena.add_response("get_query_execution", execution("QUEUED"), {"QueryExecutionId": "q-1"})
    athena.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": "q-1"})
    athena.add_response(
        "get_query_execution", execution("FAILED", "Query exhausted resources"), {"QueryExecutionId": "q-1"}
    )

    with pytest.raises(AthenaQueryError, match="q-1 FAILED: Query exhausted resources"):
        athena_store(env).query(sql)
    assert env.sleeps == [1.0, 1.5]


def test_athena_query_stuck_running_hits_the_bound(env: Env) -> None:
    athena = env.stub("athena")
    athena.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    # poll_interval 1 s, max_wait 10 s: at most ceil(10/1)+1 = 11 polls, whatever the clock says
    for _ in range(11):
        athena.add_response("get_query_execution", execution("RUNNING"))
    athena.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-1"})

    with pytest.raises(AthenaQueryTimeout, match=r"q-1 still RUNNING .*limit 10s"):
        athena_store(env, monotonic=lambda: 0.0).query("SELECT 1")
    assert len(env.sleeps) == 11


def test_athena_poll_is_bounded_by_the_wall_clock(env: Env) -> None:
    athena = env.stub("athena")
    clock = {"t": 0.0}

    def sleep(seconds: float) -> None:
        clock["t"] += seconds

    athena.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    # intervals 1, 1.5, 2.25, 3.375 -> 8.125 s, then 1.875 s to the 10 s deadline
    for _ in range(6):
        athena.add_response("get_query_execution", execution("RUNNING"))
    athena.add_response("stop_query_execution", {})
    store = athena_store(env, sleep=sleep, monotonic=lambda: clock["t"])
    with pytest.raises(AthenaQueryTimeout):
        store.query("SELECT 1")
    assert clock["t"] == pytest.approx(10.0)


def test_athena_failed_query_raises_with_the_reason(env: Env) -> None:
    athena = env.stub("athena")
    athena.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    athena.add_response("get_query_execution", execution("FAILED", "line 1:8: Column 'nope' cannot be resolved"))
    with pytest.raises(AthenaQueryError, match="cannot be resolved"):
        athena_store(env).query("SELECT nope FROM mlcc_ci.benchmark_results")


def prove_rows() -> tuple[Any, list[Any]]:
    vector = ConfigVector(deployment_config="vllm", model_family="qwen3", instance_family="g5")
    ctx = ProveContext(vector=vector, execution_id="e1", model_name="Qwen/Qwen3-0.6B")
    return completed_records(ctx, NOW, [{"concurrency": c, "ttft_p50_ms": 40.0 + c} for c in (1, 4)])


def test_append_without_awswrangler_fails_clearly(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    athena = env.stub("athena")
    athena.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    athena.add_response(
        "get_query_execution",
        execution(
            "FAILED", "TABLE_NOT_FOUND: line 1:25: Table 'awsdatacatalog.mlcc_ci.benchmark_levels' does not exist"
        ),
    )
    monkeypatch.setitem(sys.modules, "awswrangler", None)  # import fails, as outside the Lambda layer
    row, levels = prove_rows()
    with pytest.raises(MissingDependencyError, match="Lambda layer"):
        athena_store(env).append([row], levels)


def test_existing_ids_sql_rejects_odd_ids() -> None:
    assert existing_ids_sql("mlcc_ci", "benchmark_results", ["ab12"]) == (
        'SELECT record_id FROM "mlcc_ci"."benchmark_results" WHERE record_id IN (\'ab12\')'
    )
    with pytest.raises(ValueError):
        existing_ids_sql("mlcc_ci", "benchmark_results", ["x' OR '1'='1"])


def test_the_levels_location_defaults_next_to_the_results_and_can_be_set(env: Env) -> None:
    assert athena_store(env).levels_s3_uri == "s3://pp-results/mlcc_ci/benchmark_levels/"
    store = athena_store(env, levels_s3_uri="s3://stack-bucket/mlcc_ci/benchmark_levels")
    assert store.levels_s3_uri == "s3://stack-bucket/mlcc_ci/benchmark_levels/"
    with pytest.raises(ValueError, match="s3://"):
        athena_store(env, levels_s3_uri="/tmp/levels")
