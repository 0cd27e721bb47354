"""Clean up after an execution that ended without finishing its proves (stopped, failed, timed out).

Whatever a stopped execution held is released at once, not when the janitor or a lease's expiry gets
to it: its SageMaker resources are deleted, its builds stopped, each prove in flight gets one
`failed` row with scope `harness` ("execution stopped") unless it already wrote one, its open
reservations are settled and its leases freed, so the next run can prove those configs at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Final

from pathprover.core.records import ProveContext, failure_record
from pathprover.protocols import Services, record_time
from pathprover.stages.naming import TAG_EXECUTION, standard_tags
from pathprover.stages.state import ProveState
from pathprover.workflow.planning import run_key

MAX_LANES: Final = 16


@dataclass
class StopReport:
    execution_id: str
    deleted: list[str] = field(default_factory=list)
    builds_stopped: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    leases_released: list[str] = field(default_factory=list)
    reservations_settled: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"execution {self.execution_id} stopped; cleaned up:"]
        for label, items in (
            ("deleted", self.deleted),
            ("builds stopped", self.builds_stopped),
            ("recorded (failed, harness)", self.recorded),
            ("leases released", self.leases_released),
            ("reservations settled", self.reservations_settled),
            ("errors", self.errors),
        ):
            out.append(f"  {label}: {', '.join(items) if items else 'none'}")
        return out


def _planned_proves(execution_id: str, svc: Services) -> dict[str, ProveState]:
    """Every prove the execution planned, by config id (from the lane queues the plan stored)."""
    proves: dict[str, ProveState] = {}
    for lane in range(MAX_LANES):
        uri = svc.artifacts.uri(run_key(execution_id, f"lanes/{lane}.json"))
        if not svc.artifacts.exists(uri):
            continue
        for item in json.loads(svc.artifacts.get_bytes(uri)):
            prove = ProveState.model_validate(item)
            proves[prove.config_id] = prove
    return proves


def clean_up_stopped(execution_id: str, svc: Services, reason: str = "the execution was stopped") -> StopReport:
    """Release everything ``execution_id`` still holds; safe to run twice (each step is idempotent)."""
    report = StopReport(execution_id)
    now = svc.clock.now()
    tag = standard_tags(execution_id, "-", now)[TAG_EXECUTION]
    try:
        stack = svc.settings.stack
        # Only this deployment's: another stack's execution may carry the same name.
        mine = [r for r in svc.fleet.inventory() if r.execution == tag and (r.stack is None or r.stack == stack)]
        result = svc.fleet.delete(mine)
        report.deleted = list(result.deleted)
        report.errors += [str(e) for e in result.errors]
    except Exception as exc:  # the rest must still run; the janitor retries deletions
        report.errors.append(f"delete: {exc}")
    for project in (
        svc.settings.build_project,
        svc.settings.stage_project,
        svc.settings.benchmark_project,
    ):
        try:
            for ref in svc.builder.running(execution_id, project):
                svc.builder.stop(ref)
                report.builds_stopped.append(ref.arn_or_id)
        except Exception as exc:
            report.errors.append(f"stop builds of {project}: {exc}")
    held = svc.ledger.in_flight(execution_id)
    planned = _planned_proves(execution_id, svc) if held else {}
    for config_id, holding in held.items():
        # A capacity substitute reserves under `<config_id>@<instance type>` (ProveState.budget_key).
        prove = planned.get(config_id.split("@", 1)[0])
        if prove is not None and holding.lease_owner is not None and not _recorded(svc, execution_id, config_id):
            ctx = ProveContext(
                vector=prove.run.vector,
                execution_id=execution_id,
                attempt=prove.attempt,
                model_name=prove.run.model_name,
                instance_type=prove.run.instance_type,
                estimated_cost_usd=prove.run.estimated_cost_usd,
                run_config_hash=prove.run.run_config_hash,
                simulated=svc.simulated,
            )
            record = failure_record(
                ctx, record_time(svc), category="unknown", retryable=True, reason=reason, stage=None, scope="harness"
            )
            svc.store.append([record])
            report.recorded.append(config_id)
        if holding.reserved_usd is not None:
            # What was reserved is counted as spent: what the prove really cost is not known here, and
            # counting more than was spent only makes a later run of the same budget more careful.
            svc.ledger.settle(execution_id, config_id, holding.reserved_usd)
            report.reservations_settled.append(config_id)
        if holding.lease_owner is not None:
            svc.ledger.release_lease(config_id, holding.lease_owner)
            report.leases_released.append(config_id)
    return report


def _recorded(svc: Services, execution_id: str, config_id: str) -> bool:
    """Whether the prove already wrote its row (a completed or a failure row: never both)."""
    quoted = execution_id.replace("'", "''")
    rows = svc.store.query(
        f"SELECT COUNT(*) FROM mlcc_ci.benchmark_results WHERE execution_id = '{quoted}' AND config_id = '{config_id}'"
    ).rows
    return bool(rows and rows[0][0])
