"""Gap search: every unproven cell of the space, ranked by proven neighbours at Hamming distance 1.

The space is a dense 6-D array. A gap's neighbour count is the sum, over the
six dimensions, of completed cells on its axis-aligned line — one `sum(axis=d)`
per dimension, broadcast back — so the work is O(cells x 6), never
cells x rows. Feasibility rules are evaluated once per sub-combination of the
dimensions they depend on and broadcast the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from pathprover.brain.feasibility import FeasibilityRules, Verdict, history_verdict
from pathprover.brain.history import History, Key
from pathprover.catalog import Catalog
from pathprover.core.dimensions import DIMENSIONS, config_id_of, normalise_value
from pathprover.core.errors import InputError

MAX_CELLS: Final = 50_000_000
_D = {name: i for i, name in enumerate(DIMENSIONS)}


class SpaceError(InputError, ValueError):
    """The requested space cannot be searched (a filter matches nothing, or it is too large)."""


@dataclass(frozen=True)
class Gap:
    key: Key
    neighbors: int
    verdict: Verdict | None

    @property
    def config_id(self) -> str:
        return config_id_of(dict(zip(DIMENSIONS, self.key, strict=True)))

    @property
    def feasible(self) -> bool:
        return self.verdict is None

    @property
    def reason(self) -> str | None:
        return None if self.verdict is None else self.verdict.reason

    def as_dict(self) -> dict[str, object]:
        return {
            "config_id": self.config_id,
            **dict(zip(DIMENSIONS, self.key, strict=True)),
            "neighbors": self.neighbors,
            "feasible": self.feasible,
            "reason": self.reason,
            "kind": None if self.verdict is None else self.verdict.kind,
        }


@dataclass
class GapSearch:
    """The ranked gaps of a space. Gaps are materialised lazily, in rank order."""

    domains: dict[str, list[str | int]]
    order: npt.NDArray[np.int64]
    neighbors: npt.NDArray[np.int32]
    reason_ids: npt.NDArray[np.int32]
    verdicts: list[Verdict | None]
    completed_cells: int
    space_size: int
    reason_counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return int(self.order.size)

    @property
    def feasible_total(self) -> int:
        return int(np.count_nonzero(self.reason_ids[self.order] == 0))

    def gap(self, rank: int) -> Gap:
        flat = int(self.order[rank])
        digits = np.unravel_index(flat, tuple(len(v) for v in self.domains.values()))
        key = tuple(self.domains[d][int(i)] for d, i in zip(DIMENSIONS, digits, strict=True))
        return Gap(key=key, neighbors=int(self.neighbors[flat]), verdict=self.verdicts[int(self.reason_ids[flat])])

    def top(self, limit: int | None = None) -> list[Gap]:
        count = self.total if limit is None else min(limit, self.total)
        return [self.gap(i) for i in range(count)]


def _sort_values(dimension: str, values: set[str | int]) -> list[str | int]:
    if dimension == "tp_degree":
        return sorted(values, key=int)
    return sorted(values, key=str)


def build_domains(
    history: History,
    catalog: Catalog,
    *,
    include_catalog: bool = False,
    filters: Mapping[str, Sequence[str | int]] | None = None,
) -> dict[str, list[str | int]]:
    """Values per dimension: those seen in completed rows (plus the catalog's, if asked), then filtered."""
    loose = [entry.key for entry in history.entries.values() if entry.completed]
    if loose or len(history.columns):
        # Every value in history.columns.values occurs in some proven config (the merge keeps them all).
        seen: dict[str, set[str | int]] = {d: set(history.columns.values[i]) for i, d in enumerate(DIMENSIONS)}
        for key in loose:
            for i, d in enumerate(DIMENSIONS):
                seen[d].add(key[i])
    else:
        # A first run (empty table): nothing is proven to extend, so the space is the catalog's.
        seen = {d: set() for d in DIMENSIONS}
        include_catalog = True
    if include_catalog:
        for d in DIMENSIONS:
            seen[d].update(catalog.values(d))
    for d, wanted in (filters or {}).items():
        if not wanted:
            continue
        keep = {normalise_value(d, v) for v in wanted}
        seen[d] = {v for v in seen[d] if v in keep}
        if not seen[d]:
            raise SpaceError(f"no {d} value matches the filter {', '.join(map(str, wanted))}")
    return {d: _sort_values(d, seen[d]) for d in DIMENSIONS}


def _flat_codes(
    keys: Sequence[Key], index: Mapping[str, Mapping[str | int, int]], strides: Sequence[int]
) -> npt.NDArray[np.int64]:
    """Flat cell index of each key (keys with a value outside the domains are dropped), column by column."""
    if not keys:
        return np.zeros(0, dtype=np.int64)
    flat = np.zeros(len(keys), dtype=np.int64)
    valid = np.ones(len(keys), dtype=bool)
    for position, (dimension, column) in enumerate(zip(DIMENSIONS, zip(*keys, strict=True), strict=True)):
        positions = index[dimension]
        try:
            codes = np.array([positions[v] for v in column], dtype=np.int64)
        except KeyError:  # a value outside the (filtered) domains: drop those keys
            codes = np.array([positions.get(v, -1) for v in column], dtype=np.int64)
        valid &= codes >= 0
        flat += codes * strides[position]
    return flat[valid]


def _column_codes(
    history: History, index: Mapping[str, Mapping[str | int, int]], strides: Sequence[int]
) -> npt.NDArray[np.int64]:
    """Flat cell index of each proven config held in arrays (those outside the domains dropped)."""
    columns = history.columns
    if not len(columns):
        return np.zeros(0, dtype=np.int64)
    flat = np.zeros(len(columns), dtype=np.int64)
    valid = np.ones(len(columns), dtype=bool)
    for position, dimension in enumerate(DIMENSIONS):
        positions = index[dimension]
        lookup = np.array([positions.get(v, -1) for v in columns.values[position]], dtype=np.int64)
        codes = lookup[columns.codes[:, position]]
        valid &= codes >= 0
        flat += codes * strides[position]
    return flat[valid]


def search_gaps(  # noqa: C901, PLR0915  one array pipeline (domains, counts, neighbours, feasibility, rank: docs/architecture.md) read top to bottom; its branches are the optional filters and catalog space
    history: History,
    catalog: Catalog,
    now: datetime,
    *,
    include_catalog: bool = False,
    filters: Mapping[str, Sequence[str | int]] | None = None,
    rules: FeasibilityRules | None = None,
) -> GapSearch:
    rules = rules or FeasibilityRules(catalog)
    domains = build_domains(history, catalog, include_catalog=include_catalog, filters=filters)
    shape = tuple(len(domains[d]) for d in DIMENSIONS)
    size = int(np.prod(shape, dtype=np.int64))
    if size > MAX_CELLS:
        raise SpaceError(
            f"the space has {size:,} cells (limit {MAX_CELLS:,}): narrow it with filters "
            f"({' x '.join(map(str, shape))})"
        )
    index = {d: {v: i for i, v in enumerate(domains[d])} for d in DIMENSIONS}

    strides = [int(np.prod(shape[i + 1 :], dtype=np.int64)) for i in range(len(shape))]
    lookups = [(index[d], strides[i]) for i, d in enumerate(DIMENSIONS)]

    def flat_of(key: Key) -> int | None:
        flat = 0
        for (positions, stride), value in zip(lookups, key, strict=True):
            i = positions.get(value)
            if i is None:
                return None
            flat += i * stride
        return flat

    completed = np.zeros(shape, dtype=bool)
    completed_flat = np.concatenate(
        [
            _column_codes(history, index, strides),
            _flat_codes([e.key for e in history.entries.values() if e.completed], index, strides),
        ]
    )
    completed.reshape(-1)[completed_flat] = True

    # Neighbours at distance 1: completed cells on each axis-aligned line through the cell.
    counts = np.zeros(shape, dtype=np.int32)
    for axis in range(len(DIMENSIONS)):
        counts += completed.sum(axis=axis, keepdims=True, dtype=np.int32)
    counts -= completed.astype(np.int32) * len(DIMENSIONS)

    verdicts: list[Verdict | None] = [None]
    verdict_ids: dict[Verdict, int] = {}

    def vid(verdict: Verdict | None) -> int:
        if verdict is None:
            return 0
        if verdict not in verdict_ids:
            verdict_ids[verdict] = len(verdicts)
            verdicts.append(verdict)
        return verdict_ids[verdict]

    reasons = np.zeros(shape, dtype=np.int32)

    def apply(table: npt.NDArray[np.int32], axes: Sequence[str]) -> None:
        """Broadcast a rule table over the dimensions it depends on; earlier rules win."""
        ordered = sorted(range(len(axes)), key=lambda i: _D[axes[i]])
        table = np.transpose(table, ordered)
        view_shape = [1] * len(DIMENSIONS)
        for d in axes:
            view_shape[_D[d]] = shape[_D[d]]
        full = np.broadcast_to(table.reshape(view_shape), shape)
        np.copyto(reasons, full, where=(reasons == 0) & (full != 0))

    for d in DIMENSIONS:
        if d == "tp_degree":
            continue
        apply(np.array([vid(rules.unknown(d, v)) for v in domains[d]], dtype=np.int32), [d])
    known = {d: {v for v in domains[d] if d == "tp_degree" or rules.unknown(d, v) is None} for d in DIMENSIONS}

    def table(axes: Sequence[str], rule) -> npt.NDArray[np.int32]:  # type: ignore[no-untyped-def]
        out = np.zeros(tuple(shape[_D[d]] for d in axes), dtype=np.int32)
        for pos in np.ndindex(out.shape):
            values = [domains[d][i] for d, i in zip(axes, pos, strict=True)]
            if all(v in known[d] for d, v in zip(axes, values, strict=True)):
                result = rule(*values)
                out[pos] = vid(result if isinstance(result, Verdict) else None)
        return out

    reservation_axes = ("instance_family", "deployment_target")
    apply(table(reservation_axes, rules.reservation), reservation_axes)
    engine_axes = ("deployment_config", "quantization", "instance_family")
    apply(table(engine_axes, rules.engine), engine_axes)
    target_axes = ("deployment_config", "deployment_target")
    apply(table(target_axes, rules.target), target_axes)
    placement_axes = ("model_family", "instance_family", "quantization", "tp_degree")
    apply(table(placement_axes, lambda m, i, q, t: rules.placement(m, i, q, int(t))), placement_axes)

    flat_reasons = reasons.reshape(-1)
    for key, entry in history.entries.items():  # the proven-only configs (history.columns) have no verdict
        if entry.completed or (
            entry.unfeasible_reason is None and not entry.failures and entry.account_failure_at is None
        ):
            continue
        verdict = history_verdict(entry, now)
        if verdict is None:
            continue
        f = flat_of(key)
        if f is not None and flat_reasons[f] == 0:
            flat_reasons[f] = vid(verdict)

    flat_counts = counts.reshape(-1)
    gap_cells = np.flatnonzero(~completed.reshape(-1))
    max_neighbors = int(sum(shape) - len(shape))
    infeasible = (flat_reasons[gap_cells] != 0).astype(np.int64)
    # Rank: feasible first, then most neighbours, then cell order. gap_cells is ascending, so a stable sort
    # on the (feasibility, neighbours) bucket alone keeps cell order within a bucket; a bucket that fits in
    # int16 is sorted by numpy's radix sort, in linear time.
    bucket = infeasible * (max_neighbors + 1) + (max_neighbors - flat_counts[gap_cells])
    if 2 * (max_neighbors + 1) <= np.iinfo(np.int16).max:
        bucket = bucket.astype(np.int16)
    order = gap_cells[np.argsort(bucket, kind="stable")]

    kinds: Counter[str] = Counter()
    ids, tallies = np.unique(flat_reasons[gap_cells], return_counts=True)
    for i, n in zip(ids.tolist(), tallies.tolist(), strict=True):
        v = verdicts[i]
        kinds["feasible" if v is None else v.kind] += n
    return GapSearch(
        domains=domains,
        order=order,
        neighbors=flat_counts,
        reason_ids=flat_reasons,
        verdicts=verdicts,
        completed_cells=int(completed_flat.size),
        space_size=size,
        reason_counts=dict(kinds),
    )
