"""examples.py: the shipped example files, and an input path that names one reads it from any directory."""

from pathlib import Path

import pytest

from pathprover.examples import example_files, examples_dir, resolve_input


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no examples/ folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_shipped_examples_are_listed_by_name():
    # Given the repo's examples/ / Then the targets, faults and render configs are listed, sorted
    names = [p.name for p in example_files()]
    assert {"targets.yaml", "faults.yaml", "qwen3-32b.json"} <= set(names)
    assert names == sorted(names)
    assert all(p.parent == examples_dir() for p in example_files())


@pytest.mark.parametrize("given", ["targets.yaml", "examples/targets.yaml"])
def test_a_missing_path_that_names_a_shipped_example_reads_the_shipped_copy(elsewhere: Path, given: str):
    # Given a directory without the file / When the README's path is resolved / Then the shipped copy is read
    assert resolve_input(given) == examples_dir() / "targets.yaml"


def test_a_file_that_exists_always_wins(elsewhere: Path):
    (elsewhere / "targets.yaml").write_text("- model_name: mine\n")
    assert resolve_input("targets.yaml") == Path("targets.yaml")


@pytest.mark.parametrize("given", ["not-an-example.yaml", "other/targets.yaml", "a/examples/targets.yaml"])
def test_other_missing_paths_are_returned_unchanged_for_the_reader_to_refuse(elsewhere: Path, given: str):
    assert resolve_input(given) == Path(given)


def test_an_absolute_path_is_never_redirected(elsewhere: Path):
    missing = elsewhere / "targets.yaml"
    assert resolve_input(missing) == missing
