"""brain/reference.py: the cells x rows ranking the fast gap search is checked against (it must be right too)."""

from pathprover.brain.reference import naive_ranking
from tests.support.history_rows import history_of
from tests.unit.brain.conftest import CATALOG, NOW, row

VLLM = ("transformers-vllm", "qwen3", "g5", "none", 1, "realtime-inference")
SGLANG = ("transformers-sglang", "qwen3", "g5", "none", 1, "realtime-inference")


def test_proven_cells_are_left_out_and_neighbours_counted_by_one_changed_dimension():
    # Given two proven configs that differ in the deployment config only
    ranking = naive_ranking(history_of([row(*VLLM), row(*SGLANG)]), CATALOG, NOW)
    keys = [key for key, _, _ in ranking]
    # Then neither is a gap, and every other cell of the seen space is ranked once
    assert VLLM not in keys and SGLANG not in keys
    assert keys and len(keys) == len(set(keys))
    # And every gap's neighbours are the proven configs one dimension away
    for key, neighbours, _ in ranking:
        assert neighbours == sum(sum(a != b for a, b in zip(key, p, strict=True)) == 1 for p in (VLLM, SGLANG))


def test_feasible_gaps_come_first_and_more_neighbours_rank_higher():
    history = history_of([row(*VLLM), row(*SGLANG), row(*VLLM[:5], "async-inference")])
    ranking = naive_ranking(history, CATALOG, NOW)
    feasible = [verdict is None for _, _, verdict in ranking]
    assert feasible == sorted(feasible, reverse=True)
    first = [n for _, n, verdict in ranking if verdict is None]
    assert first == sorted(first, reverse=True) and first[0] == 2


def test_a_recorded_unfeasible_config_is_a_gap_with_its_verdict():
    gap = ("transformers-sglang", "qwen3", "g5", "none", 1, "async-inference")
    history = history_of(
        [
            row(*VLLM),
            row(*SGLANG),
            row(*VLLM[:5], "async-inference"),
            row(*gap, status="unfeasible", category="oom", reason="CUDA out of memory"),
        ]
    )
    [(_, neighbours, verdict)] = [entry for entry in naive_ranking(history, CATALOG, NOW) if entry[0] == gap]
    assert neighbours == 2 and verdict is not None and verdict.kind == "recorded_unfeasible"
