"""`pathprover examples`: where the shipped example files are, so they work from any directory."""

from __future__ import annotations

from pathprover.cli.common import JsonOpt, emit_json, out


def examples(as_json: JsonOpt = False) -> None:
    """Where the shipped example files are (targets, faults, render configs) and their names.

    `--targets examples/targets.yaml` (or `--faults`, `--config`) reads the shipped copy from any directory
    where no such file exists.
    """
    from pathprover.examples import example_files, examples_dir

    files = example_files()
    if as_json:
        emit_json({"examples_dir": str(examples_dir()), "files": [f.name for f in files]})
        return
    out().print(f"examples in {examples_dir()}", highlight=False)
    for file in files:
        out().print(f"  {file.name}", highlight=False)
