"""The plan: which gaps to prove in this run, within MAX_PROVES_PER_RUN and MAX_COST_PER_RUN.

Gaps are taken in rank order. A gap that would push the estimated total over
the budget is skipped (a cheaper one later may still fit); every gap left out
says why.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from pathprover.brain.feasibility import FeasibilityRules, Placement, timeout_multiplier
from pathprover.brain.gaps import Gap, GapSearch
from pathprover.brain.history import History
from pathprover.catalog import Catalog
from pathprover.core.dimensions import DIMENSIONS, ConfigVector
from pathprover.core.runconfig import BenchmarkWorkload, RunConfig

DEFAULT_MAX_PROVES: Final = 10
DEFAULT_MAX_COST_USD: Final = 50.0
DEFAULT_MAX_EXCLUDED: Final = 1000
BUDGET_HEADROOM: Final = 0.25
"""A prove reserves its estimate plus this share: real stages run late, and the reservation caps billing."""


def ceiling_of(cost_usd: float) -> float:
    """The budget a prove reserves: estimate + headroom, rounded up to the cent."""
    return math.ceil(cost_usd * (1 + BUDGET_HEADROOM) * 100 - 1e-9) / 100


@dataclass(frozen=True)
class Estimate:
    hours: float
    cost_usd: float


def estimate(catalog: Catalog, placement: Placement, deployment_target: str, multiplier: float = 1.0) -> Estimate:
    """Billed instance-hours of a prove (endpoint or job alive: deploy → clean) × the catalog's $/hr."""
    minutes = catalog.search_space.timing.billed_minutes(placement.model.total_params_b) * multiplier
    hours = round(minutes / 60.0, 4)
    return Estimate(hours=hours, cost_usd=round(hours * placement.instance.price_per_hour_usd, 2))


def concretise(
    catalog: Catalog,
    rules: FeasibilityRules,
    key: tuple[Any, ...],
    *,
    multiplier: float = 1.0,
    workload: BenchmarkWorkload | None = None,
) -> RunConfig:
    """A gap as a runnable config. Raises ValueError with the reason when it is not runnable."""
    result = rules.check(key)
    if not isinstance(result, Placement):
        raise ValueError(result.reason)
    vector = ConfigVector(**dict(zip(DIMENSIONS, key, strict=True)))
    est = estimate(catalog, result, vector.deployment_target, multiplier)
    return RunConfig(
        vector=vector,
        model_name=result.model.name,
        instance_type=result.instance.name,
        timeout_multiplier=multiplier,
        benchmark=workload or BenchmarkWorkload(),
        estimated_hours=est.hours,
        estimated_cost_usd=est.cost_usd,
        budget_ceiling_usd=ceiling_of(est.cost_usd),
    )


@dataclass
class Exclusion:
    gap: Gap
    kind: str  # infeasible | not_in_catalog | recorded_unfeasible | cooldown | over_budget | limit_reached
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "config_id": self.gap.config_id,
            **dict(zip(DIMENSIONS, self.gap.key, strict=True)),
            "kind": self.kind,
            "reason": self.reason,
        }


@dataclass
class Plan:
    selected: list[RunConfig]
    excluded: list[Exclusion]
    excluded_total: int
    excluded_counts: dict[str, int]
    max_proves: int
    max_cost_usd: float
    gaps_total: int
    neighbors: dict[str, int] = field(default_factory=dict)

    @property
    def estimated_total_usd(self) -> float:
        return round(sum(r.estimated_cost_usd or 0.0 for r in self.selected), 2)

    @property
    def reserved_total_usd(self) -> float:
        return round(sum(r.budget_ceiling_usd or 0.0 for r in self.selected), 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "selected": [
                {
                    "config_id": r.config_id,
                    **r.vector.as_dict(),
                    "model_name": r.model_name,
                    "instance_type": r.instance_type,
                    "estimated_hours": r.estimated_hours,
                    "estimated_cost_usd": r.estimated_cost_usd,
                    "reserved_usd": r.budget_ceiling_usd,
                    "timeout_multiplier": r.timeout_multiplier,
                    "neighbors": self.neighbors.get(r.config_id, 0),
                }
                for r in self.selected
            ],
            "excluded": [e.as_dict() for e in self.excluded],
            "excluded_total": self.excluded_total,
            "excluded_counts": self.excluded_counts,
            "estimated_total_usd": self.estimated_total_usd,
            "reserved_total_usd": self.reserved_total_usd,
            "max_proves": self.max_proves,
            "max_cost_usd": self.max_cost_usd,
            "gaps_total": self.gaps_total,
        }


def make_plan(
    search: GapSearch,
    history: History,
    catalog: Catalog,
    *,
    max_proves: int = DEFAULT_MAX_PROVES,
    max_cost_usd: float = DEFAULT_MAX_COST_USD,
    max_excluded: int = DEFAULT_MAX_EXCLUDED,
    rules: FeasibilityRules | None = None,
) -> Plan:
    if max_proves < 0:
        raise ValueError("MAX_PROVES_PER_RUN must be 0 or more")
    if max_cost_usd < 0:
        raise ValueError("MAX_COST_PER_RUN must be 0 or more")
    rules = rules or FeasibilityRules(catalog)
    selected: list[RunConfig] = []
    excluded: list[Exclusion] = []
    counts: Counter[str] = Counter()
    neighbors: dict[str, int] = {}
    spent = 0.0

    def exclude(gap: Gap, kind: str, reason: str) -> None:
        counts[kind] += 1
        if len(excluded) < max_excluded:
            excluded.append(Exclusion(gap, kind, reason))

    for rank in range(search.total):
        gap = search.gap(rank)
        if gap.verdict is not None:
            exclude(gap, gap.verdict.kind, gap.verdict.reason)
            continue
        if len(selected) >= max_proves:
            exclude(gap, "limit_reached", f"limit reached: MAX_PROVES_PER_RUN is {max_proves}")
            continue
        entry = history.configs.get(gap.key)
        run = concretise(catalog, rules, gap.key, multiplier=timeout_multiplier(entry))
        cost = run.budget_ceiling_usd or 0.0
        if spent + cost > max_cost_usd + 1e-9:
            exclude(
                gap,
                "over_budget",
                f"over budget: reserving ${cost:.2f} (estimate ${run.estimated_cost_usd:.2f} + "
                f"{BUDGET_HEADROOM:.0%}) on {run.instance_type} would bring the run to "
                f"${spent + cost:.2f} > MAX_COST_PER_RUN ${max_cost_usd:.2f}",
            )
            continue
        spent += cost
        selected.append(run)
        neighbors[run.config_id] = gap.neighbors
    return Plan(
        selected=selected,
        excluded=excluded,
        excluded_total=sum(counts.values()),
        excluded_counts=dict(counts),
        max_proves=max_proves,
        max_cost_usd=max_cost_usd,
        gaps_total=search.total,
        neighbors=neighbors,
    )
