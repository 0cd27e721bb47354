"""The Athena results store with the ecosystem's clients: pyathena reads, the real awswrangler writes.

S3 and Glue are moto's, run as a server on 127.0.0.1 (not the in-process mock): pyarrow's S3 file
system, which pyathena reads result files with, is C++ and never goes through botocore, so it has to
reach moto over HTTP, like every boto3 client here (``AWS_ENDPOINT_URL``).

The Athena API calls are botocore Stubber responses: this botocore speaks Athena's rest-json protocol,
which moto (5.2.5) does not serve, and moto never executes SQL anyway. Each stubbed query is SUCCEEDED
with its result file written to moto's S3 the way Athena writes it (a quoted header, quoted values,
NULL as an empty field), and its column types in the one ``GetQueryResults`` page pyathena asks for.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

pytest.importorskip("pyathena", reason="the aws extra: pip install -e '.[aws]'")
pytest.importorskip("pyarrow", reason="the aws extra: pip install -e '.[aws]'")

from moto.server import ThreadedMotoServer

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.results import AthenaQueryError, AthenaResultsStore, existing_ids_sql
from pathprover.brain.history import COMPLETED_SQL, OUTCOMES_SQL, read_history
from pathprover.core import schema
from pathprover.core.dimensions import ConfigVector
from pathprover.core.records import ProveContext, completed_records

pytestmark = pytest.mark.slow

REGION = "us-east-1"
RESULTS_BUCKET = "pp-results-test"
QUERY_RESULTS = f"s3://{RESULTS_BUCKET}/athena-results/"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


PYARROW_S3: list[dict[str, Any]] = []
"""The arguments of every pyarrow S3FileSystem made in a test (pyathena makes one per result read)."""


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every client of this test talks to the moto server, which starts empty."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_url,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # pyarrow's S3 file system (C++) reads no endpoint from the environment: point it at moto.
    from pyarrow import fs

    real = fs.S3FileSystem

    def s3_file_system(**kwargs: Any) -> Any:
        PYARROW_S3.append(kwargs)
        return real(endpoint_override=moto_url, **kwargs)

    PYARROW_S3.clear()
    monkeypatch.setattr(fs, "S3FileSystem", s3_file_system)
    _post(moto_url, "/moto-api/reset", {})
    clients = AwsClients(region=REGION)
    clients.get("s3").create_bucket(Bucket=RESULTS_BUCKET)
    yield moto_url


def _post(url: str, path: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url + path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)


_PRECISION = {"varchar": 2147483647, "integer": 10, "bigint": 19, "double": 17, "timestamp": 3}
"""ColumnInfo.Precision as Athena reports it for these types."""


class Athena:
    """The store's Athena client (shared with its pyathena connection) in a Stubber; results in moto's S3."""

    def __init__(self, athena_store: AthenaResultsStore) -> None:
        self.store = athena_store
        client = athena_store._connection().client  # pyathena's client: the store uses it too, so one stub
        athena_store.clients.set("athena", client)
        self.stub = Stubber(client)
        self.stub.activate()
        self.s3 = athena_store.clients.get("s3")
        self.count = 0

    def answers(
        self,
        columns: list[tuple[str, str]],
        rows: list[list[str | None]],
        sql: str | None = None,
        output: str | None = QUERY_RESULTS,
        write_file: bool = True,
    ) -> str:
        """The next query SUCCEEDS with these (name, Athena type) columns and rows (None is NULL)."""
        self.count += 1
        query_id = f"q-{self.count}"
        location = f"{output}{query_id}.csv" if output else None
        if location and write_file:
            bucket, key = location.removeprefix("s3://").split("/", 1)
            self.s3.put_object(Bucket=bucket, Key=key, Body=athena_csv([n for n, _ in columns], rows).encode())
        self.stub.add_response(
            "start_query_execution", {"QueryExecutionId": query_id}, self.store.start_request(sql) if sql else None
        )
        execution: dict[str, Any] = {
            "QueryExecutionId": query_id,
            "Query": sql or "SELECT ...",
            "StatementType": "DML",
            "Status": {"State": "SUCCEEDED"},
            "QueryExecutionContext": {"Database": "mlcc_ci"},
            "WorkGroup": "pathprover",
        }
        if location:
            execution["ResultConfiguration"] = {"OutputLocation": location}
        self.stub.add_response("get_query_execution", {"QueryExecution": execution}, {"QueryExecutionId": query_id})
        info = [
            {
                "CatalogName": "hive",
                "Name": n,
                "Label": n,
                "Type": t,
                "Precision": _PRECISION.get(t, 0),
                "Scale": 0,
                "Nullable": "UNKNOWN",
                "CaseSensitive": t == "varchar",
            }
            for n, t in columns
        ]
        header = {"Data": [{"VarCharValue": n} for n, _ in columns]}
        if location:  # pyathena asks for one row: the column types; the rows come from the file
            self.stub.add_response(
                "get_query_results",
                {"ResultSet": {"Rows": [header], "ResultSetMetadata": {"ColumnInfo": info}}},
                {"QueryExecutionId": query_id, "MaxResults": 1},
            )
        else:  # no result file: pyathena pages GetQueryResults itself
            data = [{"Data": [{"VarCharValue": v} if v is not None else {} for v in r]} for r in rows]
            self.stub.add_response(
                "get_query_results",
                {"ResultSet": {"Rows": [header], "ResultSetMetadata": {"ColumnInfo": info}}},
                {"QueryExecutionId": query_id, "MaxResults": 1},
            )
            self.stub.add_response(
                "get_query_results",
                {"ResultSet": {"Rows": [header, *data], "ResultSetMetadata": {"ColumnInfo": info}}},
                {"QueryExecutionId": query_id, "MaxResults": 1000},
            )
        return query_id

    def done(self) -> None:
        self.stub.assert_no_pending_responses()
        self.stub.deactivate()


def athena_csv(names: list[str], rows: list[list[str | None]]) -> str:
    """A result file as Athena writes it: every value quoted (quotes doubled), NULL an empty field."""

    def quote(value: str | None) -> str:
        return "" if value is None else '"' + value.replace('"', '""') + '"'

    return "".join(",".join(quote(v) for v in line) + "\n" for line in [names, *rows])


def store(clients: AwsClients | None = None, **overrides: Any) -> AthenaResultsStore:
    values: dict[str, Any] = {
        "table_s3_uri": f"s3://{RESULTS_BUCKET}/mlcc_ci/benchmark_results/",
        "workgroup": "pathprover",
        "output_location": QUERY_RESULTS,
        "poll_interval_s": 0.01,
        "max_wait_s": 10.0,
    }
    values.update(overrides)
    return AthenaResultsStore(clients or AwsClients(region=REGION), **values)


DIMS = [
    ("deployment_config", "varchar"),
    ("model_family", "varchar"),
    ("instance_family", "varchar"),
    ("quantization", "varchar"),
    ("tp_degree", "integer"),
    ("deployment_target", "varchar"),
]
COMPLETED_COLUMNS = [*DIMS, ("completed_rows", "bigint"), ("completed_at", "timestamp")]
OUTCOMES_COLUMNS = [
    *DIMS,
    ("unfeasible_rows", "bigint"),
    ("unfeasible_at", "timestamp"),
    ("unfeasible_reason", "varchar"),
    ("failed_rows", "bigint"),
    ("timeout_failures", "bigint"),
    ("unknown_failures", "bigint"),
    ("last_failure_at", "timestamp"),
    ("last_failure_category", "varchar"),
    ("last_failure_reason", "varchar"),
    ("account_failure_at", "timestamp"),
    ("account_failure_reason", "varchar"),
]


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


def test_an_empty_result_is_no_rows(aws: str) -> None:
    athena_store = store()
    athena = Athena(athena_store)
    athena.answers([("record_id", "varchar")], [])
    result = athena_store.query("SELECT record_id FROM mlcc_ci.benchmark_results WHERE false")
    assert (result.columns, result.rows) == (["record_id"], [])
    athena.done()


def test_without_a_result_file_pyathena_pages_get_query_results(aws: str) -> None:
    athena_store = store()
    athena = Athena(athena_store)
    athena.answers([("n", "bigint"), ("why", "varchar")], [["7", None]], output=None)
    result = athena_store.query("SELECT COUNT(*) AS n, NULL AS why FROM mlcc_ci.benchmark_results")
    assert result.rows == [[7, None]]
    athena.done()


def test_a_result_file_that_cannot_be_read_is_a_clear_error(aws: str) -> None:
    # Given a query that SUCCEEDED but whose result file is gone (expired by the bucket's lifecycle)
    athena_store = store()
    athena = Athena(athena_store)
    athena.answers([("n", "bigint")], [["7"]], write_file=False)
    with pytest.raises(AthenaQueryError, match=r"q-1 SUCCEEDED but its result \(s3://pp-results-test/.*q-1.csv\)"):
        athena_store.query("SELECT 1")
    athena.done()


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


def prove_rows() -> tuple[Any, list[Any]]:
    vector = ConfigVector(deployment_config="vllm", model_family="qwen3", instance_family="g5")
    ctx = ProveContext(vector=vector, execution_id="e1", model_name="Qwen/Qwen3-0.6B")
    return completed_records(ctx, NOW, [{"concurrency": c, "ttft_p50_ms": 40.0 + c} for c in (1, 4)])


def ids_found(athena: Athena, table: str, record_id: str, found: bool) -> None:
    """The existing-ids look-up of ``record_id`` in ``table`` answers it (found) or nothing."""
    sql = existing_ids_sql("mlcc_ci", table, [record_id])
    athena.answers([("record_id", "varchar")], [[record_id]] if found else [], sql=sql)


def objects(clients: AwsClients, prefix: str) -> list[str]:
    listing = clients.get("s3").list_objects_v2(Bucket=RESULTS_BUCKET, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


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


# --------------------------------------------------------------------------- the CLI's reader


def _settings(**values: Any) -> Any:
    from pathprover.settings import Settings

    return Settings(region=REGION, **values)


def _stack(clients: AwsClients, name: str, outputs: dict[str, str] | None) -> Stubber:
    """DescribeStacks of ``name`` answers these outputs (None: the stack does not exist)."""
    client = clients.get("cloudformation")
    stub = Stubber(client)
    if outputs is None:
        stub.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {name} does not exist",
            expected_params={"StackName": name},
        )
    else:
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": name,
                        "CreationTime": NOW,
                        "StackStatus": "UPDATE_COMPLETE",
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                    }
                ]
            },
            {"StackName": name},
        )
    stub.activate()
    return stub


def test_the_reader_finds_workgroup_and_result_location_in_the_stacks_outputs(aws: str) -> None:
    from pathprover.adapters.aws.athena_reader import resolve_target

    clients = AwsClients(region=REGION)
    stub = _stack(clients, "MlccCiHarnessStack-blue", {"AthenaWorkgroup": "pathprover-blue", "ResultsBucket": "rb"})
    target = resolve_target(_settings(), stack_name="MlccCiHarnessStack-blue", clients=clients)
    stub.assert_no_pending_responses()
    assert (target.workgroup, target.output_location, target.stack) == (
        "pathprover-blue",
        "s3://rb/athena-results/",
        "MlccCiHarnessStack-blue",
    )


def test_the_reader_takes_flags_and_settings_before_the_stack(aws: str) -> None:
    from pathprover.adapters.aws.athena_reader import AthenaReadError, resolve_target

    # A workgroup from the flags or the settings: no stack is asked
    target = resolve_target(_settings(athena_workgroup="wg-env"), clients=AwsClients(region=REGION))
    assert (target.workgroup, target.output_location, target.stack) == ("wg-env", None, None)
    target = resolve_target(_settings(), workgroup="wg", output_location="s3://mine/out/")
    assert (target.workgroup, target.output_location) == ("wg", "s3://mine/out/")
    with pytest.raises(AthenaReadError, match="s3:// URI"):
        resolve_target(_settings(), workgroup="wg", output_location="/tmp/out")
    # Nothing given: the default stack (PATHPROVER_STACK's, else MlccCiHarnessStack), which must exist
    clients = AwsClients(region=REGION)
    _stack(clients, "MlccCiHarnessStack", None)
    with pytest.raises(AthenaReadError, match="stack MlccCiHarnessStack does not exist in us-east-1"):
        resolve_target(_settings(), clients=clients)


def test_run_sql_and_load_history_read_the_real_table(aws: str) -> None:
    from pathprover.adapters.aws.athena_reader import AthenaReader, AthenaTarget, load_history, run_sql

    target = AthenaTarget(workgroup="pathprover", output_location=QUERY_RESULTS, region=REGION)
    clients = AwsClients(region=REGION)
    athena = Athena(AthenaReader(target, clients).store)
    athena.answers([("model_family", "varchar"), ("n", "bigint")], [["qwen3", "3"]], sql="SELECT 1")
    result = run_sql(target, "SELECT 1", clients)
    assert (result.columns, result.rows) == (["model_family", "n"], [["qwen3", 3]])

    athena.answers(COMPLETED_COLUMNS, [["vllm", "qwen3", "g5", "none", "1", "realtime-inference", "1", None]])
    athena.answers(OUTCOMES_COLUMNS, [])
    history = load_history(target, clients)
    athena.done()
    assert list(history.configs) == [("transformers-vllm", "qwen3", "g5", "none", 1, "realtime-inference")]


def test_the_reader_never_writes_and_says_why_a_query_failed(aws: str) -> None:
    from pathprover.adapters.aws.athena_reader import AthenaReader, AthenaReadError, AthenaTarget

    reader = AthenaReader(AthenaTarget(workgroup="pathprover", output_location=None, region=REGION))
    with pytest.raises(AthenaReadError, match="never writes"):
        reader.append([])
    athena = Athena(reader.store)
    athena.stub.add_client_error(
        "start_query_execution",
        service_error_code="InvalidRequestException",
        service_message="WorkGroup pathprover is not found.",
    )
    with pytest.raises(AthenaReadError, match="InvalidRequestException: WorkGroup pathprover is not found"):
        reader.query("SELECT 1")
    athena.done()


def test_pathprover_gaps_athena_end_to_end(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the deployed stack's outputs and the two history queries' result files
    from typer.testing import CliRunner

    from pathprover.adapters.aws import athena_reader
    from pathprover.cli.app import app

    clients = AwsClients(region=REGION)
    _stack(clients, "MlccCiHarnessStack", {"AthenaWorkgroup": "pathprover", "ResultsBucket": RESULTS_BUCKET})
    monkeypatch.setattr(athena_reader, "AwsClients", lambda region=None: clients)  # the stubbed clients
    for name in ("PATHPROVER_ATHENA_WORKGROUP", "PATHPROVER_STACK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    target = athena_reader.AthenaTarget(workgroup="pathprover", output_location=QUERY_RESULTS, region=REGION)
    athena = Athena(athena_reader.AthenaReader(target, clients).store)
    proven = [
        ["vllm", "qwen3", "g5", "none", "1", "realtime-inference", "2", "2026-11-20 08:00:00.000"],
        ["sglang", "qwen3", "g6", "none", "1", "realtime-inference", "1", "2026-11-21 08:00:00.000"],
    ]
    athena.answers(COMPLETED_COLUMNS, proven, sql=COMPLETED_SQL)
    athena.answers(OUTCOMES_COLUMNS, [], sql=OUTCOMES_SQL)

    # When `pathprover gaps --athena` runs with nothing but the stack to go on
    result = CliRunner().invoke(app, ["gaps", "--athena", "--limit", "3", "--json"])

    # Then it read the stack's workgroup and the history from the result files, and ranked the gaps
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["completed"] == 2
    gaps = {(g["deployment_config"], g["instance_family"]) for g in payload["gaps"]}
    assert gaps == {("transformers-sglang", "g5"), ("transformers-vllm", "g6")}  # the two unproven crossings
    athena.done()
