"""The last state: what was proved, failed, found unfeasible or skipped, what it cost, what is left alive."""

from __future__ import annotations

import json
from typing import Any

from pathprover.protocols import Services
from pathprover.stages.naming import TAG_EXECUTION, standard_tags
from pathprover.stages.state import LANE_EVENTS, RUN_EVENTS_FIXED, prove_events
from pathprover.workflow.models import ExecutionPlan, LaneTask, ProveSummary, RunSummary
from pathprover.workflow.planning import queued, run_key


def history_events_of(proves: list[ProveSummary], lanes: int) -> int:
    """The execution's history events, from what each prove did (Step Functions counts these; the run
    fails at 25,000). Per prove: every task, and the Choice, Wait states around them; per lane: its
    iteration's start/end and its last HasProve/LaneDone."""
    per_prove = sum(prove_events(p.lambda_invocations, p.transitions) for p in proves)
    return RUN_EVENTS_FIXED + lanes * LANE_EVENTS + per_prove


def _load(uri: str, svc: Services) -> ProveSummary:
    return ProveSummary.model_validate_json(svc.artifacts.get_bytes(uri))


def summarise_run(
    plan_data: dict[str, Any], lanes_data: list[Any], svc: Services, map_error: dict[str, Any] | None = None
) -> RunSummary:
    state_bytes = len(json.dumps({"plan": plan_data, "lanes": lanes_data}, separators=(",", ":")).encode())
    plan = ExecutionPlan.model_validate(plan_data)
    proves: list[ProveSummary] = []
    errors: list[str] = []
    for item in lanes_data or []:
        lane = LaneTask.model_validate(item)
        proves.extend(_load(ref.summary_uri, svc) for ref in lane.done)
        if lane.prove is not None:
            why = f": {lane.error.get('Error')}: {str(lane.error.get('Cause'))[:300]}" if lane.error else ""
            errors.append(f"lane {lane.lane} stopped with {lane.prove.config_id} in flight{why}")
        errors.extend(f"lane {lane.lane}: {p.config_id} was never attempted" for p in queued(lane, svc))
    if map_error:
        errors.append(f"a lane crashed: {map_error.get('Error')}: {str(map_error.get('Cause'))[:500]}")
    errors.extend(f"{p.config_id}: internal error (see the execution history)" for p in proves if p.status == "error")
    errors.extend(
        f"{p.config_id}: harness failure in {p.failure_stage or 'a stage'}: {p.failure_reason}"
        + (f" ({p.failure_action})" if p.failure_action else "")
        for p in proves
        if p.failure_scope == "harness" and p.status != "error"
    )
    account_actions = sorted(
        {
            f"{p.failure_action or 'change the account'} (blocked {p.config_id} in {p.failure_stage or 'a stage'})"
            for p in proves
            if p.failure_scope == "account"
        }
    )
    tag = standard_tags(plan.execution_id, "-", svc.clock.now())[TAG_EXECUTION]
    leaked = [] if plan.dry_run else sorted(svc.fleet.alive({TAG_EXECUTION: tag}))
    kept = {r for p in proves for r in p.kept_resources}
    unexpected = [r for r in leaked if not any(k in r for k in kept)]
    if unexpected:
        errors.append("resources left alive: " + ", ".join(unexpected))

    def ids(status: str) -> list[str]:
        return [p.config_id for p in proves if p.status == status]

    summary = RunSummary(
        execution_id=plan.execution_id,
        dry_run=plan.dry_run,
        proved=ids("completed"),
        failed=ids("failed"),
        unfeasible=ids("unfeasible"),
        skipped=ids("skipped"),
        errors=errors,
        account_actions=account_actions,
        leaked_resources=leaked,
        estimated_cost_usd=round(sum(p.estimated_cost_usd for p in proves if p.status != "skipped"), 2),
        actual_cost_usd=round(sum(p.actual_cost_usd for p in proves), 2),
        max_cost_usd=plan.max_cost_usd,
        max_proves=plan.max_proves,
        proves=proves,
        planned=plan.selected,
        excluded_total=plan.excluded_total,
        excluded_counts=plan.excluded_counts,
        excluded=plan.excluded,
        plan_uri=svc.artifacts.location(plan.plan_uri) if plan.plan_uri else None,
        nothing_planned_reason=plan.nothing_planned_reason,
        records_written=sum(p.records_written for p in proves),
        has_errors=bool(errors),
        simulated=svc.simulated,
    )
    if errors:
        summary.error_report = "; ".join(errors)[:30000]
    summary.max_state_bytes = state_bytes
    summary.history_events = history_events_of(proves, len(lanes_data or []))
    return summary


def store_summary(summary: RunSummary, svc: Services) -> RunSummary:
    """The whole summary goes to the store; the execution output (256 KB at most) drops the per-stage detail."""
    summary.summary_uri = svc.artifacts.location(
        svc.artifacts.put_bytes(run_key(summary.execution_id, "summary.json"), summary.model_dump_json().encode())
    )
    return summary.model_copy(update={"proves": [p.model_copy(update={"stages": []}) for p in summary.proves]})
