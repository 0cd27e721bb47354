"""Which configuration paths the catalog proves impossible, and why.

Every rule is a small function of the few dimensions it depends on, cached, so
the gap search can evaluate it once per sub-combination and broadcast the
answer over a million cells, and a single config is checked by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Final

from pathprover.brain.history import ConfigHistory, Key
from pathprover.brain.sizing import estimate_fit, heads_divisible
from pathprover.catalog import Catalog, InstanceType, ModelSpec
from pathprover.core.dimensions import DIMENSIONS

CAPACITY_COOLDOWN: Final = timedelta(hours=1)
ACCOUNT_COOLDOWN: Final = timedelta(hours=24)
"""An account failure (quota, permission) holds its config back this long: a person must change the account."""
MAX_UNKNOWN_FAILURES: Final = 2
"""An unknown failure is retried once; the second makes the config unfeasible."""
MAX_TIMEOUT_MULTIPLIER: Final = 8.0


@dataclass(frozen=True)
class Placement:
    """The concrete model and instance a gap runs on: smallest fitting model, cheapest fitting instance."""

    model: ModelSpec
    instance: InstanceType


@dataclass(frozen=True)
class Verdict:
    """Why a gap is not runnable now. `kind` groups reasons for summaries."""

    kind: str  # not_in_catalog | infeasible | recorded_unfeasible | cooldown | account_cooldown
    reason: str


class FeasibilityRules:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.unknown = cache(self._unknown)
        self.engine = cache(self._engine)
        self.target = cache(self._target)
        self.placement = cache(self._placement)

    # ------------------------------------------------------------ catalog rules
    def _unknown(self, dimension: str, value: str | int) -> Verdict | None:
        if self.catalog.knows(dimension, value):
            return None
        return Verdict("not_in_catalog", f"not in catalog: {dimension} {value!r}")

    def _family_instances(self, instance_family: str) -> list[InstanceType]:
        return self.catalog.instances_in_family(instance_family)

    def _engine(self, deployment_config: str, quantization: str, instance_family: str) -> Verdict | None:
        config = self.catalog.deployment_config(deployment_config)
        instances = self._family_instances(instance_family)
        kind = instances[0].accelerator_kind
        if kind not in config.accelerator_kinds:
            return Verdict("infeasible", f"{deployment_config} cannot run on {kind} accelerators ({instance_family})")
        instance = min(instances, key=lambda i: i.compute_capability or 0.0)
        if config.quantization_rule(quantization) is None:
            return Verdict("infeasible", f"{deployment_config} does not support quantization {quantization}")
        if not config.supports(quantization, instance):
            if kind == "neuron":
                return Verdict("infeasible", f"{deployment_config} cannot run {quantization} on Inferentia2")
            rule = config.quantization_rule(quantization)
            needed = rule.min_compute_capability if rule is not None else None
            return Verdict(
                "infeasible",
                f"{quantization} on {deployment_config} needs compute capability {needed:g}; "
                f"{instance_family} ({instance.accelerator}) has {instance.compute_capability or 0:g}",
            )
        return None

    def _target(self, deployment_config: str, deployment_target: str) -> Verdict | None:
        config = self.catalog.deployment_config(deployment_config)
        if deployment_target not in config.targets:
            return Verdict("infeasible", f"{deployment_config} does not support {deployment_target}")
        return None

    def _placement(
        self, model_family: str, instance_family: str, quantization: str, tp_degree: int
    ) -> Placement | Verdict:
        instances = self._family_instances(instance_family)
        largest = max(i.max_tp_degree for i in instances)
        if tp_degree > largest:
            return Verdict(
                "infeasible",
                f"tp_degree {tp_degree} exceeds the {largest} accelerators of every {instance_family} instance",
            )
        models = self.catalog.models_in_family(model_family)
        divisible = [m for m in models if heads_divisible(m, tp_degree)]
        if not divisible:
            example = models[0]
            return Verdict(
                "infeasible",
                f"no {model_family} model splits over tp_degree {tp_degree} "
                f"(e.g. {example.name}: {example.num_attention_heads} heads, {example.num_kv_heads} KV heads)",
            )
        candidates = [i for i in instances if i.max_tp_degree >= tp_degree]
        for model in divisible:
            for instance in candidates:
                if estimate_fit(self.catalog, model, quantization, instance, tp_degree).fits:
                    return Placement(model=model, instance=instance)
        roomiest = max(candidates, key=lambda i: (i.accelerator_memory_gib, -i.price_per_hour_usd))
        smallest = divisible[0]
        fit = estimate_fit(self.catalog, smallest, quantization, roomiest, tp_degree)
        return Verdict("infeasible", "does not fit: " + fit.explain(smallest, roomiest, tp_degree))

    # ------------------------------------------------------------ one config
    def check(self, key: Key) -> Verdict | Placement:
        """All catalog rules for one config, in the order the gap search applies them."""
        values = dict(zip(DIMENSIONS, key, strict=True))
        for dimension in DIMENSIONS:
            if dimension == "tp_degree":
                continue
            verdict = self.unknown(dimension, values[dimension])
            if verdict is not None:
                return verdict
        for verdict in (
            self.engine(values["deployment_config"], values["quantization"], values["instance_family"]),
            self.target(values["deployment_config"], values["deployment_target"]),
        ):
            if verdict is not None:
                return verdict
        return self.placement(
            str(values["model_family"]),
            str(values["instance_family"]),
            str(values["quantization"]),
            int(values["tp_degree"]),
        )


def history_verdict(entry: ConfigHistory | None, now: datetime) -> Verdict | None:
    """Recorded outcomes that block a config: unfeasible, repeated unknown failures, capacity cooldown."""
    if entry is None:
        return None
    if entry.unfeasible_reason is not None:
        return Verdict("recorded_unfeasible", f"recorded unfeasible: {entry.unfeasible_reason}")
    if entry.failures.get("unknown", 0) >= MAX_UNKNOWN_FAILURES:
        return Verdict(
            "recorded_unfeasible",
            f"failed {entry.failures['unknown']} times with an unknown error; not retried again "
            f"(last: {entry.last_failure_reason or 'no reason recorded'})",
        )
    if entry.account_failure_at is not None:
        retry_at = entry.account_failure_at + ACCOUNT_COOLDOWN
        if now < retry_at and (entry.completed_at is None or entry.completed_at < entry.account_failure_at):
            return Verdict(
                "account_cooldown",
                f"held back by the account until {retry_at:%Y-%m-%d %H:%M}Z (or until the limit is raised and "
                f"the config is requested as a TARGET): {entry.account_failure_reason or 'account failure'}",
            )
    if entry.last_failure_category == "capacity" and entry.last_failure_at is not None:
        retry_at = entry.last_failure_at + CAPACITY_COOLDOWN
        if now < retry_at:
            return Verdict(
                "cooldown",
                f"cooldown: capacity failure at {entry.last_failure_at:%Y-%m-%d %H:%M}Z, retry after {retry_at:%H:%M}Z",
            )
    return None


def timeout_multiplier(entry: ConfigHistory | None) -> float:
    """Each recorded timeout doubles the stage timeouts of the next attempt."""
    if entry is None:
        return 1.0
    return min(MAX_TIMEOUT_MULTIPLIER, 2.0 ** entry.failures.get("timeout", 0))
