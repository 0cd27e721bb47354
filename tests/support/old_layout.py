"""Parquet tables of the older layout: a `completed` row per concurrency level, with a `concurrency` column.

Written column by column as the writer before issue 10 wrote them (record_id over execution, config,
attempt and concurrency; the per-level metrics in the row), so the readers are tested against that shape,
not against the new models.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from pathprover.core.dimensions import ConfigVector

COLUMNS = {
    "record_id": "VARCHAR",
    "config_id": "VARCHAR",
    "run_type": "VARCHAR",
    "status": "VARCHAR",
    "run_timestamp": "TIMESTAMP",
    "deployment_config": "VARCHAR",
    "model_family": "VARCHAR",
    "instance_family": "VARCHAR",
    "quantization": "VARCHAR",
    "tp_degree": "INTEGER",
    "deployment_target": "VARCHAR",
    "model_name": "VARCHAR",
    "instance_type": "VARCHAR",
    "failure_reason": "VARCHAR",
    "failure_category": "VARCHAR",
    "failure_scope": "VARCHAR",
    "execution_id": "VARCHAR",
    "attempt": "INTEGER",
    "concurrency": "INTEGER",
    "ttft_p50_ms": "DOUBLE",
    "ttft_p99_ms": "DOUBLE",
    "itl_p50_ms": "DOUBLE",
    "itl_p99_ms": "DOUBLE",
    "tpot_p50_ms": "DOUBLE",
    "e2e_latency_p50_ms": "DOUBLE",
    "e2e_latency_p99_ms": "DOUBLE",
    "request_throughput_rps": "DOUBLE",
    "output_token_throughput_tps": "DOUBLE",
    "error_rate": "DOUBLE",
    "cost_per_1m_tokens": "DOUBLE",
}


def old_record_id(execution_id: str, config_id: str, attempt: int, concurrency: int | None) -> str:
    """The id the older writer gave a row (one per level)."""
    payload = json.dumps([execution_id, config_id, attempt, concurrency], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass
class OldTable:
    """Rows of an older-layout table, written to ``<root>/mlcc_ci/benchmark_results/dt=.../`` by :meth:`write`."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def completed(
        self,
        vector: ConfigVector,
        at: datetime,
        levels: list[dict[str, Any]],
        *,
        execution_id: str = "old-exec",
        run_type: str = "path_prove",
        attempt: int = 1,
        model_name: str | None = None,
    ) -> None:
        """One row per level, as the older writer did."""
        for level in levels:
            self.rows.append(
                {
                    **self._base(vector, at, execution_id, run_type, attempt, model_name),
                    "record_id": old_record_id(execution_id, vector.config_id, attempt, level["concurrency"]),
                    "status": "completed",
                    **level,
                }
            )

    def failed(
        self,
        vector: ConfigVector,
        at: datetime,
        *,
        status: str,
        category: str,
        reason: str,
        execution_id: str = "old-exec",
        attempt: int = 1,
    ) -> None:
        """A failure was one row with no level, as it still is."""
        self.rows.append(
            {
                **self._base(vector, at, execution_id, "path_prove", attempt, None),
                "record_id": old_record_id(execution_id, vector.config_id, attempt, None),
                "status": status,
                "failure_category": category,
                "failure_scope": "config",
                "failure_reason": reason,
            }
        )

    @staticmethod
    def _base(
        vector: ConfigVector, at: datetime, execution_id: str, run_type: str, attempt: int, model_name: str | None
    ) -> dict[str, Any]:
        return {
            **vector.as_dict(),
            "config_id": vector.config_id,
            "run_type": run_type,
            "run_timestamp": at.replace(tzinfo=None),
            "execution_id": execution_id,
            "attempt": attempt,
            "model_name": model_name,
        }

    def write(self, root: Path) -> Path:
        """Hive-partitioned Parquet under ``root``'s table folder; returns that folder."""
        folder = root / "mlcc_ci" / "benchmark_results"
        con = duckdb.connect()
        con.execute(f"CREATE TABLE t ({', '.join(f'{n} {t}' for n, t in COLUMNS.items())})")
        con.executemany(
            f"INSERT INTO t VALUES ({', '.join('?' for _ in COLUMNS)})",
            [[row.get(name) for name in COLUMNS] for row in self.rows],
        )
        for (dt,) in con.execute("SELECT DISTINCT strftime(run_timestamp, '%Y-%m-%d') FROM t").fetchall():
            part = folder / f"dt={dt}"
            part.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"COPY (SELECT * FROM t WHERE strftime(run_timestamp, '%Y-%m-%d') = '{dt}') "
                f"TO '{part / 'part-old.parquet'}' (FORMAT parquet)"
            )
        return folder
