"""`pathprover run --fail-on`: a CI job gates on a run's outcome (docs/cli-json.md)."""

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from pathprover.cli.app import app

OOM = (
    "The primary container for production variant AllTraffic did not pass the ping health check. "
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
    "22.06 GiB of which 1.02 GiB is free."
)


def test_fail_on_unfeasible_turns_an_unfeasible_prove_into_exit_1(tmp_path: Path):
    # Given one target whose deploy runs out of memory (a config fault: recorded unfeasible)
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump([{"model_name": "Qwen/Qwen3-0.6B", "instance_type": "ml.g5.xlarge"}]))
    faults = tmp_path / "faults.yaml"
    faults.write_text(yaml.safe_dump([{"match": {"model_name": "Qwen/Qwen3-0.6B"}, "stage": "deploy", "error": OOM}]))
    common = ["run", "--targets", str(targets), "--faults", str(faults), "--json"]

    # When it runs without a gate, then with --fail-on failed (not met) and --fail-on unfeasible (met)
    plain = CliRunner().invoke(app, [*common, "--warehouse", str(tmp_path / "a")])
    not_met = CliRunner().invoke(app, [*common, "--warehouse", str(tmp_path / "b"), "--fail-on", "failed"])
    met = CliRunner().invoke(app, [*common, "--warehouse", str(tmp_path / "c"), "--fail-on", "unfeasible"])

    # Then the run succeeded every time; only the met gate exits 1, and the summary says why
    for result in (plain, not_met, met):
        summary = json.loads(result.stdout)
        assert summary["status"] == "SUCCEEDED" and summary["unfeasible"], result.stdout
    assert (plain.exit_code, not_met.exit_code, met.exit_code) == (0, 0, 1)
    assert json.loads(met.stdout)["fail_on"] == {"gates": ["unfeasible"], "met": ["1 prove(s) unfeasible"]}


def test_fail_on_refuses_an_unknown_gate(tmp_path: Path):
    # Given a misspelt gate
    result = CliRunner().invoke(app, ["run", "--fail-on", "failures", "--json", "--warehouse", str(tmp_path)])
    # Then it is a usage error (exit 2, an error object), and nothing ran
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "usage"
    assert not (tmp_path / "mlcc_ci").exists()
