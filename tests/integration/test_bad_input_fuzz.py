"""A generated fuzz of bad inputs over every input surface: each one refused, naming the field, nothing created.

The cases are built per field of each input model (the execution input and its targets, a targets
file, a fault file, the `run` / `render` / `nearest` / `gaps` / `plan` / `loadgen` flags, `classify`
JSON Lines, `sql`): wrong types (bool or string for a number), NaN / inf / huge numbers, negatives,
out-of-range values, empty and oversized lists and strings, unknown keys, duplicate keys, binary,
non-UTF-8 and empty files, wrong top-level shapes, nested garbage, typos in catalog names and
malformed ARNs. Every case is its own test id; each asserts

* a refusal: an :class:`InvalidInput` from the first state, or a non-zero exit of the command;
* a message that names the offending field or value (``needle``), on one line for the execution input;
* no Python traceback, and no exception other than the command's own exit;
* nothing created: the execution input leaves the warehouse, the artifact store, the ledger and the
  simulated fleet as they were; a command leaves its working folder holding only the input it was given
  (no warehouse, no ``_runtime`` state folder, no bundle, no load-generator artifacts).

``docs/operations.md`` ("Bad input") reports the figure.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from pathprover.cli.app import app
from pathprover.workflow.planning import InvalidInput, plan_execution
from tests.support.local_services import local_services

SHIPPED_CATALOG = Path(__file__).resolve().parents[2] / "catalog"
GOOD = {"model_name": "Qwen/Qwen3-8B", "instance_type": "ml.g5.xlarge"}
TP_PLAN_ARN = "arn:aws:sagemaker:us-east-2:111111111111:training-plan/tp-1"


@dataclass(frozen=True)
class Case:
    id: str
    needle: str
    payload: Any = None  # the execution input
    args: tuple[str, ...] = ()  # a command line; {in} is the folder holding the input file
    file: tuple[str, bytes] | None = None  # the input file written before the command runs
    stdin: bytes | None = None
    table: bool = False  # a one-row Parquet table at {in}/rows.parquet (for `sql`)
    catalog_file: tuple[str, bytes] | None = None  # the shipped catalog copied to {in}/cat, this file replaced


# --------------------------------------------------------------------------- the execution input

NOT_AN_INT: list[tuple[str, Any]] = [
    ("bool", True),
    ("str", "5"),
    ("float", 5.5),
    ("float_whole", 5.0),
    ("null", None),
    ("list", [5]),
    ("dict", {"n": 5}),
    ("nan", math.nan),
]
NOT_A_NUMBER: list[tuple[str, Any]] = [
    ("bool", False),
    ("str", "25"),
    ("nan", math.nan),
    ("inf", math.inf),
    ("neg_inf", -math.inf),
    ("huge_neg", -1e308),
    ("huge", 1e308),
    ("negative", -0.01),
    ("null", None),
    ("list", [25]),
]
NOT_A_BOOL: list[tuple[str, Any]] = [("str", "true"), ("int", 1), ("zero", 0), ("null", None), ("list", [True])]


def _execution_cases() -> list[Case]:
    cases: list[Case] = []
    for name, value in NOT_AN_INT:
        cases.append(Case(f"exec-MAX_PROVES_PER_RUN-{name}", "MAX_PROVES_PER_RUN", {"MAX_PROVES_PER_RUN": value}))
        cases.append(Case(f"exec-PARALLEL_LANES-{name}", "PARALLEL_LANES", {"PARALLEL_LANES": value}))
    for name, value in [("negative", -1), ("over", 51), ("huge", 10**30)]:
        cases.append(Case(f"exec-MAX_PROVES_PER_RUN-{name}", "MAX_PROVES_PER_RUN", {"MAX_PROVES_PER_RUN": value}))
    for name, value in [("zero", 0), ("negative", -4), ("over", 17)]:
        cases.append(Case(f"exec-PARALLEL_LANES-{name}", "PARALLEL_LANES", {"PARALLEL_LANES": value}))
    for name, value in NOT_A_NUMBER:
        cases.append(Case(f"exec-MAX_COST_PER_RUN-{name}", "MAX_COST_PER_RUN", {"MAX_COST_PER_RUN": value}))
    for field in ("DRY_RUN", "KEEP_ON_FAILURE", "INCLUDE_CATALOG"):
        for name, value in NOT_A_BOOL:
            cases.append(Case(f"exec-{field}-{name}", field, {field: value}))
    cases += [
        Case("exec-top-list", "JSON object", [GOOD]),
        Case("exec-top-string", "JSON object", "MAX_PROVES_PER_RUN=5"),
        Case("exec-top-number", "JSON object", 5),
        Case("exec-unknown-key", "MAX_PROVE_PER_RUN", {"MAX_PROVE_PER_RUN": 5}),
        Case("exec-lowercase-key", "max_proves_per_run", {"max_proves_per_run": 5}),
        Case("exec-TARGETS-empty", "TARGETS", {"TARGETS": []}),
        Case("exec-TARGETS-too-many", "TARGETS", {"TARGETS": [GOOD] * 201}),
        Case("exec-TARGETS-object", "TARGETS", {"TARGETS": GOOD}),
        Case("exec-TARGETS-string", "TARGETS", {"TARGETS": "Qwen/Qwen3-8B"}),
        Case("exec-TARGETS-item-string", "TARGETS.0", {"TARGETS": ["Qwen/Qwen3-8B"]}),
        Case("exec-TARGETS-item-null", "TARGETS.0", {"TARGETS": [None]}),
        Case("exec-TARGETS-nested-list", "TARGETS.0", {"TARGETS": [[GOOD]]}),
        Case("exec-FILTERS-list", "FILTERS", {"FILTERS": ["qwen3"]}),
        Case("exec-FILTERS-unknown", "FILTERS.typo", {"FILTERS": {"typo": ["qwen3"]}}),
        Case("exec-FILTERS-string-not-list", "FILTERS.model_family", {"FILTERS": {"model_family": "qwen3"}}),
        Case("exec-FILTERS-int-item", "FILTERS.model_family", {"FILTERS": {"model_family": [3]}}),
        Case("exec-FILTERS-long-item", "FILTERS.instance_family", {"FILTERS": {"instance_family": ["g" * 101]}}),
        Case("exec-FILTERS-too-many", "FILTERS.deployment_config", {"FILTERS": {"deployment_config": ["x"] * 51}}),
        Case("exec-FILTERS-empty-list", "FILTERS.model_family", {"FILTERS": {"model_family": []}}),
        Case("exec-FILTERS-model-typo", "qwen33", {"FILTERS": {"model_family": ["qwen33"]}}),
        Case("exec-FILTERS-instance-typo", "g55", {"FILTERS": {"instance_family": ["g55"]}}),
        Case("exec-FILTERS-engine-typo", "vlm", {"FILTERS": {"deployment_config": ["vlm"]}}),
        Case("exec-FILTERS-with-TARGETS", "FILTERS", {"TARGETS": [GOOD], "FILTERS": {"model_family": ["qwen3"]}}),
        Case("exec-INCLUDE_CATALOG-with-TARGETS", "INCLUDE_CATALOG", {"TARGETS": [GOOD], "INCLUDE_CATALOG": True}),
        Case("exec-CAPACITY-list", "CAPACITY_RESERVATIONS", {"CAPACITY_RESERVATIONS": [TP_PLAN_ARN]}),
        Case(
            "exec-CAPACITY-bad-type-key",
            "CAPACITY_RESERVATIONS",
            {"CAPACITY_RESERVATIONS": {"p6-b200.48xlarge": TP_PLAN_ARN}},
        ),
        Case(
            "exec-CAPACITY-unknown-type",
            "ml.p9.48xlarge",
            {"CAPACITY_RESERVATIONS": {"ml.p9.48xlarge": TP_PLAN_ARN}},
        ),
        Case(
            "exec-CAPACITY-arn-not-arn",
            "CAPACITY_RESERVATIONS",
            {"CAPACITY_RESERVATIONS": {"ml.p6-b200.48xlarge": "tp-1"}},
        ),
        Case(
            "exec-CAPACITY-arn-bad-service",
            "CAPACITY_RESERVATIONS",
            {"CAPACITY_RESERVATIONS": {"ml.p6-b200.48xlarge": TP_PLAN_ARN.replace("sagemaker", "s3")}},
        ),
        Case(
            "exec-CAPACITY-arn-short-account",
            "CAPACITY_RESERVATIONS",
            {"CAPACITY_RESERVATIONS": {"ml.p6-b200.48xlarge": TP_PLAN_ARN.replace("111111111111", "1111")}},
        ),
        Case(
            "exec-CAPACITY-arn-int",
            "CAPACITY_RESERVATIONS",
            {"CAPACITY_RESERVATIONS": {"ml.p6-b200.48xlarge": 42}},
        ),
        Case(
            "exec-CAPACITY-too-many",
            "CAPACITY_RESERVATIONS",
            {"CAPACITY_RESERVATIONS": {f"ml.g5.x{i}large": TP_PLAN_ARN for i in range(51)}},
        ),
    ]
    cases += [Case(f"exec-TARGET-{c.id}", c.needle, {"TARGETS": [c.payload]}) for c in _target_cases()]
    return cases


def _target(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def _target_cases() -> list[Case]:
    """Bad validation targets, one field at a time (used in the execution input and in a targets file)."""
    cases = [
        Case("model_name-missing", "model_name", {"instance_type": "ml.g5.xlarge"}),
        Case("model_name-int", "model_name", _target(model_name=8)),
        Case("model_name-empty", "model_name", _target(model_name="")),
        Case("model_name-no-org", "model_name", _target(model_name="Qwen3-8B")),
        Case("model_name-typo", "Qwen/Qwen3-8X", _target(model_name="Qwen/Qwen3-8X")),
        Case("model_name-oversized", "model_name", _target(model_name="Qwen/" + "q" * 300)),
        Case("instance_type-typo", "ml.g5.xlarg", _target(instance_type="ml.g5.xlarg")),
        Case("instance_type-no-prefix", "instance_type", _target(instance_type="g5.xlarge")),
        Case("instance_type-int", "instance_type", _target(instance_type=5)),
        Case("instance_type-unknown-family", "ml.g55.xlarge", _target(instance_type="ml.g55.xlarge")),
        Case("deployment_config-typo", "'vlm'", _target(deployment_config="vlm")),
        Case("deployment_config-list", "deployment_config", _target(deployment_config=["vllm"])),
        Case("deployment_target-typo", "deployment_target", _target(deployment_target="realtime-inferense")),
        Case("quantization-typo", "quantization", _target(quantization="fp4x")),
        Case("quantization-bool", "quantization", _target(quantization=True)),
        Case("quantization-unsupported", "awq", _target(quantization="awq", deployment_config="http-flask")),
        Case("tp_degree-str", "tp_degree", _target(tp_degree="2")),
        Case("tp_degree-bool", "tp_degree", _target(tp_degree=True)),
        Case("tp_degree-float", "tp_degree", _target(tp_degree=1.5)),
        Case("tp_degree-zero", "tp_degree", _target(tp_degree=0)),
        Case("tp_degree-negative", "tp_degree", _target(tp_degree=-2)),
        Case("tp_degree-three", "tp_degree", _target(tp_degree=3)),
        Case("tp_degree-over-instance", "tp_degree", _target(tp_degree=8)),
        Case("serving_params-list", "serving_params", _target(serving_params=["max_model_len"])),
        Case("serving_params-bad-key", "serving_params", _target(serving_params={"Max-Model-Len": 1})),
        Case("serving_params-nan", "serving_params", _target(serving_params={"gpu_memory_utilization": math.nan})),
        Case("serving_params-inf", "serving_params", _target(serving_params={"max_model_len": math.inf})),
        Case("serving_params-huge", "serving_params", _target(serving_params={"max_model_len": 10**15})),
        Case("serving_params-nested", "serving_params", _target(serving_params={"rope_scaling": {"type": "x"}})),
        Case("serving_params-null", "serving_params", _target(serving_params={"max_model_len": None})),
        Case("serving_params-newline", "serving_params", _target(serving_params={"chat_template": "a\nb"})),
        Case("serving_params-long-string", "serving_params", _target(serving_params={"chat_template": "x" * 600})),
        Case("serving_params-too-many", "serving_params", _target(serving_params={f"k{i}": 1 for i in range(65)})),
        Case(
            "serving_params-gpu-util-over-one",
            "gpu_memory_utilization",
            _target(serving_params={"gpu_memory_utilization": 1.5}),
        ),
        Case(
            "serving_params-max-model-len-str",
            "max_model_len",
            _target(serving_params={"max_model_len": "long"}),
        ),
        Case(
            "serving_params-max-model-len-negative",
            "max_model_len",
            _target(serving_params={"max_model_len": -1}),
        ),
        Case(
            "serving_params-kv-cache-typo",
            "kv_cache_dtype",
            _target(serving_params={"kv_cache_dtype": "fp9"}),
        ),
        Case("infra_params-unknown", "infra_params", _target(infra_params={"capacity_reservation": TP_PLAN_ARN})),
        Case(
            "infra_params-arn-malformed",
            "capacity_reservation_arn",
            _target(infra_params={"capacity_reservation_arn": "arn:aws:sagemaker:us-east-2:training-plan"}),
        ),
        Case(
            "infra_params-arn-spaces",
            "capacity_reservation_arn",
            _target(infra_params={"capacity_reservation_arn": TP_PLAN_ARN + " x"}),
        ),
        Case("infra_params-string", "infra_params", _target(infra_params=TP_PLAN_ARN)),
        Case("stages-typo", "stages", _target(stages=["generate", "biuld", "deploy", "test"])),
        Case("stages-missing-deploy", "stages", _target(stages=["generate", "build", "test"])),
        Case("stages-empty", "stages", _target(stages=[])),
        Case("stages-string", "stages", _target(stages="generate,build,deploy,test")),
        Case("stages-adapter-alone", "adapter", _target(stages=["generate", "build", "deploy", "test", "adapter"])),
        Case("tuning-unknown", "tuning", _target(tuning={"technique": "sft-lora", "epochs": 3})),
        Case("tuning-technique-typo", "technique", _target(tuning={"technique": "sft-lorra"})),
        Case("tuning-max_steps-bool", "max_steps", _target(tuning={"max_steps": True})),
        Case("tuning-lora_rank-huge", "lora_rank", _target(tuning={"lora_rank": 10**6})),
        Case("benchmark-unknown", "benchmark", _target(benchmark={"concurrency": [1]})),
        Case("benchmark-levels-empty", "concurrency_levels", _target(benchmark={"concurrency_levels": []})),
        Case(
            "benchmark-levels-many",
            "concurrency_levels",
            _target(benchmark={"concurrency_levels": list(range(1, 40))}),
        ),
        Case("benchmark-levels-zero", "concurrency_levels", _target(benchmark={"concurrency_levels": [0, 1]})),
        Case("benchmark-levels-str", "concurrency_levels", _target(benchmark={"concurrency_levels": ["8"]})),
        Case("benchmark-levels-huge", "concurrency_levels", _target(benchmark={"concurrency_levels": [10**9]})),
        Case("benchmark-requests-neg", "requests_per_level", _target(benchmark={"requests_per_level": -1})),
        Case("benchmark-input-float", "input_tokens", _target(benchmark={"input_tokens": 512.0})),
        Case("benchmark-output-nan", "output_tokens", _target(benchmark={"output_tokens": math.nan})),
        Case("benchmark-seed-negative", "seed", _target(benchmark={"seed": -1})),
        Case("adapter_s3_uri-http", "adapter_s3_uri", _target(adapter_s3_uri="https://x/adapter/")),
        Case(
            "adapter_s3_uri-and-tune",
            "adapter_s3_uri",
            _target(adapter_s3_uri="s3://bucket-a/adapter/", stages=[*_stages(), "tune", "adapter"]),
        ),
        Case("unknown-key", "modle_name", {**GOOD, "modle_name": "Qwen/Qwen3-8B"}),
        Case("capacity-only-without-plan", "capacity_reservation_arn", _target(instance_type="ml.p6-b200.48xlarge")),
    ]
    return cases


def _stages() -> list[str]:
    return ["generate", "build", "push", "deploy", "test", "benchmark", "register", "clean"]


# --------------------------------------------------------------------------- files and commands


def _run(file: str, content: bytes, needle: str, *extra: str) -> Case:
    return Case(f"run-{file}-{needle}", needle, args=("run", "--targets", "{in}/" + file, *extra), file=(file, content))


def _file_cases() -> list[Case]:
    target_yaml = b"model_name: Qwen/Qwen3-8B\ninstance_type: ml.g5.xlarge\n"
    cases = [
        Case("targets-binary", "binary", args=("run", "--targets", "{in}/t.yaml"), file=("t.yaml", b"\x00\x01")),
        Case("targets-latin1", "UTF-8", args=("run", "--targets", "{in}/t.yaml"), file=("t.yaml", b"model: caf\xe9")),
        Case("targets-empty-yaml", "no targets", args=("run", "--targets", "{in}/t.yaml"), file=("t.yaml", b"")),
        Case("targets-empty-json", "JSON", args=("run", "--targets", "{in}/t.json"), file=("t.json", b"")),
        Case("targets-comment-only", "no targets", args=("run", "--targets", "{in}/t.yaml"), file=("t.yaml", b"#\n")),
        Case("targets-scalar", "mapping", args=("run", "--targets", "{in}/t.yaml"), file=("t.yaml", b"42\n")),
        Case("targets-string", "mapping", args=("run", "--targets", "{in}/t.yaml"), file=("t.yaml", b"Qwen\n")),
        Case(
            "targets-list-of-lists",
            "mapping",
            args=("run", "--targets", "{in}/t.json"),
            file=("t.json", json.dumps([[GOOD]]).encode()),
        ),
        Case(
            "targets-dup-yaml",
            "twice",
            args=("run", "--targets", "{in}/t.yaml"),
            file=("t.yaml", target_yaml + b"model_name: Qwen/Qwen3-32B\n"),
        ),
        Case(
            "targets-dup-nested-yaml",
            "twice",
            args=("run", "--targets", "{in}/t.yaml"),
            file=("t.yaml", target_yaml + b"serving_params:\n  max_model_len: 1\n  max_model_len: 2\n"),
        ),
        Case(
            "targets-yaml-anchor-bomb",
            "t.yaml",
            args=("run", "--targets", "{in}/t.yaml"),
            file=("t.yaml", b"a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nmodel_name: *c\n"),
        ),
        Case(
            "targets-yaml-python-tag",
            "t.yaml",
            args=("run", "--targets", "{in}/t.yaml"),
            file=("t.yaml", b"model_name: !!python/object/apply:os.system ['true']\n"),
        ),
        Case(
            "targets-yaml-tab-indent",
            "YAML",
            args=("run", "--targets", "{in}/t.yaml"),
            file=("t.yaml", b"model_name: Qwen/Qwen3-8B\n\tinstance_type: ml.g5.xlarge\n"),
        ),
        Case(
            "targets-json-nan",
            "serving_params",
            args=("run", "--targets", "{in}/t.json"),
            file=("t.json", b'{"model_name": "Qwen/Qwen3-8B", "serving_params": {"max_model_len": NaN}}'),
        ),
        Case(
            "targets-json-trailing",
            "JSON",
            args=("run", "--targets", "{in}/t.json"),
            file=("t.json", json.dumps(GOOD).encode() + b" garbage"),
        ),
        Case("targets-missing-file", "nope.yaml", args=("run", "--targets", "{in}/nope.yaml")),
        Case("targets-a-folder", "Is a directory", args=("run", "--targets", "{in}")),
        Case(
            "targets-yaml-model-typo",
            "Qwen/Qwen3-8X",
            args=("run", "--targets", "{in}/t.yaml"),
            file=("t.yaml", b"model_name: Qwen/Qwen3-8X\ninstance_type: ml.g5.xlarge\n"),
        ),
        Case(
            "targets-yaml-tp-string",
            "tp_degree",
            args=("run", "--targets", "{in}/t.yaml"),
            file=("t.yaml", target_yaml + b"tp_degree: '1'\n"),
        ),
        Case(
            "targets-yaml-second-entry-bad",
            "[1]",
            args=("run", "--targets", "{in}/t.yaml"),
            file=("t.yaml", b"- model_name: Qwen/Qwen3-8B\n- model_name: 7\n"),
        ),
        Case(
            "targets-too-many",
            "TARGETS",
            args=("run", "--targets", "{in}/t.json"),
            file=("t.json", json.dumps([GOOD] * 201).encode()),
        ),
    ]
    faults = [
        ("binary", b"\x00fault", "binary"),
        ("latin1", b"- stage: d\xe9ploy\n", "UTF-8"),
        ("dup-key", b"- stage: deploy\n  stage: test\n  error: x\n", "twice"),
        ("mapping", b"stage: deploy\nerror: x\n", "list of faults"),
        ("scalar-entry", b"- deploy\n", "entry 0"),
        ("stage-typo", b"- stage: deplyo\n  error: x\n", "deplyo"),
        ("stage-missing", b"- error: x\n", "stage"),
        ("error-missing", b"- stage: deploy\n", "error"),
        ("error-empty", b"- stage: deploy\n  error: ''\n", "error"),
        ("times-zero", b"- stage: deploy\n  error: x\n  times: 0\n", "times"),
        ("times-bool", b"- stage: deploy\n  error: x\n  times: true\n", "times"),
        ("times-str", b"- stage: deploy\n  error: x\n  times: '2'\n", "times"),
        ("fraction-not-test", b"- stage: deploy\n  error: x\n  fraction: 0.5\n", "fraction"),
        ("fraction-zero", b"- stage: test\n  error: x\n  fraction: 0\n", "fraction"),
        ("fraction-nan", b"- stage: test\n  error: x\n  fraction: .nan\n", "fraction"),
        ("unknown-field", b"- stage: deploy\n  error: x\n  when: always\n", "when"),
        ("match-unknown-key", b"- stage: deploy\n  error: x\n  match: {gpu: a10g}\n", "match.gpu"),
        ("match-list", b"- stage: deploy\n  error: x\n  match: [qwen3]\n", "match"),
        ("match-bad-tp", b"- stage: deploy\n  error: x\n  match: {tp_degree: two}\n", "match.tp_degree"),
        ("match-never-fires", b"- stage: deploy\n  error: x\n  match: {model_family: qwen33}\n", "qwen33"),
        ("match-engine-typo", b"- stage: build\n  error: x\n  match: {deployment_config: vlm}\n", "vlm"),
        ("match-model-typo", b"- stage: build\n  error: x\n  match: {model_name: Qwen/Qwen3-8X}\n", "Qwen3-8X"),
        ("match-instance-typo", b"- stage: deploy\n  error: x\n  match: {instance_type: ml.g5.xlarg}\n", "xlarg"),
    ]
    for name, content, needle in faults:
        cases.append(
            Case(
                f"faults-{name}",
                needle,
                args=("run", "--targets", "{in}/t.json", "--faults", "{in}/f.yaml"),
                file=("f.yaml", content),
            )
        )
    flags = [
        ("max-proves-negative", ("--max-proves", "-1"), "max-proves"),
        ("max-proves-over", ("--max-proves", "51"), "MAX_PROVES_PER_RUN"),
        ("max-proves-word", ("--max-proves", "ten"), "max-proves"),
        ("max-proves-float", ("--max-proves", "2.5"), "max-proves"),
        ("max-cost-nan", ("--max-cost", "nan"), "max-cost"),
        ("max-cost-inf", ("--max-cost", "inf"), "max-cost"),
        ("max-cost-negative", ("--max-cost", "-5"), "max-cost"),
        ("max-cost-huge", ("--max-cost", "1e308"), "max-cost"),
        ("lanes-zero", ("--lanes", "0"), "lanes"),
        ("lanes-over", ("--lanes", "17"), "lanes"),
        ("capacity-no-equals", ("--capacity-reservation", "ml.p6-b200.48xlarge"), "--capacity-reservation"),
        ("capacity-bad-arn", ("--capacity-reservation", "ml.p6-b200.48xlarge=tp-1"), "CAPACITY_RESERVATIONS"),
        ("capacity-bad-type", ("--capacity-reservation", f"p6.big={TP_PLAN_ARN}"), "CAPACITY_RESERVATIONS"),
        ("capacity-unknown-type", ("--capacity-reservation", f"ml.p9.48xlarge={TP_PLAN_ARN}"), "ml.p9.48xlarge"),
        ("catalog-with-targets", ("--targets", "{in}/t.json", "--catalog"), "INCLUDE_CATALOG"),
        ("fresh-account-unknown-flag", ("--fresh-acount",), "--fresh-acount"),
    ]
    for name, extra, needle in flags:
        cases.append(Case(f"run-flag-{name}", needle, args=("run", *extra)))
    render = [
        ("binary", b"\x00", "binary"),
        ("two-targets", json.dumps([GOOD, GOOD]).encode(), "exactly one"),
        ("model-typo", json.dumps(_target(model_name="Qwen/Qwen3-8X")).encode(), "Qwen/Qwen3-8X"),
        ("quant-typo", json.dumps(_target(quantization="fp4x")).encode(), "quantization"),
        ("quant-unsupported", json.dumps(_target(quantization="awq", deployment_config="http-flask")).encode(), "awq"),
        ("serving-nan", b'{"model_name": "Qwen/Qwen3-8B", "serving_params": {"max_model_len": NaN}}', "serving_params"),
        ("gpu-util", json.dumps(_target(serving_params={"gpu_memory_utilization": 2})).encode(), "gpu_memory"),
        ("unknown-key", json.dumps({**GOOD, "instance": "ml.g5.xlarge"}).encode(), "instance"),
    ]
    for name, content, needle in render:
        cases.append(
            Case(
                f"render-{name}",
                needle,
                args=("render", "--config", "{in}/c.json", "--out", "out"),
                file=("c.json", content),
            )
        )
    nearest = ("nearest", "--deployment-config", "vllm", "--model-family", "qwen3", "--instance-family", "g5")
    cases += [
        Case("nearest-tp-word", "tp_degree", args=(*nearest, "--tp-degree", "two")),
        Case("nearest-tp-zero", "tp_degree", args=(*nearest, "--tp-degree", "0")),
        Case("nearest-quant-typo", "fp4x", args=(*nearest, "--quantization", "fp4x")),
        Case("nearest-target-typo", "realtime-inferense", args=(*nearest, "--deployment-target", "realtime-inferense")),
        Case("nearest-engine-typo", "vlm", args=("nearest", "--deployment-config", "vlm", *nearest[3:])),
        Case(
            "nearest-family-typo", "qwen33", args=("nearest", *nearest[1:3], "--model-family", "qwen33", *nearest[5:])
        ),
        Case(
            "nearest-model-typo",
            "Qwen/Qwen3-8X",
            args=("nearest", *nearest[1:3], "--model-name", "Qwen/Qwen3-8X", *nearest[5:]),
        ),
        Case("nearest-instance-typo", "ml.g5.xlarg", args=(*nearest[:5], "--instance-type", "ml.g5.xlarg")),
        Case("nearest-limit-zero", "limit", args=(*nearest, "--limit", "0")),
        Case("nearest-missing", "--deployment-config", args=("nearest", "--model-family", "qwen3")),
        Case("gaps-limit-negative", "limit", args=("gaps", "--limit", "-1")),
        Case("gaps-family-typo", "qwen33", args=("gaps", "--model-family", "qwen33")),
        Case("gaps-engine-typo", "vlm", args=("gaps", "--deployment-config", "vlm")),
        Case("gaps-instance-family-typo", "g55", args=("gaps", "--instance-family", "g55")),
        Case("plan-max-proves-negative", "max-proves", args=("plan", "--max-proves", "-1")),
        Case("plan-max-cost-nan", "max-cost", args=("plan", "--max-cost", "nan")),
        Case("plan-max-cost-inf", "max-cost", args=("plan", "--max-cost", "inf")),
        Case("plan-family-typo", "llama33", args=("plan", "--model-family", "llama33")),
        Case("plan-table-missing", "no table at", args=("plan", "--table", "{in}/none.parquet")),
        Case(
            "plan-table-not-parquet",
            "t.parquet",
            args=("gaps", "--table", "{in}/t.parquet"),
            file=("t.parquet", b"PAR"),
        ),
    ]
    classify = [
        ("not-json", b"hello\n", "line 1"),
        ("array", b"[1, 2]\n", "line 1"),
        ("no-text", b'{"id": "a"}\n', "text"),
        ("text-int", b'{"id": "a", "text": 5}\n', "text"),
        ("stage-typo", b'{"id": "a", "text": "x", "stage": "deplyo"}\n', "deplyo"),
        ("origin-typo", b'{"id": "a", "text": "x", "origin": "cloud"}\n', "cloud"),
        ("latin1", b'{"id": "a", "text": "caf\xe9"}\n', "UTF-8"),
        ("second-line", b'{"id": "a", "text": "OOM"}\n{"id": \n', "line 2"),
    ]
    for name, content, needle in classify:
        cases.append(Case(f"classify-{name}", needle, args=("classify",), stdin=content))
    cases += [
        Case("classify-stage-flag-typo", "deplyo", args=("classify", "--stage", "deplyo", "CUDA out of memory")),
        Case("classify-origin-flag-typo", "cloud", args=("classify", "--origin", "cloud", "CUDA out of memory")),
        Case("classify-empty-text", "empty", args=("classify", "   ")),
    ]
    loadgen = ("loadgen", "--url", "http://127.0.0.1:9", "--model", "m")
    cases += [
        Case("loadgen-concurrency-zero", "concurrency", args=(*loadgen, "-c", "0")),
        Case("loadgen-concurrency-negative", "concurrency", args=(*loadgen, "-c", "-4")),
        Case("loadgen-concurrency-word", "concurrency", args=(*loadgen, "-c", "eight")),
        Case("loadgen-concurrency-huge", "concurrency", args=(*loadgen, "-c", "100000")),
        Case("loadgen-requests-zero", "requests", args=(*loadgen, "--requests", "0")),
        Case("loadgen-input-tokens-huge", "input", args=(*loadgen, "--input-tokens", "10000000")),
        Case("loadgen-price-nan", "price-per-hour", args=(*loadgen, "--price-per-hour", "nan")),
        Case("loadgen-url-scheme", "ftp://", args=("loadgen", "--url", "ftp://x", "--model", "m")),
        Case("loadgen-url-empty", "URL", args=("loadgen", "--url", "", "--model", "m")),
        Case("loadgen-model-missing", "--model", args=("loadgen", "--url", "http://127.0.0.1:9")),
    ]
    cases += [
        Case(f"sql-{name}", needle, args=("sql", query, "--table", "{in}/rows.parquet"), table=True)
        for name, query, needle in [
            ("drop", "DROP TABLE mlcc_ci.benchmark_results", "SELECT"),
            ("delete", "DELETE FROM mlcc_ci.benchmark_results", "SELECT"),
            ("copy-to", "COPY (SELECT 1) TO 'leak.csv'", "SELECT"),
            ("two-statements", "SELECT 1; SELECT 2", "one SQL statement"),
            ("read-file", "SELECT * FROM read_text('/etc/passwd')", "/etc/passwd"),
            ("set-config", "SET enable_external_access = true", "SELECT"),
            ("empty", "  ", "SQL statement"),
        ]
    ]
    return cases


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _catalog_cases() -> list[Case]:
    """A catalog folder someone edited (PATHPROVER_CATALOG_DIR): every command that reads it says which file."""
    broken = [
        ("instances-yaml", "instances.yaml", b"instances: [oops\n"),
        ("models-binary", "models.yaml", b"\x00\x01"),
        ("engines-empty", "deployment_configs.yaml", b""),
        ("space-bad-value", "search_space.yaml", b"values: {tp_degree: [two]}\n"),
    ]
    commands = {
        "run": ("run",),
        "run-targets": ("run", "--targets", "{in}/t.json"),
        "plan": ("plan",),
        "render": ("render", "--config", "{in}/c.json", "--out", "out"),
    }
    return [
        Case(
            f"catalog-{name}-{command}",
            file_name,
            args=args,
            file=("c.json", json.dumps(GOOD).encode()),
            catalog_file=(file_name, content),
        )
        for name, file_name, content in broken
        for command, args in commands.items()
    ]


EXECUTION_CASES = _execution_cases()
COMMAND_CASES = [
    *_file_cases(),
    *_catalog_cases(),
    *[
        Case(
            f"targets-file-{c.id}",
            c.needle,
            args=("run", "--targets", "{in}/t.json"),
            file=("t.json", _json(c.payload)),
        )
        for c in _target_cases()
    ],
]


def test_the_fuzz_is_large_and_every_case_distinct():
    ids = [c.id for c in EXECUTION_CASES] + [c.id for c in COMMAND_CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 150


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("case", EXECUTION_CASES, ids=lambda c: c.id)
def test_a_bad_execution_input_is_refused_before_anything_is_created(tmp_path: Path, case: Case):
    svc = local_services(tmp_path)
    before = _snapshot(tmp_path)
    with pytest.raises(InvalidInput) as caught:
        plan_execution(case.payload, "fuzz", svc)
    message = str(caught.value)
    assert case.needle in message, message
    assert "\n" not in message.strip() and "Traceback" not in message
    assert _snapshot(tmp_path) == before
    assert not svc.store.exists()
    assert svc.fleet.alive({}) == []


@pytest.mark.parametrize("case", COMMAND_CASES, ids=lambda c: c.id)
def test_a_bad_command_input_is_refused_naming_it_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "t.json").write_text(json.dumps([GOOD]))  # the good targets a fault or flag case runs with
    if case.file is not None:
        (inputs / case.file[0]).write_bytes(case.file[1])
    if case.table:
        duckdb.sql(f"COPY (SELECT 'qwen3' AS model_family) TO '{inputs / 'rows.parquet'}' (FORMAT parquet)")
    if case.catalog_file is not None:
        shutil.copytree(SHIPPED_CATALOG, inputs / "cat")
        (inputs / "cat" / case.catalog_file[0]).write_bytes(case.catalog_file[1])
        monkeypatch.setenv("PATHPROVER_CATALOG_DIR", str(inputs / "cat"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATHPROVER_WAREHOUSE", str(tmp_path / "wh"))
    before = _snapshot(tmp_path)
    args = [arg.replace("{in}", str(inputs)) for arg in case.args]
    result = CliRunner().invoke(app, args, input=case.stdin)
    output = result.output
    assert result.exit_code != 0, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    assert case.needle in output, output
    assert _snapshot(tmp_path) == before, "something was created"
