"""Athena with the ecosystem's clients, for tests: moto's S3 and Glue as a server, and Athena's API stubbed.

The fixtures that start the server and point every client at it (`moto_url`, `aws`) are in
tests/integration/adapters/aws/conftest.py; why it is a server and why Athena is stubbed is said there.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from typing import Any

from botocore.stub import Stubber

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.results import AthenaResultsStore

REGION = "us-east-1"
RESULTS_BUCKET = "pp-results-test"
QUERY_RESULTS = f"s3://{RESULTS_BUCKET}/athena-results/"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


PYARROW_S3: list[dict[str, Any]] = []
"""The arguments of every pyarrow S3FileSystem made in a test (pyathena makes one per result read)."""


def post(url: str, path: str, payload: dict[str, Any]) -> None:
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
