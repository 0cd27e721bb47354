"""`pathprover render` through typer: a guide target renders to a folder; mistakes are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from pathprover.generate.cli import render_command

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command("render")(render_command)


@app.callback()
def _root() -> None:
    """Keeps `render` a subcommand, as in the real app."""


runner = CliRunner()
GUIDE_TARGET = {
    "model_name": "Qwen/Qwen3-32B",
    "instance_type": "ml.g5.12xlarge",
    "serving_params": {"max_model_len": 32768, "gpu_memory_utilization": 0.95, "kv_cache_dtype": "fp8"},
}


def render(tmp_path: Path, target: object, *extra: str, name: str = "target.json"):
    config = tmp_path / name
    text = yaml.safe_dump(target) if name.endswith((".yaml", ".yml")) else json.dumps(target)
    config.write_text(text)
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", "--config", str(config), "--out", str(out), *extra])
    return result, out


def test_render_writes_the_bundle_and_prints_files_and_digest(tmp_path):
    # When the guide's serving_params example is rendered
    result, out = render(tmp_path, GUIDE_TARGET)
    # Then it succeeds, lists every file and the digest, and the files are on disk
    assert result.exit_code == 0, result.output
    for path in ("serving/Dockerfile", "serving/start.sh", "serving/serve.py", "buildspec/build.yml", "deploy.json"):
        assert path in result.stdout
        assert (out / path).is_file()
    digest_line = result.stdout.strip().splitlines()[-1]
    assert digest_line.startswith("digest: ") and len(digest_line.split()[1]) == 64
    dockerfile = (out / "serving/Dockerfile").read_text()
    assert 'SM_VLLM_MAX_MODEL_LEN="32768"' in dockerfile and 'SM_VLLM_KV_CACHE_DTYPE="fp8"' in dockerfile


def test_render_json_output_and_yaml_targets(tmp_path):
    target = {**GUIDE_TARGET, "stages": ["stage", "generate", "build", "deploy", "test", "benchmark", "clean"]}
    result, out = render(
        tmp_path, target, "--json", "--model-s3-uri", "s3://weights-bucket/qwen3-32b", name="target.yaml"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["digest"]) == 64 and payload["out"] == str(out)
    paths = [entry["path"] for entry in payload["files"]]
    assert "buildspec/stage.yml" in paths and paths == sorted(paths)
    assert json.loads((out / "deploy.json").read_text())["model_source"] == "s3"


@pytest.mark.parametrize(
    ("target", "needle"),
    [
        ({**GUIDE_TARGET, "bogus_field": 1}, "bogus_field"),
        ({**GUIDE_TARGET, "serving_params": {"max-model-len": 1}}, "serving_params"),
        ({**GUIDE_TARGET, "serving_params": {"chat_template": "a\nb"}}, "serving_params.chat_template"),
        ({**GUIDE_TARGET, "serving_params": {"tensor_parallel_size": 2}}, "serving_params.tensor_parallel_size"),
        ({**GUIDE_TARGET, "model_name": "Qwen/Qwen3-33B"}, "unknown model"),
        ({**GUIDE_TARGET, "instance_type": "ml.g5.13xlarge"}, "unknown instance type"),
        ({**GUIDE_TARGET, "tp_degree": 8}, "tp_degree"),
        ([GUIDE_TARGET, GUIDE_TARGET], "exactly one"),
    ],
    ids=["unknown-field", "unsafe-key", "newline-value", "reserved-key", "model", "instance", "tp", "two-targets"],
)
def test_mistakes_exit_non_zero_with_one_line_naming_the_field(tmp_path, target, needle):
    result, out = render(tmp_path, target)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_a_missing_config_file_is_one_line(tmp_path):
    result = runner.invoke(app, ["render", "--config", str(tmp_path / "nope.json"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and result.stderr.startswith("error: cannot read")
