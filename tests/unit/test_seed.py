"""pathprover/seed.py: the starter table's synthetic CI rows are deterministic, honest about being simulated,
and consistent with their levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pathprover.seed import seed_records

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_the_seed_is_the_same_rows_every_time() -> None:
    # Given the same clock and prices, When the seed is made twice, Then it is the same table
    first, second = seed_records(NOW, {}, {}), seed_records(NOW, {}, {})
    assert [r.model_dump() for r in first[0]] == [r.model_dump() for r in second[0]]
    assert [lv.model_dump() for lv in first[1]] == [lv.model_dump() for lv in second[1]]


def test_seed_rows_are_simulated_ci_rows_in_the_past_with_unique_ids() -> None:
    rows, levels = seed_records(NOW, {}, {})
    assert rows and levels
    assert all(r.simulated and r.run_type == "ci" for r in rows)
    assert all(r.run_timestamp <= NOW for r in rows)
    assert len({r.record_id for r in rows}) == len(rows)
    assert {r.status for r in rows} == {"completed", "unfeasible"}


def test_completed_rows_have_levels_and_unfeasible_ones_a_reason_and_none() -> None:
    rows, levels = seed_records(NOW, {}, {})
    by_record: dict[str, int] = {}
    for level in levels:
        by_record[level.record_id] = by_record.get(level.record_id, 0) + 1
    for row in rows:
        if row.status == "completed":
            assert by_record.get(row.record_id, 0) > 0 and row.ttft_p50_ms is not None
        else:
            assert row.record_id not in by_record
            assert row.failure_reason and row.failure_retryable is False


def test_prices_reach_the_cost_per_token_and_the_clock_moves_the_dates() -> None:
    cheap, _ = seed_records(NOW, {}, {})
    dear_prices = {r.instance_type: 100.0 for r in cheap}
    dear, _ = seed_records(NOW + timedelta(days=1), dear_prices, {})
    pairs = [(a, b) for a, b in zip(cheap, dear, strict=True) if a.status == "completed"]
    assert all((b.cost_per_1m_tokens or 0) > (a.cost_per_1m_tokens or 0) for a, b in pairs)
    assert all(b.run_timestamp - a.run_timestamp == timedelta(days=1) for a, b in zip(cheap, dear, strict=True))
