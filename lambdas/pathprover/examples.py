"""The example files (`examples/*.yaml|json`: targets, faults, render configs), shipped with the package.

A wheel carries them as `pathprover/_examples` (pyproject's force-include); a checkout reads the repo's
`examples/`. An input path that does not exist and names a shipped example (`targets.yaml`, or
`examples/targets.yaml` as the README writes it) reads the shipped copy, so the README's commands work
from any directory; a file that exists always wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

EXAMPLE_SUFFIXES: Final = (".yaml", ".yml", ".json")


def examples_dir() -> Path:
    """The shipped examples: the copy packaged in the wheel, else the repo's `examples/`."""
    here = Path(__file__).resolve()
    packaged = here.parent / "_examples"  # pathprover/_examples in a wheel install
    if packaged.is_dir():
        return packaged
    return here.parents[2] / "examples"  # <repo>/lambdas/pathprover/examples.py -> <repo>/examples


def example_files() -> list[Path]:
    """The shipped example files, by name."""
    folder = examples_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXAMPLE_SUFFIXES)


def resolve_input(path: Path | str) -> Path:
    """``path`` if it exists; else, when it is relative and names a shipped example (``NAME`` or
    ``examples/NAME``), that example; else ``path`` unchanged (the reader then says it cannot read it)."""
    given = Path(path)
    if given.exists() or given.is_absolute():
        return given
    parts = given.parts
    if len(parts) == 1 or (len(parts) == 2 and parts[0] == "examples"):
        shipped = examples_dir() / parts[-1]
        if shipped.is_file():
            return shipped
    return given
