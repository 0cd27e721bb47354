"""AthenaResultsStore: request building, polling and failures against botocore's Stubber; then with the
ecosystem's clients (pyathena reads, the real awswrangler writes) over moto's S3 and Glue run as a server,
Athena's API stubbed (see the `aws` fixture in conftest.py).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.results import (
    AthenaQueryError,
    AthenaQueryTimeout,
    AthenaResultsStore,
    MissingDependencyError,
    existing_ids_sql,
)
from pathprover.brain.history import COMPLETED_SQL, OUTCOMES_SQL, read_history
from pathprover.core import schema
from pathprover.core.dimensions import ConfigVector
from pathprover.core.records import ProveContext, completed_records
from tests.support.athena_moto import (
    COMPLETED_COLUMNS,
    OUTCOMES_COLUMNS,
    PYARROW_S3,
    REGION,
    RESULTS_BUCKET,
    Athena,
    store,
)
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
    # The rows of a SUCCEEDED query are read by pyathena from its result file: see the moto tests below
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


# --------------------------------------------------------------------------- reads: pyathena over result files


@pytest.mark.slow
def test_the_brains_history_is_read_from_the_result_files_in_one_pass(aws: str) -> None:
    # Given the two history queries' results: 2,500 proven configs (three GetQueryResults pages the
    # old way) and one config that failed twice, with NULLs where nothing was recorded
    completed = [
        ["vllm", "qwen3", "g5", "none", str(tp), "realtime-inference", "3", "2026-11-20 08:00:00.000"]
        for tp in range(1, 2501)
    ]
    outcomes = [
        [
            *("sglang", "llama3", "g6", "fp8", "1", "async-inference"),
            *("0", None, None, "2", "1", "0", "2026-11-22 10:30:00.123", "timeout", "deploy timed out", None, None),
        ]
    ]
    athena_store = store()
    athena = Athena(athena_store)
    athena.answers(COMPLETED_COLUMNS, completed, sql=COMPLETED_SQL)
    athena.answers(OUTCOMES_COLUMNS, outcomes, sql=OUTCOMES_SQL)

    # When the brain reads its history through the store
    history = read_history(athena_store)

    # Then every row arrives, typed: the proven configs, and the failures with their time and reason
    assert len(history.completed()) == 2500
    proven = history.configs[("transformers-vllm", "qwen3", "g5", "none", 7, "realtime-inference")]
    assert proven.completed_rows == 3 and proven.completed_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    failed = history.configs[("transformers-sglang", "llama3", "g6", "fp8", 1, "async-inference")]
    assert failed.failures == {"timeout": 1, "other": 1}
    assert failed.last_failure_reason == "deploy timed out" and failed.last_failure_category == "timeout"
    assert failed.last_failure_at == datetime(2026, 11, 22, 10, 30, 0, 123000, tzinfo=UTC)
    assert failed.unfeasible_reason is None and failed.account_failure_reason is None  # NULL stays None
    # And the rows came from the result files: one GetQueryResults per query (MaxResults=1, the
    # column types), which the Stubber checked, and no other page
    athena.done()
    # read by pyarrow with the region, credentials and timeouts of the store's boto3 clients
    assert len(PYARROW_S3) == 2
    assert {(a["region"], a["access_key"], a["connect_timeout"], a["request_timeout"]) for a in PYARROW_S3} == {
        (REGION, "testing", 10.0, 60.0)
    }


@pytest.mark.slow
def test_sql_results_keep_their_types_and_nulls(aws: str) -> None:
    columns = [
        ("config_id", "varchar"),
        ("tp_degree", "integer"),
        ("ttft_p50_ms", "double"),
        ("tuned", "boolean"),
        ("rows", "bigint"),
        ("run_timestamp", "timestamp"),
        ("failure_reason", "varchar"),
    ]
    athena_store = store()
    athena = Athena(athena_store)
    athena.answers(
        columns,
        [
            ["abc", "2", "41.5", "false", "12", "2026-11-23 12:00:00.000", 'said "no", then,\nstopped'],
            ["def", "4", None, "true", None, None, None],
        ],
    )
    result = athena_store.query("SELECT config_id, tp_degree, ... FROM mlcc_ci.benchmark_results")
    assert result.columns == [c for c, _ in columns]
    assert result.rows == [
        ["abc", 2, 41.5, False, 12, datetime(2026, 11, 23, 12, 0), 'said "no", then,\nstopped'],
        ["def", 4, None, True, None, None, None],
    ]
    athena.done()


@pytest.mark.slow
def test_an_empty_result_is_no_rows(aws: str) -> None:
    athena_store = store()
    athena = Athena(athena_store)
    athena.answers([("record_id", "varchar")], [])
    result = athena_store.query("SELECT record_id FROM mlcc_ci.benchmark_results WHERE false")
    assert (result.columns, result.rows) == (["record_id"], [])
    athena.done()


@pytest.mark.slow
def test_without_a_result_file_pyathena_pages_get_query_results(aws: str) -> None:
    athena_store = store()
    athena = Athena(athena_store)
    athena.answers([("n", "bigint"), ("why", "varchar")], [["7", None]], output=None)
    result = athena_store.query("SELECT COUNT(*) AS n, NULL AS why FROM mlcc_ci.benchmark_results")
    assert result.rows == [[7, None]]
    athena.done()


@pytest.mark.slow
def test_a_result_file_that_cannot_be_read_is_a_clear_error(aws: str) -> None:
    # Given a query that SUCCEEDED but whose result file is gone (expired by the bucket's lifecycle)
    athena_store = store()
    athena = Athena(athena_store)
    athena.answers([("n", "bigint")], [["7"]], write_file=False)
    with pytest.raises(AthenaQueryError, match=r"q-1 SUCCEEDED but its result \(s3://pp-results-test/.*q-1.csv\)"):
        athena_store.query("SELECT 1")
    athena.done()


@pytest.mark.slow
def test_a_failed_query_is_a_clear_error_and_reads_nothing(aws: str) -> None:
    athena_store = store()
    athena = Athena(athena_store)
    athena.stub.add_response("start_query_execution", {"QueryExecutionId": "q-9"})
    athena.stub.add_response(
        "get_query_execution",
        {
            "QueryExecution": {
                "QueryExecutionId": "q-9",
                "Status": {
                    "State": "FAILED",
                    "AthenaError": {"ErrorMessage": "TABLE_NOT_FOUND: line 1:15: Table 'mlcc_ci.nope' does not exist"},
                },
            }
        },
    )
    with pytest.raises(AthenaQueryError, match=r"q-9 FAILED: TABLE_NOT_FOUND.*nope' does not exist"):
        athena_store.query("SELECT * FROM mlcc_ci.nope")
    athena.done()


# --------------------------------------------------------------------------- writes: real awswrangler


def _create_tables(clients: AwsClients) -> None:
    """The two Glue tables as the stack defines them: Parquet, partitioned by dt, columns from the schema."""
    glue = clients.get("glue")
    glue.create_database(DatabaseInput={"Name": schema.TABLE_DATABASE})
    for name, cols in ((schema.TABLE_NAME, schema.columns()), (schema.LEVELS_TABLE_NAME, schema.level_columns())):
        glue.create_table(
            DatabaseName=schema.TABLE_DATABASE,
            TableInput={
                "Name": name,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
                "PartitionKeys": [{"Name": "dt", "Type": "string"}],
                "StorageDescriptor": {
                    "Columns": [{"Name": c.name, "Type": c.glue_type} for c in cols],
                    "Location": f"s3://{RESULTS_BUCKET}/{schema.TABLE_DATABASE}/{name}/",
                    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    "SerdeInfo": {
                        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                    },
                },
            },
        )


def ids_found(athena: Athena, table: str, record_id: str, found: bool) -> None:
    """The existing-ids look-up of ``record_id`` in ``table`` answers it (found) or nothing."""
    sql = existing_ids_sql("mlcc_ci", table, [record_id])
    athena.answers([("record_id", "varchar")], [[record_id]] if found else [], sql=sql)


def objects(clients: AwsClients, prefix: str) -> list[str]:
    listing = clients.get("s3").list_objects_v2(Bucket=RESULTS_BUCKET, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


@pytest.mark.slow
def test_append_writes_parquet_and_partitions_with_the_real_awswrangler(aws: str) -> None:
    wr = pytest.importorskip("awswrangler", reason="the dev extra: pip install -e '.[dev]'")
    clients = AwsClients(region=REGION)
    _create_tables(clients)
    row, levels = prove_rows()
    # The existing-ids look-ups (levels, then rows) find nothing: the tables are new
    athena_store = store(clients)
    athena = Athena(athena_store)
    ids_found(athena, "benchmark_levels", row.record_id, found=False)
    ids_found(athena, "benchmark_results", row.record_id, found=False)

    result = athena_store.append([row], levels)
    athena.done()

    # Then the levels and the row are Parquet files in their tables' folders, in the row's partition
    assert (result.written, result.levels_written) == (1, 2)
    assert len(result.files) == 2
    levels_file, row_file = result.files
    assert levels_file.startswith(f"s3://{RESULTS_BUCKET}/mlcc_ci/benchmark_levels/dt=2026-11-23/")
    assert row_file.startswith(f"s3://{RESULTS_BUCKET}/mlcc_ci/benchmark_results/dt=2026-11-23/")
    # And Glue knows the partitions (awswrangler added them to the stack's tables)
    for table in (schema.TABLE_NAME, schema.LEVELS_TABLE_NAME):
        partitions = clients.get("glue").get_partitions(DatabaseName=schema.TABLE_DATABASE, TableName=table)
        assert [p["Values"] for p in partitions["Partitions"]] == [["2026-11-23"]]
    # And the files hold the rows with the schema's types (read back through awswrangler and Glue)
    written = wr.s3.read_parquet(row_file, boto3_session=clients.session)
    assert written["record_id"].tolist() == [row.record_id]
    assert written["levels_benchmarked"].tolist() == [2]
    assert str(written["tp_degree"].dtype) == "Int32" and "datetime64" in str(written["run_timestamp"].dtype)
    written_levels = wr.s3.read_parquet(levels_file, boto3_session=clients.session)
    assert sorted(written_levels["concurrency"].tolist()) == [1, 4]
    assert set(written_levels["record_id"]) == {row.record_id}
    # And the table's schema in Glue is still the stack's (schema_evolution=False changes nothing)
    table = clients.get("glue").get_table(DatabaseName=schema.TABLE_DATABASE, Name=schema.TABLE_NAME)["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == [c.name for c in schema.columns()]


@pytest.mark.slow
def test_append_skips_rows_and_levels_already_in_the_tables(aws: str) -> None:
    # Given a prove whose levels and row are both already written (a retried register)
    pytest.importorskip("awswrangler", reason="the dev extra: pip install -e '.[dev]'")
    clients = AwsClients(region=REGION)
    _create_tables(clients)
    row, levels = prove_rows()
    athena_store = store(clients)
    athena = Athena(athena_store)
    ids_found(athena, "benchmark_levels", row.record_id, found=True)
    ids_found(athena, "benchmark_results", row.record_id, found=True)
    # When it is appended again, with a duplicate in the batch too
    result = athena_store.append([row, row], levels)
    # Then nothing is written to either table
    athena.done()
    assert (result.written, result.skipped_duplicates) == (0, 2)
    assert (result.levels_written, result.levels_skipped_duplicates) == (0, 2)
    assert objects(clients, "mlcc_ci/") == []


@pytest.mark.slow
def test_a_register_retried_after_the_levels_writes_only_the_row(aws: str) -> None:
    # Given the levels were written and the register died before the row
    pytest.importorskip("awswrangler", reason="the dev extra: pip install -e '.[dev]'")
    clients = AwsClients(region=REGION)
    _create_tables(clients)
    row, levels = prove_rows()
    athena_store = store(clients)
    athena = Athena(athena_store)
    ids_found(athena, "benchmark_levels", row.record_id, found=True)
    ids_found(athena, "benchmark_results", row.record_id, found=False)
    # When it is retried
    result = athena_store.append([row], levels)
    # Then only the row is written
    athena.done()
    assert (result.written, result.levels_written, result.levels_skipped_duplicates) == (1, 0, 2)
    assert objects(clients, "mlcc_ci/benchmark_levels/") == []
    assert len(objects(clients, "mlcc_ci/benchmark_results/dt=2026-11-23/")) == 1
