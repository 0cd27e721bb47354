"""The straightforward gap ranking: every cell compared with every completed config.

Kept as the specification the fast search in :mod:`gaps` is checked against
(property tests) and measured against (`make bench`). Not for production use:
it is O(cells x rows).
"""

from __future__ import annotations

import itertools
from datetime import datetime

from pathprover.brain.feasibility import FeasibilityRules, Placement, Verdict, history_verdict
from pathprover.brain.gaps import build_domains
from pathprover.brain.history import History, Key
from pathprover.catalog import Catalog
from pathprover.core.dimensions import DIMENSIONS


def naive_ranking(
    history: History, catalog: Catalog, now: datetime, *, include_catalog: bool = False
) -> list[tuple[Key, int, Verdict | None]]:
    domains = build_domains(history, catalog, include_catalog=include_catalog)
    rules = FeasibilityRules(catalog)
    completed = [e.key for e in history.completed()]
    completed_set = set(completed)
    cells = []
    for position, key in enumerate(itertools.product(*(domains[d] for d in DIMENSIONS))):
        if key in completed_set:
            continue
        neighbors = sum(1 for c in completed if sum(a != b for a, b in zip(key, c, strict=True)) == 1)
        result = rules.check(key)
        verdict = result if isinstance(result, Verdict) else None
        if verdict is None and isinstance(result, Placement):
            verdict = history_verdict(history.configs.get(key), now)
        cells.append((verdict is not None, -neighbors, position, key, neighbors, verdict))
    cells.sort(key=lambda c: c[:3])
    return [(c[3], c[4], c[5]) for c in cells]
