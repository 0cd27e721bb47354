"""The plan: concretisation, the budget, first runs, and why each gap was left out."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathprover.brain.feasibility import FeasibilityRules, Placement
from pathprover.brain.gaps import search_gaps
from pathprover.brain.plan import cheapest_within_ties, concretise, estimate, make_plan, place_target
from pathprover.brain.sizing import estimate_fit
from pathprover.core.dimensions import DIMENSIONS
from pathprover.core.targets import ValidationTarget, parse_targets, to_run_config
from tests.support.history_rows import history_of, history_row
from tests.unit.brain.conftest import BASE, CATALOG, NOW, PLAN_ARN, row


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


def test_timeouts_lengthen_the_next_attempt():
    gap = ("transformers-sglang", "qwen3", "g5", "none", 1, "async-inference")
    history = history_of([*BASE, row(*gap, status="failed", category="timeout", reason="timed out")])
    plan = make_plan(search_gaps(history, CATALOG, NOW), history, CATALOG)
    chosen = {r.vector.as_tuple(): r for r in plan.selected}
    assert chosen[gap].timeout_multiplier == 2.0
    assert {r.timeout_multiplier for k, r in chosen.items() if k != gap} == {1.0}


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
    plan = make_plan(search, history, CATALOG, max_proves=10, max_cost_usd=6)
    assert plan.selected, "cheap g5 proves fit in $6"
    assert "over_budget" in plan.excluded_counts
    assert plan.estimated_total_usd <= 6
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


def test_a_planned_b200_prove_runs_on_the_runs_plan():
    rules = FeasibilityRules(CATALOG, {"ml.p6-b200.48xlarge": PLAN_ARN})
    history = history_of([history_row("transformers-vllm", "gemma", "g6e", now=NOW)])
    search = search_gaps(
        history, CATALOG, NOW, include_catalog=True, rules=rules, filters={"instance_family": ["p6-b200"]}
    )
    plan = make_plan(search, history, CATALOG, max_cost_usd=10_000, rules=rules, max_proves=50)
    b200 = [r for r in plan.selected if r.instance_type == "ml.p6-b200.48xlarge"]
    assert b200 and {r.infra_params.capacity_reservation_arn for r in b200} == {PLAN_ARN}
    assert "batch-transform" not in {r.vector.deployment_target for r in b200}


def test_a_target_without_instance_type_gets_the_cheapest_instance_that_fits():
    # Given the guide's pre-staging target (no instance_type)
    [target] = parse_targets(
        {
            "model_name": "google/gemma-4-31B-it",
            "stages": ["stage", "generate", "build", "deploy", "test", "benchmark", "clean"],
        }
    )
    rules = FeasibilityRules(CATALOG)
    # When the brain places it
    placed, reason = place_target(target, rules)
    run = to_run_config(placed, CATALOG)
    # Then it is the cheapest instance where it fits at the instance's full tp, and the plan says why
    model = CATALOG.model(target.model_name)
    instance = CATALOG.instance(run.instance_type)
    assert estimate_fit(CATALOG, model, "none", instance, run.vector.tp_degree).fits
    cheaper = [i for i in CATALOG.instances.values() if i.price_per_hour_usd < instance.price_per_hour_usd]
    for other in cheaper:
        tp = other.max_tp_degree
        assert (
            other.capacity_only
            or not CATALOG.deployment_config("vllm").supports("none", other)
            or not model.supports_tp_degree(tp)
            or not estimate_fit(CATALOG, model, "none", other, tp).fits
        ), other.name
    assert reason is not None and run.instance_type in reason and "google/gemma-4-31B-it" in reason


def test_a_plan_without_an_instance_type_is_refused():
    target = ValidationTarget(
        model_name="google/gemma-4-31B-it",
        infra_params={"capacity_reservation_arn": "arn:aws:sagemaker:us-east-2:ACCOUNT:training-plan/tp-XXX"},
    )
    with pytest.raises(ValueError, match="give instance_type with it"):
        place_target(target, FeasibilityRules(CATALOG))


def test_the_tuned_estimate_counts_training_and_the_adapter_endpoint():
    placement = Placement(model=CATALOG.model("Qwen/Qwen3-4B"), instance=CATALOG.instance("ml.g6.xlarge"))
    timing = CATALOG.search_space.timing
    plain = estimate(CATALOG, placement, "realtime-inference")
    tuned = estimate(CATALOG, placement, "realtime-inference", tune=True, adapter=True)
    extra = (timing.minutes("tune", 4.02) + timing.minutes("deploy", 4.02) + timing.minutes("test", 4.02)) / 60
    assert tuned.hours == pytest.approx(plain.hours + extra, abs=1e-3)


def test_ties_on_proven_neighbours_go_to_the_cheapest_prove_first() -> None:
    # Given the gaps of a proven table, ranked by proven neighbours as the guide orders them
    history = history_of(BASE)
    search = search_gaps(history, CATALOG, NOW, include_catalog=True)
    rules = FeasibilityRules(CATALOG)
    # When the brain orders them for a plan
    order = cheapest_within_ties(search, CATALOG, rules)
    # Then it is the same set of ranks, still by proven neighbours (most first) among the feasible gaps
    assert sorted(order) == list(range(search.total))
    head = [search.gap(rank) for rank in order[:200]]
    feasible = [g for g in head if g.verdict is None and isinstance(rules.check(g.key), Placement)]
    assert [g.neighbors for g in feasible] == sorted((g.neighbors for g in feasible), reverse=True)

    # And among gaps with as many neighbours, the cheaper prove comes first
    def cost(gap):  # type: ignore[no-untyped-def]
        placement = rules.check(gap.key)
        target = dict(zip(DIMENSIONS, gap.key, strict=True))["deployment_target"]
        return estimate(CATALOG, placement, str(target)).cost_usd

    for a, b in itertools.pairwise(feasible):
        if a.neighbors == b.neighbors:
            assert cost(a) <= cost(b)
    # And the plan's proves are the cheaper ones: ten of them fit where the cell order needed more
    plan = make_plan(search, history, CATALOG, max_proves=10, max_cost_usd=20)
    assert len(plan.selected) == 10 and plan.estimated_total_usd <= 10
