"""Column types of `mlcc_ci.benchmark_results`, derived from :class:`BenchmarkRecord`.

Everything that needs the table's shape (the DuckDB view, Parquet writer, Glue
table, docs) asks this module, which reads the one pydantic definition.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Final, Literal

from pathprover.core.records import PARTITION_COLUMN, BenchmarkRecord

TABLE_DATABASE: Final = "mlcc_ci"
TABLE_NAME: Final = "benchmark_results"
QUALIFIED_TABLE: Final = f"{TABLE_DATABASE}.{TABLE_NAME}"

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


@cache
def columns() -> tuple[Column, ...]:
    """All data columns in table order (the partition column `dt` is separate)."""
    result = []
    for name, field in BenchmarkRecord.model_fields.items():
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


def markdown_table() -> str:
    """The schema as a Markdown table, for docs/schema.md (a test keeps the doc in sync)."""
    lines = ["| column | type | required | description |", "|---|---|---|---|"]
    for col in (*columns(), *partition_keys()):
        lines.append(f"| `{col.name}` | {col.glue_type} | {'yes' if col.required else ''} | {col.description} |")
    return "\n".join(lines) + "\n"
