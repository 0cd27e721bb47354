"""The local benchmark table: Hive-partitioned Parquet under a folder, queried with DuckDB.

The layout is the one the S3 table uses
(`<root>/mlcc_ci/benchmark_results/dt=YYYY-MM-DD/part-*.parquet`), so a folder
copied from S3 reads the same way. Athena (Trino) SQL is transpiled by sqlglot.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from pathprover.core import schema
from pathprover.core.records import DIMENSIONS, RUN_TYPES, STATUSES, BenchmarkRecord
from pathprover.ports import AppendResult, QueryResult


class WarehouseError(Exception):
    """A problem with the table that a person can act on (missing, unreadable, malformed)."""


_TABLE_SUBDIR = Path(schema.TABLE_DATABASE) / schema.TABLE_NAME


def transpile(sql: str, *, select_only: bool = False) -> str:
    """Athena (Trino) SQL to DuckDB SQL. ``select_only``: the statement must be one query (SELECT, WITH
    ... SELECT, or a set operation of them): what a person types into `pathprover sql` may read the table,
    never write, attach, install, set or copy anything."""
    try:
        parsed = [e for e in sqlglot.parse(sql, read="trino") if e is not None]
    except ParseError as exc:
        raise WarehouseError(f"cannot parse the SQL: {exc}") from exc
    if len(parsed) != 1:
        raise WarehouseError("give exactly one SQL statement")
    statement = parsed[0]
    if select_only and not isinstance(statement, exp.Query):
        kind = statement.key.upper()
        raise WarehouseError(
            f"only a query (SELECT or WITH ... SELECT) is allowed here, not {kind}: the table is read-only"
        )
    return statement.sql(dialect="duckdb")


class LocalWarehouse:
    """ResultsStore over local Parquet. `table` reads any Parquet file or folder instead (read-only)."""

    def __init__(self, root: Path, table: Path | None = None) -> None:
        self.root = Path(root)
        self.table = Path(table) if table is not None else None

    # ---------------------------------------------------------------- layout
    @property
    def table_dir(self) -> Path:
        return self.root / _TABLE_SUBDIR

    def describe(self) -> str:
        if self.table is not None:
            return f"{self.table} (read-only Parquet)"
        return f"{self.table_dir} (Hive-partitioned Parquet, DuckDB)"

    def files(self) -> list[Path]:
        base = self.table if self.table is not None else self.table_dir
        if base.is_file():
            return [base]
        if not base.exists():
            return []
        return sorted(p for p in base.rglob("*.parquet") if p.is_file())

    def exists(self) -> bool:
        if self.table is not None and not self.table.exists():
            raise WarehouseError(f"no table at {self.table}: give a Parquet file or a folder of Parquet files")
        return bool(self.files())

    # ---------------------------------------------------------------- reading
    def connect(self, *, sandboxed: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with `mlcc_ci.benchmark_results` defined as a typed view.

        ``sandboxed``: the connection may read the table's own Parquet files and nothing else (DuckDB's
        external access off, only those paths allowed, the configuration locked), for SQL a person wrote.
        """
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE SCHEMA {schema.TABLE_DATABASE}")
        con.execute(f"CREATE VIEW {schema.QUALIFIED_TABLE} AS {self._view_sql(con)}")
        if sandboxed:
            con.execute("SET allowed_paths = $paths", {"paths": [str(f) for f in self.files()]})
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        return con

    def _raw_sql(self, files: list[Path]) -> str:
        listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        return f"read_parquet([{listing}], union_by_name = true, hive_partitioning = true)"

    def _view_sql(self, con: duckdb.DuckDBPyConnection) -> str:
        files = self.files()
        if not files:
            if self.table is not None:
                raise WarehouseError(f"no Parquet files under {self.table}")
            select = ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {c.name}" for c in schema.columns())
            return f"SELECT {select}, CAST(NULL AS VARCHAR) AS dt WHERE false"
        raw = self._raw_sql(files)
        try:
            present = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()}
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot read the table at {self.describe()}: {exc}") from exc
        parts = []
        for col in schema.columns():
            if col.name in present:
                parts.append(f"TRY_CAST({_quote(col.name)} AS {col.duckdb_type}) AS {col.name}")
            elif col.name == "status":
                # Tables written before the status column existed hold only successful benchmarks.
                parts.append("CAST('completed' AS VARCHAR) AS status")
            elif col.name == "run_type":
                parts.append("CAST('ci' AS VARCHAR) AS run_type")
            else:
                parts.append(f"CAST(NULL AS {col.duckdb_type}) AS {col.name}")
        parts.append("CAST(dt AS VARCHAR) AS dt" if "dt" in present else "CAST(NULL AS VARCHAR) AS dt")
        return f"SELECT {', '.join(parts)} FROM {raw}"

    def query(self, sql: str, *, untrusted: bool = False) -> QueryResult:
        """Run Athena SQL. ``untrusted`` (what a person typed): one query only, on a sandboxed connection."""
        duck_sql = transpile(sql, select_only=untrusted)
        con = self.connect(sandboxed=untrusted)
        try:
            cursor = con.execute(duck_sql)
        except duckdb.PermissionException as exc:
            first = str(exc).splitlines()[0]
            raise WarehouseError(
                f"refused: this SQL may read only {schema.QUALIFIED_TABLE}, no other file or setting ({first})"
            ) from exc
        except duckdb.Error as exc:
            raise WarehouseError(f"query failed: {exc}") from exc
        columns = [d[0] for d in cursor.description or []]
        rows = [list(r) for r in cursor.fetchall()]
        return QueryResult(columns=columns, rows=rows)

    def problems(self, limit: int = 5) -> list[str]:
        """Rows the brain cannot use, each described with the row and the reason."""
        files = self.files()
        if not files:
            return []
        con = self.connect()
        raw = self._raw_sql(files)
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()}
        missing = [d for d in DIMENSIONS if d not in present]
        if missing:
            return [f"the table has no column {', '.join(missing)}: the six dimensions are required"]
        checks = [
            (
                "status",
                f"status NOT IN ({_sql_list(STATUSES)}) OR status IS NULL",
                "status must be one of " + ", ".join(STATUSES),
            ),
            (
                "run_type",
                f"run_type NOT IN ({_sql_list(RUN_TYPES)}) OR run_type IS NULL",
                "run_type must be one of " + ", ".join(RUN_TYPES),
            ),
            ("tp_degree", "tp_degree IS NULL OR tp_degree < 1", "tp_degree must be a positive integer"),
        ]
        checks += [
            (d, f"{d} IS NULL OR trim(CAST({d} AS VARCHAR)) = ''", f"{d} is empty")
            for d in DIMENSIONS
            if d != "tp_degree"
        ]
        found: list[str] = []
        view = f"SELECT *, filename FROM ({self._view_sql_with_filename(con, files)})"
        for _, condition, reason in checks:
            rows = con.execute(f"SELECT * FROM ({view}) WHERE {condition} LIMIT {limit}").fetchall()
            names = [d[0] for d in con.description or []]
            for row in rows:
                record = dict(zip(names, row, strict=True))
                shown = {k: record.get(k) for k in ("config_id", "run_type", "status", *DIMENSIONS)}
                found.append(f"{reason}: row {shown} in {record.get('filename')}")
            if len(found) >= limit:
                break
        return found[:limit]

    def _view_sql_with_filename(self, con: duckdb.DuckDBPyConnection, files: list[Path]) -> str:
        view = self._view_sql(con)
        raw = self._raw_sql(files)
        raw_with_name = raw[:-1] + ", filename = true)"
        return view.replace(f"FROM {raw}", f"FROM {raw_with_name}").replace("SELECT ", "SELECT filename, ", 1)

    # ---------------------------------------------------------------- writing
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def existing_ids(self, record_ids: Sequence[str]) -> set[str]:
        files = self.files()
        if not files or not record_ids:
            return set()
        con = duckdb.connect(":memory:")
        rows = con.execute(
            f"SELECT DISTINCT record_id FROM {self._raw_sql(files)} WHERE record_id IN (SELECT UNNEST(?))",
            [list(record_ids)],
        ).fetchall()
        return {r[0] for r in rows}

    def append(self, records: Sequence[BenchmarkRecord]) -> AppendResult:
        """Write rows atomically (temp file + rename) and idempotently (by record_id)."""
        if self.table is not None:
            raise WarehouseError(f"{self.table} is read-only; write to a --warehouse instead")
        unique: dict[str, BenchmarkRecord] = {}
        for record in records:
            unique.setdefault(record.record_id, record)
        with self._lock():
            existing = self.existing_ids(list(unique))
            fresh = [r for rid, r in unique.items() if rid not in existing]
            by_partition: dict[str, list[BenchmarkRecord]] = defaultdict(list)
            for record in fresh:
                by_partition[record.partition].append(record)
            written_files = [self._write_partition(dt, rows) for dt, rows in sorted(by_partition.items())]
        return AppendResult(
            written=len(fresh),
            skipped_duplicates=len(records) - len(fresh),
            location=str(self.table_dir),
            files=[str(f) for f in written_files],
        )

    def _write_partition(self, dt: str, rows: list[BenchmarkRecord]) -> Path:
        folder = self.table_dir / f"dt={dt}"
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256("".join(sorted(r.record_id for r in rows)).encode()).hexdigest()[:20]
        final = folder / f"part-{digest}.parquet"
        temp = folder / f".part-{digest}.{os.getpid()}.parquet.tmp"
        write_parquet(rows, temp)
        os.replace(temp, final)
        return final


def write_parquet(rows: Sequence[BenchmarkRecord], path: Path) -> None:
    """Write rows with the schema's exact column types (Snappy, like the S3 table)."""
    cols = schema.columns()
    data: dict[str, list[Any]] = {c.name: [] for c in cols}
    for row in rows:
        values = row.model_dump()
        for c in cols:
            value = values[c.name]
            if isinstance(value, datetime):
                value = value.astimezone(UTC).replace(tzinfo=None)
            data[c.name].append(value)
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    select = ", ".join(f"UNNEST(CAST(? AS {c.duckdb_type}[])) AS {c.name}" for c in cols)
    target = str(path).replace("'", "''")
    con.execute(
        f"COPY (SELECT {select}) TO '{target}' (FORMAT parquet, COMPRESSION snappy)",
        [data[c.name] for c in cols],
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join("'" + v + "'" for v in values)
