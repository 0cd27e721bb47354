"""Which proven configuration serves a model within a set of SLOs at the lowest cost (`pathprover recommend`).

A *proven configuration* is a model on an instance type with the six dimensions, as its latest completed
attempt measured it. Every benchmarked concurrency level of it is a way to run it: the configuration
qualifies at each level that meets every SLO, and costs what that level's `cost_per_1m_tokens` says. The
cheapest qualifying level of each configuration is its offer; the cheapest offer is the recommendation,
the next ones the runners-up. When nothing qualifies, the configurations that miss by the least are
reported with what each misses (which SLO, by how much), and the brain's feasible gaps for the model are
turned into validation targets whose proving would answer the question.

Everything here is a pure function over rows (``results.metrics`` reads them), except
:func:`gap_targets`, which asks the brain's feasibility rules and the catalog.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pathprover.core.dimensions import DIMENSIONS
from pathprover.results.defaults import DEFAULT_MAX_ERROR_RATE, DEFAULT_MAX_GAPS, DEFAULT_RUNNERS_UP

if TYPE_CHECKING:
    from pathprover.brain.feasibility import FeasibilityRules
    from pathprover.brain.gaps import Gap
    from pathprover.catalog import Catalog

REALTIME: Final = "realtime-inference"
_UNMEASURED_WEIGHT: Final = 10.0
"""How far a miss counts when the metric was not measured at all (ranks it behind any measured miss)."""

LEVEL_METRICS_SHOWN: Final[tuple[str, ...]] = (
    "ttft_p50_ms",
    "ttft_p99_ms",
    "itl_p50_ms",
    "output_token_throughput_tps",
    "cost_per_1m_tokens",
    "error_rate",
)


@dataclass(frozen=True)
class Slo:
    """What the user asks for; None asks nothing."""

    max_ttft_p99_ms: float | None = None
    min_tokens_per_s: float | None = None
    max_usd_per_1m_tokens: float | None = None
    deployment_target: str | None = None
    max_error_rate: float | None = DEFAULT_MAX_ERROR_RATE

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_ttft_p99_ms": self.max_ttft_p99_ms,
            "min_tokens_per_s": self.min_tokens_per_s,
            "max_usd_per_1m_tokens": self.max_usd_per_1m_tokens,
            "deployment_target": self.deployment_target,
            "max_error_rate": self.max_error_rate,
        }

    def describe(self) -> str:
        parts = []
        if self.max_ttft_p99_ms is not None:
            parts.append(f"TTFT p99 ≤ {self.max_ttft_p99_ms:,g} ms")
        if self.min_tokens_per_s is not None:
            parts.append(f"≥ {self.min_tokens_per_s:,g} tokens/s")
        if self.max_usd_per_1m_tokens is not None:
            parts.append(f"≤ ${self.max_usd_per_1m_tokens:,g} per 1M tokens")
        if self.deployment_target is not None:
            parts.append(self.deployment_target)
        if self.max_error_rate is not None:
            parts.append(f"error rate ≤ {self.max_error_rate:.0%}")
        return ", ".join(parts) or "no SLO"


# metric checked, its level column, "max" or "min", the words and unit
_CHECKS: Final[tuple[tuple[str, str, str, str, str], ...]] = (
    ("max_ttft_p99_ms", "ttft_p99_ms", "max", "TTFT p99", " ms"),
    ("min_tokens_per_s", "output_token_throughput_tps", "min", "throughput", " tokens/s"),
    ("max_usd_per_1m_tokens", "cost_per_1m_tokens", "max", "cost", " $ per 1M tokens"),
    ("max_error_rate", "error_rate", "max", "error rate", ""),
)
_UNMEASURED_NOTE: Final = {
    "ttft_p99_ms": "not measured (async and batch targets have no time to first token)",
}


@dataclass(frozen=True)
class Miss:
    """One SLO a configuration (at its closest level) does not meet, and by how much."""

    slo: str
    limit: float | str
    value: float | str | None
    by: float | None = None
    relative: float | None = None
    words: str = ""

    @property
    def weight(self) -> float:
        return _UNMEASURED_WEIGHT if self.relative is None else self.relative

    def text(self) -> str:
        return self.words

    def as_dict(self) -> dict[str, Any]:
        return {
            "slo": self.slo,
            "limit": self.limit,
            "value": self.value,
            "by": self.by,
            "relative": self.relative,
            "text": self.words,
        }


def _number(value: float, unit: str) -> str:
    if unit == "":
        return f"{value:.1%}"
    if unit.startswith(" $"):
        return f"${value:,.3g}"
    return f"{value:,.0f}{unit}" if abs(value) >= 100 else f"{value:,.1f}{unit}"


def level_misses(level: Mapping[str, Any], slo: Slo) -> list[Miss]:
    """The SLOs one level does not meet. An error rate the table does not hold is not held against it."""
    misses = []
    for name, column, kind, words, unit in _CHECKS:
        limit = getattr(slo, name)
        if limit is None:
            continue
        value = level.get(column)
        if value is None:
            if name == "max_error_rate":
                continue
            note = _UNMEASURED_NOTE.get(column, "not measured")
            misses.append(Miss(name, limit, None, words=f"{words} {note}"))
            continue
        value = float(value)
        over = value - limit if kind == "max" else limit - value
        if over > 0:
            relative = over / limit if limit > 0 else math.inf
            sign = ">" if kind == "max" else "<"
            suffix = "max" if kind == "max" else "min"
            pct = "" if math.isinf(relative) else f", {relative:.0%} {'over' if kind == 'max' else 'short'}"
            misses.append(
                Miss(
                    name,
                    limit,
                    value,
                    by=over,
                    relative=None if math.isinf(relative) else relative,
                    words=f"{words} {_number(value, unit)} {sign} {_number(limit, unit)} {suffix} "
                    f"(by {_number(over, unit)}{pct})",
                )
            )
    return misses


def config_misses(row: Mapping[str, Any], slo: Slo) -> list[Miss]:
    """The SLOs a configuration misses whatever its level: the deployment target."""
    if slo.deployment_target is not None and row.get("deployment_target") != slo.deployment_target:
        return [
            Miss(
                "deployment_target",
                slo.deployment_target,
                row.get("deployment_target"),
                relative=1.0,
                words=f"deployment target is {row.get('deployment_target')}, not {slo.deployment_target}",
            )
        ]
    return []


def levels_of(row: Mapping[str, Any], levels: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The attempt's levels, and where they come from: its `benchmark_levels` rows, or, where the table
    holds none (an export of the results table alone), its headline: latency at the lowest level,
    throughput and cost at the peak (one level when that is the same concurrency, else two halves)."""
    if levels:
        ordered = sorted(levels, key=lambda lvl: (lvl.get("concurrency") is None, lvl.get("concurrency") or 0))
        return [dict(lvl) for lvl in ordered], "levels"
    latency = {
        "ttft_p50_ms": row.get("ttft_p50_ms"),
        "ttft_p99_ms": row.get("ttft_p99_ms"),
        "itl_p50_ms": row.get("itl_p50_ms"),
    }
    peak = {
        "output_token_throughput_tps": row.get("peak_output_token_throughput_tps"),
        "cost_per_1m_tokens": row.get("cost_per_1m_tokens"),
    }
    if all(v is None for v in (*latency.values(), *peak.values())):
        return [], "none"
    low, high = row.get("latency_concurrency"), row.get("peak_concurrency")
    common = {"mode": None, "error_rate": row.get("error_rate")}
    if low is None or high is None or low == high:
        return [{"concurrency": high if high is not None else low, **common, **latency, **peak}], "headline"
    blank_latency = dict.fromkeys(latency)
    blank_peak = dict.fromkeys(peak)
    return [
        {"concurrency": low, **common, **latency, **blank_peak},
        {"concurrency": high, **common, **blank_latency, **peak},
    ], "headline"


_NO_LEVELS: Final = Miss("levels", "measured", None, words="no level measured (no levels and no headline metrics)")


def _unpriced(level: Mapping[str, Any], slo: Slo) -> list[Miss]:
    """A level without a cost cannot be the cheapest: it never qualifies (a cost SLO says so already)."""
    if level.get("cost_per_1m_tokens") is not None or slo.max_usd_per_1m_tokens is not None:
        return []
    return [Miss("cost_per_1m_tokens", "measured", None, words="no $ per 1M tokens measured at this level")]


@dataclass(frozen=True)
class Offer:
    """One proven configuration at its best level for the SLOs (qualifying, or the closest to it)."""

    row: Mapping[str, Any]
    level: Mapping[str, Any] | None
    misses: tuple[Miss, ...]
    levels_considered: int
    levels_source: str

    @property
    def qualifies(self) -> bool:
        return self.level is not None and not self.misses

    @property
    def cost(self) -> float:
        value = None if self.level is None else self.level.get("cost_per_1m_tokens")
        return math.inf if value is None else float(value)

    @property
    def concurrency(self) -> int | None:
        value = None if self.level is None else self.level.get("concurrency")
        return None if value is None else int(value)

    def shortfall(self) -> tuple[int, float, float, int]:
        return (
            len(self.misses),
            sum(m.weight for m in self.misses),
            self.cost,
            self.concurrency if self.concurrency is not None else 1 << 30,
        )

    def as_dict(self) -> dict[str, Any]:
        level = self.level or {}
        return {
            "config_id": self.row.get("config_id"),
            "record_id": self.row.get("record_id"),
            "run_type": self.row.get("run_type"),
            "run_timestamp": self.row.get("run_timestamp"),
            "simulated": bool(self.row.get("simulated")),
            **{d: self.row.get(d) for d in DIMENSIONS},
            "model_name": self.row.get("model_name"),
            "instance_type": self.row.get("instance_type"),
            "concurrency": self.concurrency,
            "mode": level.get("mode"),
            **{name: level.get(name) for name in LEVEL_METRICS_SHOWN},
            "levels_considered": self.levels_considered,
            "levels_source": self.levels_source,
            "misses": [m.as_dict() for m in self.misses],
        }


def best_offer(row: Mapping[str, Any], levels: Sequence[Mapping[str, Any]], slo: Slo) -> Offer:
    """The configuration's cheapest level that meets every SLO (ties: the lower concurrency); when none
    does, the level that misses the fewest SLOs by the least."""
    usable, source = levels_of(row, levels)
    fixed = tuple(config_misses(row, slo))
    offers = [
        Offer(row, level, (*fixed, *level_misses(level, slo), *_unpriced(level, slo)), len(usable), source)
        for level in usable
    ]
    if not offers:
        return Offer(row, None, (*fixed, _NO_LEVELS), 0, source)
    qualifying = [o for o in offers if o.qualifies]
    if qualifying:
        return min(qualifying, key=lambda o: (o.cost, o.shortfall()[3]))
    return min(offers, key=Offer.shortfall)


def latest_per_configuration(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The latest completed attempt of each configuration (config_id, model, instance type): what it
    measures today. Ties: the higher attempt, then the record id."""
    latest: dict[tuple[str, str, str], Mapping[str, Any]] = {}

    def order(row: Mapping[str, Any]) -> tuple[str, int, str]:
        return (str(row.get("run_timestamp") or ""), int(row.get("attempt") or 0), str(row.get("record_id") or ""))

    for row in rows:
        if row.get("status") != "completed":
            continue
        key = (str(row.get("config_id")), str(row.get("model_name") or "").lower(), str(row.get("instance_type")))
        if key not in latest or order(row) > order(latest[key]):
            latest[key] = row
    return sorted(latest.values(), key=lambda r: (str(r.get("config_id")), str(r.get("record_id"))))


@dataclass(frozen=True)
class Recommendation:
    slo: Slo
    considered: int
    best: Offer | None
    runners_up: list[Offer]
    nearest: list[Offer]

    def as_dict(self) -> dict[str, Any]:
        return {
            "slo": self.slo.as_dict(),
            "considered": self.considered,
            "recommendation": None if self.best is None else self.best.as_dict(),
            "runners_up": [o.as_dict() for o in self.runners_up],
            "nearest": [o.as_dict() for o in self.nearest],
        }


def recommend(
    rows: Iterable[Mapping[str, Any]],
    levels_by_record: Mapping[str, Sequence[Mapping[str, Any]]],
    slo: Slo,
    *,
    runners_up: int = DEFAULT_RUNNERS_UP,
) -> Recommendation:
    """The cheapest qualifying configuration of ``rows`` (the completed attempts of the model asked
    about), the next ``runners_up``, and, when none qualifies, the ``runners_up`` nearest misses."""
    configurations = latest_per_configuration(rows)
    offers = [best_offer(r, levels_by_record.get(str(r.get("record_id")), ()), slo) for r in configurations]
    qualifying = sorted(
        (o for o in offers if o.qualifies),
        key=lambda o: (o.cost, o.concurrency or 0, str(o.row.get("config_id")), str(o.row.get("record_id"))),
    )
    if qualifying:
        return Recommendation(slo, len(configurations), qualifying[0], qualifying[1 : 1 + runners_up], [])
    nearest = sorted(offers, key=lambda o: (*o.shortfall(), str(o.row.get("config_id"))))
    return Recommendation(slo, len(configurations), None, [], nearest[:runners_up])


# --------------------------------------------------------------------------- gaps whose proving would answer
@dataclass(frozen=True)
class GapTarget:
    """A feasible gap as a ready-to-run validation target for the model asked about."""

    config_id: str
    dimensions: dict[str, Any]
    neighbors: int
    target: dict[str, Any]
    estimated_cost_usd: float
    estimated_hours: float
    reserved_usd: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "config_id": self.config_id,
            **self.dimensions,
            "model_name": self.target["model_name"],
            "instance_type": self.target["instance_type"],
            "neighbors": self.neighbors,
            "estimated_hours": self.estimated_hours,
            "estimated_cost_usd": self.estimated_cost_usd,
            "reserved_usd": self.reserved_usd,
            "target": self.target,
        }


def target_can_answer(deployment_target: str, slo: Slo) -> bool:
    """Whether a prove with this target could meet the SLOs: only a realtime (streaming) benchmark
    measures the time to first token."""
    if slo.deployment_target is not None and deployment_target != slo.deployment_target:
        return False
    return not (slo.max_ttft_p99_ms is not None and deployment_target != REALTIME)


def _first_fitting(
    models: Sequence[Any], dims: dict[str, Any], catalog: Catalog, rules: FeasibilityRules
) -> tuple[Any, Any, Any] | None:
    """The first (model, instance, target) of a gap that fits and that `run --targets` accepts."""
    from pathprover.brain.sizing import estimate_fit, heads_divisible
    from pathprover.catalog import CatalogError
    from pathprover.core.targets import TargetError, ValidationTarget, to_run_config

    tp = int(dims["tp_degree"])
    quantization = str(dims["quantization"])
    engine = catalog.deployment_config(str(dims["deployment_config"]))
    for model in models:
        if model.family != dims["model_family"] or not heads_divisible(model, tp):
            continue
        for instance in catalog.instances_in_family(str(dims["instance_family"])):
            if instance.max_tp_degree < tp or not rules.usable(instance) or instance.capacity_only:
                continue
            if not engine.supports(quantization, instance):
                continue
            if not estimate_fit(catalog, model, quantization, instance, tp).fits:
                continue
            target = ValidationTarget(
                model_name=model.name,
                instance_type=instance.name,
                deployment_config=str(dims["deployment_config"]),
                deployment_target=str(dims["deployment_target"]),
                quantization=quantization,
                tp_degree=tp,
            )
            try:
                to_run_config(target, catalog)
            except (TargetError, CatalogError, ValueError):
                continue
            return (model, instance, target)
    return None


def gap_targets(
    gaps: Iterable[Gap],
    catalog: Catalog,
    rules: FeasibilityRules,
    slo: Slo,
    *,
    model_names: Sequence[str] | None = None,
    limit: int = DEFAULT_MAX_GAPS,
) -> list[GapTarget]:
    """The first ``limit`` feasible gaps (in the brain's rank order) whose prove could meet the SLOs, each
    as a validation target: the model asked about (or the family's smallest that fits) on the cheapest
    instance type of the gap's family that fits it. Each target passes the checks `pathprover run
    --targets` makes (:func:`pathprover.core.targets.to_run_config`)."""
    from pathprover.brain.feasibility import Placement
    from pathprover.brain.plan import ceiling_of, estimate

    found: list[GapTarget] = []
    if limit <= 0:
        return found
    for gap in gaps:
        if not gap.feasible:
            continue
        dims = dict(zip(DIMENSIONS, gap.key, strict=True))
        if not target_can_answer(str(dims["deployment_target"]), slo):
            continue
        if model_names is not None:
            models = [catalog.models[n] for n in model_names if n in catalog.models]
        else:
            models = catalog.models_in_family(str(dims["model_family"]))
        chosen = _first_fitting(models, dims, catalog, rules)
        if chosen is None:
            continue
        model, instance, target = chosen
        est = estimate(catalog, Placement(model=model, instance=instance), str(dims["deployment_target"]))
        found.append(
            GapTarget(
                config_id=gap.config_id,
                dimensions=dims,
                neighbors=gap.neighbors,
                target=target.model_dump(
                    mode="json",
                    include={
                        "model_name",
                        "instance_type",
                        "deployment_config",
                        "deployment_target",
                        "quantization",
                        "tp_degree",
                    },
                ),
                estimated_cost_usd=est.cost_usd,
                estimated_hours=est.hours,
                reserved_usd=ceiling_of(est.cost_usd),
            )
        )
        if len(found) >= limit:
            break
    return found


def targets_yaml(gaps: Sequence[GapTarget], question: str) -> str:
    """The gaps' targets as a file `pathprover run --targets` reads (YAML, one entry per target)."""
    import yaml

    order = ("model_name", "instance_type", "deployment_config", "deployment_target", "quantization", "tp_degree")
    entries = [{k: g.target[k] for k in order if k in g.target} for g in gaps]
    total = sum(g.estimated_cost_usd for g in gaps)
    reserved = sum(g.reserved_usd for g in gaps)
    header = (
        f"# Validation targets whose proving would answer: {question}\n"
        f"# Written by `pathprover recommend`: {len(gaps)} unproven feasible config(s), est. ${total:.2f} in all\n"
        f"# (a run reserves ${reserved:.2f}). Prove them with:\n"
        f"#   pathprover run --targets THIS_FILE --max-proves {max(len(gaps), 1)} --max-cost {math.ceil(reserved)}\n"
    )
    return header + yaml.safe_dump(entries, sort_keys=False, allow_unicode=True)
