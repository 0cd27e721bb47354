"""cli/job_cmd.py: `pathprover benchmark-job`, the benchmark stage's CodeBuild entry point, refuses a bad
environment in one line before it touches AWS."""

import pytest

from pathprover.cli.app import app
from tests.integration.cli.conftest import runner


@pytest.mark.parametrize("results_uri", [None, "", "https://bucket/results/"])
def test_without_an_s3_results_uri_the_job_fails_in_one_line(monkeypatch: pytest.MonkeyPatch, results_uri):
    # Given the job's environment without a usable RESULTS_URI
    if results_uri is None:
        monkeypatch.delenv("RESULTS_URI", raising=False)
    else:
        monkeypatch.setenv("RESULTS_URI", results_uri)
    # When the job starts
    result = runner.invoke(app, ["benchmark-job"])
    # Then it exits non-zero with one line that names the job, and no traceback
    assert result.exit_code != 0
    assert "benchmark job:" in result.output and "Traceback" not in result.output
