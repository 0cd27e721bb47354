"""core/records.py: the path_prove record builder: ids, headline metrics, failures, manual rows."""

from datetime import UTC, datetime

import pytest

from pathprover.core.dimensions import ConfigVector
from pathprover.core.records import (
    LevelRecord,
    ProveContext,
    completed_records,
    failure_record,
    headline,
    manual_unfeasible_record,
    record_id_of,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
VECTOR = ConfigVector(deployment_config="vllm", model_family="qwen3", instance_family="g5")


def ctx(**kw):
    return ProveContext(vector=VECTOR, execution_id="exec-1", model_name="Qwen/Qwen3-0.6B", **kw)


def test_record_id_is_deterministic_and_pinned():
    assert record_id_of("exec-1", "a85629ebfe1da8c1", 1) == record_id_of("exec-1", "a85629ebfe1da8c1", 1)
    # The ids failure rows had before a completed attempt had one row: unchanged, so no retry duplicates them
    assert record_id_of("exec-1", "a85629ebfe1da8c1", 1) == "aeca5d3b7ebfcb9c130fdbdbd1d14822"
    assert record_id_of("exec-1", "x", 1) != record_id_of("exec-1", "x", 2)
    assert record_id_of("exec-1", "x", 1) != record_id_of("exec-2", "x", 1)


def level(concurrency, tps, **metrics):
    return {"concurrency": concurrency, "output_token_throughput_tps": tps, **metrics}


def test_a_completed_prove_is_one_row_with_its_levels_alongside():
    # Given a benchmark with three levels / When records are built
    levels = [level(c, 100.0 * c, ttft_p50_ms=10.0 * c, requests=32, errors=0) for c in (1, 4, 8)]
    row, level_rows = completed_records(ctx(), NOW, levels)
    # Then there is one completed path_prove row, and one level row per level under its record_id
    assert (row.status, row.run_type, row.config_id) == ("completed", "path_prove", VECTOR.config_id)
    assert row.record_id == record_id_of("exec-1", VECTOR.config_id, 1)
    assert [lvl.concurrency for lvl in level_rows] == [1, 4, 8]
    assert {lvl.record_id for lvl in level_rows} == {row.record_id}
    assert {lvl.partition for lvl in level_rows} == {row.partition}
    assert level_rows[2].ttft_p50_ms == 80.0 and level_rows[2].requests == 32
    assert row.levels_benchmarked == 3


def test_headline_latency_is_from_the_lowest_level_and_throughput_from_the_peak():
    # Given levels out of order, throughput peaking at 8 and falling at 16
    levels = [
        LevelRecord(record_id="r", config_id="c", run_timestamp=NOW, **lvl)
        for lvl in (
            level(16, 700.0, ttft_p50_ms=900.0, cost_per_1m_tokens=0.9, error_rate=0.02),
            level(1, 100.0, ttft_p50_ms=40.0, ttft_p99_ms=55.0, itl_p50_ms=9.0, cost_per_1m_tokens=6.0),
            level(8, 750.0, ttft_p50_ms=300.0, cost_per_1m_tokens=0.8, request_throughput_rps=5.5, error_rate=0.0),
        )
    ]
    # When the headline is taken
    got = headline(levels)
    # Then latency is what one user sees at concurrency 1, throughput and cost are at the peak (8, not 16)
    assert (got["latency_concurrency"], got["ttft_p50_ms"], got["ttft_p99_ms"], got["itl_p50_ms"]) == (
        1,
        40.0,
        55.0,
        9.0,
    )
    assert (got["peak_concurrency"], got["peak_output_token_throughput_tps"]) == (8, 750.0)
    assert (got["cost_per_1m_tokens"], got["peak_request_throughput_rps"]) == (0.8, 5.5)
    # And the error rate is the worst level's
    assert got["error_rate"] == 0.02 and got["levels_benchmarked"] == 3


def test_headline_with_null_ttft_and_no_throughput_keeps_nulls():
    # Given async-style levels: no TTFT at any level, and one level without a throughput figure
    levels = [
        LevelRecord(record_id="r", config_id="c", run_timestamp=NOW, **lvl)
        for lvl in (level(4, None, e2e_latency_p50_ms=900.0), level(1, None, e2e_latency_p50_ms=700.0))
    ]
    got = headline(levels)
    # Then TTFT stays NULL, e2e latency is the lowest level's, and no peak is invented
    assert got["ttft_p50_ms"] is None and got["e2e_latency_p50_ms"] == 700.0
    assert got["peak_concurrency"] is None and got["peak_output_token_throughput_tps"] is None
    assert got["error_rate"] is None


def test_headline_ties_go_to_the_lower_concurrency_and_missing_levels_sort_last():
    levels = [
        LevelRecord(record_id="r", config_id="c", run_timestamp=NOW, **lvl)
        for lvl in ({"output_token_throughput_tps": 500.0}, level(4, 500.0, ttft_p50_ms=20.0), level(2, 500.0))
    ]
    got = headline(levels)
    assert (got["latency_concurrency"], got["peak_concurrency"]) == (2, 2)
    assert headline([]) == {}


def test_level_dicts_with_unknown_or_missing_keys_are_tolerated():
    # Given what a batch benchmark might emit: extra keys, no TTFT, no requests
    row, levels = completed_records(
        ctx(), NOW, [{"concurrency": 1, "duration_s": 12.5, "transport": "batch", "output_token_throughput_tps": 80.0}]
    )
    # Then the known values are kept, the unknown dropped, and the rest NULL
    assert levels[0].output_token_throughput_tps == 80.0 and levels[0].ttft_p50_ms is None
    assert row.peak_output_token_throughput_tps == 80.0 and row.ttft_p50_ms is None


def test_a_prove_without_levels_is_one_row_with_no_metrics():
    row, levels = completed_records(ctx(), NOW, [])
    assert levels == [] and row.levels_benchmarked is None and row.peak_concurrency is None


def test_retryable_failure_is_failed_and_non_retryable_is_unfeasible():
    failed = failure_record(
        ctx(), NOW, category="capacity", retryable=True, reason="InsufficientInstanceCapacity", stage="deploy"
    )
    unfeasible = failure_record(
        ctx(), NOW, category="oom", retryable=False, reason="CUDA out of memory", stage="deploy"
    )
    assert (failed.status, failed.failure_retryable) == ("failed", True)
    assert (unfeasible.status, unfeasible.failure_reason, unfeasible.failure_category) == (
        "unfeasible",
        "CUDA out of memory",
        "oom",
    )


def test_failure_needs_a_reason():
    with pytest.raises(ValueError, match="failure_reason"):
        failure_record(ctx(), NOW, category="oom", retryable=False, reason="  ", stage="deploy")


def test_manual_row():
    row = manual_unfeasible_record(VECTOR, "licence forbids", NOW)
    assert (row.run_type, row.status, row.failure_retryable) == ("manual", "unfeasible", False)


def test_an_unsure_verdict_of_the_config_is_failed_not_unfeasible() -> None:
    # Given a non-retryable config failure, once sure and once a best guess
    from pathprover.core.records import status_of_failure

    # Then only the sure one is unfeasible; account and harness never are
    assert status_of_failure(False, "config") == "unfeasible"
    assert status_of_failure(False, "config", sure=False) == "failed"
    assert status_of_failure(False, "account") == "failed"
    assert status_of_failure(False, "harness") == "failed"
