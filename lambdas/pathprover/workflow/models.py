"""What the state machine passes between its states (all JSON).

Choices read only fields that are always present: `plan.dry_run`,
`has_prove`, `status` and `wait_seconds` at the top of a lane's state.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from pathprover.core.runconfig import CAPACITY_RESERVATION_ARN
from pathprover.core.targets import ValidationTarget
from pathprover.stages.state import ProveState

FilterValue = Annotated[str, Field(min_length=1, max_length=100)]
"""One value a gap search keeps (an empty list would keep nothing: leave the key out instead)."""


class WorkflowFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_family: list[FilterValue] | None = Field(default=None, min_length=1, max_length=50)
    instance_family: list[FilterValue] | None = Field(default=None, min_length=1, max_length=50)
    deployment_config: list[FilterValue] | None = Field(default=None, min_length=1, max_length=50)


class WorkflowInput(BaseModel):
    """The execution input, exactly the guide's names; anything else is refused before anything is created."""

    model_config = ConfigDict(extra="forbid")

    MAX_PROVES_PER_RUN: StrictInt = Field(
        default=10, ge=0, le=50, description="at most 50: one execution's history holds 25,000 events"
    )
    MAX_COST_PER_RUN: float = Field(default=50.0, ge=0, le=1_000_000, allow_inf_nan=False, strict=True)
    TARGETS: list[ValidationTarget] | None = Field(
        default=None, min_length=1, max_length=200, description="leave it out to prove gaps; never empty"
    )
    PARALLEL_LANES: StrictInt = Field(default=1, ge=1, le=16)
    DRY_RUN: StrictBool = False
    KEEP_ON_FAILURE: StrictBool = False
    FILTERS: WorkflowFilters | None = None
    INCLUDE_CATALOG: StrictBool = Field(default=False, description="search the catalog's values, not only those seen")
    CAPACITY_RESERVATIONS: dict[
        Annotated[str, Field(pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")],
        Annotated[str, Field(pattern=CAPACITY_RESERVATION_ARN)],
    ] = Field(
        default_factory=dict,
        max_length=50,
        description="instance type -> SageMaker training plan ARN: capacity-only types are proved only with one",
    )

    @model_validator(mode="after")
    def _no_search_options_with_targets(self) -> WorkflowInput:
        """FILTERS and INCLUDE_CATALOG steer the gap search; with TARGETS there is none, so they would be ignored."""
        if self.TARGETS is not None:
            ignored = [
                name
                for name, given in (("FILTERS", self.FILTERS is not None), ("INCLUDE_CATALOG", self.INCLUDE_CATALOG))
                if given
            ]
            if ignored:
                verb = "steer" if len(ignored) > 1 else "steers"
                raise ValueError(
                    f"{' and '.join(ignored)} {verb} the gap search, which TARGETS replaces: give one or the other"
                )
        return self


class ProveSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config_id: str
    status: str
    failure_category: str | None = None
    failure_scope: str | None = None
    failure_action: str | None = None
    failure_stage: str | None = None
    failure_reason: str | None = None
    skip_reason: str | None = None
    attempt: int = 1
    substitute_of: str | None = Field(default=None, description="the instance type a capacity failure left")
    notes: list[str] = Field(default_factory=list)
    tuned: bool = False
    transitions: int = 0
    lambda_invocations: int = 0
    polls: int = 0
    detection_latency_s: float = 0.0
    estimated_cost_usd: float = 0.0
    actual_cost_usd: float = 0.0
    model_name: str
    instance_type: str
    lane: int = 0
    dimensions: dict[str, Any] = Field(default_factory=dict)
    stages: list[dict[str, Any]] = Field(default_factory=list)
    kept_resources: list[str] = Field(default_factory=list)
    records_written: int = 0
    virtual_seconds: float = 0.0


class DoneRef(BaseModel):
    """A settled prove, as the lane carries it: its outcome, and where its full summary is (by key).

    Step Functions passes at most 256 KB between states: a 50-prove run's summaries do not fit, so
    each lives in the artifact store (S3) and the state carries this line.
    """

    model_config = ConfigDict(extra="forbid")

    config_id: str
    status: str
    failure_category: str | None = None
    failure_scope: str | None = None
    skip_reason: str | None = Field(default=None, max_length=200)
    actual_cost_usd: float = 0.0
    summary_uri: str


class LaneTask(BaseModel):
    """One lane's state: the prove in flight, where its queue is, and the outcomes of those done.

    The queue lives in the artifact store (``queue_uri``, written by the plan; ``queue_next`` is the
    next position); ``queue`` holds it inline only where no store is involved (tests, a lane built in
    memory).
    """

    model_config = ConfigDict(extra="forbid")

    execution_id: str
    lane: int
    max_cost_usd: float
    keep_on_failure: bool = False
    has_prove: bool = False
    status: str = "idle"
    wait_seconds: int = 0
    prove: ProveState | None = None
    queue: list[ProveState] = Field(default_factory=list)
    queue_uri: str | None = None
    queue_next: int = 0
    queue_total: int = 0
    done: list[DoneRef] = Field(default_factory=list)
    error: dict[str, Any] | None = None


class ExecutionPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution_id: str
    dry_run: bool
    max_proves: int
    max_cost_usd: float
    lanes: list[LaneTask]
    selected: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    excluded_total: int = 0
    excluded_counts: dict[str, int] = Field(default_factory=dict)
    estimated_total_usd: float = 0.0
    source: str = "gaps"
    gaps_total: int = 0
    nothing_planned_reason: str | None = Field(default=None, description="why nothing was selected, when nothing was")
    plan_uri: str | None = Field(default=None, description="the whole plan, every exclusion included (by key)")


class RunSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution_id: str
    dry_run: bool
    proved: list[str]
    failed: list[str]
    unfeasible: list[str]
    skipped: list[str]
    errors: list[str]
    account_actions: list[str] = Field(
        default_factory=list, description="what to change in the account (the limit to raise, the permission)"
    )
    leaked_resources: list[str]
    estimated_cost_usd: float
    actual_cost_usd: float
    max_cost_usd: float
    max_proves: int
    proves: list[ProveSummary]
    planned: list[dict[str, Any]]
    excluded_total: int
    excluded_counts: dict[str, int]
    excluded: list[dict[str, Any]] = Field(
        default_factory=list, description="the first exclusions, each with its reason (all of them: plan_uri)"
    )
    plan_uri: str | None = None
    nothing_planned_reason: str | None = Field(
        default=None, description="why the plan selected nothing, in one sentence (None when it selected something)"
    )
    records_written: int
    has_errors: bool
    simulated: bool
    error_report: str = ""
    max_state_bytes: int = Field(
        default=0, description="largest state data of the run (Step Functions' limit is 262,144 bytes)"
    )
    history_events: int = Field(
        default=0, description="events in the execution's history (Step Functions' limit is 25,000)"
    )
    summary_uri: str | None = Field(default=None, description="this summary in full, stage by stage (by key)")
