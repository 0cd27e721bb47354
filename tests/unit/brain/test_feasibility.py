"""Feasibility: the catalog's rules and the recorded outcomes that hold a config back."""

from pathprover.brain.feasibility import FeasibilityRules, Placement, Verdict
from pathprover.brain.gaps import search_gaps
from tests.support.history_rows import history_of
from tests.unit.brain.conftest import BASE, CATALOG, NOW, row


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
