"""`pathprover`: the brain, the classifier and the local warehouse from a terminal.

This module only registers the commands; each lives in its own module and shares
`cli/common.py` (options, output, the JSON contract, error handling), which imports no command.
Problems a person can fix are printed as one clear message with exit code 2, never a traceback;
with `--json`, every command prints one JSON object (docs/cli-json.md).
"""

from __future__ import annotations

import typer

from pathprover.cli import brain_cmds, classify_cmd, examples_cmd, job_cmd, recommend_cmd, run_cmd, show_cmd, table_cmds
from pathprover.cli.common import JsonContractGroup
from pathprover.generate.cli import render_command
from pathprover.loadgen.cli import loadgen_command

app = typer.Typer(
    name="pathprover",
    cls=JsonContractGroup,
    help="Find, plan and prove untested ML-serving configuration paths.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
report_app = typer.Typer(help="The operations guide's monitoring reports.", no_args_is_help=True)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"pathprover {version('pathprover')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("pathprover (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Find, plan and prove untested ML-serving configuration paths."""


app.command("gaps")(brain_cmds.gaps)
app.command("plan")(brain_cmds.plan)
app.command("nearest")(brain_cmds.nearest_command)
app.command("show")(show_cmd.show_command)
app.command("recommend")(recommend_cmd.recommend_command)
app.command("sql")(table_cmds.sql)
app.add_typer(report_app, name="report")
report_app.command("coverage")(table_cmds.report_coverage)
report_app.command("html")(table_cmds.report_html)
report_app.command("unfeasible")(table_cmds.report_unfeasible)
report_app.command("recent")(table_cmds.report_recent)
app.command("mark-unfeasible")(table_cmds.mark_unfeasible)
app.command("seed")(table_cmds.seed)
app.command("classify")(classify_cmd.classify)
app.command("run")(run_cmd.run_command)
app.command("serve")(run_cmd.serve_command)
app.command("loadgen", help="Benchmark an OpenAI-compatible or SageMaker endpoint (deterministic workload).")(
    loadgen_command
)
app.command("render", help="Render the serving bundle of one validation target (JSON or YAML).")(render_command)
app.command("examples")(examples_cmd.examples)
app.command("benchmark-job")(job_cmd.benchmark_job)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
