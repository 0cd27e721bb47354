"""cli/app.py: the registered commands answer people in one line (no traceback), and --version."""

import pytest
from typer.testing import CliRunner

from pathprover.cli.app import app
from tests.integration.cli.conftest import runner


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gaps", "--table", "/nonexistent/x.parquet"], "no table at"),
        (
            [
                "nearest",
                "--deployment-config",
                "vllm",
                "--model-family",
                "qwen3",
                "--instance-family",
                "g5",
                "--tp-degree",
                "two",
            ],
            "tp_degree",
        ),
        (["sql", "SELEC nonsense FROM"], "error"),
        (
            [
                "mark-unfeasible",
                "--deployment-config",
                "vllm",
                "--model-family",
                "qwen9",
                "--instance-family",
                "g5",
                "--reason",
                "x",
            ],
            "unknown model_family 'qwen9'",
        ),
    ],
)
def test_errors_for_people_are_one_line_with_nonzero_exit(tmp_path, args, message):
    result = runner.invoke(app, [*args, "--warehouse", str(tmp_path / "empty")])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_version_prints_the_installed_version_and_exits_0():
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"pathprover {version('pathprover')}"
