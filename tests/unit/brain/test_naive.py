"""The naive plan the strategy bench compares the brain with: neighbour order only, no feasibility."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from itertools import pairwise, product

import pytest

from pathprover.brain.gaps import search_gaps
from pathprover.brain.naive import Choice, naive_target, naive_targets, neighbour_order
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


def test_gaps_are_ordered_by_neighbours_alone_infeasible_ones_included() -> None:
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


def test_a_plainest_request_is_the_smallest_model_on_the_cheapest_type_with_enough_accelerators() -> None:
    target = naive_target(
        ("transformers-vllm", "qwen3", "g5", "none", 4, "realtime-inference"), CATALOG, Choice.PLAINEST
    )
    assert target is not None
    assert target.model_name == CATALOG.models_in_family("qwen3")[0].name
    assert target.instance_type == next(i.name for i in CATALOG.instances_in_family("g5") if i.max_tp_degree >= 4)
    assert (target.deployment_config, target.quantization, target.tp_degree) == ("transformers-vllm", "none", 4)


@pytest.mark.parametrize("choice", list(Choice))
def test_no_request_for_what_cannot_be_written(choice: Choice) -> None:
    # Given gaps no request can name: an unknown family, more accelerators than any type of the family
    # has, a family whose only type is capacity-only
    unwritable = [
        ("transformers-vllm", "no-such-family", "g5", "none", 1, "realtime-inference"),
        ("transformers-vllm", "qwen3", "g5", "none", 64, "realtime-inference"),
        ("transformers-vllm", "qwen3", "p6-b200", "none", 8, "realtime-inference"),
    ]
    # When each is made into a request / Then there is none
    for key in unwritable:
        assert naive_target(key, CATALOG, choice, random.Random(1)) is None


@pytest.mark.parametrize("choice", list(Choice))
def test_naive_targets_skip_refused_requests_and_stop_at_the_count(choice: Choice) -> None:
    search = search_gaps(history_of(BASE), CATALOG, NOW)
    refused = {"awq"}
    targets = list(
        naive_targets(
            search, CATALOG, 5, accepted=lambda t: t.quantization not in refused, choice=choice, rng=random.Random(1)
        )
    )
    assert len(targets) == 5 and all(t.quantization != "awq" for t in targets)


def test_the_plainest_plan_is_the_same_whatever_the_seed() -> None:
    search = search_gaps(history_of(BASE), CATALOG, NOW)
    plans = [list(naive_targets(search, CATALOG, 10, choice=Choice.PLAINEST, rng=random.Random(s))) for s in (1, 2)]
    assert plans[0] == plans[1] == list(naive_targets(search, CATALOG, 10, choice=Choice.PLAINEST))


def test_the_random_choice_needs_a_seeded_generator() -> None:
    with pytest.raises(ValueError, match="seeded"):
        naive_target(("transformers-vllm", "qwen3", "g5", "none", 1, "realtime-inference"), CATALOG)


def test_the_random_plan_is_the_same_for_a_seed() -> None:
    # Given the same gaps
    search = search_gaps(history_of(BASE), CATALOG, NOW)
    # When the random plan is drawn twice with the same seed, and once with another
    first, again, other = (list(naive_targets(search, CATALOG, 20, rng=random.Random(s))) for s in (7, 7, 8))
    # Then the same seed gives the same requests, and the requests name the same gaps whatever the seed
    assert first == again
    assert [(t.deployment_config, t.quantization, t.tp_degree) for t in first] == [
        (t.deployment_config, t.quantization, t.tp_degree) for t in other
    ]
    assert first != other


def test_the_random_choice_covers_the_family_members_across_seeds() -> None:
    # Given a gap of a family with many models and an instance family with many types for tp_degree 1
    key = ("transformers-vllm", "qwen3", "g5", "none", 1, "realtime-inference")
    # When it is made into a request under many seeds
    targets = [naive_target(key, CATALOG, Choice.RANDOM, random.Random(seed)) for seed in range(40)]
    # Then more than one model and more than one instance type are chosen, each a member of its family
    models = {t.model_name for t in targets if t is not None}
    instances = {t.instance_type for t in targets if t is not None}
    assert len(models) > 1 and len(instances) > 1
    assert models <= {m.name for m in CATALOG.models_in_family("qwen3")}
    assert instances <= {i.name for i in CATALOG.instances_in_family("g5")}


def test_the_random_choice_never_takes_too_few_accelerators_or_a_capacity_only_type() -> None:
    # Given a catalog where one g5 type with 8 GPUs is capacity-only, and gaps over every instance family
    # and tp_degree the catalog has
    instances = dict(CATALOG.instances)
    instances["ml.g5.48xlarge"] = instances["ml.g5.48xlarge"].model_copy(update={"capacity_only": True})
    catalog = CATALOG.model_copy(update={"instances": instances})
    families = sorted({i.family for i in catalog.instances.values()})
    keys = [
        ("transformers-vllm", "qwen3", family, "none", tp, "realtime-inference")
        for family, tp in product(families, (1, 2, 4, 8, 12, 24))
    ]
    # When each is made into a request under several seeds
    rng = random.Random(3)
    targets = [t for _ in range(10) for key in keys if (t := naive_target(key, catalog, Choice.RANDOM, rng))]
    # Then every chosen type has enough accelerators for the tp_degree and none is capacity-only
    assert targets
    for target in targets:
        chosen = catalog.instance(str(target.instance_type))
        assert target.tp_degree is not None and chosen.max_tp_degree >= target.tp_degree
        assert not chosen.capacity_only
    # and a g5 gap at tp_degree 8 has no request (its only 8-GPU type is capacity-only here)
    assert naive_target(("transformers-vllm", "qwen3", "g5", "none", 8, "realtime-inference"), catalog, rng=rng) is None
