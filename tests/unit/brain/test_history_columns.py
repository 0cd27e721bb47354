"""The history folded into arrays gives what a per-row fold into ConfigHistory objects gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathprover.brain.history import ConfigHistory, History, build_history, history_from_columns
from pathprover.core.dimensions import DIMENSIONS, normalise_value

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _reference(completed: list[list[Any]], outcomes: list[list[Any]]) -> dict[tuple[Any, ...], ConfigHistory]:
    """The straightforward fold: one ConfigHistory per normalised key, completed rows merged."""
    configs: dict[tuple[Any, ...], ConfigHistory] = {}
    for row in completed:
        key = tuple(normalise_value(d, v) for d, v in zip(DIMENSIONS, row[:6], strict=True))
        entry = configs.setdefault(key, ConfigHistory(key=key))
        entry.completed_rows += row[6]
        at = row[7].replace(tzinfo=UTC)
        if entry.completed_at is None or at > entry.completed_at:
            entry.completed_at = at
    merged = build_history([], outcomes).configs  # outcomes fold as before (rows, not arrays)
    for key, entry in merged.items():
        base = configs.get(key)
        if base is not None:
            entry.completed_rows, entry.completed_at = base.completed_rows, base.completed_at
        configs[key] = entry
    return configs


ROW = st.tuples(
    st.sampled_from(["transformers-vllm", "tensorrt-llm"]),
    st.sampled_from(["qwen3", "llama3"]),
    st.sampled_from(["g5", "p4d"]),
    st.sampled_from(["none", "fp16", "fp8"]),  # fp16 normalises to none: those configs merge
    st.sampled_from([1, 2, "2", 4]),  # "2" and 2 are one value
    st.sampled_from(["realtime-inference", "batch-transform"]),
    st.integers(min_value=1, max_value=3),
    st.integers(min_value=0, max_value=500),
)


def _outcome(r: tuple[Any, ...]) -> list[Any]:
    at = NOW - timedelta(hours=r[7])
    return [*r[:6], 0, None, None, r[6], 0, r[6], at, "unknown", "boom", None, None]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, max_size=15), st.lists(ROW, max_size=6))
def test_arrays_fold_like_the_per_row_fold(completed_rows, outcome_rows):
    completed = [[*r[:6], r[6], (NOW - timedelta(hours=r[7])).replace(tzinfo=None)] for r in completed_rows]
    outcomes = [_outcome(r) for r in outcome_rows]
    expected = _reference(completed, outcomes)

    from_rows = build_history(completed, outcomes)
    # As DuckDB's fetchnumpy gives them: object arrays for text, datetime64 for the timestamps.
    columns = [np.array([r[i] for r in completed], dtype=object) for i in range(6)]
    columns += [np.array([r[6] for r in completed], dtype=np.int64)]
    columns += [np.array([r[7] for r in completed], dtype="datetime64[us]")]
    from_arrays = history_from_columns(columns, outcomes)

    for history in (from_rows, from_arrays):
        assert history.configs == expected
        assert history.total_rows == sum(r[6] for r in completed) + sum(r[9] for r in outcomes)
        assert sorted(map(repr, (e.key for e in history.completed()))) == sorted(
            repr(k) for k, e in expected.items() if e.completed
        )
        assert history.completed_count() == sum(1 for e in expected.values() if e.completed)
    fresh = history_from_columns(columns, outcomes)  # get() before configs is ever built
    for key, entry in expected.items():
        assert fresh.get(key) == entry
    assert fresh.get(("x", "y", "z", "none", 1, "realtime-inference")) is None


def test_an_empty_history_is_the_first_run():
    history = History(configs={}, total_rows=0)
    assert history.configs == {} and history.completed() == [] and history.get(("a",)) is None
    assert len(build_history([], []).columns) == 0
