"""The plan: which gaps to prove in this run, within MAX_PROVES_PER_RUN and MAX_COST_PER_RUN.

Gaps are taken in rank order. A gap that would push the estimated total over
the budget is skipped (a cheaper one later may still fit); every gap left out
says why.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from pathprover.brain.feasibility import FeasibilityRules, Placement, cheapest_instance, timeout_multiplier
from pathprover.brain.gaps import Gap, GapSearch
from pathprover.brain.history import History
from pathprover.catalog import Catalog
from pathprover.core.dimensions import DIMENSIONS, ConfigVector
from pathprover.core.limits import DEFAULT_MAX_COST_USD, DEFAULT_MAX_PROVES
from pathprover.core.runconfig import BenchmarkWorkload, InfraParams, RunConfig
from pathprover.core.targets import ValidationTarget
from pathprover.stages.staging import too_large_to_stage

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


def estimate(
    catalog: Catalog,
    placement: Placement,
    deployment_target: str,
    multiplier: float = 1.0,
    *,
    tune: bool = False,
    adapter: bool = False,
) -> Estimate:
    """Billed instance-hours of a prove (endpoint or job alive: deploy → clean) × the catalog's $/hr; a tuned
    prove adds the training job, and it or an adapter validation the adapter endpoint's deploy and test."""
    minutes = (
        catalog.search_space.timing.billed_minutes(placement.model.total_params_b, tune=tune, adapter=adapter)
        * multiplier
    )
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
    reservation = rules.reservation_of(result.instance)
    return RunConfig(
        vector=vector,
        model_name=result.model.name,
        instance_type=result.instance.name,
        infra_params=InfraParams(capacity_reservation_arn=reservation) if reservation else InfraParams(),
        timeout_multiplier=multiplier,
        benchmark=workload or BenchmarkWorkload(),
        estimated_hours=est.hours,
        estimated_cost_usd=est.cost_usd,
        budget_ceiling_usd=ceiling_of(est.cost_usd),
    )


QuotaOf = Callable[[str, str], "int | None"]
"""(instance type, usage) -> the account's applied quota, None when unknown."""


def place_target(
    target: ValidationTarget, rules: FeasibilityRules, quota: QuotaOf | None = None
) -> tuple[ValidationTarget, str | None]:
    """A target with its instance type: as written, or (left out) the cheapest feasible one and why.

    A training plan given to the run for the chosen (capacity-only) type goes with it. A target that
    names a plan but no instance type is refused: a plan reserves one instance type, so the choice is
    the person's.
    """
    if target.instance_type is not None:
        return target, None
    if target.infra_params.capacity_reservation_arn:
        raise ValueError(
            f"{target.model_name}: infra_params.capacity_reservation_arn reserves one instance type; give "
            "instance_type with it"
        )
    model = rules.catalog.model(target.model_name)
    choice = cheapest_instance(
        rules,
        model,
        target.deployment_config,
        target.quantization,
        target.deployment_target,
        target.tp_degree,
        quota,
    )
    update: dict[str, Any] = {"instance_type": choice.instance.name}
    if (arn := rules.reservation_of(choice.instance)) is not None:
        update["infra_params"] = InfraParams(capacity_reservation_arn=arn)
    return target.model_copy(update=update), choice.reason


def usage_of(deployment_target: str) -> str:
    """The SageMaker quota a deployment target counts against."""
    return "transform job usage" if deployment_target == "batch-transform" else "endpoint usage"


def _gated(catalog: Catalog, rules: FeasibilityRules, gap: Gap) -> bool:
    placement = rules.check(gap.key)
    return isinstance(placement, Placement) and placement.model.gated


REALTIME: Final = "realtime-inference"


def cold_start_order(
    search: GapSearch, catalog: Catalog, rules: FeasibilityRules, quota: QuotaOf | None = None
) -> list[int]:
    """Ranks in the order a first run proves them: most informative, then cheapest.

    With nothing proven, neighbour counts are all zero and say nothing. A greedy cover
    does: each pick is a feasible gap that adds a (model family, instance family) pair not
    yet planned, preferring a real-time target (its benchmark streams: TTFT and inter-token
    latency, which async and batch benchmarks cannot measure), then the cheapest (the cost follows the model and
    the instance, so many variants tie), and among equals the one adding the most dimension
    values not yet planned (engine, quantization, tp), then the rank. Once every pair is
    planned, gaps adding any new value come next, the same way; then the rest by cost.
    Infeasible gaps, and those on instance types the account's quota rules out, follow in rank
    order, so the plan still says why each was left out.
    """
    candidates: list[tuple[int, tuple[Any, Any], tuple[tuple[str, Any], ...], float, bool]] = []
    rest: list[int] = []
    for rank in range(search.total):
        gap = search.gap(rank)
        placement = rules.check(gap.key) if gap.verdict is None else None
        if not isinstance(placement, Placement):
            rest.append(rank)
            continue
        values = dict(zip(DIMENSIONS, gap.key, strict=True))
        target = str(values["deployment_target"])
        if quota is not None and quota(placement.instance.name, usage_of(target)) == 0:
            rest.append(rank)  # the account may not run it: it teaches nothing this run
            continue
        cost = ceiling_of(estimate(catalog, placement, target).cost_usd)
        pair = (values["model_family"], values["instance_family"])
        candidates.append((rank, pair, tuple(values.items()), cost, target == REALTIME))
    pairs: set[tuple[Any, Any]] = set()
    seen: set[tuple[str, Any]] = set()
    order: list[int] = []
    remaining = sorted(candidates, key=lambda c: (c[3], c[0]))  # cheapest first, then rank
    while remaining:
        best_index: int | None = None
        best: tuple[bool, bool, bool, int] = (False, False, False, 0)
        best_cost = 0.0
        for index, (_, pair, items, cost, realtime) in enumerate(remaining):
            head = (pair not in pairs, True, realtime)
            if best_index is not None and cost > best_cost and head <= best[:3]:
                continue  # costlier, and cannot beat the best on what ranks before the cost
            new_values = sum(item not in seen for item in items)
            score = (pair not in pairs, new_values > 0, realtime, new_values)
            better = score[:3] > best[:3] or (score[:3] == best[:3] and cost == best_cost and score[3] > best[3])
            if best_index is None or better:
                best_index, best, best_cost = index, score, cost
        if best_index is None or not (best[0] or best[1]):
            break
        rank, pair, items, _, _ = remaining.pop(best_index)
        pairs.add(pair)
        seen.update(items)
        order.append(rank)
    order.extend(c[0] for c in remaining)
    return order + rest


TIE_WINDOW: Final = 512
"""How many of the top ranks :func:`cheapest_within_ties` reorders (at least 20 per prove planned): a plan
draws from the head of the ranking, and the tail keeps cell order, so a million-cell space costs nothing."""


def cheapest_within_ties(
    search: GapSearch, catalog: Catalog, rules: FeasibilityRules, max_proves: int = DEFAULT_MAX_PROVES
) -> list[int]:
    """Ranks by proven neighbours as the guide orders them, the cheapest prove first among gaps that tie.

    The guide proves gaps with more proven neighbours first and says nothing of ties; within a tie the
    cheaper prove resolves the same kind of gap for less of the budget. Only the head of the ranking
    (:data:`TIE_WINDOW`) is reordered; gaps that are not feasible keep their place (the plan excludes them).
    """
    window = min(search.total, max(TIE_WINDOW, 20 * max_proves))
    order: list[int] = []
    tier: list[tuple[float, int]] = []
    tier_neighbors: int | None = None

    def flush() -> None:
        order.extend(rank for _, rank in sorted(tier))
        tier.clear()

    for rank in range(window):
        gap = search.gap(rank)
        if gap.neighbors != tier_neighbors:
            flush()
            tier_neighbors = gap.neighbors
        placement = rules.check(gap.key) if gap.verdict is None else None
        if isinstance(placement, Placement):
            target = str(dict(zip(DIMENSIONS, gap.key, strict=True))["deployment_target"])
            cost = estimate(catalog, placement, target).cost_usd
        else:
            cost = math.inf
        tier.append((cost, rank))
    flush()
    return order + list(range(window, search.total))


RULE_KINDS: Final = frozenset({"infeasible", "not_in_catalog", "needs_reservation", "recorded_unfeasible"})
"""Exclusions decided by a rule or a record, not by this run's limits: running again with more budget
or more proves would not plan them."""


def nothing_planned_reason(
    *,
    max_proves: int,
    max_cost_usd: float,
    excluded_counts: dict[str, int],
    example_reasons: dict[str, str],
    cheapest_over_budget_usd: float | None,
    gaps_total: int | None,
) -> str:
    """Why a plan selected nothing, in one concrete sentence: the first limit or rule that bit.

    ``gaps_total`` is None when the plan proves explicit targets (there was no gap search);
    ``cheapest_over_budget_usd`` is the smallest reservation a budget exclusion asked for.
    """
    what = "gap" if gaps_total is not None else "target"
    if max_proves == 0:
        return "MAX_PROVES_PER_RUN is 0: nothing may be proved"
    if gaps_total == 0:
        return "no gaps left: every config of the search space has a completed row"
    if excluded_counts.get("over_budget") and cheapest_over_budget_usd is not None:
        return (
            f"nothing fits: cheapest reservation ${cheapest_over_budget_usd:.2f} > ${max_cost_usd:.2f} "
            f"(MAX_COST_PER_RUN; ${cheapest_over_budget_usd:.2f} would plan one)"
        )
    kinds = sorted(excluded_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not kinds:
        return f"no {what} to prove"
    parts = "; ".join(
        f"{kind} {count:,}" + (f" (e.g. {example_reasons[kind]})" if example_reasons.get(kind) else "")
        for kind, count in kinds
    )
    if all(kind in RULE_KINDS for kind, _ in kinds):
        return f"every {what} is unfeasible by rule: {parts}"
    return f"every {what} was left out: {parts}"


@dataclass
class Exclusion:
    gap: Gap
    kind: (
        str  # infeasible | not_in_catalog | needs_reservation | recorded_unfeasible | cooldown | over_budget
        # | limit_reached | needs_secret
    )
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
    cheapest_over_budget_usd: float | None = None
    """The smallest reservation a gap left out as over budget asked for."""
    example_reasons: dict[str, str] = field(default_factory=dict)
    """The first reason of each exclusion kind (kept even past ``max_excluded``)."""

    @property
    def nothing_planned_reason(self) -> str | None:
        """Why nothing was selected (None when something was)."""
        if self.selected:
            return None
        return nothing_planned_reason(
            max_proves=self.max_proves,
            max_cost_usd=self.max_cost_usd,
            excluded_counts=self.excluded_counts,
            example_reasons=self.example_reasons,
            cheapest_over_budget_usd=self.cheapest_over_budget_usd,
            gaps_total=self.gaps_total,
        )

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
            "nothing_planned_reason": self.nothing_planned_reason,
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
    gated_allowed: bool = True,
    gated_reason: str | None = None,
    quota: QuotaOf | None = None,
) -> Plan:
    """Select gaps in rank order within the limits (ties: :func:`cheapest_within_ties`; on an empty table:
    :func:`cold_start_order`).

    ``gated_allowed=False`` (the Hugging Face token secret is missing) leaves gated models out with
    ``gated_reason``: their weights cannot be read from the hub. ``quota(instance_type, usage)`` is the
    account's applied quota: a type it may not run at all (0) is left out with the quota to raise.
    """
    if max_proves < 0:
        raise ValueError("MAX_PROVES_PER_RUN must be 0 or more")
    if max_cost_usd < 0:
        raise ValueError("MAX_COST_PER_RUN must be 0 or more")
    rules = rules or FeasibilityRules(catalog)
    selected: list[RunConfig] = []
    excluded: list[Exclusion] = []
    counts: Counter[str] = Counter()
    neighbors: dict[str, int] = {}
    examples: dict[str, str] = {}
    cheapest_over_budget: float | None = None
    spent = 0.0

    def exclude(gap: Gap, kind: str, reason: str) -> None:
        counts[kind] += 1
        examples.setdefault(kind, reason)
        if len(excluded) < max_excluded:
            excluded.append(Exclusion(gap, kind, reason))

    ranks: list[int] = (
        cold_start_order(search, catalog, rules, quota)
        if search.completed_cells == 0
        else cheapest_within_ties(search, catalog, rules, max_proves)
    )
    for rank in ranks:
        gap = search.gap(rank)
        if gap.verdict is not None:
            exclude(gap, gap.verdict.kind, gap.verdict.reason)
            continue
        if not gated_allowed and _gated(catalog, rules, gap):
            exclude(gap, "needs_secret", gated_reason or "gated model: no Hugging Face token secret")
            continue
        if len(selected) >= max_proves:
            exclude(gap, "limit_reached", f"limit reached: MAX_PROVES_PER_RUN is {max_proves}")
            continue
        entry = history.get(gap.key)
        run = concretise(catalog, rules, gap.key, multiplier=timeout_multiplier(entry))
        if catalog.model(run.model_name).gated and (unstageable := too_large_to_stage(catalog, run.model_name)):
            exclude(gap, "too_large_to_stage", unstageable)
            continue
        if quota is not None:
            usage = usage_of(run.vector.deployment_target)
            if quota(run.instance_type, usage) == 0:
                exclude(
                    gap,
                    "account_quota",
                    f"account quota: '{run.instance_type} for {usage}' is 0 instances in this account "
                    "(request an increase in Service Quotas to prove it)",
                )
                continue
        cost = run.budget_ceiling_usd or 0.0
        if spent + cost > max_cost_usd + 1e-9:
            cheapest_over_budget = cost if cheapest_over_budget is None else min(cheapest_over_budget, cost)
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
        cheapest_over_budget_usd=cheapest_over_budget,
        example_reasons=examples,
    )
