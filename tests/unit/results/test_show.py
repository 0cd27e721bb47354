"""results/show.py: one config's history (`pathprover show`): its attempts, and which ids resolve to it."""

from __future__ import annotations

import pytest

from pathprover.core.errors import InputError
from pathprover.results.show import UnknownConfig, check_config_id, config_history, resolve
from tests.unit.results.conftest import CID, row


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
