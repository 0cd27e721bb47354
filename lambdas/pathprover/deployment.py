"""The names a deployment and the code that runs on it share: one module, imported by ``infra/`` and the Lambdas.

The CDK app (``infra/constants.py``) builds resources with these names; the
handlers emit metrics, write ledger items and artifact keys with the same
ones, and the local runtime runs the same functions. Neither side restates
them, so no test has to check that two copies agree. Pure: no AWS import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

# --------------------------------------------------------------------------- observability
SERVICE_NAME: Final = "path-prover"
"""Powertools service name (logger, metrics, tracer) and the `service` dimension of every metric."""
METRICS_NAMESPACE: Final = "PathProver"
FAILURE_SCOPE_METRIC: Final = "ProveFailureScope"
"""Count of failed proves by dimension `scope` (config, account, harness); the stack alarms on account and
harness."""
JANITOR_DELETED_METRIC: Final = "JanitorDeleted"
"""Resources the janitor deleted (and builds it stopped) in one sweep."""
JANITOR_ERRORS_METRIC: Final = "JanitorErrors"
"""Resources the janitor could not deal with in one sweep."""

# --------------------------------------------------------------------------- ledger (DynamoDB)
LEDGER_TABLE: Final = "pathprover-ledger"
LEDGER_PARTITION_KEY: Final = "pk"
"""The one key attribute: `budget#<execution>`, `reservation#<execution>#<config>`, `lease#<config>`."""
LEDGER_TTL_ATTRIBUTE: Final = "expires_at"

# --------------------------------------------------------------------------- artifacts, workflow
ARTIFACT_PREFIX: Final = "pathprover"
"""The Lambdas' S3ArtifactStore prefix: every artifact key starts with it."""
ARTIFACT_AREAS: Final = ("bundles", "models", "io", "tune", "benchmarks", "wheels", "runs")
"""The folders under the prefix the Lambdas and builds write (the stack grants and expires each by name).
`runs`: a run's large state (plan, queue, per-prove results) kept out of the Step Functions payload
(256 KB) and passed by key."""
STATE_MACHINE_NAME: Final = "mlcc-path-prover"
"""The name the operations guide's start-execution example uses."""
EndedStatus = Literal["FAILED", "TIMED_OUT", "ABORTED"]
"""Execution statuses the stopped-execution clean-up runs on (the EventBridge rule's filter, the handler's event)."""
ENDED_STATUSES: Final[tuple[EndedStatus, ...]] = get_args(EndedStatus)


# --------------------------------------------------------------------------- functions
@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: its key (the ASL substitution is `<key>FunctionArn`), name, handler and size."""

    key: str
    name: str
    handler: str
    """`module.attribute`, as Lambda spells it."""
    memory_mb: int
    timeout_s: int

    @property
    def substitution(self) -> str:
        """The ASL placeholder its ARN fills: `${BrainFunctionArn}` -> `BrainFunctionArn`."""
        return f"{self.key}FunctionArn"


FUNCTIONS: Final[tuple[FunctionSpec, ...]] = (
    # The state machine's functions (every `${<key>FunctionArn}` of the ASL file); the local runtime runs the same.
    FunctionSpec("Brain", "pathprover-brain", "pathprover.handlers.brain.handler", 1024, 300),
    # Begin waits on one Athena query (up to 120 s, AthenaResults.max_wait_s): keep headroom over it.
    FunctionSpec("Begin", "pathprover-begin", "pathprover.handlers.prove.begin", 512, 300),
    FunctionSpec("Advance", "pathprover-advance", "pathprover.handlers.prove.advance", 1024, 600),
    FunctionSpec("Check", "pathprover-check", "pathprover.handlers.prove.check", 512, 300),
    FunctionSpec("Failure", "pathprover-failure", "pathprover.handlers.prove.failure", 1024, 300),
    FunctionSpec("Clean", "pathprover-clean", "pathprover.handlers.prove.clean", 512, 300),
    FunctionSpec("Settle", "pathprover-settle", "pathprover.handlers.prove.settle", 512, 60),
    FunctionSpec("Drop", "pathprover-drop", "pathprover.handlers.prove.drop", 256, 60),
    FunctionSpec("Summary", "pathprover-summary", "pathprover.handlers.summary.handler", 512, 120),
)
JANITOR: Final = FunctionSpec("Janitor", "pathprover-janitor", "pathprover.handlers.janitor.handler", 512, 600)
STOPPED_CLEANUP: Final = FunctionSpec(
    "StoppedCleanup", "pathprover-stopped-cleanup", "pathprover.handlers.stopped.handler", 512, 300
)
"""Runs when an execution ends FAILED, TIMED_OUT or ABORTED (an EventBridge rule on its status changes)."""
