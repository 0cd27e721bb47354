"""Gaps, feasibility, concretisation and the plan, against the shipped catalog."""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathprover.brain.feasibility import FeasibilityRules, Placement, Verdict
from pathprover.brain.gaps import SpaceError, search_gaps
from pathprover.brain.plan import concretise, make_plan
from pathprover.brain.reference import naive_ranking
from pathprover.catalog import default_catalog
from pathprover.core.dimensions import DIMENSIONS
from tests.support.history_rows import history_of, history_row

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
CATALOG = default_catalog()


def row(
    dc,
    family,
    inst,
    q="none",
    tp=1,
    target="realtime-inference",
    status="completed",
    hours=48.0,
    category=None,
    reason=None,
    count=1,
):
    return history_row(
        dc,
        family,
        inst,
        q,
        tp,
        target,
        now=NOW,
        status=status,
        hours=hours,
        category=category,
        reason=reason,
        count=count,
    )


BASE = [
    row("transformers-vllm", "qwen3", "g5"),
    row("transformers-sglang", "qwen3", "g5"),
    row("transformers-vllm", "qwen3", "g5", target="async-inference"),
    row("transformers-vllm", "llama3", "g6e", tp=4),
    row("tensorrt-llm", "llama3", "g6e", q="fp8"),
]


def ranked(history, **kw):
    search = search_gaps(history, CATALOG, NOW, **kw)
    return [(g.key, g.neighbors, g.reason) for g in search.top()]


def test_fast_search_matches_the_straightforward_ranking():
    # Given a small table / When ranked by the fast search and by the cells x rows reference
    history = history_of(BASE)
    fast = ranked(history)
    slow = [(k, n, v.reason if v else None) for k, n, v in naive_ranking(history, CATALOG, NOW)]
    # Then the two agree cell by cell, order included
    assert fast == slow


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["transformers-vllm", "transformers-sglang", "tensorrt-llm", "http-flask"]),
            st.sampled_from(["qwen3", "llama3", "mistral", "falcon"]),
            st.sampled_from(["g5", "g6e", "p4d", "x9"]),
            st.sampled_from(["none", "fp8", "awq"]),
            st.sampled_from([1, 2, 4, 8]),
            st.sampled_from(["realtime-inference", "batch-transform"]),
            st.sampled_from(["completed", "completed", "failed", "unfeasible"]),
            st.sampled_from(["capacity", "timeout", "unknown", "oom"]),
            st.floats(min_value=0.1, max_value=100),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_property_fast_search_equals_reference(rows):
    history = history_of(
        [row(*r[:6], status=r[6], category=r[7] if r[6] != "completed" else None, hours=r[8], reason="x") for r in rows]
    )
    if not history.completed():
        # A first run: nothing to extend, so the space is the catalog's and no gap has a proven neighbour.
        search = search_gaps(history, CATALOG, NOW)
        assert search.domains == {
            d: sorted(CATALOG.values(d), key=int if d == "tp_degree" else str) for d in DIMENSIONS
        }
        assert search.completed_cells == 0 and not search.neighbors.any()
        return
    fast = ranked(history)
    slow = [(k, n, v.reason if v else None) for k, n, v in naive_ranking(history, CATALOG, NOW)]
    assert fast == slow


def test_neighbours_rank_first():
    # Given qwen3 proofs on g5 with vllm (realtime, async) and sglang (realtime)
    history = history_of(BASE)
    gaps = search_gaps(history, CATALOG, NOW).top()
    # Then the best gaps have two proven neighbours, ties broken by the sorted dimension values
    best = [g for g in gaps if g.neighbors == gaps[0].neighbors]
    assert gaps[0].neighbors == 2 and all(g.feasible for g in best)
    # sglang + async (neighbours vllm+async, sglang+realtime) and trt-llm + realtime (vllm, sglang)
    assert [g.key for g in best] == [
        ("tensorrt-llm", "qwen3", "g5", "none", 1, "realtime-inference"),
        ("transformers-sglang", "qwen3", "g5", "none", 1, "async-inference"),
    ]


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


def test_concretise_picks_smallest_model_and_cheapest_instance():
    rules = FeasibilityRules(CATALOG)
    run = concretise(CATALOG, rules, ("transformers-vllm", "llama3", "g6e", "none", 4, "realtime-inference"))
    family_models = CATALOG.models_in_family("llama3")
    assert run.model_name == family_models[0].name
    instances = [i for i in CATALOG.instances_in_family("g6e") if i.accelerator_count >= 4]
    assert run.instance_type == instances[0].name
    assert run.estimated_hours and run.estimated_hours > 0
    price = CATALOG.instance(run.instance_type).price_per_hour_usd
    assert run.estimated_cost_usd == pytest.approx(run.estimated_hours * price, abs=0.01)


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


def test_timeouts_lengthen_the_next_attempt():
    gap = ("transformers-sglang", "qwen3", "g5", "none", 1, "async-inference")
    history = history_of([*BASE, row(*gap, status="failed", category="timeout", reason="timed out")])
    plan = make_plan(search_gaps(history, CATALOG, NOW), history, CATALOG)
    chosen = {r.vector.as_tuple(): r for r in plan.selected}
    assert chosen[gap].timeout_multiplier == 2.0
    assert {r.timeout_multiplier for k, r in chosen.items() if k != gap} == {1.0}


def test_unknown_values_stay_visible_as_gaps():
    history = history_of([*BASE, row("transformers-vllm", "falcon", "g5")])
    search = search_gaps(history, CATALOG, NOW)
    reasons = {search.gap(i).reason for i in range(search.total)}
    assert any(r and r.startswith("not in catalog: model_family 'falcon'") for r in reasons)


def test_catalog_values_widen_the_space():
    history = history_of(BASE)
    narrow = search_gaps(history, CATALOG, NOW)
    wide = search_gaps(history, CATALOG, NOW, include_catalog=True)
    assert wide.space_size > narrow.space_size
    assert set(wide.domains["instance_family"]) >= {"g5", "g6", "g6e", "p4d", "p5", "inf2"}


def test_filters_narrow_the_space():
    search = search_gaps(history_of(BASE), CATALOG, NOW, filters={"model_family": ["llama3"]})
    assert search.domains["model_family"] == ["llama3"]
    with pytest.raises(SpaceError, match="no model_family value matches"):
        search_gaps(history_of(BASE), CATALOG, NOW, filters={"model_family": ["gemma"]})


@settings(max_examples=40, deadline=None)
@given(max_proves=st.integers(min_value=0, max_value=12), max_cost=st.floats(min_value=0, max_value=400))
def test_plan_never_exceeds_either_limit_and_explains_every_exclusion(max_proves, max_cost):
    history = history_of(BASE)
    search = search_gaps(history, CATALOG, NOW, include_catalog=False)
    plan = make_plan(search, history, CATALOG, max_proves=max_proves, max_cost_usd=max_cost)
    assert len(plan.selected) <= max_proves
    assert plan.estimated_total_usd <= max_cost + 1e-6
    assert len(plan.selected) + plan.excluded_total == search.total
    assert all(e.reason for e in plan.excluded)
    if plan.excluded_total <= 1000:
        assert len(plan.excluded) == plan.excluded_total
    chosen = {r.config_id for r in plan.selected}
    assert not chosen & {e.gap.config_id for e in plan.excluded}


def test_plan_skips_what_does_not_fit_the_budget_but_keeps_going():
    history = history_of(BASE)
    search = search_gaps(history, CATALOG, NOW, include_catalog=True)
    plan = make_plan(search, history, CATALOG, max_proves=10, max_cost_usd=20)
    assert plan.selected, "cheap g5 proves fit in $20"
    assert "over_budget" in plan.excluded_counts
    assert plan.estimated_total_usd <= 20
    for run in plan.selected:
        assert dict(zip(DIMENSIONS, run.vector.as_tuple(), strict=True))


def _first_run_plan(**kw):
    empty = history_of([])
    search = search_gaps(empty, CATALOG, NOW)
    return make_plan(search, empty, CATALOG, **kw)


def test_a_first_run_plans_from_the_catalog_one_pair_at_a_time_cheapest_first():
    # Given an empty table (a fresh stack) / When the brain plans the guide's first run
    plan = _first_run_plan(max_proves=5, max_cost_usd=25)
    # Then it proves something, within the limits, each a different model family on the cheapest instances
    assert len(plan.selected) == 5
    assert plan.reserved_total_usd <= 25
    pairs = [(r.vector.model_family, r.vector.instance_family) for r in plan.selected]
    assert len(set(pairs)) == 5
    cheapest = min(i.price_per_hour_usd for i in CATALOG.instances.values())
    assert min(CATALOG.instance(r.instance_type).price_per_hour_usd for r in plan.selected) == cheapest
    # And with a large budget, every (model family, instance family) pair the catalog allows comes first
    big = _first_run_plan(max_proves=50, max_cost_usd=100_000)
    first_pairs = [(r.vector.model_family, r.vector.instance_family) for r in big.selected]
    assert len(set(first_pairs)) == len(first_pairs)


def test_a_first_run_plan_is_deterministic_and_only_feasible():
    a = _first_run_plan(max_proves=10, max_cost_usd=50)
    b = _first_run_plan(max_proves=10, max_cost_usd=50)
    assert [r.config_id for r in a.selected] == [r.config_id for r in b.selected]
    rules = FeasibilityRules(CATALOG)
    assert all(isinstance(rules.check(tuple(r.vector.as_dict()[d] for d in DIMENSIONS)), Placement) for r in a.selected)


def test_without_the_token_secret_gated_models_are_left_out_with_the_reason():
    # Given the Hugging Face token secret is missing / When planning a first run
    plan = _first_run_plan(
        max_proves=20, max_cost_usd=200, gated_allowed=False, gated_reason="gated model: no secret X"
    )
    # Then no gated model is selected, and the exclusions say why
    assert plan.selected and not any(CATALOG.model(r.model_name).gated for r in plan.selected)
    assert plan.excluded_counts.get("needs_secret", 0) > 0
    assert any(e.reason == "gated model: no secret X" for e in plan.excluded if e.kind == "needs_secret")


def test_each_checkpoint_is_staged_on_a_build_whose_disk_holds_it_or_said_to_be_too_large():
    from pathprover.stages.staging import stage_compute, too_large_to_stage

    # Small checkpoints on the project's own build, 70B ones on the 824 GB build, 405B (810 GB) nowhere
    assert stage_compute(CATALOG, "Qwen/Qwen3-0.6B") == "BUILD_GENERAL1_LARGE"
    assert stage_compute(CATALOG, "meta-llama/Llama-3.1-70B-Instruct") == "BUILD_GENERAL1_2XLARGE"
    assert stage_compute(CATALOG, "meta-llama/Llama-3.1-405B-Instruct") is None
    reason = too_large_to_stage(CATALOG, "meta-llama/Llama-3.1-405B-Instruct") or ""
    assert "810 GB" in reason and "gated" in reason
    assert too_large_to_stage(CATALOG, "meta-llama/Llama-3.1-70B-Instruct") is None


def test_a_plan_that_fits_nothing_names_the_reservation_that_would_fit():
    # Given a budget below every prove's reservation
    history = history_of(BASE)
    search = search_gaps(history, CATALOG, NOW, include_catalog=False)
    broke = make_plan(search, history, CATALOG, max_proves=10, max_cost_usd=0.01)

    # Then nothing is selected, and the reason names the cheapest reservation against the budget
    assert not broke.selected and broke.cheapest_over_budget_usd is not None
    cheapest = broke.cheapest_over_budget_usd
    assert broke.nothing_planned_reason == (
        f"nothing fits: cheapest reservation ${cheapest:.2f} > $0.01 (MAX_COST_PER_RUN; ${cheapest:.2f} would plan one)"
    )
    assert broke.as_dict()["nothing_planned_reason"] == broke.nothing_planned_reason
    # And that budget does plan one (the sentence is true)
    enough = make_plan(search, history, CATALOG, max_proves=10, max_cost_usd=cheapest)
    assert len(enough.selected) == 1 and enough.nothing_planned_reason is None
