"""ResultsStore on Athena/Glue: Parquet rows of `benchmark_results` and `benchmark_levels` written with
awswrangler, Athena (Trino) SQL for reads.

Reads: the query is started and waited for here (bounded, cancelled on timeout); its result is then
read by pyathena's Arrow result set (the one :class:`pyathena.arrow.cursor.ArrowCursor` uses) from the
query's CSV result file in S3, in one streamed pass, instead of paging ``GetQueryResults`` 1,000 rows
at a time (100k proven configs were ~100 sequential API calls per query). pyathena and pyarrow are
imported on the first query only.

Writes: awswrangler (pandas, pyarrow) is large: it is imported inside :meth:`append` only, and
provided by the Lambda layer (the AWS SDK for pandas).
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from pathprover.adapters.aws.clients import AwsClients
from pathprover.core import schema
from pathprover.core.records import PARTITION_COLUMN, BenchmarkRecord, LevelRecord
from pathprover.protocols import AppendResult, QueryResult

_IN_CHUNK: Final = 500
_SAFE_ID: Final = re.compile(r"^[A-Za-z0-9_:.\-]+$")
_TABLE_MISSING: Final = re.compile(r"TABLE_NOT_FOUND|SCHEMA_NOT_FOUND|does not exist|EntityNotFound", re.I)
_TEXT_TYPES: Final = frozenset({"varchar", "char", "string"})


class AthenaQueryError(RuntimeError):
    """An Athena query FAILED or was CANCELLED."""


class AthenaQueryTimeout(AthenaQueryError):
    """An Athena query did not finish within the poll bound (it is cancelled)."""


class MissingDependencyError(RuntimeError):
    """awswrangler (writes) or pyathena and pyarrow (reads) are not importable here."""


def sql_string(value: str) -> str:
    """A Trino string literal."""
    return "'" + value.replace("'", "''") + "'"


def existing_ids_sql(database: str, table: str, record_ids: Sequence[str]) -> str:
    """The query that finds which of ``record_ids`` are already in the table."""
    if not record_ids:
        raise ValueError("no record ids to look up")
    for rid in record_ids:
        if not _SAFE_ID.match(rid):
            raise ValueError(f"unexpected record_id {rid!r}")
    values = ", ".join(sql_string(r) for r in record_ids)
    return f'SELECT record_id FROM "{database}"."{table}" WHERE record_id IN ({values})'


_ARRAYSIZE: Final = 10_000
"""Rows per Arrow record batch when the result set turns the table into Python rows."""


def _pyathena_reader() -> tuple[Any, Any, Any, type[Exception]]:
    """pyathena's Arrow result set, its type converter, its query-execution model and its base error
    (imported lazily)."""
    try:
        import pyarrow  # noqa: F401  (pyathena imports it only when it reads)
        from pyathena.arrow.converter import DefaultArrowTypeConverter
        from pyathena.arrow.result_set import AthenaArrowResultSet
        from pyathena.error import Error
        from pyathena.model import AthenaQueryExecution
    except ImportError as exc:
        raise MissingDependencyError(
            "AthenaResultsStore.query reads results with pyathena and pyarrow: pip install 'pathprover[aws]' "
            "(on Lambda pyathena is in the function's asset and pyarrow in the AWS SDK for pandas layer)"
        ) from exc
    return AthenaArrowResultSet, DefaultArrowTypeConverter(), AthenaQueryExecution, Error


class AthenaResultsStore:
    """:class:`~pathprover.protocols.ResultsStore` on `database.table` and `database.levels_table` (Glue) in Athena."""

    def __init__(
        self,
        clients: AwsClients,
        table_s3_uri: str | None,
        database: str = schema.TABLE_DATABASE,
        table: str = schema.TABLE_NAME,
        levels_table: str = schema.LEVELS_TABLE_NAME,
        levels_s3_uri: str | None = None,
        workgroup: str | None = None,
        output_location: str | None = None,
        poll_interval_s: float = 1.0,
        max_wait_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if poll_interval_s <= 0 or max_wait_s <= 0:
            raise ValueError("poll_interval_s and max_wait_s must be positive")
        self.read_only = table_s3_uri is None
        if table_s3_uri is None:  # a reader (the CLI's --athena): queries only, append refuses
            table_s3_uri = levels_s3_uri = "s3://read-only/"
        if not table_s3_uri.startswith("s3://"):
            raise ValueError(f"table location must be an s3:// URI, got {table_s3_uri!r}")
        if levels_s3_uri is None:
            # Next to the results table's folder, as the stack lays both out: s3://bucket/<db>/<levels_table>/
            levels_s3_uri = table_s3_uri.rstrip("/").rsplit("/", 1)[0] + f"/{levels_table}/"
        if not levels_s3_uri.startswith("s3://"):
            raise ValueError(f"levels table location must be an s3:// URI, got {levels_s3_uri!r}")
        self.clients = clients
        self.table_s3_uri = table_s3_uri.rstrip("/") + "/"
        self.levels_s3_uri = levels_s3_uri.rstrip("/") + "/"
        self.database = database
        self.table = table
        self.levels_table = levels_table
        self.workgroup = workgroup
        self.output_location = output_location
        self.poll_interval_s = poll_interval_s
        self.max_wait_s = max_wait_s
        self.sleep = sleep
        self.monotonic = monotonic

    @property
    def _athena(self) -> Any:
        return self.clients.get("athena")

    def describe(self) -> str:
        where = f"workgroup {self.workgroup}" if self.workgroup else "primary workgroup"
        return (
            f"Athena {self.database}.{self.table} and {self.database}.{self.levels_table} ({where}), "
            f"Parquet at {self.table_s3_uri} and {self.levels_s3_uri}"
        )

    # ------------------------------------------------------------------ query
    def start_request(self, sql: str) -> dict[str, Any]:
        """The StartQueryExecution request for ``sql``."""
        request: dict[str, Any] = {"QueryString": sql, "QueryExecutionContext": {"Database": self.database}}
        if self.workgroup:
            request["WorkGroup"] = self.workgroup
        if self.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.output_location}
        return request

    def wait(self, query_id: str) -> dict[str, Any]:
        """Poll until the query finishes; bounded by ``max_wait_s`` (wall clock) and a poll count."""
        started = self.monotonic()
        deadline = started + self.max_wait_s
        max_polls = math.ceil(self.max_wait_s / self.poll_interval_s) + 1
        interval = self.poll_interval_s
        state = "QUEUED"
        for _ in range(max_polls):
            execution = self._athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            status = execution.get("Status", {})
            state = status.get("State", "")
            if state == "SUCCEEDED":
                return dict(execution)
            if state in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason") or (status.get("AthenaError") or {}).get("ErrorMessage")
                raise AthenaQueryError(f"Athena query {query_id} {state}: {reason or 'no reason given'}")
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                break
            self.sleep(min(interval, remaining))
            interval = min(interval * 1.5, 5.0)
        elapsed = self.monotonic() - started
        with contextlib.suppress(Exception):  # best effort: the timeout below is the error that matters
            self._athena.stop_query_execution(QueryExecutionId=query_id)
        raise AthenaQueryTimeout(
            f"Athena query {query_id} still {state} after {elapsed:.0f}s "
            f"(limit {self.max_wait_s:.0f}s); it was cancelled. Narrow the query (e.g. by dt) or raise max_wait_s."
        )

    def query(self, sql: str) -> QueryResult:
        """Run Athena (Trino) SQL and return all rows, typed by the result metadata."""
        query_id = self._athena.start_query_execution(**self.start_request(sql))["QueryExecutionId"]
        execution = self.wait(query_id)
        return self.read_result(execution)

    def read_result(self, execution: dict[str, Any]) -> QueryResult:
        """The rows of a SUCCEEDED query (its ``GetQueryExecution`` ``QueryExecution``), read with pyathena.

        pyathena's Arrow result set takes the columns and their Athena types from one
        ``GetQueryResults`` call (``MaxResults=1``) and reads the result file named by the execution's
        ``OutputLocation`` through pyarrow's S3 file system, in one pass with read-ahead. Without a
        result file it falls back to paging ``GetQueryResults`` itself.

        Text columns: in a CSV result Athena writes NULL as an empty field, which pyathena reads as
        ``''``; an empty text value is returned as None here (as ``GetQueryResults`` gave NULL), so
        the brain sees a missing reason as missing. The tables never store a meaningful empty string.
        """
        result_set_class, converter, query_execution_class, reader_error = _pyathena_reader()
        query_id = execution.get("QueryExecutionId", "?")
        try:
            result_set = result_set_class(
                connection=self._connection(),
                converter=converter,
                query_execution=query_execution_class({"QueryExecution": execution}),
                arraysize=_ARRAYSIZE,
                retry_config=self._retry_config(),
                # pyarrow's S3 client: the same timeouts as the boto3 clients (its defaults are 1 s and 3 s)
                connect_timeout=self.clients.connect_timeout,
                request_timeout=self.clients.read_timeout,
            )
            try:
                description = list(result_set.description or [])
                columns = [str(d[0]) for d in description]
                text = [i for i, d in enumerate(description) if str(d[1]).lower() in _TEXT_TYPES]
                rows = [list(row) for row in result_set.fetchall()]
            finally:
                result_set.close()
        except reader_error as exc:
            where = (execution.get("ResultConfiguration") or {}).get("OutputLocation") or "GetQueryResults"
            raise AthenaQueryError(
                f"Athena query {query_id} SUCCEEDED but its result ({where}) could not be read: {exc}"
            ) from exc
        for row in rows:
            for i in text:
                if row[i] == "":
                    row[i] = None
        return QueryResult(columns=columns, rows=rows)

    def _connection(self) -> Any:
        """A pyathena connection on this store's boto3 session (built once per AwsClients; it sends no request)."""

        def build() -> Any:
            from pyathena.connection import Connection

            return Connection(
                session=self.clients.session,
                region_name=self.clients.region or self.clients.session.region_name,
                config=self.clients.config("athena"),
                work_group=self.workgroup or "primary",
                s3_staging_dir=self.output_location,
                schema_name=self.database,
            )

        return self.clients.shared(f"pyathena:{self.workgroup}:{self.output_location}:{self.database}", build)

    @staticmethod
    def _retry_config() -> Any:
        from pyathena.util import RetryConfig

        return RetryConfig()

    # ------------------------------------------------------------------ append
    def existing_ids(self, record_ids: Sequence[str], table: str | None = None) -> set[str]:
        """Which of ``record_ids`` ``table`` (default: the results table) already holds."""
        found: set[str] = set()
        ids = list(dict.fromkeys(record_ids))
        for start in range(0, len(ids), _IN_CHUNK):
            sql = existing_ids_sql(self.database, table or self.table, ids[start : start + _IN_CHUNK])
            try:
                result = self.query(sql)
            except AthenaQueryTimeout:
                raise
            except AthenaQueryError as exc:
                if _TABLE_MISSING.search(str(exc)):
                    return set()  # first write: the table does not exist yet
                raise
            found.update(str(row[0]) for row in result.rows if row)
        return found

    def append(self, records: Sequence[BenchmarkRecord], levels: Sequence[LevelRecord] = ()) -> AppendResult:
        """Write an attempt's levels, then its rows, each only where its record_id is not in that table yet
        (Parquet, partitioned by dt, via awswrangler).

        Idempotent for retries: existing ids are looked up in Athena first, in each table. The levels go
        first, so a reader that finds a row finds its levels; an attempt's levels share its partition and
        are written in one object, so finding one of them means all are there. Two writers racing on the
        same ids could both write; the workflow's lease on a config prevents that.
        """
        if self.read_only:
            raise ValueError("this Athena store was opened read-only (no table location): it cannot append")
        unique: dict[str, BenchmarkRecord] = {}
        for record in records:
            unique.setdefault(record.record_id, record)
        fresh_levels: list[LevelRecord] = []
        files: list[str] = []
        if levels:
            done = self.existing_ids([lvl.record_id for lvl in levels], self.levels_table)
            fresh_levels = [lvl for lvl in levels if lvl.record_id not in done]
            files += self._write(fresh_levels, schema.level_columns(), self.levels_s3_uri, self.levels_table)
        fresh: list[BenchmarkRecord] = []
        if unique:
            existing = self.existing_ids(list(unique))
            fresh = [r for rid, r in unique.items() if rid not in existing]
            files += self._write(fresh, schema.columns(), self.table_s3_uri, self.table)
        return AppendResult(
            written=len(fresh),
            skipped_duplicates=len(records) - len(fresh),
            location=self.table_s3_uri,
            files=files,
            levels_written=len(fresh_levels),
            levels_skipped_duplicates=len(levels) - len(fresh_levels),
        )

    def _write(
        self,
        rows: Sequence[BenchmarkRecord | LevelRecord],
        cols: Sequence[schema.Column],
        path: str,
        table: str,
    ) -> list[str]:
        """Append ``rows`` to ``table`` at ``path`` with the schema's exact Glue types."""
        if not rows:
            return []
        try:
            import awswrangler as wr
            import pandas as pd
        except ImportError as exc:
            raise MissingDependencyError(
                "AthenaResultsStore.append needs awswrangler (and pandas); it is provided by the Lambda "
                "layer of the register function. Locally: pip install awswrangler"
            ) from exc
        data: dict[str, list[Any]] = {c.name: [] for c in cols}
        data[PARTITION_COLUMN] = []
        for row in rows:
            values = row.model_dump()
            for c in cols:
                value = values[c.name]
                if isinstance(value, datetime):
                    value = value.astimezone(UTC).replace(tzinfo=None)
                data[c.name].append(value)
            data[PARTITION_COLUMN].append(row.partition)
        dtype = {c.name: c.glue_type for c in cols}
        dtype[PARTITION_COLUMN] = "string"
        result = wr.s3.to_parquet(
            df=pd.DataFrame(data),
            path=path,
            dataset=True,
            database=self.database,
            table=table,
            partition_cols=[PARTITION_COLUMN],
            mode="append",
            dtype=dtype,
            compression="snappy",
            schema_evolution=False,  # the Glue tables belong to the CDK stack (one schema definition each)
            boto3_session=self.clients.session,
        )
        return list(result.get("paths", []))
