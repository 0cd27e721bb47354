"""What one prove carries between Step Functions tasks.

Every task receives the prove's state as JSON, parses it into :class:`ProveState`,
does one thing and returns the updated state. The workflow's Choices read only
`status` and `wait_seconds`, which are always present.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from pathprover.classifier.redact import redact
from pathprover.classifier.scope import FailureOrigin
from pathprover.core.records import FailureScope, Status
from pathprover.core.runconfig import RunConfig
from pathprover.stages.jobs import JobRef, JobStatus

ProveStatus = Literal["next", "polling", "finished", "failed", "skipped"]
"""next: start the next stage; polling: Wait, then check; finished: settle;
failed: the failure path; skipped: nothing ran."""


# ---- Step Functions history events (one execution may hold 25,000): the one account of them, used by
# the plan (each prove's share), the check (poll spacing) and the summary (the run's total).
CHOICE_AFTER: Final = ("begin", "advance", "check")
"""Steps followed by a Choice in the lane loop (failure, clean and settle go straight on)."""
EVENTS_PER_TASK: Final = 5
"""TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded, TaskStateExited."""
EVENTS_PER_STATE: Final = 2
"""A Choice, Wait, Pass, Succeed or Fail state: entered and exited."""
RUN_EVENTS_FIXED: Final = 2 + 1 + 2 + 4 + 1 + 2 + 2 + 2 * EVENTS_PER_TASK
"""Execution started and ended, IsDryRun, the Map's four own events, AnyErrors, Done, and the Plan and
Summarise tasks."""
LANE_EVENTS: Final = 2 + 2 * EVENTS_PER_STATE
"""A lane's Map iteration start and end, and its last HasProve and LaneDone."""


def prove_events(lambda_invocations: int, transitions: int) -> int:
    """History events of one prove: every task, and the Choice and Wait states around them."""
    return EVENTS_PER_TASK * lambda_invocations + EVENTS_PER_STATE * (transitions - lambda_invocations)


class StageRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str
    started_at: datetime
    finished_at: datetime | None = None
    polls: int = 0
    outcome: Literal[JobStatus, "skipped"] = "running"
    detection_latency_s: float | None = None
    note: str | None = None

    @field_validator("note")
    @classmethod
    def _clean_note(cls, value: str | None) -> str | None:
        return None if value is None else redact(value)

    @field_serializer("note")
    def _dump_note(self, value: str | None) -> str | None:
        return None if value is None else redact(value)


def _redacted_texts(values: list[str]) -> list[str]:
    return [redact(v) for v in values]


class Failure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str | None
    text: str
    origin: FailureOrigin = Field(default="job", description="where it was seen: job, api, harness, deadline")
    category: str | None = None
    retryable: bool | None = None
    evidence: str | None = None
    hint: str | None = None
    rule: str | None = None
    scope: FailureScope | None = Field(default=None, description="config, account or harness: who is at fault")
    action: str | None = Field(default=None, description="what a person must change (account, harness)")
    decided_by: str | None = None
    confidence: float | None = None

    # A failure text is redacted whole as it enters the state and again as it leaves it (the state is the
    # Step Functions history): no window is ever cut from an unredacted text.
    @field_validator("text", "evidence")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return None if value is None else redact(value)

    @field_serializer("text", "evidence")
    def _dump(self, value: str | None) -> str | None:
        return None if value is None else redact(value)

    @property
    def reason(self) -> str:
        """What the row and the summary say: the line that decided a known category; for `unknown` no line
        is known to matter more than the others, so the (redacted) text itself."""
        if self.category in (None, "unknown") or not self.evidence:
            return self.text
        return self.evidence


class ProveState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution_id: str
    run: RunConfig
    attempt: int = Field(default=1, ge=1, description="attempts of this config so far, this one included")
    previous_timeouts: int = Field(default=0, ge=0, description="the config's timeouts before this attempt")
    substitute_of: str | None = Field(
        default=None, description="instance type whose capacity failure this prove replaces (same config)"
    )
    lane: int = 0
    explicit: bool = Field(default=False, description="an explicit TARGET (re-proved even if proved before)")
    planned_at: datetime | None = None
    rows_since: datetime | None = Field(
        default=None,
        description="the plan's time on the rows' clock (run_timestamp is wall-clock time), where that is not "
        "the workflow's clock (the local runtime's virtual one); None: planned_at",
    )
    max_cost_usd: float = 50.0
    reserved_usd: float = 0.0
    keep_on_failure: bool = False
    plan: list[str] = Field(default_factory=list)
    index: int = 0
    status: ProveStatus = "next"
    wait_seconds: int = 0
    current: str | None = None
    job: JobRef | None = None
    stage_started_at: datetime | None = None
    deadline: datetime | None = None
    max_polls: int = 0
    artifacts: dict[str, str] = Field(default_factory=dict)
    resources: list[JobRef] = Field(default_factory=list)
    billing: dict[str, list[str]] = Field(
        default_factory=dict, description="resource name -> [started_at, ended_at?] for actual cost"
    )
    levels: list[dict[str, Any]] = Field(default_factory=list)
    history: list[StageRecord] = Field(default_factory=list)
    failure: Failure | None = None
    outcome: Literal["pending", Status, "skipped", "error"] = "pending"
    skip_reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    actual_cost_usd: float = 0.0
    records_written: int = 0
    cleaned: bool = False
    kept_resources: list[str] = Field(default_factory=list)
    leaked_resources: list[str] = Field(default_factory=list)
    lambda_invocations: int = 0
    steps: dict[str, int] = Field(default_factory=dict, description="task invocations by step")
    notes: list[str] = Field(default_factory=list)

    @field_validator("notes")
    @classmethod
    def _clean_notes(cls, value: list[str]) -> list[str]:
        return _redacted_texts(value)

    @field_serializer("notes")
    def _dump_notes(self, value: list[str]) -> list[str]:
        return _redacted_texts(value)

    events_allowance: int | None = Field(
        default=None, description="history events this prove may add (its share of the execution's 25,000)"
    )
    run_deadline: datetime | None = Field(
        default=None, description="when the execution's TimeoutSeconds is near: nothing may run past it"
    )

    @property
    def transitions(self) -> int:
        """State transitions of this prove in the lane loop, from what it did: the lane's HasProve choice,
        every Task, the Choice after begin/advance/check, and the Wait before every check. The local
        runtime checks this against the states the interpreter actually entered."""
        choices = sum(self.steps.get(step, 0) for step in CHOICE_AFTER)
        return 1 + self.lambda_invocations + choices + self.steps.get("check", 0)

    @property
    def events_used(self) -> int:
        """History events so far (see :func:`prove_events`)."""
        return prove_events(self.lambda_invocations, self.transitions)

    @property
    def config_id(self) -> str:
        return self.run.config_id

    @property
    def budget_key(self) -> str:
        """The ledger key of its reservation: a substitute reserves apart from the prove it replaces."""
        return self.config_id if self.substitute_of is None else f"{self.config_id}@{self.run.instance_type}"

    @property
    def polls(self) -> int:
        return sum(h.polls for h in self.history)

    @property
    def detection_latency_s(self) -> float:
        return round(sum(h.detection_latency_s or 0.0 for h in self.history), 3)
