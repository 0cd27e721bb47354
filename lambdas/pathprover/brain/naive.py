"""The naive plan `make bench` compares the brain with: proven-neighbour order only, no feasibility.

Every gap of the space, feasible or not, ranked by proven neighbours (most first, then cell order, as the
brain breaks ties), each made into a request that names it. A gap is six dimensions; a request also needs
a concrete model of the model family and an instance type of the instance family, and how those are
chosen is where feasibility knowledge could slip back in:

* ``Choice.RANDOM`` (the default, issue 13's naive plan): a model of the family and an instance type of the
  family drawn uniformly with the seeded ``random.Random`` the caller passes. The instance types are
  limited only by what the request itself must satisfy to be accepted (enough accelerators for the
  tp_degree, not capacity-only without a training plan): request validity, not feasibility. No size or
  price is consulted.
* ``Choice.PLAINEST`` (an ablation): the family's smallest model on the family's cheapest instance type
  with enough accelerators. This is not "no feasibility": the smallest model is the one most likely to fit
  (the brain's own sizing idea) and cheapest-first is cost awareness, so the bench reports it apart.

Nothing about whether the request can run (engine and accelerator, memory, heads, recorded failures) is
consulted. A gap that cannot even be written as a request (a value the catalog does not know, no instance
type with that many accelerators, only capacity-only types) is passed over, as the API would refuse it
before anything ran. The run's budget (MAX_PROVES_PER_RUN, MAX_COST_PER_RUN) is the workflow's, as for any
TARGETS.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from enum import StrEnum

import numpy as np

from pathprover.brain.gaps import GapSearch
from pathprover.brain.history import Key
from pathprover.catalog import Catalog
from pathprover.core.dimensions import DIMENSIONS
from pathprover.core.targets import ValidationTarget


class Choice(StrEnum):
    """How a gap's model and instance type are chosen (see the module docstring)."""

    RANDOM = "random"
    """A member of each family uniformly at random: no feasibility, size or price knowledge."""
    PLAINEST = "plainest"
    """The smallest model on the cheapest type with enough accelerators: an ablation, it borrows sizing."""


def neighbour_order(search: GapSearch) -> list[Key]:
    """Every gap by proven neighbours alone: most first, then cell order; feasibility ignored."""
    cells = np.sort(search.order)
    ranked = cells[np.lexsort((cells, -search.neighbors[cells].astype(np.int64)))]
    shape = tuple(len(search.domains[d]) for d in DIMENSIONS)
    digits = np.unravel_index(ranked, shape)
    columns = [[search.domains[d][i] for i in digits[p].tolist()] for p, d in enumerate(DIMENSIONS)]
    return list(zip(*columns, strict=True))


def naive_target(
    key: Key,
    catalog: Catalog,
    choice: Choice = Choice.RANDOM,
    rng: random.Random | None = None,
) -> ValidationTarget | None:
    """A request for a gap, its model and instance type chosen by ``choice``, or None where no request can
    name it. ``Choice.RANDOM`` draws from ``rng`` (required: a seeded ``random.Random``)."""
    if choice is Choice.RANDOM and rng is None:
        raise ValueError("the random choice needs a seeded random.Random (rng)")
    values = dict(zip(DIMENSIONS, key, strict=True))
    if not all(d == "tp_degree" or catalog.knows(d, v) for d, v in values.items()):
        return None
    tp = int(values["tp_degree"])
    models = catalog.models_in_family(str(values["model_family"]))  # smallest first
    instances = [  # cheapest first; only what the request itself must satisfy to be accepted
        i
        for i in catalog.instances_in_family(str(values["instance_family"]))
        if i.max_tp_degree >= tp and not i.capacity_only
    ]
    if not models or not instances:
        return None
    if choice is Choice.RANDOM and rng is not None:
        # By name, so the draw for a seed does not depend on the catalog's size or price order.
        model = rng.choice(sorted(models, key=lambda m: m.name))
        instance = rng.choice(sorted(instances, key=lambda i: i.name))
    else:
        model, instance = models[0], instances[0]
    return ValidationTarget(
        model_name=model.name,
        instance_type=instance.name,
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
    *,
    choice: Choice = Choice.RANDOM,
    rng: random.Random | None = None,
) -> Iterator[ValidationTarget]:
    """The first ``count`` requests in neighbour order that can be written and that ``accepted`` takes (the
    request's own validation, e.g. `to_run_config`: what the API refuses outright, never feasibility).
    A gap whose request is refused is passed over (not redrawn); ``rng`` is drawn from in neighbour order."""
    given = 0
    for key in neighbour_order(search):
        if given >= count:
            return
        target = naive_target(key, catalog, choice, rng)
        if target is None or not accepted(target):
            continue
        given += 1
        yield target
