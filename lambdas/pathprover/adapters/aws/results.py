"""ResultsStore on Athena/Glue: Parquet rows of `benchmark_results` and `benchmark_levels` written with
awswrangler, Athena (Trino) SQL for reads.

awswrangler (pandas, pyarrow) is large: it is imported inside :meth:`append`
only, and provided by the Lambda layer of the register function. The brain's
path (``query``) needs only boto3.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from pathprover.adapters.aws.clients import AwsClients
from pathprover.core import schema
from pathprover.core.records import PARTITION_COLUMN, BenchmarkRecord, LevelRecord
from pathprover.protocols import AppendResult, QueryResult

_IN_CHUNK: Final = 500
_MAX_RESULT_PAGES: Final = 1000
_SAFE_ID: Final = re.compile(r"^[A-Za-z0-9_:.\-]+$")
_TABLE_MISSING: Final = re.compile(r"TABLE_NOT_FOUND|SCHEMA_NOT_FOUND|does not exist|EntityNotFound", re.I)
_INT_TYPES: Final = frozenset({"tinyint", "smallint", "integer", "int", "bigint"})
_FLOAT_TYPES: Final = frozenset({"double", "float", "real"})


class AthenaQueryError(RuntimeError):
    """An Athena query FAILED or was CANCELLED."""


class AthenaQueryTimeout(AthenaQueryError):
    """An Athena query did not finish within the poll bound (it is cancelled)."""


class MissingDependencyError(RuntimeError):
    """awswrangler is not importable here (it ships in the Lambda layer)."""


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


def _convert(value: str | None, athena_type: str) -> Any:
    if value is None:
        return None
    kind = athena_type.lower()
    try:
        if kind in _INT_TYPES:
            return int(value)
        if kind in _FLOAT_TYPES:
            return float(value)
        if kind.startswith("decimal"):
            return Decimal(value)
        if kind == "boolean":
            return value.lower() == "true"
        if kind.startswith("timestamp"):
            return datetime.fromisoformat(value.replace(" UTC", "")).replace(tzinfo=None)
        if kind == "date":
            return date.fromisoformat(value)
    except ValueError:
        return value
    return value


class AthenaResultsStore:
    """:class:`~pathprover.protocols.ResultsStore` on `database.table` and `database.levels_table` (Glue) in Athena."""

    def __init__(
        self,
        clients: AwsClients,
        table_s3_uri: str,
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
        if not table_s3_uri.startswith("s3://"):
            raise ValueError(f"table location must be an s3:// URI, got {table_s3_uri!r}")
        if poll_interval_s <= 0 or max_wait_s <= 0:
            raise ValueError("poll_interval_s and max_wait_s must be positive")
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
        columns: list[str] = []
        types: list[str] = []
        rows: list[list[Any]] = []
        token: str | None = None
        first_page = True
        for _ in range(_MAX_RESULT_PAGES):
            args: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": 1000}
            if token:
                args["NextToken"] = token
            page = self._athena.get_query_results(**args)
            result_set = page.get("ResultSet", {})
            if first_page:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [c.get("Label") or c.get("Name", "") for c in info]
                types = [c.get("Type", "varchar") for c in info]
            raw_rows = [[d.get("VarCharValue") for d in r.get("Data", [])] for r in result_set.get("Rows", [])]
            if first_page and execution.get("StatementType", "DML") == "DML" and raw_rows and raw_rows[0] == columns:
                raw_rows = raw_rows[1:]  # the header row Athena puts first
            first_page = False
            rows.extend([_convert(v, t) for v, t in zip(row, types, strict=False)] for row in raw_rows)
            token = page.get("NextToken")
            if not token:
                break
        return QueryResult(columns=columns, rows=rows)

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
