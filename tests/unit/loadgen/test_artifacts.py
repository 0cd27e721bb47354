"""loadgen/artifacts.py: samples and manifest written and read back."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pathprover.loadgen import (
    RequestSample,
)
from pathprover.loadgen.artifacts import MANIFEST_FILE, SAMPLE_COLUMNS, SAMPLES_FILE, write_artifacts
from tests.unit.loadgen.conftest import ok_sample

# ----------------------------------------------------------------------------- artifacts + import cost


def test_write_artifacts_roundtrip(tmp_path: Path) -> None:
    samples = {
        1: [ok_sample(0, 0.0, 60.0, 12.0, 4), RequestSample(1, 5, 9, ok=False, status=500, error="HTTP 500")],
        4: [],
    }
    uri = write_artifacts(tmp_path / "run", samples, {"workload_hash": "abc"})
    assert uri.startswith("file://") and uri.endswith("/run")
    rows = duckdb.execute(
        f"SELECT concurrency, request_index, ok, status, error, ttft_ms, itl_ms "
        f"FROM '{tmp_path / 'run' / SAMPLES_FILE}' ORDER BY request_index"
    ).fetchall()
    assert rows[0][:4] == (1, 0, True, 200) and rows[0][5] == pytest.approx(60.0)
    assert rows[0][6] == pytest.approx([12.0, 12.0, 12.0])
    assert rows[1][:5] == (1, 1, False, 500, "HTTP 500") and rows[1][5] is None
    columns = [r[0] for r in duckdb.execute(f"DESCRIBE SELECT * FROM '{tmp_path / 'run' / SAMPLES_FILE}'").fetchall()]
    assert columns == list(SAMPLE_COLUMNS)
    manifest = json.loads((tmp_path / "run" / MANIFEST_FILE).read_text())
    assert manifest["workload_hash"] == "abc" and "h11" in manifest["package_versions"]
    # no rows at all still writes a readable, typed file
    write_artifacts(tmp_path / "empty", {1: []}, {})
    assert duckdb.execute(f"SELECT count(*) FROM '{tmp_path / 'empty' / SAMPLES_FILE}'").fetchall() == [(0,)]
