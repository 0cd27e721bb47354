"""`--athena`: the commands that read the table (sql, gaps, plan, nearest, show, recommend, report) read
the real one.

The four options are shared Annotated types, and :func:`open_source` is the one place such a command
gets its table: the local warehouse (or `--table`), or with `--athena` a read-only store on Athena
whose queries go through pyathena (:mod:`pathprover.adapters.aws.athena_reader`). Nothing AWS is
imported unless `--athena` is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pathprover.cli.common import UserError, open_store, queryable, settings_for

if TYPE_CHECKING:
    from pathprover.adapters.aws.athena_reader import AthenaReader
    from pathprover.adapters.local.warehouse import LocalWarehouse
    from pathprover.protocols import QueryResult

_PANEL = "Athena (the real table)"

AthenaOpt = Annotated[
    bool,
    typer.Option(
        "--athena",
        help="Read the real table in Athena (through pyathena) instead of the local warehouse. Workgroup and "
        "result location: the options below, else PATHPROVER_ATHENA_WORKGROUP, else the deployed stack's outputs",
        rich_help_panel=_PANEL,
    ),
]
WorkgroupOpt = Annotated[
    str | None,
    typer.Option(
        "--workgroup",
        help="Athena workgroup (env PATHPROVER_ATHENA_WORKGROUP; default: the stack's AthenaWorkgroup output)",
        rich_help_panel=_PANEL,
    ),
]
OutputLocationOpt = Annotated[
    str | None,
    typer.Option(
        "--output-location",
        help="s3:// location for query results, for a workgroup that does not enforce one "
        "(default: s3://<the stack's ResultsBucket>/athena-results/)",
        rich_help_panel=_PANEL,
    ),
]
StackNameOpt = Annotated[
    str | None,
    typer.Option(
        "--stack-name",
        help="The deployed stack whose outputs name the workgroup (env PATHPROVER_STACK; default MlccCiHarnessStack)",
        rich_help_panel=_PANEL,
    ),
]


@dataclass(frozen=True)
class AthenaArgs:
    """A command's four Athena options, as given."""

    athena: bool = False
    workgroup: str | None = None
    output_location: str | None = None
    stack_name: str | None = None


def _refuse_stray_options(athena: AthenaArgs) -> None:
    given = [
        flag
        for flag, value in (
            ("--workgroup", athena.workgroup),
            ("--output-location", athena.output_location),
            ("--stack-name", athena.stack_name),
        )
        if value is not None
    ]
    if given:
        raise UserError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} only with --athena")


def open_source(warehouse: Path | None, table: Path | None, athena: AthenaArgs) -> LocalWarehouse | AthenaReader:
    """The table a read command works on: the local warehouse or `--table`, or with `--athena` Athena's."""
    if not athena.athena:
        _refuse_stray_options(athena)
        return open_store(warehouse, table)
    if table is not None:
        raise UserError("give --table or --athena, not both")
    from pathprover.adapters.aws.athena_reader import AthenaReader, resolve_target

    target = resolve_target(
        settings_for(warehouse),
        workgroup=athena.workgroup,
        output_location=athena.output_location,
        stack_name=athena.stack_name,
    )
    return AthenaReader(target)


def queryable_source(warehouse: Path | None, table: Path | None, athena: AthenaArgs) -> LocalWarehouse | AthenaReader:
    """As :func:`open_source`, but a local table must hold data (querying an empty one is a mistake)."""
    if athena.athena:
        return open_source(warehouse, table, athena)
    _refuse_stray_options(athena)
    return queryable(warehouse, table)


def query_source(warehouse: Path | None, table: Path | None, athena: AthenaArgs, sql: str) -> QueryResult:
    """A person's SQL: read-only on a local table that must have data (DuckDB), or as it is on Athena."""
    from pathprover.adapters.local.warehouse import LocalWarehouse

    store = queryable_source(warehouse, table, athena)
    if isinstance(store, LocalWarehouse):
        return store.query(sql, untrusted=True)
    return store.query(sql)
