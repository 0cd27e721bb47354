"""brain/reference.py: the cells x rows ranking the fast gap search is checked against (it must be right too)."""

from pathprover.brain.reference import naive_ranking
from tests.support.history_rows import history_of
from tests.unit.brain.conftest import CATALOG, NOW, row

VLLM = ("transformers-vllm", "qwen3", "g5", "none", 1, "realtime-inference")
SGLANG = ("transformers-sglang", "qwen3", "g5", "none", 1, "realtime-inference")


def test_proven_cells_are_left_out_and_neighbours_counted_by_one_changed_dimension():
    # Given three proven configs over two deployment configs and two model families (a 2 x 2 seen space)
    llama = ("transformers-vllm", "llama3", *VLLM[2:])
    ranking = naive_ranking(history_of([row(*VLLM), row(*SGLANG), row(*llama)]), CATALOG, NOW)
    # Then the one unproven cell is the only gap, with a neighbour in each of the two dimensions
    assert [(key, neighbours) for key, neighbours, _ in ranking] == [(("transformers-sglang", "llama3", *VLLM[2:]), 2)]
    # And two proven configs alone leave no gap in their own seen space
    assert naive_ranking(history_of([row(*VLLM), row(*SGLANG)]), CATALOG, NOW) == []


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
