"""Jobs the stages start and poll: the references Step Functions carries between tasks, the answer to one
poll, what a clean-up did, the resources the janitor sees, and how long to wait before the next poll.

Long jobs are started fire-and-forget (``start*`` returns a :class:`JobRef`) and
polled (``check`` returns a :class:`JobState` with a ``wait_seconds`` suggestion
for the workflow's Wait state). A failure that belongs to the *config* (a quota,
a stock-out, a container that ran out of memory) is never raised: it comes back
as a failed :class:`JobState` whose ``failure_text`` the classifier reads.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Final, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pathprover.stages.naming import (
    TAG_EXECUTION,
    TAG_EXPIRY,
    TAG_MANAGED_BY,
    TAG_MANAGED_BY_VALUE,
    TAG_STACK,
    parse_utc_iso,
)

BuildKind = Literal["build", "stage", "benchmark", "runner"]
"""Jobs the Builder runs. `runner`: the benchmark runner image, built once per tag (at deploy, or by the first
prove that needs it)."""
FleetKind = Literal["endpoint", "transform", "training"]
"""Jobs and resources the Fleet runs."""
JobKind = Literal[BuildKind, FleetKind]
BUILD_KINDS: Final[tuple[BuildKind, ...]] = get_args(BuildKind)
FLEET_KINDS: Final[tuple[FleetKind, ...]] = get_args(FleetKind)
JobStatus = Literal["running", "succeeded", "failed"]
ManagedKind = Literal["endpoint", "endpoint-config", "model", "training-job", "transform-job"]
MANAGED_KINDS: Final[tuple[ManagedKind, ...]] = get_args(ManagedKind)
"""The SageMaker resources a prove creates, spelled as their ARNs spell the resource type
(``arn:aws:sagemaker:…:endpoint-config/NAME``): the IAM scopes in ``infra/`` are built from them."""
MIN_WAIT_SECONDS: Final = 10
MAX_WAIT_SECONDS: Final = 600


OVERDUE_BACKOFF: Final = 0.1
"""Past its expected end a job is polled every 10 % of the time it has taken so far (plus 15 s / 30 s):
real durations spread well past the catalog's figures, and a 1.5x deploy must not cost 20 polls."""


def suggest_wait(elapsed_s: float, expected_s: float, billing: bool) -> int:
    """How long the workflow should Wait before the next poll, in [10, 600] seconds.

    Before the expected end, wait most of the time left: all of it for a job
    that does not bill while we wait (a build), 90 % of it for a billing
    endpoint or job, so a 12-minute build is polled about twice and a 2-hour
    tune a handful of times, keeping state transitions low. Within two minutes
    of the expected end of billing work the next poll lands on the expected end, so a
    finished endpoint is seen promptly. Past the expected end it waits 15 s (billing) /
    30 s plus :data:`OVERDUE_BACKOFF` of the time taken so far, at most 120 s / 300 s.
    An unknown (zero or non-finite) expectation polls every 30 s / 60 s.
    """
    elapsed = elapsed_s if math.isfinite(elapsed_s) and elapsed_s > 0 else 0.0
    expected = expected_s if math.isfinite(expected_s) and expected_s > 0 else 0.0
    ceiling = float(MAX_WAIT_SECONDS)
    if expected == 0.0:
        raw = 30.0 if billing else 60.0
    elif elapsed < expected:
        remaining = expected - elapsed
        raw = remaining * (0.9 if billing else 1.0)
        if billing and remaining <= 120.0:
            raw = remaining  # land on the expected end; overdue polls are short
    else:
        overdue = elapsed - expected
        raw = (15.0 if billing else 30.0) + (expected + overdue) * OVERDUE_BACKOFF
        ceiling = 120.0 if billing else 300.0
    return int(min(ceiling, max(float(MIN_WAIT_SECONDS), math.ceil(raw))))


class JobRef(BaseModel):
    """A started job or resource; JSON-serialisable so Step Functions can carry it between tasks.

    ``start_failure`` is set when the start call itself was refused for a reason
    that belongs to the config (a quota, no capacity): ``check`` then reports the
    failure without calling the cloud, so the workflow has one failure path.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: JobKind
    name: str
    arn_or_id: str
    started_at: datetime
    meta: dict[str, str] = Field(default_factory=dict)
    start_failure: str | None = None

    @field_validator("started_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def elapsed_seconds(self, now: datetime) -> float:
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        return max(0.0, (now - self.started_at).total_seconds())


class JobState(BaseModel):
    """The answer to one poll."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    done: bool
    status: JobStatus
    wait_seconds: int = Field(ge=0, le=MAX_WAIT_SECONDS, description="suggested Wait before the next poll")
    detail: dict[str, Any] = Field(default_factory=dict)
    failure_text: str | None = None
    failure_stage: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.done != (self.status != "running"):
            raise ValueError("done must be true exactly when status is succeeded or failed")
        if self.status == "failed" and not (self.failure_text or "").strip():
            raise ValueError("a failed JobState needs a failure_text for the classifier")
        if self.status != "failed" and self.failure_text is not None:
            raise ValueError("failure_text is only set on a failed JobState")
        return self

    @classmethod
    def running(cls, wait_seconds: int, detail: dict[str, Any] | None = None) -> JobState:
        wait = max(MIN_WAIT_SECONDS, min(MAX_WAIT_SECONDS, int(wait_seconds)))
        return cls(done=False, status="running", wait_seconds=wait, detail=detail or {})

    @classmethod
    def succeeded(cls, detail: dict[str, Any] | None = None) -> JobState:
        return cls(done=True, status="succeeded", wait_seconds=0, detail=detail or {})

    @classmethod
    def failed(cls, text: str, stage: str | None, detail: dict[str, Any] | None = None) -> JobState:
        return cls(
            done=True,
            status="failed",
            wait_seconds=0,
            detail=detail or {},
            failure_text=text.strip() or "failed without a message",
            failure_stage=stage,
        )


class InvokeResult(BaseModel):
    """One request to a deployed model. Not-ready is status 503, never an exception."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status_code: int
    body: bytes = b""
    error: str | None = None
    output_location: str | None = Field(default=None, description="async inference: where the answer will be")

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300 and self.error is None


class CleanReport(BaseModel):
    """What ``clean`` did; already-gone resources count as success."""

    model_config = ConfigDict(extra="forbid")

    deleted: list[str] = Field(default_factory=list)
    already_gone: list[str] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ManagedResource(BaseModel):
    """One SageMaker resource tagged ``managed-by=path-prover``, as the janitor sees it.

    ``label`` (``kind/name``) is the spelling :class:`CleanReport` uses.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ManagedKind
    name: str = Field(min_length=1)
    arn: str
    tags: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    status: str | None = Field(default=None, description="SageMaker's status word, where the listing gives one")

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def managed(self) -> bool:
        return self.tags.get(TAG_MANAGED_BY) == TAG_MANAGED_BY_VALUE

    @property
    def execution(self) -> str | None:
        """The ``pathprover:execution`` tag (the execution name as :func:`tag_value` wrote it), if any."""
        return self.tags.get(TAG_EXECUTION) or None

    @property
    def stack(self) -> str | None:
        """The ``pathprover:stack`` tag (the deployment that made it), if any: older resources have none."""
        return self.tags.get(TAG_STACK) or None

    @property
    def expiry(self) -> datetime | None:
        """The ``pathprover:expiry`` tag, parsed; None if missing or unreadable."""
        return parse_utc_iso(self.tags.get(TAG_EXPIRY))


def resource_components(ref: JobRef) -> list[tuple[str, str]]:
    """The SageMaker resources behind a job reference, in deletion order: (kind, name)."""
    meta = ref.meta
    if ref.kind == "endpoint":
        return [
            ("endpoint", meta.get("endpoint", ref.name)),
            ("endpoint-config", meta.get("endpoint_config", "")),
            ("model", meta.get("model", "")),
        ]
    if ref.kind == "transform":
        return [("transform-job", meta.get("transform_job", ref.name)), ("model", meta.get("model", ""))]
    if ref.kind == "training":
        return [("training-job", ref.name)]
    return []
