"""One config's history (`pathprover show`) and the reads behind the metrics: pure functions over rows."""

from __future__ import annotations

import pytest

from pathprover.core.errors import InputError
from pathprover.results.metrics import attempts_sql, headline_of, latest_completed, levels_sql, metrics_by_attempt
from pathprover.results.show import UnknownConfig, check_config_id, config_history, resolve

CID = "0123456789abcdef"


def row(status: str, record: str, at: str, attempt: int = 1, **extra: object) -> dict[str, object]:
    return {
        "record_id": record,
        "config_id": CID,
        "run_type": "path_prove",
        "status": status,
        "run_timestamp": at,
        "deployment_config": "vllm",
        "model_family": "qwen3",
        "instance_family": "g5",
        "quantization": "fp16",
        "tp_degree": "1",
        "deployment_target": "realtime-inference",
        "model_name": "Qwen/Qwen3-8B",
        "instance_type": "ml.g5.xlarge",
        "attempt": attempt,
        "actual_cost_usd": 0.5,
        **extra,
    }


def test_a_configs_history_lists_every_attempt_with_its_levels_and_normalised_dimensions():
    # Given a failed attempt then a completed one with two levels (stored in reverse order)
    attempts = [
        row("failed", "r1", "2026-11-01T00:00:00+00:00", failure_category="capacity", failure_scope="config"),
        row("completed", "r2", "2026-11-02T00:00:00+00:00", attempt=2, ttft_p99_ms=150.0, cost_per_1m_tokens=1.1),
    ]
    levels = {"r2": [{"record_id": "r2", "concurrency": 8, "mode": "stream"}, {"record_id": "r2", "concurrency": 1}]}
    # When building its history
    report = config_history(CID, attempts, levels)
    # Then the dimensions are normalised, attempts keep their order, and only the completed one has levels
    assert report["dimensions"]["deployment_config"] == "transformers-vllm"
    assert (report["dimensions"]["quantization"], report["dimensions"]["tp_degree"]) == ("none", 1)
    assert [a["status"] for a in report["attempts"]] == ["failed", "completed"]
    assert report["attempts"][0]["failure_category"] == "capacity" and report["attempts"][0]["metrics"] is None
    assert [lv["concurrency"] for lv in report["attempts"][1]["levels"]] == [1, 8]
    assert report["attempts"][1]["metrics"]["ttft_p99_ms"] == 150.0
    assert report["counts"] == {"completed": 1, "failed": 1, "unfeasible": 0}
    assert (report["total_cost_usd"], report["latest_completed"]) == (1.0, "r2")


@pytest.mark.parametrize("text", ["zz", "abc", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", ""])
def test_what_cannot_be_a_config_id_is_refused(text):
    with pytest.raises(InputError):
        check_config_id(text)


def test_a_prefix_resolves_to_one_config_or_says_why_not():
    assert check_config_id(" 0123ABCD ") == "0123abcd"
    assert resolve("0123", [{"config_id": CID}, {"config_id": CID}]) == CID
    with pytest.raises(UnknownConfig, match="unknown config id"):
        resolve("ffff", [])
    with pytest.raises(UnknownConfig, match="matches 2 configs"):
        resolve("0123", [{"config_id": CID}, {"config_id": "0123ffffffffffff"}])


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
