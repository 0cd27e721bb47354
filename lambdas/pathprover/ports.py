"""Ports: what the logic needs from the outside world. AWS and local adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pathprover.core.records import BenchmarkRecord


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class AppendResult:
    written: int
    skipped_duplicates: int
    location: str = ""
    files: list[str] = field(default_factory=list)


class ResultsStore(Protocol):
    """The benchmark table: Athena/Glue on AWS, Parquet + DuckDB locally."""

    def append(self, records: Sequence[BenchmarkRecord]) -> AppendResult:
        """Write rows atomically; rows whose record_id already exists are skipped."""
        ...

    def query(self, sql: str) -> QueryResult:
        """Run Athena (Trino) SQL against `mlcc_ci.benchmark_results`."""
        ...

    def describe(self) -> str:
        """Where the table lives, for people."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...
