"""The local benchmark tables: Hive-partitioned Parquet under a folder, queried with DuckDB.

The layout is the one the S3 tables use
(`<root>/mlcc_ci/benchmark_results/dt=YYYY-MM-DD/part-*.parquet`, and
`<root>/mlcc_ci/benchmark_levels/...` for the levels), so a folder copied from S3
reads the same way. Athena (Trino) SQL is transpiled by sqlglot.

Tables of the older layout (a `completed` row per concurrency level, with a
`concurrency` column) are read through the same views: their level rows are
folded into one row per attempt with the headline metrics
(:func:`pathprover.core.records.headline`, written here as SQL), and appear in
`mlcc_ci.benchmark_levels` under that attempt's record_id. Rows without a `simulated` value (written
before the column existed) read as `simulated = false`.
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
from typing import Any, Final

import duckdb
from pydantic import BaseModel

from pathprover.core import schema
from pathprover.core.errors import InputError
from pathprover.core.records import (
    DIMENSIONS,
    LATENCY_HEADLINE,
    LEVEL_METRICS,
    PEAK_BY,
    PEAK_HEADLINE,
    RUN_TYPES,
    STATUSES,
    BenchmarkRecord,
    LevelRecord,
)
from pathprover.protocols import AppendResult, QueryResult


class WarehouseError(InputError):
    """A problem with the table that a person can act on (missing, unreadable, malformed)."""

    code = "table"


_TABLE_SUBDIR = Path(schema.TABLE_DATABASE) / schema.TABLE_NAME
_LEVELS_SUBDIR = Path(schema.TABLE_DATABASE) / schema.LEVELS_TABLE_NAME
_LEVEL = "lvl_"
"""Prefix of the per-level columns of an older-layout row inside the views (they share names with the
headline columns of the new layout)."""
_ATTEMPT_KEYS: Final = (
    "run_type",
    "status",
    "run_timestamp",
    "execution_id",
    "config_id",
    "attempt",
    *DIMENSIONS,
    "model_name",
    "instance_type",
    "dt",
)
"""What the level rows of one older-layout attempt share (NULLs group together, as in a foreign table)."""
_SAFE_ID_RE: Final = "[A-Za-z0-9_:.#/@+=-]+"


def transpile(sql: str, *, select_only: bool = False) -> str:
    """Athena (Trino) SQL to DuckDB SQL. ``select_only``: the statement must be one query (SELECT, WITH
    ... SELECT, or a set operation of them): what a person types into `pathprover sql` may read the table,
    never write, attach, install, set or copy anything."""
    import sqlglot  # ~0.1 s to import: only where SQL is transpiled (not the brain's portable reads)
    from sqlglot import exp
    from sqlglot.errors import ParseError

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

    @property
    def levels_dir(self) -> Path:
        return self.root / _LEVELS_SUBDIR

    def describe(self) -> str:
        if self.table is not None:
            return f"{self.table} (read-only Parquet)"
        return f"{self.table_dir} (Hive-partitioned Parquet, DuckDB)"

    def files(self) -> list[Path]:
        if self.table is None:
            return _parquet_files(self.table_dir)
        return [f for f in _parquet_files(self.table) if not _in_levels(f, self.table)]

    def level_files(self) -> list[Path]:
        """The levels table's files. With ``table``, those under a `benchmark_levels` folder inside it (an
        export of both tables); an older-layout table carries its levels in its own rows."""
        if self.table is None:
            return _parquet_files(self.levels_dir)
        return [f for f in _parquet_files(self.table) if _in_levels(f, self.table)]

    def exists(self) -> bool:
        if self.table is not None and not self.table.exists():
            raise WarehouseError(f"no table at {self.table}: give a Parquet file or a folder of Parquet files")
        return bool(self.files())

    # ---------------------------------------------------------------- reading
    def connect(self, *, sandboxed: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with `mlcc_ci.benchmark_results` and `mlcc_ci.benchmark_levels` as typed views.

        ``sandboxed``: the connection may read the tables' own Parquet files and nothing else (DuckDB's
        external access off, only those paths allowed, the configuration locked), for SQL a person wrote.
        """
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE SCHEMA {schema.TABLE_DATABASE}")
        results, levels = self._views_sql(con)
        con.execute(f"CREATE VIEW {schema.QUALIFIED_TABLE} AS {results}")
        con.execute(f"CREATE VIEW {schema.QUALIFIED_LEVELS_TABLE} AS {levels}")
        if sandboxed:
            paths = [str(f) for f in (*self.files(), *self.level_files())]
            con.execute("SET allowed_paths = $paths", {"paths": paths})
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        return con

    def _raw_sql(self, files: list[Path], *, filename: bool = False) -> str:
        listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        extra = ", filename = true" if filename else ""
        return f"read_parquet([{listing}], union_by_name = true, hive_partitioning = true{extra})"

    def _present(self, con: duckdb.DuckDBPyConnection, raw: str) -> set[str]:
        try:
            return {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()}
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot read the table at {self.describe()}: {exc}") from exc

    def _typed_sql(self, con: duckdb.DuckDBPyConnection, files: list[Path], *, filename: bool = False) -> str:
        """One typed row per stored row of `benchmark_results`: the schema's columns (absent ones NULL,
        or their older equivalent), plus the per-level columns of an older-layout row as ``lvl_*``."""
        raw = self._raw_sql(files, filename=filename)
        present = self._present(con, raw)
        parts = ["filename"] if filename else []
        for col in schema.columns():
            source = PEAK_HEADLINE.get(col.name)
            if col.name == "simulated":
                # Rows written before the column (or by other tools) carry no marker: read as not simulated.
                value = f"TRY_CAST({_quote(col.name)} AS BOOLEAN)" if col.name in present else "NULL"
                parts.append(f"CAST(COALESCE({value}, false) AS BOOLEAN) AS simulated")
            elif col.name in present:
                parts.append(f"TRY_CAST({_quote(col.name)} AS {col.duckdb_type}) AS {col.name}")
            elif source is not None and source in present:
                # A table without the headline column: its one row per run holds the level's value.
                parts.append(f"TRY_CAST({_quote(source)} AS {col.duckdb_type}) AS {col.name}")
            elif col.name == "status":
                # Tables written before the status column existed hold only successful benchmarks.
                parts.append("CAST('completed' AS VARCHAR) AS status")
            elif col.name == "run_type":
                parts.append("CAST('ci' AS VARCHAR) AS run_type")
            else:
                parts.append(f"CAST(NULL AS {col.duckdb_type}) AS {col.name}")
        for col in schema.level_columns():
            if col.name in LEVEL_METRICS:
                value = f"TRY_CAST({_quote(col.name)} AS {col.duckdb_type})" if col.name in present else "NULL"
                parts.append(f"CAST({value} AS {col.duckdb_type}) AS {_LEVEL}{col.name}")
        parts.append("CAST(dt AS VARCHAR) AS dt" if "dt" in present else "CAST(NULL AS VARCHAR) AS dt")
        return f"SELECT {', '.join(parts)} FROM {raw}"

    def _views_sql(self, con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
        """The SELECTs behind the two views."""
        files = self.files()
        if not files and self.table is not None:
            raise WarehouseError(f"no Parquet files under {self.table}")
        results = _empty_sql(schema.columns())
        legacy_levels = _empty_sql(schema.level_columns())
        if files:
            typed = self._typed_sql(con, files)
            results = _results_sql(typed)
            legacy_levels = _legacy_levels_sql(typed)
        level_files = self.level_files()
        if not level_files:
            return results, legacy_levels
        raw = self._raw_sql(level_files)
        present = self._present(con, raw)
        parts = [
            f"TRY_CAST({_quote(c.name)} AS {c.duckdb_type}) AS {c.name}"
            if c.name in present
            else f"CAST(NULL AS {c.duckdb_type}) AS {c.name}"
            for c in schema.level_columns()
        ]
        parts.append("CAST(dt AS VARCHAR) AS dt" if "dt" in present else "CAST(NULL AS VARCHAR) AS dt")
        return results, f"SELECT {', '.join(parts)} FROM {raw} UNION ALL BY NAME {legacy_levels}"

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

    def query_columns(self, *sqls: str, portable: bool = False, as_rows: Sequence[bool] = ()) -> list[Any]:
        """Run several Athena SQL queries on one connection. Each result is its columns as numpy arrays
        (DuckDB's fetchnumpy, in column order), or its rows where ``as_rows`` says so. ``portable``: the
        SQL is DuckDB SQL as written (the brain's history queries), so it is not transpiled."""
        con = self.connect()
        results: list[Any] = []
        for i, sql in enumerate(sqls):
            try:
                cursor = con.execute(sql if portable else transpile(sql))
            except duckdb.Error as exc:
                raise WarehouseError(f"query failed: {exc}") from exc
            if i < len(as_rows) and as_rows[i]:
                results.append([list(r) for r in cursor.fetchall()])
            else:
                results.append(list(cursor.fetchnumpy().values()))
        return results

    def problems(self, limit: int = 5) -> list[str]:
        """Rows the brain cannot use, each described with the row and the reason."""
        files = self.files()
        if not files:
            return []
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        present = self._present(con, self._raw_sql(files))
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
        view = self._typed_sql(con, files, filename=True)
        # One scan counts every check's rows; only a check with some is read again for its examples.
        tallies = con.execute(
            "SELECT " + ", ".join(f"COUNT_IF({condition})" for _, condition, _ in checks) + f" FROM ({view})"
        ).fetchone()
        for (_, condition, reason), tally in zip(checks, tallies or [1] * len(checks), strict=True):
            if not tally:
                continue
            rows = con.execute(f"SELECT * FROM ({view}) WHERE {condition} LIMIT {limit}").fetchall()
            names = [d[0] for d in con.description or []]
            for row in rows:
                record = dict(zip(names, row, strict=True))
                shown = {k: record.get(k) for k in ("config_id", "run_type", "status", *DIMENSIONS)}
                found.append(f"{reason}: row {shown} in {record.get('filename')}")
            if len(found) >= limit:
                break
        return found[:limit]

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

    def existing_ids(self, record_ids: Sequence[str], table: str = schema.QUALIFIED_TABLE) -> set[str]:
        """Which of ``record_ids`` ``table`` already holds, as its view reads (an older-layout attempt
        counts under the id it has in the new layout)."""
        if not record_ids or not (self.files() or self.level_files()):
            return set()
        con = self.connect()
        rows = con.execute(
            f"SELECT DISTINCT record_id FROM {table} WHERE record_id IN (SELECT UNNEST(?))",
            [list(record_ids)],
        ).fetchall()
        return {r[0] for r in rows}

    def append(self, records: Sequence[BenchmarkRecord], levels: Sequence[LevelRecord] = ()) -> AppendResult:
        """Write rows atomically (temp file + rename) and idempotently (by record_id, in each table).

        The levels go first: a reader that finds an attempt's row finds its levels. An attempt's levels are
        written in one file (they share its partition), so finding any of them means all of them are there.
        """
        if self.table is not None:
            raise WarehouseError(f"{self.table} is read-only; write to a --warehouse instead")
        unique: dict[str, BenchmarkRecord] = {}
        for record in records:
            unique.setdefault(record.record_id, record)
        with self._lock():
            levels_done = self.existing_ids(
                list({lvl.record_id: None for lvl in levels}), schema.QUALIFIED_LEVELS_TABLE
            )
            fresh_levels = [lvl for lvl in levels if lvl.record_id not in levels_done]
            written_files = self._write(self.levels_dir, fresh_levels, schema.level_columns())
            existing = self.existing_ids(list(unique))
            fresh = [r for rid, r in unique.items() if rid not in existing]
            written_files += self._write(self.table_dir, fresh, schema.columns())
        return AppendResult(
            written=len(fresh),
            skipped_duplicates=len(records) - len(fresh),
            location=str(self.table_dir),
            files=[str(f) for f in written_files],
            levels_written=len(fresh_levels),
            levels_skipped_duplicates=len(levels) - len(fresh_levels),
        )

    def _write(
        self, base: Path, rows: Sequence[BenchmarkRecord | LevelRecord], cols: Sequence[schema.Column]
    ) -> list[Path]:
        by_partition: dict[str, list[BenchmarkRecord | LevelRecord]] = defaultdict(list)
        for row in rows:
            by_partition[row.partition].append(row)
        return [self._write_partition(base, dt, part, cols) for dt, part in sorted(by_partition.items())]

    def _write_partition(
        self, base: Path, dt: str, rows: list[BenchmarkRecord | LevelRecord], cols: Sequence[schema.Column]
    ) -> Path:
        folder = base / f"dt={dt}"
        folder.mkdir(parents=True, exist_ok=True)
        keys = sorted(f"{r.record_id}:{getattr(r, 'concurrency', '')}" for r in rows)
        digest = hashlib.sha256("".join(keys).encode()).hexdigest()[:20]
        final = folder / f"part-{digest}.parquet"
        temp = folder / f".part-{digest}.{os.getpid()}.parquet.tmp"
        write_parquet(rows, temp, cols)
        os.replace(temp, final)
        return final


def write_parquet(rows: Sequence[BaseModel], path: Path, cols: Sequence[schema.Column] | None = None) -> None:
    """Write rows with the schema's exact column types (Snappy, like the S3 tables); ``cols`` default to
    `benchmark_results`'."""
    cols = schema.columns() if cols is None else cols
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


def _parquet_files(base: Path) -> list[Path]:
    """The Parquet files under ``base``; names starting with `_` or `.` below it are skipped, as Hive and
    Athena do (the local runtime's `_runtime` state folder inside a warehouse holds benchmark samples)."""
    if base.is_file():
        return [base]
    if not base.exists():
        return []
    return sorted(
        p
        for p in base.rglob("*.parquet")
        if p.is_file() and not any(part.startswith(("_", ".")) for part in p.relative_to(base).parts)
    )


def _in_levels(path: Path, base: Path) -> bool:
    """Whether ``path`` (under ``base``) is a file of the levels table."""
    return path != base and schema.LEVELS_TABLE_NAME in path.relative_to(base).parts[:-1]


def _empty_sql(cols: Sequence[schema.Column]) -> str:
    select = ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {c.name}" for c in cols)
    return f"SELECT {select}, CAST(NULL AS VARCHAR) AS dt WHERE false"


def _attempt_id_sql(fallback: str) -> str:
    """The new-layout record_id of an older-layout attempt (:func:`record_id_of` in SQL), so a register or
    seed repeated after the upgrade finds it; ``fallback`` (its smallest level id) where the id's parts are
    missing or would need JSON escaping."""
    payload = "'[\"' || execution_id || '\",\"' || config_id || '\",' || CAST(attempt AS VARCHAR) || ',null]'"
    safe = f"regexp_full_match(execution_id, '{_SAFE_ID_RE}') AND regexp_full_match(config_id, '{_SAFE_ID_RE}')"
    return f"CASE WHEN attempt IS NOT NULL AND {safe} THEN substr(sha256({payload}), 1, 32) ELSE {fallback} END"


def _results_sql(typed: str) -> str:
    """`benchmark_results` as the view reads it: new-layout rows as they are, and the level rows of an
    older-layout attempt folded into one row with the same headline rule as records.headline."""
    keys = ", ".join(_ATTEMPT_KEYS)
    lowest = f"ORDER BY {_LEVEL}concurrency"
    peak = f"ORDER BY {_LEVEL}{PEAK_BY} DESC NULLS LAST, {_LEVEL}concurrency"
    folded = []
    for col in schema.columns():
        name = col.name
        if name in _ATTEMPT_KEYS:
            value = name
        elif name == "record_id":
            value = _attempt_id_sql("MIN(record_id)")
        elif name == "levels_benchmarked":
            value = "COUNT(*)"
        elif name == "latency_concurrency":
            value = f"MIN({_LEVEL}concurrency)"
        elif name in LATENCY_HEADLINE:
            value = f"FIRST({_LEVEL}{name} {lowest})"
        elif name == "peak_concurrency":
            value = f"CASE WHEN MAX({_LEVEL}{PEAK_BY}) IS NOT NULL THEN FIRST({_LEVEL}concurrency {peak}) END"
        elif name in PEAK_HEADLINE:
            value = f"CASE WHEN MAX({_LEVEL}{PEAK_BY}) IS NOT NULL THEN FIRST({_LEVEL}{PEAK_HEADLINE[name]} {peak}) END"
        elif name == "error_rate":
            value = f"MAX({_LEVEL}error_rate)"
        else:
            value = f"ANY_VALUE({name})"
        folded.append(f"CAST({value} AS {col.duckdb_type}) AS {name}")
    names = ", ".join(c.name for c in schema.columns())
    return (
        f"WITH typed AS ({typed}) "
        f"SELECT {names}, dt FROM typed WHERE {_LEVEL}concurrency IS NULL "
        f"UNION ALL SELECT {', '.join(folded)}, dt FROM typed WHERE {_LEVEL}concurrency IS NOT NULL GROUP BY {keys}"
    )


def _legacy_levels_sql(typed: str) -> str:
    """`benchmark_levels` rows of older-layout attempts: each level row, under its attempt's record_id."""
    keys = ", ".join(_ATTEMPT_KEYS)
    record_id = _attempt_id_sql(f"MIN(record_id) OVER (PARTITION BY {keys})")
    parts = []
    for col in schema.level_columns():
        value = (
            record_id
            if col.name == "record_id"
            else col.name
            if col.name in ("config_id", "run_timestamp")
            else f"{_LEVEL}{col.name}"
        )
        parts.append(f"CAST({value} AS {col.duckdb_type}) AS {col.name}")
    return f"SELECT {', '.join(parts)}, dt FROM ({typed}) WHERE {_LEVEL}concurrency IS NOT NULL"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join("'" + v + "'" for v in values)
