"""The naive plan the strategy bench compares the brain with: neighbour order only, no feasibility."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

from pathprover.brain.gaps import search_gaps
from pathprover.brain.naive import naive_target, naive_targets, neighbour_order
from pathprover.catalog import default_catalog
from tests.support.history_rows import history_of
from tests.support.history_rows import history_row as row

CATALOG = default_catalog()
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
BASE = [
    row("transformers-vllm", "qwen3", "g5", "none", 1, "realtime-inference", now=NOW),
    row("transformers-vllm", "qwen3", "g5", "none", 4, "realtime-inference", now=NOW),
    row("transformers-vllm", "qwen3", "p4d", "fp8", 8, "realtime-inference", now=NOW),
    row("tensorrt-llm", "llama3", "g5", "awq", 1, "batch-transform", now=NOW),
]


def test_gaps_are_ordered_by_neighbours_alone_infeasible_ones_included():
    search = search_gaps(history_of(BASE), CATALOG, NOW)
    order = neighbour_order(search)
    by_key = {g.key: g for g in search.top()}
    assert sorted(order) == sorted(by_key)  # every gap, once
    counts = [by_key[k].neighbors for k in order]
    assert counts == sorted(counts, reverse=True)
    # Ties keep cell order (the brain's tie-break), and infeasible gaps are not pushed back.
    assert any(not by_key[k].feasible for k in order[: len(order) // 2])
    cell = {g.key: int(search.order[i]) for i, g in enumerate(search.top())}
    for a, b in pairwise(order):
        if by_key[a].neighbors == by_key[b].neighbors:
            assert cell[a] < cell[b]


def test_a_request_is_the_smallest_model_on_the_cheapest_type_with_enough_accelerators():
    target = naive_target(("transformers-vllm", "qwen3", "g5", "none", 4, "realtime-inference"), CATALOG)
    assert target is not None
    assert target.model_name == CATALOG.models_in_family("qwen3")[0].name
    assert target.instance_type == next(i.name for i in CATALOG.instances_in_family("g5") if i.max_tp_degree >= 4)
    assert (target.deployment_config, target.quantization, target.tp_degree) == ("transformers-vllm", "none", 4)


def test_no_request_for_what_cannot_be_written():
    assert naive_target(("transformers-vllm", "no-such-family", "g5", "none", 1, "realtime-inference"), CATALOG) is None
    assert naive_target(("transformers-vllm", "qwen3", "g5", "none", 64, "realtime-inference"), CATALOG) is None


def test_naive_targets_skip_refused_requests_and_stop_at_the_count():
    search = search_gaps(history_of(BASE), CATALOG, NOW)
    refused = {"awq"}
    targets = list(naive_targets(search, CATALOG, 5, accepted=lambda t: t.quantization not in refused))
    assert len(targets) == 5 and all(t.quantization != "awq" for t in targets)
