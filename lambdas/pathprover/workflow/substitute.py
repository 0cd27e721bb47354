"""The guide's "capacity: ... try next instance": a stock-out is retried in the same run on the next
larger instance type of the family that still fits, before the lane moves on -- once per config and run
(a second stock-out waits for the cooldown), and only if the run's budget still holds its reservation.

The substitute is the same config (same six dimensions, another instance type of the family), so it
gets the next attempt number (its rows and resource names differ) and its own ledger reservation
(``ProveState.budget_key``); it goes to the front of the lane's queue in the artifact store, so the
state machine needs no new state: the lane's next ``HasProve`` picks it up like any planned prove.
"""

from __future__ import annotations

import json
from typing import Final

from pathprover.brain.feasibility import Placement
from pathprover.brain.plan import ceiling_of, estimate, usage_of
from pathprover.brain.sizing import estimate_fit, heads_divisible
from pathprover.catalog import InstanceType
from pathprover.protocols import Services
from pathprover.stages.lifecycle import stage_plan
from pathprover.stages.state import ProveState
from pathprover.workflow.models import LaneTask
from pathprover.workflow.planning import run_key

MIN_SUBSTITUTE_EVENTS: Final = 400
"""History events a substitute needs at least (a full prove polls ~100 times); it inherits what the failed
prove left of its share, so the execution stays within the plan's 25,000-event budget."""


def _size(instance: InstanceType) -> tuple[float, float, float, float]:
    """Order of sizes within a family: vCPUs, then host memory, accelerators, price (xlarge < 2xlarge < ...)."""
    return (instance.vcpu, instance.host_memory_gib, instance.accelerator_count, instance.price_per_hour_usd)


def capacity_substitute(prove: ProveState, svc: Services) -> tuple[ProveState | None, str | None]:
    """The prove to try next after ``prove`` failed for capacity (None and why not, or None, None)."""
    failure = prove.failure
    if prove.outcome != "failed" or failure is None or failure.category != "capacity" or failure.scope != "config":
        return None, None
    if prove.substitute_of is not None:
        # The guide's "next instance": one per config and run. A stock-out on that one too is retried after
        # the cooldown, by a later run, instead of walking the family up to its most expensive size.
        return None, (
            f"no further substitute: {prove.substitute_of} and {prove.run.instance_type} had no capacity; the config "
            "is retried after the capacity cooldown"
        )
    catalog = svc.catalog
    run = prove.run
    current = catalog.instance(run.instance_type)
    model = catalog.model(run.model_name)
    config = catalog.deployment_config(run.vector.deployment_config)
    quantization, tp = run.vector.quantization, run.vector.tp_degree
    larger = sorted((i for i in catalog.instances_in_family(current.family) if _size(i) > _size(current)), key=_size)
    spent, reserved = svc.ledger.totals(prove.execution_id)
    allowance = None
    if prove.events_allowance is not None:
        allowance = prove.events_allowance - prove.events_used
        if allowance < MIN_SUBSTITUTE_EVENTS:
            return None, f"no substitute for {current.name}: the prove's share of history events is used up"
    over: str | None = None
    for instance in larger:
        if instance.capacity_only or not config.supports(quantization, instance):
            continue
        if tp > instance.max_tp_degree or not heads_divisible(model, tp):
            continue
        if not estimate_fit(catalog, model, quantization, instance, tp).fits:
            continue
        usage = usage_of(run.vector.deployment_target)
        if svc.quotas is not None and svc.quotas.instance_quota(instance.name, usage) == 0:
            continue
        est = estimate(
            catalog,
            Placement(model=model, instance=instance),
            run.vector.deployment_target,
            tune=run.tuning is not None,
            adapter=run.serves_adapter,
        )
        hours = round(est.hours * run.timeout_multiplier, 4)
        cost = round(hours * instance.price_per_hour_usd, 2)
        ceiling = ceiling_of(cost)
        if spent + reserved + ceiling > prove.max_cost_usd + 1e-9:
            over = over or (
                f"no substitute for {current.name}: {instance.name} would reserve ${ceiling:.2f} and the run has "
                f"${max(0.0, prove.max_cost_usd - spent - reserved):.2f} of MAX_COST_PER_RUN left"
            )
            continue
        substitute_run = run.model_copy(
            update={
                "instance_type": instance.name,
                "estimated_hours": hours,
                "estimated_cost_usd": cost,
                "budget_ceiling_usd": ceiling,
            }
        )
        substitute = ProveState(
            execution_id=prove.execution_id,
            run=substitute_run,
            attempt=prove.attempt + 1,
            previous_timeouts=prove.previous_timeouts,
            substitute_of=current.name,
            lane=prove.lane,
            explicit=prove.explicit,
            planned_at=prove.planned_at,
            rows_since=prove.rows_since,
            max_cost_usd=prove.max_cost_usd,
            keep_on_failure=prove.keep_on_failure,
            plan=stage_plan(substitute_run),
            events_allowance=allowance,
            run_deadline=prove.run_deadline,
        )
        return substitute, (
            f"capacity: {current.name} had none; trying {instance.name} next in this run (attempt {substitute.attempt})"
        )
    return None, over or f"no substitute for {current.name}: no larger {current.family} instance fits this config"


def push_front(lane: LaneTask, prove: ProveState, svc: Services) -> None:
    """Put ``prove`` next in the lane's queue. Idempotent: a retried task does not queue it twice."""
    if lane.queue or not lane.queue_uri:
        if not (lane.queue and _same(lane.queue[0], prove)):
            lane.queue.insert(0, prove)
        return
    items = json.loads(svc.artifacts.get_bytes(lane.queue_uri))
    position = lane.queue_next
    if position < len(items) and _same(ProveState.model_validate(items[position]), prove):
        lane.queue_total = len(items)
        return
    items.insert(position, prove.model_dump(mode="json"))
    lane.queue_uri = svc.artifacts.put_bytes(
        run_key(lane.execution_id, f"lanes/{lane.lane}.json"), json.dumps(items).encode()
    )
    lane.queue_total = len(items)


def _same(a: ProveState, b: ProveState) -> bool:
    return a.config_id == b.config_id and a.run.instance_type == b.run.instance_type and a.attempt == b.attempt
