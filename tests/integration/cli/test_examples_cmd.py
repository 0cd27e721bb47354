"""cli/examples_cmd.py: `pathprover examples` says where the shipped example files are."""

import json

from pathprover.examples import examples_dir
from tests.integration.cli.conftest import run


def test_examples_json_lists_the_shipped_folder_and_its_files():
    result = run("examples", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["examples_dir"] == str(examples_dir())
    assert {"targets.yaml", "faults.yaml", "qwen3-32b.json"} <= set(payload["files"])


def test_examples_prints_the_folder_then_one_file_a_line():
    lines = run("examples").stdout.splitlines()
    assert lines[0] == f"examples in {examples_dir()}"
    assert "  targets.yaml" in lines[1:]


def test_examples_refuses_an_unknown_option():
    result = run("examples", "--jsn")
    assert result.exit_code == 2
