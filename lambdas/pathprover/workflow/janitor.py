"""The janitor's decisions: which Path Prover resources outlived their execution (pure; no boto3).

Every hour the janitor lists what the fleet holds tagged ``managed-by=path-prover``
(:meth:`~pathprover.protocols.ManagedInventory.inventory`) and removes what no
execution will clean up any more, so a crashed execution cannot leave GPUs billing.
A resource is removed when

* its ``pathprover:expiry`` tag has passed (whatever its execution is doing), or
* its execution is not running (SUCCEEDED, FAILED, TIMED_OUT, ABORTED, or unknown to
  Step Functions) and the resource is older than ``grace``, or
* it has no ``pathprover:execution`` tag and is older than ``grace``.

A resource whose ``pathprover:stack`` tag names another deployment (stack) than the janitor's own is
always kept, whatever its age, expiry or execution: that deployment's janitor owns it (two stacks can
live in one account and region, and the janitor's IAM is scoped to its own stack's tag anyway). A
resource without the tag (made before deployments tagged their stack) is judged by the rules above.

It is never removed while its execution is RUNNING (or PENDING_REDRIVE) and it has not
expired, nor while the execution's status cannot be read (that is an error, and the
next sweep tries again). ``grace`` covers a resource created just before its execution
ended (an aborted execution's last Lambda call can still create one) and any lag
between a create and the tags being readable. A resource whose creation time is not
known is treated as older than ``grace``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from pathprover.protocols import Builder, ExecutionLookup, ManagedInventory
from pathprover.stages.jobs import JobRef, ManagedKind, ManagedResource
from pathprover.stages.naming import TAG_EXECUTION, TAG_EXPIRY, TAG_STACK, utc_iso

DEFAULT_GRACE: Final = timedelta(minutes=30)
ACTIVE_STATUSES: Final = frozenset({"RUNNING", "PENDING_REDRIVE"})
"""Execution statuses whose resources are left alone until they expire."""


class JanitorDecision(BaseModel):
    """One resource and why it was (or would be) deleted, or kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resource: str = Field(description="kind/name, as CleanReport labels it")
    kind: ManagedKind
    name: str
    arn: str
    execution: str | None = None
    reason: str


class JanitorReport(BaseModel):
    """What one sweep found and did. In a dry run ``deleted`` stays empty and ``would_delete`` is filled."""

    model_config = ConfigDict(extra="forbid")

    swept_at: datetime
    dry_run: bool = False
    grace_s: int = Field(ge=0)
    examined: int = 0
    deleted: list[JanitorDecision] = Field(default_factory=list)
    would_delete: list[JanitorDecision] = Field(default_factory=list)
    kept: list[JanitorDecision] = Field(default_factory=list)
    already_gone: list[str] = Field(default_factory=list)
    builds_stopped: list[str] = Field(default_factory=list, description="project/build-id: why")
    builds_would_stop: list[str] = Field(default_factory=list)
    builds_kept: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Unreadable(Exception):
    """The execution's status could not be read."""


def _age_text(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def decide(
    resource: ManagedResource,
    now: datetime,
    grace: timedelta,
    status_of: Callable[[str], str | None] | None,
    stack: str | None = None,
) -> tuple[bool, str]:
    """``(delete?, why)`` for one resource; ``status_of`` is None when no execution lookup is configured.

    ``stack`` is the janitor's own deployment (``Settings.stack``): a resource tagged with another is kept.
    ``status_of`` may raise: the resource is then kept (the caller reports the error).
    """
    if not resource.managed:
        return False, "not tagged managed-by=path-prover"
    owner = resource.stack
    if owner is not None and owner != stack:
        mine = f"this janitor's is {stack}" if stack else "this janitor has no stack"
        return False, f"{TAG_STACK}={owner}: another deployment's resource ({mine}); its own janitor cleans it"
    expiry = resource.expiry
    if expiry is not None and expiry <= now:
        return True, f"expired at {utc_iso(expiry)}"
    age = now - resource.created_at if resource.created_at is not None else None
    young = age is not None and age < grace
    age_text = _age_text(age) if age is not None else "of unknown age"
    missing_expiry = "" if expiry is not None else f"; no readable {TAG_EXPIRY} tag"
    execution = resource.execution
    if execution is None:
        if young:
            return False, f"no {TAG_EXECUTION} tag, but created {age_text} ago (grace {_age_text(grace)})"
        return True, f"no {TAG_EXECUTION} tag and older than the grace ({age_text}){missing_expiry}"
    if status_of is None:
        until = f"until it expires at {utc_iso(expiry)}" if expiry is not None else "(and it has no expiry tag)"
        return False, f"no execution lookup configured: kept {until}"
    try:
        status = status_of(execution)
    except Exception as exc:
        raise _Unreadable(f"execution {execution}: status unreadable: {type(exc).__name__}: {exc}") from exc
    if status in ACTIVE_STATUSES:
        until = f"until {utc_iso(expiry)}" if expiry is not None else "(no expiry tag)"
        return False, f"execution {execution} is {status}; kept {until}"
    word = status or "unknown to the workflow"
    if young:
        return False, f"execution {execution} is {word}, but created {age_text} ago (grace {_age_text(grace)})"
    return True, f"execution {execution} is {word}{missing_expiry}"


def _decision(resource: ManagedResource, reason: str) -> JanitorDecision:
    return JanitorDecision(
        resource=resource.label,
        kind=resource.kind,
        name=resource.name,
        arn=resource.arn,
        execution=resource.execution,
        reason=reason,
    )


def sweep(
    fleet: ManagedInventory,
    executions: ExecutionLookup | None,
    now: datetime,
    *,
    grace: timedelta = DEFAULT_GRACE,
    dry_run: bool = False,
    builder: Builder | None = None,
    projects: tuple[str, ...] = (),
    stack: str | None = None,
) -> JanitorReport:
    """List the fleet's Path Prover resources, decide each (see the module doc), delete the condemned.

    ``stack``: the janitor's own deployment; resources tagged with another stack are kept. Builds are
    listed only in ``projects`` (this deployment's own CodeBuild projects).

    Each execution's status is read once per sweep. An unreadable status keeps the resource and is
    reported in ``errors``; so is a delete the cloud refused, or a delete call that raised. Listing
    errors propagate (the sweep cannot say anything useful without the inventory).
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    grace = max(grace, timedelta(0))
    report = JanitorReport(swept_at=now, dry_run=dry_run, grace_s=int(grace.total_seconds()))
    resources = fleet.inventory()
    report.examined = len(resources)

    statuses: dict[str, str | None] = {}
    unreadable: dict[str, Exception] = {}

    def status_of(execution: str) -> str | None:
        """One lookup per execution and sweep (a failed one is not retried within the sweep)."""
        if execution in unreadable:
            raise unreadable[execution]
        if execution not in statuses:
            try:
                statuses[execution] = executions.status(execution) if executions is not None else None
            except Exception as exc:
                unreadable[execution] = exc
                raise
        return statuses[execution]

    if builder is not None:
        _sweep_builds(builder, projects, now, grace, status_of if executions is not None else None, report)

    condemned: list[tuple[ManagedResource, JanitorDecision]] = []
    for resource in resources:
        try:
            delete, reason = decide(resource, now, grace, status_of if executions is not None else None, stack)
        except _Unreadable as exc:
            message = str(exc)
            if message not in report.errors:
                report.errors.append(message)
            report.kept.append(_decision(resource, message))
            continue
        if delete:
            condemned.append((resource, _decision(resource, reason)))
        else:
            report.kept.append(_decision(resource, reason))

    if dry_run or not condemned:
        report.would_delete = [d for _, d in condemned] if dry_run else []
        return report
    try:
        outcome = fleet.delete([r for r, _ in condemned])
    except Exception as exc:
        report.errors.append(f"delete failed: {type(exc).__name__}: {exc}")
        return report
    removed = set(outcome.deleted)
    report.deleted = [d for _, d in condemned if d.resource in removed]
    report.already_gone = list(outcome.already_gone)
    report.errors.extend(outcome.errors)
    return report


def decide_build(
    build: JobRef, now: datetime, grace: timedelta, status_of: Callable[[str], str | None] | None
) -> tuple[bool, str]:
    """``(stop?, why)`` for a build in progress: the resource rules, without an expiry tag."""
    age = now - build.started_at
    young = age < grace
    execution = build.meta.get("execution_id")
    if execution is None:
        if young:
            return False, f"no PP_EXECUTION_ID, but started {_age_text(age)} ago (grace {_age_text(grace)})"
        return True, f"no PP_EXECUTION_ID and running for {_age_text(age)}"
    if status_of is None:
        return False, "no execution lookup configured: left to CodeBuild's timeout"
    try:
        status = status_of(execution)
    except Exception as exc:
        raise _Unreadable(f"execution {execution}: status unreadable: {type(exc).__name__}: {exc}") from exc
    if status in ACTIVE_STATUSES:
        return False, f"execution {execution} is {status}"
    word = status or "unknown to the workflow"
    if young:
        return False, f"execution {execution} is {word}, but started {_age_text(age)} ago (grace {_age_text(grace)})"
    return True, f"execution {execution} is {word}"


def _sweep_builds(
    builder: Builder,
    projects: tuple[str, ...],
    now: datetime,
    grace: timedelta,
    status_of: Callable[[str], str | None] | None,
    report: JanitorReport,
) -> None:
    """Stop the builds of ended executions; a listing or stop error is reported, the sweep goes on."""
    for project in projects:
        try:
            builds = builder.in_progress(project)
        except Exception as exc:
            report.errors.append(f"list builds of {project}: {type(exc).__name__}: {exc}")
            continue
        for build in builds:
            label = f"{project}/{build.arn_or_id}"
            try:
                stop, reason = decide_build(build, now, grace, status_of)
            except _Unreadable as exc:
                if str(exc) not in report.errors:
                    report.errors.append(str(exc))
                report.builds_kept.append(f"{label}: {exc}")
                continue
            if not stop:
                report.builds_kept.append(f"{label}: {reason}")
            elif report.dry_run:
                report.builds_would_stop.append(f"{label}: {reason}")
            else:
                try:
                    builder.stop(build)
                except Exception as exc:
                    report.errors.append(f"stop {label}: {type(exc).__name__}: {exc}")
                    continue
                report.builds_stopped.append(f"{label}: {reason}")
