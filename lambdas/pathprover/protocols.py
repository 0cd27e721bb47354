"""Ports: what the logic needs from the outside world (AWS and local adapters implement them), and
:class:`Services`, the set of them a handler works with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from pathprover.core.records import BenchmarkRecord, LevelRecord
from pathprover.stages.specs import ArtifactStore, Builder, ExecutionLookup, Fleet

if TYPE_CHECKING:
    from pathprover.catalog import Catalog
    from pathprover.settings import Settings


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
