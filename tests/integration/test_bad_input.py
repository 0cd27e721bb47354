"""Bad input is refused before anything is taken: a clear line naming the field, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pathprover.cli.app import app
from pathprover.workflow.planning import InvalidInput, parse_input

GOOD = {"model_name": "Qwen/Qwen3-8B", "instance_type": "ml.g5.xlarge"}

BAD_EXECUTION_INPUTS = [
    ({"MAX_PROVES_PER_RUN": True}, "MAX_PROVES_PER_RUN"),
    ({"MAX_PROVES_PER_RUN": "5"}, "MAX_PROVES_PER_RUN"),
    ({"MAX_PROVES_PER_RUN": 5.5}, "MAX_PROVES_PER_RUN"),
    ({"MAX_PROVES_PER_RUN": 51}, "MAX_PROVES_PER_RUN"),
    ({"MAX_COST_PER_RUN": float("nan")}, "MAX_COST_PER_RUN"),
    ({"MAX_COST_PER_RUN": float("inf")}, "MAX_COST_PER_RUN"),
    ({"MAX_COST_PER_RUN": -1e308}, "MAX_COST_PER_RUN"),
    ({"MAX_COST_PER_RUN": "25"}, "MAX_COST_PER_RUN"),
    ({"PARALLEL_LANES": 2.0}, "PARALLEL_LANES"),
    ({"PARALLEL_LANES": 0}, "PARALLEL_LANES"),
    ({"DRY_RUN": "yes"}, "DRY_RUN"),
    ({"DRY_RUN": 1}, "DRY_RUN"),
    ({"KEEP_ON_FAILURE": "true"}, "KEEP_ON_FAILURE"),
    ({"INCLUDE_CATALOG": 0}, "INCLUDE_CATALOG"),
    ({"TARGETS": []}, "TARGETS"),
    ({"TARGETS": [GOOD] * 201}, "TARGETS"),
    ({"FILTERS": {"model_family": ["x" * 101]}}, "FILTERS.model_family"),
    ({"FILTERS": {"model_family": ["qwen3"] * 51}}, "FILTERS.model_family"),
    ({"FILTERS": {"typo": ["qwen3"]}}, "FILTERS.typo"),
    ({"TARGETS": [{**GOOD, "tp_degree": "2"}]}, "tp_degree"),
    ({"TARGETS": [{**GOOD, "tp_degree": True}]}, "tp_degree"),
    ({"TARGETS": [{**GOOD, "benchmark": {"concurrency_levels": list(range(1, 40))}}]}, "concurrency_levels"),
    ({"TARGETS": [{**GOOD, "benchmark": {"concurrency_levels": [1, 10**9]}}]}, "concurrency_levels"),
    ({"TARGETS": [{**GOOD, "benchmark": {"input_tokens": "512"}}]}, "input_tokens"),
    ({"TARGETS": [{**GOOD, "benchmark": {"seed": -1}}]}, "seed"),
    ({"TARGETS": [{**GOOD, "tuning": {"max_steps": True}}]}, "max_steps"),
    ({"TARGETS": [{**GOOD, "serving_params": {"max_model_len": 10**15}}]}, "serving_params.max_model_len"),
    ({"TARGETS": [{**GOOD, "serving_params": {"gpu_memory_utilization": float("nan")}}]}, "serving_params"),
    ({"TARGETS": [{**GOOD, "serving_params": {"chat_template": "x" * 600}}]}, "serving_params.chat_template"),
    ({"TARGETS": [{**GOOD, "serving_params": {f"k{i}": 1 for i in range(65)}}]}, "serving_params"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_EXECUTION_INPUTS)
def test_a_bad_execution_input_is_refused_naming_the_field(payload, field):
    with pytest.raises(InvalidInput) as caught:
        parse_input(payload)
    assert field in str(caught.value)
    assert "\n" not in str(caught.value).strip()


def test_a_good_input_still_passes():
    request = parse_input({"MAX_PROVES_PER_RUN": 5, "MAX_COST_PER_RUN": 25, "TARGETS": [GOOD]})
    assert request.MAX_COST_PER_RUN == 25.0 and request.TARGETS


BAD_FILES = [
    ("targets.yaml", b"\x00\x01\x02binary", "binary"),
    ("targets.yaml", b"\xff\xfe not utf-8", "UTF-8"),
    ("targets.yaml", b"model_name: Qwen/Qwen3-8B\ninstance_type: ml.g5.xlarge\ntp_degree: 1\ntp_degree: 8\n", "twice"),
    ("targets.json", b'{"model_name": "Qwen/Qwen3-8B", "model_name": "x/y", "instance_type": "ml.g5.xlarge"}', "twice"),
    ("targets.yaml", b"model_name: [unclosed\n", "not valid YAML"),
    ("targets.json", b"{", "not valid JSON"),
    ("targets.yaml", b"[]\n", "no targets"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_a_bad_targets_file_is_one_line_and_nothing_starts(tmp_path: Path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(
        app, ["run", "--targets", str(path), "--warehouse", str(tmp_path / "wh"), "--json"], catch_exceptions=False
    )
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "wh").exists() or not any((tmp_path / "wh").rglob("*.parquet"))


@pytest.mark.parametrize(
    ("content", "message"), [(b"\x00binary", "binary"), (b"- stage: deploy\n  stage: test\n", "twice")]
)
def test_a_bad_faults_file_is_one_line(tmp_path: Path, content, message):
    path = tmp_path / "faults.yaml"
    path.write_bytes(content)
    targets = tmp_path / "t.json"
    targets.write_text(json.dumps([GOOD]))
    result = CliRunner().invoke(
        app, ["run", "--targets", str(targets), "--faults", str(path), "--warehouse", str(tmp_path / "wh")]
    )
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
