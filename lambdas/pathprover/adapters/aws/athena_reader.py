"""The real table from a terminal: Athena SQL through pyathena, for `pathprover ... --athena`.

Where to query comes from flags, then the settings (``PATHPROVER_ATHENA_WORKGROUP``), then the outputs
of the deployed stack (``AthenaWorkgroup``, and ``ResultsBucket`` for the result location the
workgroup enforces anyway). The reads are :class:`~pathprover.adapters.aws.results.AthenaResultsStore`
reads: the query's result file through pyathena's Arrow result set, in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pathprover.adapters.aws.clients import AwsClients, error_code, error_message
from pathprover.adapters.aws.results import AthenaQueryError, AthenaResultsStore, MissingDependencyError
from pathprover.core import schema
from pathprover.core.errors import InputError
from pathprover.core.records import BenchmarkRecord, LevelRecord
from pathprover.protocols import AppendResult, QueryResult

if TYPE_CHECKING:
    from pathprover.brain.history import History
    from pathprover.settings import Settings

DEFAULT_STACK: Final = "MlccCiHarnessStack"
"""The stack `cdk deploy` creates (infra.constants.STACK_NAME; a named deployment is `...-<name>`)."""
OUTPUT_WORKGROUP: Final = "AthenaWorkgroup"
OUTPUT_RESULTS_BUCKET: Final = "ResultsBucket"
ATHENA_RESULTS_PREFIX: Final = "athena-results/"
"""The stack's output names and the workgroup's result prefix (infra.constants; a test keeps them equal)."""


class AthenaReadError(InputError):
    """Athena cannot be read from here: no credentials, no stack, a failed query. One line a person can act on."""

    code = "athena"


@dataclass(frozen=True)
class AthenaTarget:
    """Where the CLI's queries run."""

    workgroup: str | None
    output_location: str | None
    region: str
    database: str = schema.TABLE_DATABASE
    stack: str | None = None
    """The stack whose outputs named the workgroup, if one did."""

    def describe(self) -> str:
        parts = [f"workgroup {self.workgroup or 'primary'}", f"region {self.region}"]
        if self.output_location:
            parts.append(f"results {self.output_location}")
        if self.stack:
            parts.append(f"from stack {self.stack}")
        return "Athena " + ", ".join(parts)


def _friendly(exc: BaseException, doing: str) -> AthenaReadError:
    """One line for an AWS error (credentials, access, throttling) met while ``doing``."""
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError", "NoRegionError"):
        return AthenaReadError(f"{doing}: no AWS credentials ({exc}); set AWS_PROFILE or the AWS_* variables")
    code = error_code(exc)
    if code:
        return AthenaReadError(f"{doing}: {code}: {error_message(exc)}")
    return AthenaReadError(f"{doing}: {exc}")


def stack_outputs(clients: AwsClients, stack_name: str) -> dict[str, str]:
    """The outputs of a deployed stack, by key."""
    try:
        stacks = clients.get("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:
        if "does not exist" in error_message(exc):
            raise AthenaReadError(
                f"stack {stack_name} does not exist in {clients.region}: give --stack-name (and the region in "
                "AWS_REGION), or --workgroup and --output-location"
            ) from exc
        raise _friendly(exc, f"reading the outputs of stack {stack_name}") from exc
    outputs = stacks[0].get("Outputs", []) if stacks else []
    return {str(o["OutputKey"]): str(o["OutputValue"]) for o in outputs if "OutputKey" in o}


def resolve_target(
    settings: Settings,
    *,
    workgroup: str | None = None,
    output_location: str | None = None,
    stack_name: str | None = None,
    clients: AwsClients | None = None,
) -> AthenaTarget:
    """Flags, then settings, then the stack's outputs (read only when needed: a stack is named, or no
    workgroup or result location is known)."""
    workgroup = workgroup or settings.athena_workgroup
    if output_location is not None and not output_location.startswith("s3://"):
        raise AthenaReadError(f"--output-location must be an s3:// URI, got {output_location!r}")
    stack = None
    if stack_name is not None or (workgroup is None and output_location is None):
        stack = stack_name or settings.stack or DEFAULT_STACK
        outputs = stack_outputs(clients or AwsClients(settings.region), stack)
        if workgroup is None:
            workgroup = outputs.get(OUTPUT_WORKGROUP)
            if workgroup is None:
                raise AthenaReadError(f"stack {stack} has no {OUTPUT_WORKGROUP} output: give --workgroup")
        if output_location is None and OUTPUT_RESULTS_BUCKET in outputs:
            output_location = f"s3://{outputs[OUTPUT_RESULTS_BUCKET]}/{ATHENA_RESULTS_PREFIX}"
    return AthenaTarget(
        workgroup=workgroup,
        output_location=output_location,
        region=settings.region,
        database=settings.glue_database,
        stack=stack,
    )


class AthenaReader:
    """A read-only :class:`~pathprover.protocols.ResultsStore` on the real table, for the CLI.

    Its queries are the store's (pyathena); every error comes out as one :class:`AthenaReadError`.
    """

    def __init__(self, target: AthenaTarget, clients: AwsClients | None = None, max_wait_s: float = 300.0) -> None:
        self.target = target
        self.store = AthenaResultsStore(
            clients or AwsClients(target.region),
            table_s3_uri=None,
            database=target.database,
            workgroup=target.workgroup,
            output_location=target.output_location,
            max_wait_s=max_wait_s,
        )

    def query(self, sql: str) -> QueryResult:
        try:
            return self.store.query(sql)
        except (AthenaQueryError, MissingDependencyError) as exc:
            raise AthenaReadError(str(exc)) from exc
        except Exception as exc:
            if type(exc).__module__.startswith(("botocore", "boto3")):
                raise _friendly(exc, f"querying {self.target.describe()}") from exc
            raise

    def append(self, records: Sequence[BenchmarkRecord], levels: Sequence[LevelRecord] = ()) -> AppendResult:
        raise AthenaReadError("--athena reads the real table; it never writes to it")

    def describe(self) -> str:
        return f"{self.target.database}.{schema.TABLE_NAME} in {self.target.describe()}"


def run_sql(target: AthenaTarget, sql: str, clients: AwsClients | None = None) -> QueryResult:
    """Run Athena (Trino) SQL on the real table: its columns and rows."""
    return AthenaReader(target, clients).query(sql)


def load_history(target: AthenaTarget, clients: AwsClients | None = None) -> History:
    """The brain's history of the real table (the same two queries the brain's Lambda runs)."""
    from pathprover.brain.history import read_history

    return read_history(AthenaReader(target, clients))
