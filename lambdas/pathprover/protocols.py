"""The Protocols: what the logic needs from the outside world (the AWS and local adapters implement them):
the results tables, the ledger, the clock, secrets, quotas and identity, and the stages' builder, fleet,
execution lookup and artifact store; and :class:`Services`, the set of them a handler works with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: the warehouse and the CLI import this module for its small result types
    from pathprover.catalog import Catalog
    from pathprover.core.records import BenchmarkRecord, LevelRecord
    from pathprover.settings import Settings
    from pathprover.stages.jobs import CleanReport, InvokeResult, JobRef, JobState, ManagedResource
    from pathprover.stages.specs import BuildJob, DeploySpec, TrainingSpec


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class AppendResult:
    written: int
    skipped_duplicates: int
    location: str = ""
    files: list[str] = field(default_factory=list)
    levels_written: int = 0
    levels_skipped_duplicates: int = 0


class TransientFailure(Exception):
    """A dependency said "try again" in a way no error code shows (a DynamoDB transaction cancelled by a
    conflicting one): the workflow retries the task, as it does throttling."""


class ResultsStore(Protocol):
    """The benchmark tables (`benchmark_results`, `benchmark_levels`): Athena/Glue on AWS, Parquet + DuckDB
    locally."""

    def append(self, records: Sequence[BenchmarkRecord], levels: Sequence[LevelRecord] = ()) -> AppendResult:
        """Write an attempt's levels, then its rows; in each table, what its record_id already has is
        skipped, so a retried register writes nothing twice."""
        ...

    def query(self, sql: str) -> QueryResult:
        """Run Athena (Trino) SQL against `mlcc_ci.benchmark_results` (and `mlcc_ci.benchmark_levels`)."""
        ...

    def describe(self) -> str:
        """Where the table lives, for people."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Held:
    """One config an execution still holds."""

    lease_owner: str | None = None
    reserved_usd: float | None = None
    """The open reservation's amount (None: settled, or never reserved)."""


class Ledger(Protocol):
    """Budget reservations and config leases shared by every lane and every overlapping execution.

    DynamoDB on AWS (conditional writes), SQLite locally (one transaction per call).
    Invariant: for an execution, settled actual cost + open reservations <= its max cost.
    """

    def in_flight(self, execution_id: str) -> dict[str, Held]:
        """What the execution still holds, by config id (its lease, its open reservation): what a stopped
        execution leaves behind."""
        ...

    def reserve(self, execution_id: str, config_id: str, amount_usd: float, max_cost_usd: float) -> bool:
        """Reserve `amount_usd` for one prove; False when it would break the budget. Idempotent per prove."""
        ...

    def settle(self, execution_id: str, config_id: str, actual_usd: float) -> None:
        """Replace the prove's reservation by what it actually cost. Idempotent."""
        ...

    def totals(self, execution_id: str) -> tuple[float, float]:
        """(settled actual cost, open reservations) of an execution."""
        ...

    def acquire_lease(self, config_id: str, owner: str, ttl_seconds: int, now: datetime) -> bool:
        """Take the config for `owner` unless another owner holds an unexpired lease."""
        ...

    def release_lease(self, config_id: str, owner: str) -> None: ...


class SecretLookup(Protocol):
    """Whether a Secrets Manager secret exists. Never reads its value: the plan only needs to know."""

    def exists(self, secret_id: str) -> bool: ...


class AccountIdentity(Protocol):
    """The account the prover deploys into (resolves the guide's literal ``ACCOUNT`` in an ARN)."""

    def account_id(self) -> str:
        """The 12-digit account id."""
        ...


class QuotaLookup(Protocol):
    """The account's applied SageMaker quotas, as far as the plan needs them."""

    def instance_quota(self, instance_type: str, usage: str) -> int | None:
        """'<instance type> for <usage>' (usage: 'endpoint usage' or 'transform job usage'); None: unknown."""
        ...


class Builder(Protocol):
    """Runs containerised jobs from a source bundle (CodeBuild on AWS)."""

    def start(self, job: BuildJob) -> JobRef: ...

    def check(self, ref: JobRef) -> JobState:
        """``detail["image_digest"]`` on a successful build that exported IMAGE_DIGEST."""
        ...

    def stop(self, ref: JobRef) -> None:
        """Stop the job if it still runs; a finished or unknown job is not an error."""
        ...

    def image_exists(self, image_uri: str) -> bool:
        """Whether ``repository:tag`` is in the registry (the benchmark runner image before its first use)."""
        ...

    def running(self, execution_id: str, project: str) -> list[JobRef]:
        """Builds of ``project`` that ``execution_id`` started and that still run (to stop after the
        execution was stopped)."""
        ...

    def in_progress(self, project: str) -> list[JobRef]:
        """Every build of ``project`` that still runs, with the execution that started it in
        ``meta["execution_id"]`` (absent when the build carries none): what the janitor judges."""
        ...


class ManagedInventory(Protocol):
    """What the janitor needs from a fleet: everything Path Prover made, and a way to remove it."""

    def inventory(self) -> list[ManagedResource]:
        """Every endpoint, endpoint config and model, and every in-progress training and transform job,
        tagged ``managed-by=path-prover`` (untagged resources are skipped)."""
        ...

    def delete(self, resources: list[ManagedResource]) -> CleanReport:
        """Delete endpoints, endpoint configs and models, stop jobs; not-found (or a job no longer running)
        is ``already_gone``; an API refusal goes to ``errors`` and the rest are still removed. Labels are
        :attr:`ManagedResource.label`."""
        ...


class Fleet(ManagedInventory, Protocol):
    """Hosts and runs models (SageMaker on AWS)."""

    def start_deploy(self, spec: DeploySpec) -> JobRef:
        """One ref: kind ``endpoint`` (realtime/async) or ``transform``; component names in ``meta``."""
        ...

    def check(self, ref: JobRef) -> JobState: ...

    def invoke(self, ref: JobRef, body: bytes, content_type: str) -> InvokeResult: ...

    def start_training(self, spec: TrainingSpec) -> JobRef: ...

    def clean(self, refs: list[JobRef], keep: bool) -> CleanReport:
        """Delete or stop everything the refs name; idempotent; ``keep`` reports instead of deleting."""
        ...

    def alive(self, tag_filter: dict[str, str]) -> list[str]:
        """ARNs of billing resources (endpoints, running jobs) whose tags include ``tag_filter``."""
        ...


class ExecutionLookup(Protocol):
    """The status of a workflow execution (Step Functions on AWS)."""

    def status(self, execution_name: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED (or PENDING_REDRIVE); None if no such execution.

        ``execution_name`` is the value of the ``pathprover:execution`` tag. Anything other than
        "does not exist" (a permission, throttling past the retries) raises.
        """
        ...


class ArtifactStore(Protocol):
    """Blobs: bundles, benchmark samples, manifests (S3 on AWS)."""

    def uri(self, key: str) -> str:
        """The URI an object (or, for a key ending in /, a prefix) has in this store; writes nothing."""
        ...

    def put_bytes(self, key: str, data: bytes) -> str:
        """Store under ``key`` (relative to the store's prefix); returns the URI."""
        ...

    def get_bytes(self, uri: str) -> bytes: ...

    def exists(self, uri: str) -> bool: ...

    def location(self, uri: str) -> str:
        """Where a person finds the object a URI of this store names: the S3 URI itself on AWS; the
        ``file://`` URI of the real file in a local store (whose specs use an ``s3://`` alias). Pure."""
        ...


@dataclass
class Services:
    """The adapters a handler works with: one implementation of each port.

    Built by ``adapters/aws/factory.py`` (Lambda) or the local runtime, installed and handed out by
    ``pathprover.services``. It lives here, beside the Protocols, so an adapter factory can build it
    without importing the module that chooses the factory.
    """

    settings: Settings
    catalog: Catalog
    store: ResultsStore
    builder: Builder
    fleet: Fleet
    artifacts: ArtifactStore
    ledger: Ledger
    clock: Clock
    simulated: bool
    executions: ExecutionLookup | None = None
    """Workflow execution statuses (the janitor); None where no state machine is configured."""
    secrets: SecretLookup | None = None
    """Whether the Hugging Face token secret exists (the plan checks it before planning a gated model)."""
    quotas: QuotaLookup | None = None
    """The account's instance quotas (the plan leaves out types the account may not run)."""
    identity: AccountIdentity | None = None
    """Who the deploying account is (settings' account_id wins; else STS on AWS, the simulated one locally)."""
    wall_clock: Clock | None = None
    """What stamps the rows' run_timestamp when ``clock`` is not real time (the local runtime's clock is
    simulated, hours ahead of the wall clock); None: ``clock`` (on AWS it is the real time)."""


def record_time(svc: Services) -> datetime:
    """The run_timestamp of a row written now: wall-clock UTC, never simulated time."""
    now = (svc.wall_clock or svc.clock).now()
    return now if now.tzinfo else now.replace(tzinfo=UTC)
