"""Which configuration paths the catalog proves impossible, and why.

Every rule is a small function of the few dimensions it depends on, cached, so
the gap search can evaluate it once per sub-combination and broadcast the
answer over a million cells, and a single config is checked by the same code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
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
TIMEOUTS_AT_MAX_MULTIPLIER: Final = 2
"""Timeouts a config may have at MAX_TIMEOUT_MULTIPLIER before it is recorded unfeasible: with the doubling
(1x, 2x, 4x, 8x, 8x) that is the fifth timeout in a row, at 23x the estimate spent in all. Two at the top,
not one, because a single slow start (a throttled download, a busy region) must not hide a config for good."""
TIMEOUT_LIMIT: Final = round(math.log2(MAX_TIMEOUT_MULTIPLIER)) + TIMEOUTS_AT_MAX_MULTIPLIER
"""The timeout (5th) that records a config unfeasible: 3 doublings up to 8x, then 2 at 8x."""
BATCH = "batch-transform"


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


@dataclass(frozen=True)
class InstanceChoice:
    """The instance the brain picked for a target that named none, and why."""

    instance: InstanceType
    tp_degree: int
    reason: str


QuotaOf = Callable[[str, str], "int | None"]


class FeasibilityRules:
    def __init__(self, catalog: Catalog, reservations: Mapping[str, str] | None = None) -> None:
        """``reservations``: instance type -> training-plan ARN the run may use (capacity-only types need one)."""
        self.catalog = catalog
        self.reservations = {catalog.instance(name).name: arn for name, arn in (reservations or {}).items()}
        self.unknown = cache(self._unknown)
        self.reservation = cache(self._reservation)
        self.engine = cache(self._engine)
        self.target = cache(self._target)
        self.placement = cache(self._placement)

    def usable(self, instance: InstanceType) -> bool:
        """On-demand, or capacity-only with a training plan given to this run."""
        return not instance.capacity_only or instance.name in self.reservations

    def reservation_of(self, instance: InstanceType) -> str | None:
        return self.reservations.get(instance.name) if instance.capacity_only else None

    def _reservation(self, instance_family: str, deployment_target: str) -> Verdict | None:
        """A capacity-only family runs only on a training plan; batch transform cannot use one."""
        instances = self._family_instances(instance_family)
        if not instances or not all(i.capacity_only for i in instances):
            return None
        names = ", ".join(i.name for i in instances)
        if deployment_target == BATCH:
            return Verdict(
                "infeasible", f"{names} is capacity-only (training plans) and batch transform cannot use a plan"
            )
        if not any(self.usable(i) for i in instances):
            return Verdict(
                "needs_reservation",
                f"capacity-only: {names} runs only on a SageMaker training plan; give the run one "
                f'(CAPACITY_RESERVATIONS {{"{instances[0].name}": "arn:aws:sagemaker:<region>:<account>:'
                'training-plan/<name>"}) to prove it',
            )
        return None

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
        candidates = [i for i in instances if i.max_tp_degree >= tp_degree and self.usable(i)] or [
            i for i in instances if i.max_tp_degree >= tp_degree
        ]
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
            self.reservation(values["instance_family"], values["deployment_target"]),
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


def cheapest_instance(
    rules: FeasibilityRules,
    model: ModelSpec,
    deployment_config: str,
    quantization: str,
    deployment_target: str,
    tp_degree: int | None = None,
    quota: QuotaOf | None = None,
) -> InstanceChoice:
    """The cheapest catalog instance that can serve ``model`` this way; ValueError names the model if none.

    Every instance type is tried, cheapest first, against the same rules as a gap: the engine runs the
    quantization there, the target is offered, tp (the instance's accelerator count when not given)
    splits the heads and fits the memory rule, a capacity-only type has a training plan, and the
    account's quota (when known) is not 0.
    """
    catalog = rules.catalog
    config = catalog.deployment_config(deployment_config)
    usage = "transform job usage" if deployment_target == BATCH else "endpoint usage"
    passed: list[str] = []
    for instance in sorted(catalog.instances.values(), key=lambda i: (i.price_per_hour_usd, i.name)):
        tp = tp_degree if tp_degree is not None else instance.max_tp_degree
        why: str | None = None
        if deployment_target not in config.targets:
            raise ValueError(f"{deployment_config} does not support {deployment_target}")
        if not config.supports(quantization, instance):
            why = f"{deployment_config} cannot run {quantization} on {instance.accelerator}"
        elif instance.capacity_only and deployment_target == BATCH:
            why = "capacity-only, and batch transform cannot use a training plan"
        elif not rules.usable(instance):
            why = "capacity-only, no training plan given"
        elif tp > instance.max_tp_degree:
            why = f"tp_degree {tp} exceeds its {instance.max_tp_degree} accelerators"
        elif not heads_divisible(model, tp):
            why = f"{model.num_attention_heads} heads do not split over tp_degree {tp}"
        elif not (fit := estimate_fit(catalog, model, quantization, instance, tp)).fits:
            why = f"needs {fit.needed_per_device_gib:.1f} of {fit.usable_per_device_gib:.1f} GiB per accelerator"
        elif quota is not None and quota(instance.name, usage) == 0:
            why = f"the account's quota '{instance.name} for {usage}' is 0"
        if why is None:
            fit = estimate_fit(catalog, model, quantization, instance, tp)
            skipped = f"; cheaper ones left out: {'; '.join(passed[:3])}" if passed else ""
            return InstanceChoice(
                instance=instance,
                tp_degree=tp,
                reason=(
                    f"cheapest feasible instance for {model.name} ({deployment_config}, {quantization}, tp {tp}): "
                    f"{instance.name} at ${instance.price_per_hour_usd:g}/h, needs {fit.needed_per_device_gib:.1f} "
                    f"of {fit.usable_per_device_gib:.1f} GiB per {instance.accelerator}{skipped}"
                ),
            )
        if len(passed) < 3:
            passed.append(f"{instance.name}: {why}")
    raise ValueError(
        f"no instance type in the catalog can serve {model.name} with {deployment_config}, {quantization}"
        f"{'' if tp_degree is None else f', tp_degree {tp_degree}'} ({deployment_target}): "
        "none fits, runs the quantization, or is usable in this account; give instance_type to see why for one"
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
    if entry.failures.get("timeout", 0) >= TIMEOUT_LIMIT:
        # Rows written before the limit was recorded as `unfeasible` by the prove itself.
        return Verdict(
            "recorded_unfeasible",
            f"timed out {entry.failures['timeout']} times, the last at the largest timeout multiplier "
            f"{MAX_TIMEOUT_MULTIPLIER:g}x; not retried again (last: {entry.last_failure_reason or 'no reason'})",
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
    return multiplier_after(entry.failures.get("timeout", 0))


def multiplier_after(timeouts: int) -> float:
    """The timeout multiplier of the attempt after ``timeouts`` recorded timeouts: 1, 2, 4, 8, 8, ..."""
    return min(MAX_TIMEOUT_MULTIPLIER, 2.0 ** max(0, timeouts))


def timeout_limit_reason(previous_timeouts: int, multiplier: float) -> str | None:
    """Why this timeout makes the config unfeasible (None: it stays retryable, with a longer timeout).

    Unfeasible on the TIMEOUT_LIMIT-th timeout, and only at the largest multiplier: a config that timed
    out with less time than the rule allows has not been given its chance yet.
    """
    timeouts = previous_timeouts + 1
    if timeouts < TIMEOUT_LIMIT or multiplier < MAX_TIMEOUT_MULTIPLIER:
        return None
    at_max = timeouts - round(math.log2(MAX_TIMEOUT_MULTIPLIER))
    return (
        f"timed out {timeouts} times, the last {at_max} at the largest timeout multiplier "
        f"{MAX_TIMEOUT_MULTIPLIER:g}x (limit {TIMEOUTS_AT_MAX_MULTIPLIER} there): unfeasible within the "
        "harness's timeouts"
    )
