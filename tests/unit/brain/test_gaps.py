"""The gap search: ranking, the space it searches, filters; checked against the straightforward reference."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathprover.brain.feasibility import FeasibilityRules, Placement
from pathprover.brain.gaps import SpaceError, search_gaps
from pathprover.brain.reference import naive_ranking
from pathprover.core.dimensions import DIMENSIONS
from tests.support.history_rows import history_of, history_row
from tests.unit.brain.conftest import B200_GAP, BASE, CATALOG, NOW, PLAN_ARN, row


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


def _b200_gaps(rules: FeasibilityRules) -> list:
    history = history_of([history_row("transformers-vllm", "gemma", "g6e", now=NOW)])
    search = search_gaps(history, CATALOG, NOW, include_catalog=True, rules=rules)
    return [search.gap(i) for i in range(search.total) if search.gap(i).key == B200_GAP]


def test_gap_search_leaves_a_capacity_only_family_out_unless_the_run_has_a_plan_for_it():
    # Given a gap on the B200 family: without a plan it is left out, with the reason and what to give
    [without] = _b200_gaps(FeasibilityRules(CATALOG))
    assert without.verdict is not None and without.verdict.kind == "needs_reservation"
    assert "CAPACITY_RESERVATIONS" in without.verdict.reason
    # When the run has a training plan for the type, the gap is feasible and its config carries the plan
    rules = FeasibilityRules(CATALOG, {"ml.p6-b200.48xlarge": PLAN_ARN})
    [with_plan] = _b200_gaps(rules)
    assert with_plan.verdict is None
    placement = rules.check(B200_GAP)
    assert isinstance(placement, Placement) and placement.instance.name == "ml.p6-b200.48xlarge"
