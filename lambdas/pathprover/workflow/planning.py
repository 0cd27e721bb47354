"""The first state: validate the input, ask the brain (or take the explicit targets), split into lanes."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from pathprover.brain.feasibility import FeasibilityRules, Placement
from pathprover.brain.gaps import search_gaps
from pathprover.brain.history import read_history
from pathprover.brain.plan import ceiling_of, estimate, make_plan
from pathprover.catalog import CatalogError
from pathprover.core.runconfig import RunConfig
from pathprover.core.targets import TargetError, to_run_config
from pathprover.services import Services
from pathprover.stages.lifecycle import stage_plan, with_required_stages
from pathprover.stages.state import ProveState
from pathprover.workflow.models import ExecutionPlan, LaneTask, WorkflowInput


class InvalidInput(ValueError):
    """The execution input is wrong; raised in the first state, before anything is created or spent."""


def parse_input(raw: Any) -> WorkflowInput:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput(f"the input must be a JSON object, got {type(raw).__name__}")
    try:
        return WorkflowInput.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "input"
            problems.append(f"{field}: {error['msg']}")
        raise InvalidInput("invalid input: " + "; ".join(problems)) from exc


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


def _targets_to_runs(request: WorkflowInput, svc: Services) -> list[RunConfig]:
    runs = []
    missing_token: str | None = None
    checked_token = False
    for index, target in enumerate(request.TARGETS or []):
        try:
            run = to_run_config(target, svc.catalog)
        except (TargetError, CatalogError, ValueError) as exc:
            raise InvalidInput(f"TARGETS[{index}]: {exc}") from exc
        if svc.catalog.model(run.model_name).gated:
            if not checked_token:
                missing_token, checked_token = token_secret_missing(svc), True
            if missing_token is not None:
                raise InvalidInput(f"TARGETS[{index}]: {run.model_name} is a {missing_token}; nothing was started")
        placement = Placement(model=svc.catalog.model(run.model_name), instance=svc.catalog.instance(run.instance_type))
        est = estimate(svc.catalog, placement, run.vector.deployment_target)
        if run.tuning is not None:
            extra = svc.catalog.search_space.timing.minutes("tune", placement.model.total_params_b) / 60.0
            est = est.__class__(
                hours=round(est.hours + extra, 4),
                cost_usd=round((est.hours + extra) * placement.instance.price_per_hour_usd, 2),
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


def plan_execution(raw: Any, execution_id: str, svc: Services) -> ExecutionPlan:
    request = parse_input(raw)
    planned_at = svc.clock.now()
    excluded: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    gaps_total = 0
    if request.TARGETS:
        source = "targets"
        runs: list[RunConfig] = []
        spent = 0.0
        seen: dict[str, int] = {}
        for position, run in enumerate(_targets_to_runs(request, svc)):
            cost = run.budget_ceiling_usd or 0.0
            reason = None
            if run.config_id in seen:
                # One config, one prove per run: its record id and reservation are per config.
                reason = (
                    "duplicate",
                    f"duplicate: TARGETS[{position}] is the same config as "
                    f"TARGETS[{seen[run.config_id]}] ({run.config_id})",
                )
            elif len(runs) >= request.MAX_PROVES_PER_RUN:
                reason = ("limit_reached", f"limit reached: MAX_PROVES_PER_RUN is {request.MAX_PROVES_PER_RUN}")
            elif spent + cost > request.MAX_COST_PER_RUN + 1e-9:
                reason = (
                    "over_budget",
                    f"over budget: reserving ${cost:.2f} would bring the run to "
                    f"${spent + cost:.2f} > MAX_COST_PER_RUN ${request.MAX_COST_PER_RUN:.2f}",
                )
            if reason is not None:
                counts[reason[0]] = counts.get(reason[0], 0) + 1
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
        rules = FeasibilityRules(svc.catalog)
        search = search_gaps(
            history,
            svc.catalog,
            svc.clock.now(),
            include_catalog=request.INCLUDE_CATALOG,
            filters=filters,
            rules=rules,
        )
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
        )
        runs = plan.selected
        excluded = [e.as_dict() for e in plan.excluded]
        counts = plan.excluded_counts
        gaps_total = plan.gaps_total
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
    for position, run in enumerate(runs):
        lane = lanes[position % lanes_count]
        lane.queue.append(
            ProveState(
                execution_id=execution_id,
                run=run,
                lane=lane.lane,
                max_cost_usd=request.MAX_COST_PER_RUN,
                keep_on_failure=request.KEEP_ON_FAILURE,
                plan=stage_plan(run),
                explicit=source == "targets",
                planned_at=planned_at,
            )
        )
    for lane in lanes:
        load_next(lane)
    return ExecutionPlan(
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
            }
            for r in runs
        ],
        excluded=excluded,
        excluded_total=sum(counts.values()),
        excluded_counts=counts,
        estimated_total_usd=round(sum(r.estimated_cost_usd or 0.0 for r in runs), 2),
        source=source,
        gaps_total=gaps_total,
    )


def load_next(lane: LaneTask) -> LaneTask:
    """Put the next queued prove in flight (or mark the lane idle)."""
    lane.error = None
    if lane.queue:
        lane.prove = lane.queue.pop(0)
        lane.has_prove = True
        lane.status = "begin"
    else:
        lane.prove = None
        lane.has_prove = False
        lane.status = "idle"
    lane.wait_seconds = 0
    return lane
