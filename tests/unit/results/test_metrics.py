"""results/metrics.py: the reads behind the metrics (Athena SQL refusing what is not an id) and headline metrics."""

from __future__ import annotations

import pytest

from pathprover.results.metrics import attempts_sql, headline_of, latest_completed, levels_sql, metrics_by_attempt
from tests.unit.results.conftest import CID, row


def test_the_reads_are_athena_sql_that_refuse_what_is_not_an_id():
    assert "config_id LIKE '0123%'" in attempts_sql(config_id_prefix="0123")
    assert "execution_id = 'run-1'" in attempts_sql(execution_id="run-1")
    assert "LOWER(model_name) IN ('qwen/qwen3-8b')" in attempts_sql(model_names=["Qwen/Qwen3-8B"])
    assert "record_id IN ('ab', 'cd')" in levels_sql(["cd", "ab"])
    for bad in ({"config_ids": ["x' OR 1=1 --"]}, {"execution_id": "a'b"}, {"config_id_prefix": "zz"}):
        with pytest.raises(ValueError):
            attempts_sql(**bad)


def test_headline_metrics_are_those_of_completed_attempts_by_config_and_attempt():
    done = row("completed", "r2", "2026-11-02T00:00:00+00:00", attempt=2, ttft_p50_ms=90.0)
    failed = row("failed", "r1", "2026-11-01T00:00:00+00:00")
    assert headline_of(failed) is None
    assert metrics_by_attempt([done, failed]) == {(CID, 2): headline_of(done)}
    assert headline_of(done)["ttft_p50_ms"] == 90.0  # type: ignore[index]
    newer = row("completed", "r3", "2026-11-05T00:00:00+00:00", attempt=3)
    assert latest_completed([done, failed, newer])[CID]["record_id"] == "r3"
