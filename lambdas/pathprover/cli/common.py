"""What every `pathprover` command shares: options, output, the JSON contract and error handling.

No command module is imported here, so every command (and `app.py`, which only registers them)
can import this without a cycle. Heavy modules (rich, the warehouse, the catalog) load on first
use: `pathprover loadgen` pays only for what it touches.

The JSON contract (docs/cli-json.md): with `--json`, a command prints exactly one JSON object on
stdout, success or error, each carrying ``schema_version``; an error is
``{"schema_version": 1, "error": {"code": ..., "message": ...}}``. Exit codes: 0 ok, 1 the run
did not succeed or ``--fail-on`` matched, 2 usage or input error, 3 internal error, 130
interrupted.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from pathprover.core.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

    from pathprover.adapters.local.warehouse import LocalWarehouse
    from pathprover.brain.history import History
    from pathprover.catalog import Catalog
    from pathprover.protocols import ResultsStore
    from pathprover.settings import Settings

SCHEMA_VERSION = 1
"""Bumped when a JSON output changes incompatibly (a key removed or its meaning changed)."""

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

_JSON_MODE: ContextVar[bool] = ContextVar("pathprover_json_mode", default=False)

WarehouseOpt = Annotated[
    Path | None, typer.Option("--warehouse", help="Local warehouse folder [env PATHPROVER_WAREHOUSE]")
]
TableOpt = Annotated[Path | None, typer.Option("--table", help="Read this Parquet file or folder instead")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object (docs/cli-json.md)")]


class UserError(InputError):
    """A problem the user can fix; printed without a traceback."""


# --------------------------------------------------------------------------- consoles
@cache
def out() -> Console:
    """Standard output; piped output keeps whole lines (rich would wrap at 80 columns)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 200)


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def json_mode() -> bool:
    """True while a command invoked with `--json` runs (errors then go to stdout as JSON)."""
    return _JSON_MODE.get()


# --------------------------------------------------------------------------- output
def emit_json(payload: dict[str, Any]) -> None:
    """The command's one JSON object, with the schema version first."""
    sys.stdout.write(json_line({"schema_version": SCHEMA_VERSION, **payload}) + "\n")
    sys.stdout.flush()


def json_line(payload: Any) -> str:
    return json.dumps(payload, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _one_line(text: str) -> str:
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip()) or str(text)


def error_payload(code: str, message: str) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "error": {"code": code, "message": message}}


def fail(message: str, code: int = EXIT_USAGE, *, error_code: str = "invalid_input") -> NoReturn:
    """End the command with one clear message (a JSON error object on stdout under `--json`)."""
    if json_mode():
        sys.stdout.write(json_line(error_payload(error_code, message)) + "\n")
        sys.stdout.flush()
    else:
        from rich.markup import escape

        err().print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def finite(value: float | None) -> float | None:
    """An option callback for every float option: click's range check lets NaN through (every
    comparison with NaN is false), and a NaN budget or price would pass every limit it is compared with."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, not {value}")
    return value


def describe_error(exc: BaseException) -> str:
    """One formatting of an input error for every command (pydantic's included)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from pathprover.core.documents import describe_validation_error

        return describe_validation_error(exc)
    return str(exc)


@contextmanager
def people_errors() -> Iterator[None]:
    """Turn the errors a person can act on into one message and exit code 2."""
    from pydantic import ValidationError

    try:
        yield
    except (InputError, ValidationError) as exc:
        fail(describe_error(exc), error_code=getattr(exc, "code", "invalid_input"))


# --------------------------------------------------------------------------- the command group
class JsonContractGroup(TyperGroup):
    """Keeps the JSON contract for what happens outside a command too: a usage error (an unknown
    option, a bad value) or an unexpected exception under `--json` is an error object on stdout."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        as_json = "--json" in argv[: argv.index("--") if "--" in argv else len(argv)]
        token = _JSON_MODE.set(as_json)
        try:
            if not as_json or not standalone_mode:
                return super().main(argv, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
            try:
                rv = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
            except typer.Abort:
                sys.stdout.write(json_line(error_payload("interrupted", "aborted")) + "\n")
                sys.exit(EXIT_INTERRUPTED)
            except Exception as exc:
                if _is_usage_error(exc):  # an unknown option, a bad value: click's (typer's) own errors
                    sys.stdout.write(json_line(error_payload("usage", exc.format_message())) + "\n")  # type: ignore[attr-defined]
                    sys.exit(EXIT_USAGE)
                # A bug: the object on stdout, the traceback on stderr.
                import traceback

                traceback.print_exc()
                sys.stdout.write(json_line(error_payload("internal", f"{type(exc).__name__}: {exc}")) + "\n")
                sys.exit(EXIT_INTERNAL)
            sys.exit(rv if isinstance(rv, int) else EXIT_OK)
        finally:
            _JSON_MODE.reset(token)


def _is_usage_error(exc: BaseException) -> bool:
    """Click's usage errors, matched by shape: typer vendors click, so the class is not public."""
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


# --------------------------------------------------------------------------- opening things
def settings_for(warehouse: Path | None) -> Settings:
    from pathprover.settings import Settings

    settings = Settings.from_env()
    if warehouse is not None:
        settings = settings.model_copy(update={"warehouse": warehouse})
    return settings


def open_store(warehouse: Path | None, table: Path | None) -> LocalWarehouse:
    from pathprover.adapters.local.warehouse import LocalWarehouse

    return LocalWarehouse(settings_for(warehouse).warehouse, table=table)


def open_catalog(warehouse: Path | None = None) -> Catalog:
    from pathprover.catalog import load_catalog

    return load_catalog(settings_for(warehouse).catalog_dir)


def load_history(store: LocalWarehouse | ResultsStore) -> History:
    """The table's history; an empty warehouse is a first run (the brain plans from the catalog)."""
    from pathprover.adapters.local.warehouse import LocalWarehouse
    from pathprover.brain.history import History, read_history

    if not isinstance(store, LocalWarehouse):  # `--athena`: the real table (pathprover.cli.athena)
        return read_history(store)
    if not store.exists():
        if store.table is None:
            return History(configs={}, total_rows=0)
        raise UserError(
            f"the table is empty: no Parquet files in {store.describe()}. "
            "Point --table at your benchmark_results Parquet."
        )
    problems = store.problems()
    if problems:
        raise UserError("the table has rows the brain cannot use:\n  " + "\n  ".join(problems))
    return read_history(store)


def queryable(warehouse: Path | None, table: Path | None) -> LocalWarehouse:
    """A store with data: querying a warehouse that does not exist is a mistake worth saying."""
    store = open_store(warehouse, table)
    if not store.exists():
        raise UserError(
            f"the table is empty: no Parquet files in {store.describe()}. "
            "Run `pathprover seed` or `pathprover run`, or point --table at your benchmark_results Parquet."
        )
    return store


def now_utc() -> datetime:
    return datetime.now(UTC)


def only_given(**values: list[str] | None) -> dict[str, list[str]]:
    """The filters a person gave (an option left out filters nothing)."""
    return {k: v for k, v in values.items() if v}


def print_rows(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    out().print(t)
    out().print(f"{len(rows)} row(s)")
