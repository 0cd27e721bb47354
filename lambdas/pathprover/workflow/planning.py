"""The first state: validate the input, ask the brain (or take the explicit targets), split into lanes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Final

from pydantic import ValidationError

from pathprover.brain.feasibility import FeasibilityRules, Placement, multiplier_after
from pathprover.brain.gaps import SpaceError, search_gaps
from pathprover.brain.history import PriorAttempts, read_history, read_prior_attempts
from pathprover.brain.plan import ceiling_of, estimate, make_plan, nothing_planned_reason, place_target, usage_of
from pathprover.catalog import CatalogError
from pathprover.core.documents import describe_validation_error
from pathprover.core.errors import InputError
from pathprover.core.runconfig import InfraParams, RunConfig, has_account_placeholder, resolve_account
from pathprover.core.targets import TargetError, to_run_config
from pathprover.protocols import Services, record_time
from pathprover.stages.batch_input import batch_input_problem
from pathprover.stages.lifecycle import DEADLINE_FACTOR, expected_prove_seconds, stage_plan, with_required_stages
from pathprover.stages.staging import too_large_to_stage
from pathprover.stages.state import LANE_EVENTS, RUN_EVENTS_FIXED, ProveState
from pathprover.workflow.models import ExecutionPlan, LaneTask, WorkflowInput


class InvalidInput(InputError, ValueError):
    """The execution input is wrong; raised in the first state, before anything is created or spent."""


def parse_input(raw: Any) -> WorkflowInput:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput(f"the input must be a JSON object, got {type(raw).__name__}")
    try:
        return WorkflowInput.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput("invalid input: " + describe_validation_error(exc)) from exc


def token_secret_missing(svc: Services) -> str | None:
    """Why gated models cannot be proved in this account (None when the Hugging Face token secret exists)."""
    secret = svc.settings.hf_token_secret
    if not secret:
        return (
            "gated model: no Hugging Face token secret is configured (PATHPROVER_HF_TOKEN_SECRET; the stack sets "
            "it from -c PathProverHfTokenSecret)"
        )
    if svc.secrets is not None and not svc.secrets.exists(secret):
        return (
            f"gated model: the Hugging Face token secret '{secret}' does not exist in Secrets Manager "
            "(create it as docs/deploy.md shows)"
        )
    return None


def deploying_account(svc: Services) -> str | None:
    """The account id a literal ACCOUNT stands for: settings first, else the identity adapter (STS / simulated)."""
    if svc.settings.account_id:
        return svc.settings.account_id
    return svc.identity.account_id() if svc.identity is not None else None


def _resolved(arn: str, svc: Services, where: str) -> str:
    """An ARN fit to send to SageMaker: a literal ACCOUNT becomes the deploying account, or the input is refused."""
    if not has_account_placeholder(arn):
        return arn
    try:
        return resolve_account(arn, deploying_account(svc))
    except ValueError as exc:
        raise InvalidInput(f"{where}: {exc}") from exc


def reservations_of(request: WorkflowInput, svc: Services) -> dict[str, str]:
    """CAPACITY_RESERVATIONS with every ACCOUNT resolved, keyed by the catalog's instance name."""
    resolved: dict[str, str] = {}
    for name, arn in request.CAPACITY_RESERVATIONS.items():
        try:
            instance = svc.catalog.instance(name)
        except CatalogError as exc:
            raise InvalidInput(f"CAPACITY_RESERVATIONS: {exc}") from exc
        resolved[instance.name] = _resolved(arn, svc, f"CAPACITY_RESERVATIONS[{name}]")
    return resolved


def _targets_to_runs(
    request: WorkflowInput, svc: Services, rules: FeasibilityRules, choices: dict[str, str]
) -> list[RunConfig]:
    runs = []
    missing_token: str | None = None
    checked_token = False
    quota = svc.quotas.instance_quota if svc.quotas is not None else None
    for index, written in enumerate(request.TARGETS or []):
        where = f"TARGETS[{index}]"
        try:
            target = written
            if target.instance_type is not None and not target.infra_params.capacity_reservation_arn:
                arn = rules.reservations.get(svc.catalog.instance(target.instance_type).name)
                if arn is not None:  # the run's plan for this type serves a target that names none
                    target = target.model_copy(update={"infra_params": InfraParams(capacity_reservation_arn=arn)})
            target, reason = place_target(target, rules, quota)
            if (arn := target.infra_params.capacity_reservation_arn) is not None:
                target = target.model_copy(
                    update={"infra_params": InfraParams(capacity_reservation_arn=_resolved(arn, svc, where))}
                )
            run = to_run_config(target, svc.catalog)
        except InvalidInput:
            raise
        except (TargetError, CatalogError, ValueError) as exc:
            raise InvalidInput(f"{where}: {exc}") from exc
        if reason is not None:
            choices[run.config_id] = reason
        if (problem := batch_input_problem(run, svc.catalog)) is not None:
            raise InvalidInput(f"{where}: {problem}; nothing was started")
        if svc.catalog.model(run.model_name).gated:
            if not checked_token:
                missing_token, checked_token = token_secret_missing(svc), True
            if missing_token is not None:
                raise InvalidInput(f"TARGETS[{index}]: {run.model_name} is a {missing_token}; nothing was started")
        placement = Placement(model=svc.catalog.model(run.model_name), instance=svc.catalog.instance(run.instance_type))
        est = estimate(
            svc.catalog,
            placement,
            run.vector.deployment_target,
            tune=run.tuning is not None,
            adapter=run.serves_adapter,
        )
        runs.append(
            run.model_copy(
                update={
                    "estimated_hours": est.hours,
                    "estimated_cost_usd": est.cost_usd,
                    "budget_ceiling_usd": ceiling_of(est.cost_usd),
                }
            )
        )
    return runs


def _with_prior_timeouts(run: RunConfig, prior: PriorAttempts, svc: Services) -> RunConfig:
    """An explicit target is retried like a gap: its earlier timeouts lengthen its timeouts (and its budget)."""
    multiplier = multiplier_after(prior.timeouts)
    if multiplier == run.timeout_multiplier:
        return run
    placement = Placement(model=svc.catalog.model(run.model_name), instance=svc.catalog.instance(run.instance_type))
    scale = multiplier / run.timeout_multiplier
    hours = round((run.estimated_hours or 0.0) * scale, 4)
    cost = round(hours * placement.instance.price_per_hour_usd, 2)
    return run.model_copy(
        update={
            "timeout_multiplier": multiplier,
            "estimated_hours": hours,
            "estimated_cost_usd": cost,
            "budget_ceiling_usd": ceiling_of(cost),
        }
    )


def plan_execution(raw: Any, execution_id: str, svc: Services) -> ExecutionPlan:  # noqa: PLR0915  the execution's plan in the order the guide states it: input, targets or gaps, budget, lanes
    request = parse_input(raw)
    planned_at = svc.clock.now()
    rows_since = record_time(svc) if svc.wall_clock is not None else None
    excluded: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    gaps_total = 0
    rules = FeasibilityRules(svc.catalog, reservations_of(request, svc))
    choices: dict[str, str] = {}
    priors: dict[str, PriorAttempts] = {}
    examples: dict[str, str] = {}
    cheapest_over_budget: float | None = None
    searched: int | None = None  # gaps found by the search (None: explicit TARGETS, no search)
    if request.TARGETS:
        source = "targets"
        runs: list[RunConfig] = []
        spent = 0.0
        seen: dict[str, int] = {}
        written = _targets_to_runs(request, svc, rules, choices)
        priors = read_prior_attempts(svc.store, [run.config_id for run in written])
        written = [_with_prior_timeouts(run, priors.get(run.config_id, PriorAttempts()), svc) for run in written]
        for position, run in enumerate(written):
            cost = run.budget_ceiling_usd or 0.0
            reason = None
            if run.config_id in seen:
                # One config, one prove per run: its record id and reservation are per config.
                reason = (
                    "duplicate",
                    f"duplicate: TARGETS[{position}] is the same config as "
                    f"TARGETS[{seen[run.config_id]}] ({run.config_id})",
                )
            elif (svc.catalog.model(run.model_name).gated or "stage" in run.stages) and (
                unstageable := too_large_to_stage(svc.catalog, run.model_name)
            ):
                reason = ("too_large_to_stage", unstageable)
            elif (
                svc.quotas is not None
                and svc.quotas.instance_quota(run.instance_type, usage := usage_of(run.vector.deployment_target)) == 0
            ):
                reason = (
                    "account_quota",
                    f"account quota: '{run.instance_type} for {usage}' is 0 instances in this account (request an "
                    "increase in Service Quotas to prove it)",
                )
            elif len(runs) >= request.MAX_PROVES_PER_RUN:
                reason = ("limit_reached", f"limit reached: MAX_PROVES_PER_RUN is {request.MAX_PROVES_PER_RUN}")
            elif spent + cost > request.MAX_COST_PER_RUN + 1e-9:
                cheapest_over_budget = cost if cheapest_over_budget is None else min(cheapest_over_budget, cost)
                reason = (
                    "over_budget",
                    f"over budget: reserving ${cost:.2f} would bring the run to "
                    f"${spent + cost:.2f} > MAX_COST_PER_RUN ${request.MAX_COST_PER_RUN:.2f}",
                )
            if reason is not None:
                counts[reason[0]] = counts.get(reason[0], 0) + 1
                examples.setdefault(reason[0], reason[1])
                excluded.append(
                    {"config_id": run.config_id, **run.vector.as_dict(), "kind": reason[0], "reason": reason[1]}
                )
                continue
            spent += cost
            seen[run.config_id] = position
            runs.append(run)
    else:
        source = "gaps"
        history = read_history(svc.store)
        filters = request.FILTERS.model_dump(exclude_none=True) if request.FILTERS else None
        try:
            search = search_gaps(
                history,
                svc.catalog,
                record_time(svc),  # cooldowns and recency compare with run_timestamp: the rows' (wall) clock
                include_catalog=request.INCLUDE_CATALOG,
                filters=filters,
                rules=rules,
            )
        except SpaceError as exc:  # a filter value that matches nothing (a typo): refused, nothing taken yet
            raise InvalidInput(f"FILTERS: {exc}") from exc
        plan = make_plan(
            search,
            history,
            svc.catalog,
            max_proves=request.MAX_PROVES_PER_RUN,
            max_cost_usd=request.MAX_COST_PER_RUN,
            rules=rules,
            max_excluded=200,
            gated_allowed=(missing := token_secret_missing(svc)) is None,
            gated_reason=missing,
            quota=svc.quotas.instance_quota if svc.quotas is not None else None,
        )
        runs = plan.selected
        excluded = [e.as_dict() for e in plan.excluded]
        counts = plan.excluded_counts
        gaps_total = searched = plan.gaps_total
        examples = dict(plan.example_reasons)
        cheapest_over_budget = plan.cheapest_over_budget_usd
        priors = read_prior_attempts(svc.store, [run.config_id for run in runs])
    lanes_count = max(1, min(request.PARALLEL_LANES, len(runs) or 1))
    lanes = [
        LaneTask(
            execution_id=execution_id,
            lane=i,
            max_cost_usd=request.MAX_COST_PER_RUN,
            keep_on_failure=request.KEEP_ON_FAILURE,
        )
        for i in range(lanes_count)
    ]
    runs = [with_required_stages(run, svc) for run in runs]
    run_deadline = planned_at + timedelta(seconds=EXECUTION_TIMEOUT_S - RUN_END_MARGIN_S)
    allowance = events_allowance(len(runs), lanes_count)
    lane_seconds = [0.0] * lanes_count
    kept: list[RunConfig] = []
    for run in runs:
        # Each prove goes to the lane that frees up first; one that cannot finish before the execution's
        # TimeoutSeconds (at DEADLINE_FACTOR x its expected time) is left out with the reason.
        index = min(_lanes_for(run, lanes, svc), key=lambda i: (lane_seconds[i], i))
        seconds = expected_prove_seconds(run, svc) * DEADLINE_FACTOR
        if lane_seconds[index] + seconds > EXECUTION_TIMEOUT_S - RUN_END_MARGIN_S:
            counts["over_time"] = counts.get("over_time", 0) + 1
            over_time = (
                f"over time: lane {index} would need {(lane_seconds[index] + seconds) / 3600:.1f} h, "
                f"past the execution's TimeoutSeconds ({EXECUTION_TIMEOUT_S / 3600:.0f} h)"
            )
            examples.setdefault("over_time", over_time)
            excluded.append(
                {"config_id": run.config_id, **run.vector.as_dict(), "kind": "over_time", "reason": over_time}
            )
            continue
        lane_seconds[index] += seconds
        kept.append(run)
        lane = lanes[index]
        lane.queue.append(
            ProveState(
                execution_id=execution_id,
                run=run,
                lane=lane.lane,
                max_cost_usd=request.MAX_COST_PER_RUN,
                keep_on_failure=request.KEEP_ON_FAILURE,
                plan=stage_plan(run),
                attempt=priors.get(run.config_id, PriorAttempts()).attempts + 1,
                previous_timeouts=priors.get(run.config_id, PriorAttempts()).timeouts,
                explicit=source == "targets",
                planned_at=planned_at,
                rows_since=rows_since,
                events_allowance=allowance,
                run_deadline=run_deadline,
            )
        )
    runs = kept
    if not request.DRY_RUN:
        for lane in lanes:
            _store_queue(lane, svc)
            load_next(lane, svc)
    execution_plan = ExecutionPlan(
        execution_id=execution_id,
        dry_run=request.DRY_RUN,
        max_proves=request.MAX_PROVES_PER_RUN,
        max_cost_usd=request.MAX_COST_PER_RUN,
        lanes=[] if request.DRY_RUN else lanes,
        selected=[
            {
                "config_id": r.config_id,
                **r.vector.as_dict(),
                "model_name": r.model_name,
                "instance_type": r.instance_type,
                "estimated_hours": r.estimated_hours,
                "estimated_cost_usd": r.estimated_cost_usd,
                "reserved_usd": r.budget_ceiling_usd,
                "tuned": r.tuning is not None,
                "attempt": priors.get(r.config_id, PriorAttempts()).attempts + 1,
                "timeout_multiplier": r.timeout_multiplier,
                **({"instance_choice": choices[r.config_id]} if r.config_id in choices else {}),
                **(
                    {"capacity_reservation_arn": r.infra_params.capacity_reservation_arn}
                    if r.infra_params.capacity_reservation_arn
                    else {}
                ),
            }
            for r in runs
        ],
        excluded=excluded,
        excluded_total=sum(counts.values()),
        excluded_counts=counts,
        estimated_total_usd=round(sum(r.estimated_cost_usd or 0.0 for r in runs), 2),
        source=source,
        gaps_total=gaps_total,
        nothing_planned_reason=None
        if runs
        else nothing_planned_reason(
            max_proves=request.MAX_PROVES_PER_RUN,
            max_cost_usd=request.MAX_COST_PER_RUN,
            excluded_counts=counts,
            example_reasons=examples,
            cheapest_over_budget_usd=cheapest_over_budget,
            gaps_total=searched,
        ),
    )
    return _store_plan(execution_plan, svc)


EXECUTION_TIMEOUT_S: Final = 172_800
"""The state machine's TimeoutSeconds (48 h; a test keeps it equal to the ASL file's)."""
RUN_END_MARGIN_S: Final = 3600
"""Kept free at the end of an execution for the last clean-ups, settles and the summary."""
HISTORY_EVENTS_BUDGET: Final = 24_000
"""Of Step Functions' 25,000 events per execution; the rest is margin for retries."""
MAX_EVENTS_PER_PROVE: Final = 2_000


def events_allowance(proves: int, lanes: int) -> int:
    """Each prove's share of the execution's history events (its polls are spaced to stay within it)."""
    free = HISTORY_EVENTS_BUDGET - RUN_EVENTS_FIXED - LANE_EVENTS * lanes
    return min(MAX_EVENTS_PER_PROVE, free // max(1, proves))


def _lanes_for(run: RunConfig, lanes: list[LaneTask], svc: Services) -> list[int]:
    """Lanes this prove may join: an instance type with a quota of q runs in at most q lanes at once, so
    lanes of one run never race each other for the account's last instance."""
    every = [lane.lane for lane in lanes]
    if svc.quotas is None:
        return every
    quota = svc.quotas.instance_quota(run.instance_type, usage_of(run.vector.deployment_target))
    if not quota:
        return every
    holding = [lane.lane for lane in lanes if any(p.run.instance_type == run.instance_type for p in lane.queue)]
    return holding if len(holding) >= quota else every


STATE_EXCLUSIONS: Final = 20
"""Exclusions carried in the execution state; all of them are in the stored plan (``plan_uri``)."""


def run_key(execution_id: str, name: str) -> str:
    """Where an execution keeps what is too large for its state: `runs/<execution>/<name>`."""
    return f"runs/{execution_id}/{name}"


def _store_plan(plan: ExecutionPlan, svc: Services) -> ExecutionPlan:
    plan.plan_uri = svc.artifacts.put_bytes(run_key(plan.execution_id, "plan.json"), plan.model_dump_json().encode())
    plan.excluded = plan.excluded[:STATE_EXCLUSIONS]
    return plan


def _store_queue(lane: LaneTask, svc: Services) -> None:
    """The lane's queue goes to the store; the state keeps its key and the next position."""
    data = json.dumps([p.model_dump(mode="json") for p in lane.queue]).encode()
    lane.queue_uri = svc.artifacts.put_bytes(run_key(lane.execution_id, f"lanes/{lane.lane}.json"), data)
    lane.queue_total = len(lane.queue)
    lane.queue_next = 0
    lane.queue = []


def queued(lane: LaneTask, svc: Services | None) -> list[ProveState]:
    """The proves still waiting in the lane (inline, or in the store from ``queue_next`` on)."""
    if lane.queue or not lane.queue_uri or lane.queue_next >= lane.queue_total or svc is None:
        return list(lane.queue)
    items = json.loads(svc.artifacts.get_bytes(lane.queue_uri))
    return [ProveState.model_validate(item) for item in items[lane.queue_next :]]


def load_next(lane: LaneTask, svc: Services | None = None) -> LaneTask:
    """Put the next queued prove in flight (or mark the lane idle)."""
    lane.error = None
    waiting = lane.queue or queued(lane, svc)
    if waiting:
        lane.prove = waiting[0]
        if lane.queue:
            lane.queue.pop(0)
        else:
            lane.queue_next += 1
        lane.has_prove = True
        lane.status = "begin"
    else:
        lane.prove = None
        lane.has_prove = False
        lane.status = "idle"
    lane.wait_seconds = 0
    return lane
