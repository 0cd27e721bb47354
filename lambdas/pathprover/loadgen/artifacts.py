"""Run artifacts: per-request samples as Parquet (written by DuckDB) and a manifest.

Layout of an artifacts directory::

    samples.parquet   one row per measured request, every level
    manifest.json     run config hash, workload hash + spec, package versions,
                      start/end time, per-level results and verdicts

DuckDB writes the Parquet file (no pyarrow): the columns are passed as list
parameters, zipped back into rows by ``unnest`` and copied out with
``COPY ... TO ... (FORMAT parquet)``. DuckDB is imported only here, when a
run has finished measuring.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from pathprover.loadgen.metrics import RequestSample

SAMPLES_FILE: Final = "samples.parquet"
MANIFEST_FILE: Final = "manifest.json"
MANIFEST_SCHEMA_VERSION: Final = 1

# column name -> DuckDB type; the order is the Parquet column order.
SAMPLE_COLUMNS: Final[dict[str, str]] = {
    "concurrency": "INTEGER",
    "request_index": "INTEGER",
    "ok": "BOOLEAN",
    "status": "INTEGER",
    "error": "VARCHAR",
    "start_offset_ms": "DOUBLE",
    "client_overhead_ms": "DOUBLE",
    "ttft_ms": "DOUBLE",
    "tpot_ms": "DOUBLE",
    "e2e_latency_ms": "DOUBLE",
    "output_tokens": "INTEGER",
    "itl_ms": "DOUBLE[]",
}

_VERSIONED_PACKAGES: Final = ("pathprover", "h11", "duckdb", "pydantic", "typer", "boto3", "botocore")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def sample_columns(samples_by_level: Mapping[int, Sequence[RequestSample]]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {name: [] for name in SAMPLE_COLUMNS}
    for concurrency, samples in samples_by_level.items():
        origin = min((s.start_ns for s in samples if s.timed), default=0)
        for s in samples:
            cols["concurrency"].append(concurrency)
            cols["request_index"].append(s.index)
            cols["ok"].append(s.ok)
            cols["status"].append(s.status)
            cols["error"].append(s.error)
            cols["start_offset_ms"].append((s.start_ns - origin) / 1e6 if s.timed else None)
            cols["client_overhead_ms"].append(s.client_overhead_ms)
            cols["ttft_ms"].append(s.ttft_ms)
            cols["tpot_ms"].append(s.tpot_ms)
            cols["e2e_latency_ms"].append(s.e2e_ms)
            cols["output_tokens"].append(s.output_tokens)
            cols["itl_ms"].append(s.itl_ms)
    return cols


def write_samples_parquet(path: Path, samples_by_level: Mapping[int, Sequence[RequestSample]]) -> None:
    import duckdb

    cols = sample_columns(samples_by_level)
    # unnest() removes one level of nesting, so itl_ms (DOUBLE[][]) comes back as DOUBLE[] rows.
    select = ", ".join(f"unnest(${name}::{sql_type}[]) AS {name}" for name, sql_type in SAMPLE_COLUMNS.items())
    target = str(path).replace("'", "''")
    con = duckdb.connect()
    try:
        if cols["concurrency"]:
            con.execute(f"COPY (SELECT {select}) TO '{target}' (FORMAT parquet)", cols)
        else:  # no rows: still write a file with the schema
            schema = ", ".join(f"NULL::{t} AS {n}" for n, t in SAMPLE_COLUMNS.items())
            con.execute(f"COPY (SELECT {schema} LIMIT 0) TO '{target}' (FORMAT parquet)")
    finally:
        con.close()


def write_artifacts(
    out_dir: Path,
    samples_by_level: Mapping[int, Sequence[RequestSample]],
    manifest: Mapping[str, Any],
) -> str:
    """Write ``samples.parquet`` and ``manifest.json`` into ``out_dir``; return its ``file://`` URI."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_samples_parquet(out_dir / SAMPLES_FILE, samples_by_level)
    body = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "samples_file": SAMPLES_FILE,
        "package_versions": package_versions(),
        **manifest,
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out_dir.resolve().as_uri()
