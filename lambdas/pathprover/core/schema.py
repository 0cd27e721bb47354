"""Column types of `mlcc_ci.benchmark_results` and `mlcc_ci.benchmark_levels`, derived from
:class:`BenchmarkRecord` and :class:`LevelRecord`.

Everything that needs a table's shape (the DuckDB views, Parquet writers, Glue
tables, docs) asks this module, which reads the one pydantic definition of each.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Final, Literal

from pydantic import BaseModel

from pathprover.core.records import PARTITION_COLUMN, BenchmarkRecord, LevelRecord

TABLE_DATABASE: Final = "mlcc_ci"
TABLE_NAME: Final = "benchmark_results"
QUALIFIED_TABLE: Final = f"{TABLE_DATABASE}.{TABLE_NAME}"
LEVELS_TABLE_NAME: Final = "benchmark_levels"
QUALIFIED_LEVELS_TABLE: Final = f"{TABLE_DATABASE}.{LEVELS_TABLE_NAME}"

LogicalType = Literal["string", "int", "double", "boolean", "timestamp"]

_DUCKDB: Final[dict[str, str]] = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}
_GLUE: Final[dict[str, str]] = {
    "string": "string",
    "int": "int",
    "double": "double",
    "boolean": "boolean",
    "timestamp": "timestamp",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType
    required: bool
    description: str

    @property
    def duckdb_type(self) -> str:
        return _DUCKDB[self.type]

    @property
    def glue_type(self) -> str:
        return _GLUE[self.type]


def _logical(annotation: object) -> LogicalType:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _logical(inner[0])
    if typing.get_origin(annotation) is Literal:
        return "string"
    mapping: dict[object, LogicalType] = {
        str: "string",
        int: "int",
        float: "double",
        bool: "boolean",
        datetime: "timestamp",
    }
    if annotation in mapping:
        return mapping[annotation]
    raise TypeError(f"no column type for {annotation!r}")


@dataclass(frozen=True)
class Table:
    """One Glue/DuckDB table: its name and the pydantic model of its rows."""

    name: str
    model: type[BaseModel]
    description: str

    @property
    def qualified(self) -> str:
        return f"{TABLE_DATABASE}.{self.name}"

    @property
    def columns(self) -> tuple[Column, ...]:
        return _columns(self.model)


RESULTS: Final = Table(
    TABLE_NAME, BenchmarkRecord, "One row per prove (or CI run) attempt (pathprover.core.records.BenchmarkRecord)"
)
LEVELS: Final = Table(
    LEVELS_TABLE_NAME,
    LevelRecord,
    "One row per benchmarked concurrency level of an attempt, keyed by record_id (pathprover.core.records.LevelRecord)",
)
TABLES: Final[tuple[Table, ...]] = (RESULTS, LEVELS)


def columns() -> tuple[Column, ...]:
    """All data columns of `benchmark_results` in table order (the partition column `dt` is separate)."""
    return RESULTS.columns


def level_columns() -> tuple[Column, ...]:
    """All data columns of `benchmark_levels` in table order (partitioned by `dt` like the results)."""
    return LEVELS.columns


@cache
def _columns(model: type[BaseModel]) -> tuple[Column, ...]:
    result = []
    for name, field in model.model_fields.items():
        result.append(
            Column(
                name=name,
                type=_logical(field.annotation),
                required=field.is_required(),
                description=field.description or "",
            )
        )
    return tuple(result)


def column_names() -> tuple[str, ...]:
    return tuple(c.name for c in columns())


def partition_keys() -> tuple[Column, ...]:
    return (Column(PARTITION_COLUMN, "string", True, "UTC date of run_timestamp, YYYY-MM-DD (Hive partition)"),)


def markdown_table(table: Table = RESULTS) -> str:
    """A table's schema as a Markdown table, for docs/schema.md (a test keeps the doc in sync)."""
    lines = ["| column | type | required | description |", "|---|---|---|---|"]
    for col in (*table.columns, *partition_keys()):
        lines.append(f"| `{col.name}` | {col.glue_type} | {'yes' if col.required else ''} | {col.description} |")
    return "\n".join(lines) + "\n"
