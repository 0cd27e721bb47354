"""brain/history.py: the table's rows folded into one history per config, and the prior attempts of a prove."""

from typing import Any

import pytest

from pathprover.brain.history import build_history, prior_attempts_sql, read_prior_attempts
from pathprover.protocols import QueryResult
from tests.support.history_rows import history_of
from tests.unit.brain.conftest import row

QWEN_G5 = ("transformers-vllm", "qwen3", "g5", "none", 1, "realtime-inference")
LLAMA_G5 = ("transformers-vllm", "llama3", "g5", "none", 1, "realtime-inference")


def test_a_configs_proofs_failures_and_unfeasible_verdict_are_folded_per_config():
    # Given a proven config that also timed out twice, and another recorded unfeasible
    history = history_of(
        [
            row(*QWEN_G5, hours=10),
            row(*QWEN_G5, status="failed", category="timeout", reason="timed out", count=2, hours=5),
            row(*LLAMA_G5, status="unfeasible", category="oom", reason="CUDA out of memory"),
        ]
    )
    # Then each config has one entry, with its outcomes counted and dated
    qwen, llama = history.configs[QWEN_G5], history.configs[LLAMA_G5]
    assert qwen.completed and qwen.failures == {"timeout": 2} and qwen.attempts == 3
    assert (qwen.last_failure_category, qwen.last_failure_reason) == ("timeout", "timed out")
    assert qwen.completed_at is not None and qwen.last_failure_at is not None
    assert qwen.last_failure_at > qwen.completed_at
    assert not llama.completed and llama.unfeasible_reason == "CUDA out of memory" and llama.attempts == 0
    # And only the proven config counts as completed
    assert [c.key for c in history.completed()] == [QWEN_G5]


def test_dimension_values_are_normalised_and_timestamps_read_as_utc():
    # Given a completed row as Athena returns it: tp_degree as text, the timestamp an ISO string with Z
    history = build_history([[*QWEN_G5[:4], "2", QWEN_G5[5], 1, "2026-11-20T00:00:00Z"]])
    # Then the key's tp_degree is a number, and the time is aware UTC
    [(key, entry)] = history.configs.items()
    assert key == (*QWEN_G5[:4], 2, QWEN_G5[5])
    assert entry.completed_at is not None and entry.completed_at.isoformat() == "2026-11-20T00:00:00+00:00"


@pytest.mark.parametrize(
    ("count", "stamp"),
    [(1, "not a time"), ("many", "2026-11-20T00:00:00Z"), (1, 3.5)],
    ids=["unreadable-timestamp", "non-numeric-count", "number-as-timestamp"],
)
def test_a_malformed_completed_row_is_a_history_error_not_a_crash(count: Any, stamp: Any):
    # Given a completed row from a foreign table with an unreadable timestamp or count
    from pathprover.brain.history import HistoryError

    # When it is folded, Then the error names the problem as a malformed table (one line, exit 2 in the CLI)
    with pytest.raises(HistoryError):
        build_history([[*QWEN_G5, count, stamp]])


def test_an_empty_table_is_an_empty_history():
    history = build_history([], [])
    assert history.configs == {} and history.completed() == [] and history.total_rows == 0


def test_prior_attempts_are_read_for_config_ids_only():
    sql = prior_attempts_sql(["0123456789abcdef"])
    assert "config_id IN ('0123456789abcdef')" in sql and "MAX(attempt)" in sql
    with pytest.raises(ValueError):
        prior_attempts_sql(["x' OR 1=1 --"])


class _Store:
    """A ResultsStore that answers every query with the given rows and remembers the SQL."""

    def __init__(self, rows: list[list[Any]]) -> None:
        self.rows = rows
        self.queries: list[str] = []

    def query(self, sql: str) -> QueryResult:
        self.queries.append(sql)
        return QueryResult(columns=["config_id", "last_attempt", "executions", "timeouts"], rows=self.rows)


def test_prior_attempts_count_the_larger_of_attempt_and_executions():
    # Given rows written while every attempt was recorded as 1, and a config with a higher attempt number
    store = _Store([["aaaaaaaaaaaaaaaa", 1, 3, 2], ["bbbbbbbbbbbbbbbb", 4, 2, None]])
    # When the prior attempts are read
    prior = read_prior_attempts(store, ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"])  # type: ignore[arg-type]
    # Then each is the larger of the two, and a NULL timeout count is none
    assert (prior["aaaaaaaaaaaaaaaa"].attempts, prior["aaaaaaaaaaaaaaaa"].timeouts) == (3, 2)
    assert (prior["bbbbbbbbbbbbbbbb"].attempts, prior["bbbbbbbbbbbbbbbb"].timeouts) == (4, 0)


def test_no_config_ids_need_no_query():
    store = _Store([])
    assert read_prior_attempts(store, []) == {}  # type: ignore[arg-type]
    assert store.queries == []
