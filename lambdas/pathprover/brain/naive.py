"""The naive plan `make bench` compares the brain with: proven-neighbour order only, no feasibility.

Every gap of the space, feasible or not, ranked by proven neighbours (most first, then cell order, as the
brain breaks ties), each made into the plainest request that names it: the family's smallest model on the
family's cheapest instance type with enough accelerators for the tp_degree. Nothing about whether it can
run (engine and accelerator, memory, heads, recorded failures) is consulted. A gap that cannot even be
written as a request (a value the catalog does not know, no instance type with that many accelerators, a
capacity-only type without a training plan) is passed over, as the API would refuse it before anything
ran. The run's budget (MAX_PROVES_PER_RUN, MAX_COST_PER_RUN) is the workflow's, as for any TARGETS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from pathprover.brain.gaps import GapSearch
from pathprover.brain.history import Key
from pathprover.catalog import Catalog
from pathprover.core.dimensions import DIMENSIONS
from pathprover.core.targets import ValidationTarget


def neighbour_order(search: GapSearch) -> list[Key]:
    """Every gap by proven neighbours alone: most first, then cell order; feasibility ignored."""
    cells = np.sort(search.order)
    ranked = cells[np.lexsort((cells, -search.neighbors[cells].astype(np.int64)))]
    shape = tuple(len(search.domains[d]) for d in DIMENSIONS)
    digits = np.unravel_index(ranked, shape)
    columns = [[search.domains[d][i] for i in digits[p].tolist()] for p, d in enumerate(DIMENSIONS)]
    return list(zip(*columns, strict=True))


def naive_target(key: Key, catalog: Catalog) -> ValidationTarget | None:
    """The plainest request for a gap, or None where no request can name it."""
    values = dict(zip(DIMENSIONS, key, strict=True))
    if not all(d == "tp_degree" or catalog.knows(d, v) for d, v in values.items()):
        return None
    tp = int(values["tp_degree"])
    models = catalog.models_in_family(str(values["model_family"]))  # smallest first
    instances = [  # cheapest first
        i
        for i in catalog.instances_in_family(str(values["instance_family"]))
        if i.max_tp_degree >= tp and not i.capacity_only
    ]
    if not models or not instances:
        return None
    return ValidationTarget(
        model_name=models[0].name,
        instance_type=instances[0].name,
        deployment_config=str(values["deployment_config"]),
        deployment_target=str(values["deployment_target"]),
        quantization=str(values["quantization"]),
        tp_degree=tp,
    )


def naive_targets(
    search: GapSearch,
    catalog: Catalog,
    count: int,
    accepted: Callable[[ValidationTarget], bool] = lambda _: True,
) -> Iterator[ValidationTarget]:
    """The first ``count`` requests in neighbour order that can be written and that ``accepted`` takes (the
    request's own validation, e.g. `to_run_config`: what the API refuses outright, never feasibility)."""
    given = 0
    for key in neighbour_order(search):
        if given >= count:
            return
        target = naive_target(key, catalog)
        if target is None or not accepted(target):
            continue
        given += 1
        yield target
