"""pathprover/examples.py: the README's example paths work from any directory; a file that exists wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from pathprover.examples import example_files, examples_dir, resolve_input


def test_the_shipped_examples_are_found() -> None:
    names = [p.name for p in example_files()]
    assert "targets.yaml" in names and "faults.yaml" in names
    assert all(p.parent == examples_dir() for p in example_files())


def test_a_readme_path_reads_the_shipped_copy_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a directory without the examples
    monkeypatch.chdir(tmp_path)
    # When the README's path or the bare name is given, Then the shipped example is read
    assert resolve_input("examples/targets.yaml") == examples_dir() / "targets.yaml"
    assert resolve_input("targets.yaml") == examples_dir() / "targets.yaml"


def test_an_existing_file_wins_and_unknown_paths_come_back_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "targets.yaml").write_text("[]\n")
    assert resolve_input("targets.yaml") == Path("targets.yaml")  # the user's own file
    assert resolve_input("nothing.yaml") == Path("nothing.yaml")  # the reader then says it cannot read it
    assert resolve_input("other/targets.yaml") == Path("other/targets.yaml")  # not an examples/ path
    assert resolve_input(tmp_path / "gone.yaml") == tmp_path / "gone.yaml"  # absolute: never substituted
