"""Feasibility: the catalog's rules and the recorded outcomes that hold a config back."""

import pytest

from pathprover.brain.feasibility import (
    MAX_TIMEOUT_MULTIPLIER,
    TIMEOUT_LIMIT,
    FeasibilityRules,
    Placement,
    Verdict,
    cheapest_instance,
    history_verdict,
    multiplier_after,
    timeout_limit_reason,
)
from pathprover.brain.gaps import search_gaps
from pathprover.brain.history import ConfigHistory
from tests.support.history_rows import history_of
from tests.unit.brain.conftest import B200_GAP, BASE, CATALOG, NOW, row


def test_catalog_rules_give_reasons():
    rules = FeasibilityRules(CATALOG)

    def reason(key):
        result = rules.check(key)
        return result.reason if isinstance(result, Verdict) else None

    assert "exceeds" in reason(("transformers-vllm", "qwen3", "g4dn", "none", 8, "realtime-inference"))
    assert "compute capability" in reason(("tensorrt-llm", "llama3", "g5", "fp8", 1, "realtime-inference"))
    assert reason(("transformers-vllm", "llama3", "g5", "none", 1, "realtime-inference")) is None  # 8B fits
    assert "not in catalog" in reason(("transformers-vllm", "falcon", "g5", "none", 1, "realtime-inference"))


def test_a_model_family_too_big_for_the_gpus_does_not_fit():
    # Given a catalog whose only llama3 models are the 70B ones
    big_only = CATALOG.model_copy(
        update={"models": {k: m for k, m in CATALOG.models.items() if m.family != "llama3" or m.total_params_b > 60}}
    )
    rules = FeasibilityRules(big_only)
    # When placed on one A10G (g5, tp 1) / Then it does not fit, and the reason names model, instance and sizes
    result = rules.placement("llama3", "g5", "none", 1)
    assert isinstance(result, Verdict)
    assert "does not fit" in result.reason and "70B" in result.reason and "GiB" in result.reason
    # But on 8 A100s it fits
    assert isinstance(rules.placement("llama3", "p4d", "none", 8), Placement)


def test_recorded_unfeasible_and_cooldowns_are_excluded():
    gap = ("transformers-sglang", "qwen3", "g5", "none", 1, "async-inference")
    for extra, kind in [
        (row(*gap, status="unfeasible", category="oom", reason="CUDA out of memory"), "recorded_unfeasible"),
        (
            row(*gap, status="failed", category="capacity", hours=0.5, reason="InsufficientInstanceCapacity"),
            "cooldown",
        ),
        (row(*gap, status="failed", category="unknown", count=2, reason="???"), "recorded_unfeasible"),
    ]:
        history = history_of([*BASE, extra])
        search = search_gaps(history, CATALOG, NOW)
        found = [search.gap(i) for i in range(search.total) if search.gap(i).key == gap]
        assert found and found[0].verdict is not None and found[0].verdict.kind == kind, kind


def test_capacity_cooldown_ends_after_an_hour_and_unknown_is_retried_once():
    gap = ("transformers-sglang", "qwen3", "g5", "none", 1, "async-inference")
    for extra in [
        row(*gap, status="failed", category="capacity", hours=1.5, reason="InsufficientInstanceCapacity"),
        row(*gap, status="failed", category="unknown", count=1, reason="???"),
    ]:
        gaps = search_gaps(history_of([*BASE, extra]), CATALOG, NOW).top()
        found = next(g for g in gaps if g.key == gap)
        assert found.feasible and found.neighbors == 2


def test_a_target_that_nothing_can_serve_is_refused_naming_the_model():
    rules = FeasibilityRules(CATALOG)
    with pytest.raises(ValueError, match="deepseek-ai/DeepSeek-R1"):
        cheapest_instance(rules, CATALOG.model("deepseek-ai/DeepSeek-R1"), "vllm", "none", "realtime-inference", 1)


def test_an_instance_choice_respects_quotas_and_capacity_only_types():
    rules = FeasibilityRules(CATALOG)
    model = CATALOG.model("google/gemma-4-31B-it")
    free = cheapest_instance(rules, model, "vllm", "none", "realtime-inference")
    # Given the account may not run that type, the next cheapest is chosen
    blocked = cheapest_instance(
        rules, model, "vllm", "none", "realtime-inference", quota=lambda t, u: 0 if t == free.instance.name else None
    )
    assert blocked.instance.name != free.instance.name
    assert blocked.instance.price_per_hour_usd >= free.instance.price_per_hour_usd
    assert not any(
        cheapest_instance(rules, CATALOG.model(m), "vllm", "none", "realtime-inference").instance.capacity_only
        for m in ("google/gemma-4-31B-it", "Qwen/Qwen3-0.6B", "meta-llama/Llama-3.1-70B-Instruct")
    )


def test_the_multiplier_doubles_to_8x_and_the_fifth_timeout_is_the_last():
    assert [multiplier_after(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert TIMEOUT_LIMIT == 5
    # Retryable with a longer timeout until the limit, at the largest multiplier only
    for previous in range(TIMEOUT_LIMIT - 1):
        assert timeout_limit_reason(previous, multiplier_after(previous)) is None
    reason = timeout_limit_reason(TIMEOUT_LIMIT - 1, MAX_TIMEOUT_MULTIPLIER)
    assert reason is not None and reason.startswith("timed out 5 times, the last 2 at the largest timeout multiplier")
    assert timeout_limit_reason(TIMEOUT_LIMIT - 1, 4.0) is None  # not given its full time yet


def test_history_holds_back_a_config_with_too_many_timeouts_from_older_tables():
    entry = ConfigHistory(key=B200_GAP, failures={"timeout": TIMEOUT_LIMIT}, last_failure_reason="timed out")
    verdict = history_verdict(entry, NOW)
    assert verdict is not None and verdict.kind == "recorded_unfeasible"
    entry.failures["timeout"] = TIMEOUT_LIMIT - 1
    assert history_verdict(entry, NOW) is None
