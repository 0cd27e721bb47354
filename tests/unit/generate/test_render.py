"""The generate stage: every deployment_config x deployment_target renders into files that parse,
values survive quoting exactly, unsafe input is refused before rendering, and bundles are
content-addressed and deterministic."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import py_compile
import re
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
import types
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jinja2
import pytest
import typer
import typer.main
import yaml
from pydantic import ValidationError

from pathprover.adapters.local.fleet import simulated_adapter
from pathprover.catalog import Catalog, CatalogError, load_catalog
from pathprover.core.targets import TargetError, ValidationTarget, parse_targets, to_run_config
from pathprover.generate import (
    ENGINES,
    Bundle,
    RenderError,
    default_containers_dir,
    render_bundle,
    render_template,
    write_bundle,
)
from tests.unit.conftest import TUNED, run_for
from tests.unit.generate.conftest import GUIDE_TARGET, make_run

REPO = Path(__file__).resolve().parents[3]
CATALOG = load_catalog(REPO / "catalog")
CASES = [(name, target) for name, config in CATALOG.deployment_configs.items() for target in config.targets]
ALL_STAGES = ["stage", "generate", "build", "deploy", "test", "benchmark", "clean"]
S3_URI = "s3://pathprover-models/weights/Qwen/Qwen3-8B"
# Pinned: the bundle of GUIDE_TARGET with the shipped catalog and templates. A deliberate change to a
# template or to the catalog's transformers-vllm entry changes it; update it then, never otherwise.
GUIDE_DIGEST = "76bf8059957dc7b21f03e2b2a2af25bb0d9842dbf37db36b52251a3024acac29"


def qwen8b(catalog: Catalog, config: str = "transformers-vllm", target: str = "realtime-inference", **extra: Any):
    fields = {
        "model_name": "Qwen/Qwen3-8B",
        "instance_type": "ml.g5.12xlarge",
        "deployment_config": config,
        "deployment_target": target,
        **extra,
    }
    return make_run(catalog, **fields)


def bash(script: str, *, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=cwd, timeout=60, check=False
    )


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any SM_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    env.update(extra)
    return env


def engine_argv(start_sh: Path, **env: str) -> list[str]:
    """Source start.sh and run its argument builder; return PP_ENGINE_ARGS exactly (NUL-separated)."""
    script = 'source "$1"; set -euo pipefail; pp_defaults; pp_engine_args; printf "%s\\0" "${PP_ENGINE_ARGS[@]}"'
    result = subprocess.run(
        ["bash", "-c", script, "bash", str(start_sh)],
        capture_output=True,
        env=clean_env(**env),
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    return out.split("\0")[:-1] if out else []


def written(bundle: Bundle, tmp_path: Path) -> Path:
    out = tmp_path / "bundle"
    write_bundle(bundle, out)
    return out


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line: comments dropped, `\\` continuations joined."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "dangling line continuation"
    return [(line.split(None, 1)[0], line.split(None, 1)[1]) for line in logical]


def docker_env_pairs(arguments: str) -> dict[str, str]:
    """Parse `k="v" k2="v2"` the way Docker does inside double quotes (\\" \\\\ \\$ are escapes)."""
    pairs: dict[str, str] = {}
    i = 0
    while i < len(arguments):
        if arguments[i].isspace():
            i += 1
            continue
        eq = arguments.index("=", i)
        name = arguments[i:eq]
        assert arguments[eq + 1] == '"', f"ENV {name} is not double-quoted"
        i = eq + 2
        value = []
        while arguments[i] != '"':
            if arguments[i] == "\\" and arguments[i + 1] in '"\\$':
                value.append(arguments[i + 1])
                i += 2
            else:
                assert arguments[i] != "$", f"unescaped $ in ENV {name}"
                value.append(arguments[i])
                i += 1
        pairs[name] = "".join(value)
        i += 1
    return pairs


def dockerfile_env(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile_instructions(text):
        if instruction == "ENV":
            env.update(docker_env_pairs(arguments))
    return env


def buildspec_commands(text: str) -> list[str]:
    spec = yaml.safe_load(text)
    assert spec["version"] == 0.2 and spec["env"]["shell"] == "bash"
    commands = [cmd for phase in spec["phases"].values() for cmd in phase.get("commands", [])]
    assert commands and all(isinstance(cmd, str) for cmd in commands)
    return commands


# --------------------------------------------------------------------------- every config x target


@pytest.mark.parametrize("staged", [False, True], ids=["hub", "staged"])
@pytest.mark.parametrize(("config_name", "target"), CASES, ids=[f"{c}-{t}" for c, t in CASES])
def test_every_config_and_target_renders_valid_files(catalog, tmp_path, config_name, target, staged):
    # Given every deployment config x deployment target the catalog offers
    extra: dict[str, Any] = {"stages": ALL_STAGES} if staged else {}
    run = qwen8b(catalog, config_name, target, **extra)
    # When it is rendered
    bundle = render_bundle(run, catalog, model_s3_uri=S3_URI if staged else None)
    out = written(bundle, tmp_path)
    config = catalog.deployment_config(config_name)
    # Then the expected files are there, and nothing was left unrendered
    expected = {"run.json", "deploy.json", "serving/Dockerfile", "serving/start.sh", "serving/serve.py"}
    expected.add("buildspec/build.yml")
    assert expected <= set(bundle.files)
    assert ("buildspec/stage.yml" in bundle.files) is staged
    assert ("benchmark/run.yml" in bundle.files) is (target == "realtime-inference")
    for path, content in bundle.files.items():
        assert b"{{" not in content and b"{%" not in content, path
    # The Dockerfile starts from the catalog's pinned image and has only known instructions
    instructions = dockerfile_instructions(bundle.text("serving/Dockerfile"))
    assert instructions[0] == ("FROM", config.image_for("gpu"))
    known = {"FROM", "RUN", "ENV", "LABEL", "COPY", "EXPOSE", "ENTRYPOINT", "CMD", "WORKDIR"}
    assert {name for name, _ in instructions} <= known
    assert json.loads(dict(instructions)["ENTRYPOINT"]) == ["/opt/pathprover/start.sh"]
    env = dockerfile_env(bundle.text("serving/Dockerfile"))
    assert env["PATHPROVER_ENGINE"] == config.engine
    assert env["MODEL_SOURCE"] == ("s3" if staged else "hub")
    assert env[f"{config.env_prefix}{ENGINES[config.engine].tp_param.upper()}"] == "4"
    # The shell parses, the Python compiles, the YAML and JSON load
    shell = [out / "serving/start.sh"] + ([out / "buildspec/stage.sh"] if staged else [])
    for script in shell:
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{script}: {result.stderr}"
        assert os.stat(script).st_mode & stat.S_IXUSR
    py_compile.compile(str(out / "serving/serve.py"), cfile=str(tmp_path / "serve.pyc"), doraise=True)
    for path in bundle.files:
        if path.endswith(".yml"):
            for command in buildspec_commands(bundle.text(path)):
                result = subprocess.run(["bash", "-n"], input=command, capture_output=True, text=True, check=False)
                assert result.returncode == 0, f"{path}: {result.stderr}\n{command}"
    deploy = json.loads(bundle.text("deploy.json"))
    api = "CreateTransformJob" if target == "batch-transform" else "CreateEndpointConfig"
    assert api in deploy and deploy["deployment_target"] == target
    assert json.loads(bundle.text("run.json"))["config_id"] == run.config_id


def test_neuron_instances_build_from_the_neuron_image(catalog):
    # Given vLLM on Inferentia2
    run = make_run(catalog, model_name="Qwen/Qwen3-8B", instance_type="ml.inf2.24xlarge", tp_degree=2)
    bundle = render_bundle(run, catalog)
    # Then the parent is the catalog's neuron_base_image, never the CUDA one
    config = catalog.deployment_config("transformers-vllm")
    assert dockerfile_instructions(bundle.text("serving/Dockerfile"))[0] == ("FROM", config.neuron_base_image)
    # And an engine without a Neuron build is refused with the catalog's message
    with pytest.raises(CatalogError, match="neuron"):
        render_bundle(
            make_run(
                catalog,
                model_name="Qwen/Qwen3-8B",
                instance_type="ml.inf2.24xlarge",
                tp_degree=2,
                deployment_config="transformers-sglang",
            ),
            catalog,
        )


def test_base_images_come_from_the_catalog_never_from_templates():
    images = {c.base_image for c in CATALOG.deployment_configs.values()}
    images |= {c.neuron_base_image for c in CATALOG.deployment_configs.values() if c.neuron_base_image}
    for template in default_containers_dir().rglob("*.j2"):
        text = template.read_text()
        for image in images:
            assert image not in text, f"{template} hard-codes {image}"


# --------------------------------------------------------------------------- StrictUndefined


def test_a_missing_template_variable_is_an_error(tmp_path):
    # The shipped templates need their whole context
    with pytest.raises(jinja2.UndefinedError):
        render_template("serving/Dockerfile.j2", {})
    # And any template: a typo in a variable name never renders as an empty string
    (tmp_path / "t.j2").write_text("FROM {{ base_imgae }}\n")
    with pytest.raises(jinja2.UndefinedError, match="base_imgae"):
        render_template("t.j2", {"base_image": "x:1"}, directory=tmp_path)


# --------------------------------------------------------------------------- unsafe serving_params


@pytest.mark.parametrize("key", ["max-model-len", "MaxModelLen", "MAX_MODEL_LEN", "a;b", "x y", "1abc", "$(id)", ""])
def test_unsafe_serving_param_keys_are_refused(catalog, key):
    # At the target (the CLI's path) ...
    with pytest.raises(TargetError, match="serving_params"):
        parse_targets({**GUIDE_TARGET, "serving_params": {key: 1}})
    # ... and again in render_bundle, even for a RunConfig built without validation
    run = make_run(catalog, **GUIDE_TARGET).model_copy(update={"serving_params": {key: 1}})  # no validation
    with pytest.raises(RenderError, match="serving_params"):
        render_bundle(run, catalog)


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b"])
def test_serving_param_values_with_line_breaks_are_refused(catalog, value):
    with pytest.raises(TargetError, match="serving_params"):
        parse_targets({**GUIDE_TARGET, "serving_params": {"chat_template": value}})


@pytest.mark.parametrize("value", ["a\tb", "a\x1bb", "a\x7fb"])
def test_other_control_characters_are_refused_before_rendering(catalog, value):
    run = make_run(catalog, **{**GUIDE_TARGET, "serving_params": {"chat_template": value}})
    with pytest.raises(RenderError, match=r"serving_params\.chat_template"):
        render_bundle(run, catalog)


@pytest.mark.parametrize(
    ("config", "key", "message"),
    [
        ("transformers-vllm", "tensor_parallel_size", "tp_degree"),
        ("transformers-vllm", "quantization", "quantization"),
        ("transformers-vllm", "port", "remove it"),
        ("transformers-vllm", "served_model_name", "remove it"),
        ("transformers-sglang", "tp_size", "tp_degree"),
        ("transformers-sglang", "model_path", "remove it"),
        ("tensorrt-llm", "tp_size", "tp_degree"),
        ("http-flask", "num_gpus", "tp_degree"),
        ("http-flask", "gpu_memory_utilization", "does not take"),
    ],
)
def test_params_the_container_sets_itself_are_refused(catalog, config, key, message):
    run = qwen8b(catalog, config, serving_params={key: 1})
    with pytest.raises(RenderError, match=rf"serving_params\.{key}: .*{message}"):
        render_bundle(run, catalog)


# --------------------------------------------------------------------------- quoting survives


TRICKY = {
    "chat_template": 'it\'s a "quoted" value with  two spaces',
    "served_suffix": "$HOME `id` $(id) ; rm -rf / & * ?",
    "tokenizer_mode": "mistral",
    "max_model_len": 32768,
    "gpu_memory_utilization": 0.95,
    "enforce_eager": True,
    "disable_log_stats": False,
    "unicode_note": "naïve – ünïcode",
}


def test_values_survive_shell_quoting_exactly(catalog, tmp_path):
    # Given serving_params with spaces, quotes, $, backticks, globs, booleans and Unicode
    run = qwen8b(catalog, serving_params=TRICKY)
    out = written(render_bundle(run, catalog), tmp_path)
    # When start.sh's argument builder runs in bash
    argv = engine_argv(out / "serving/start.sh")
    # Then every value arrives as one argument, byte for byte; true is a bare flag, false is left out
    assert argv == [
        "--chat-template",
        TRICKY["chat_template"],
        "--enforce-eager",
        "--gpu-memory-utilization",
        "0.95",
        "--max-model-len",
        "32768",
        "--served-suffix",
        TRICKY["served_suffix"],
        "--tensor-parallel-size",
        "4",
        "--tokenizer-mode",
        "mistral",
        "--unicode-note",
        TRICKY["unicode_note"],
    ]
    # And the Dockerfile ENV lines carry the same values (JSON-style quoting, $ escaped for Docker)
    env = dockerfile_env((out / "serving/Dockerfile").read_text())
    assert env["SM_VLLM_SERVED_SUFFIX"] == TRICKY["served_suffix"]
    assert env["SM_VLLM_CHAT_TEMPLATE"] == TRICKY["chat_template"]
    assert env["SM_VLLM_DISABLE_LOG_STATS"] == "false"
    from_dockerfile = engine_argv(out / "serving/start.sh", **{k: v for k, v in env.items() if k.startswith("SM_")})
    assert from_dockerfile == argv


def test_print_args_and_deploy_time_overrides(catalog, tmp_path):
    out = written(render_bundle(make_run(catalog, **GUIDE_TARGET), catalog), tmp_path)
    start = out / "serving/start.sh"
    # A value set at deploy time (SageMaker Environment) overrides the rendered default; new keys join
    result = subprocess.run(
        [str(start), "--print-args"],
        capture_output=True,
        text=True,
        env=clean_env(SM_VLLM_MAX_MODEL_LEN="8192", SM_VLLM_ENABLE_PREFIX_CACHING="true"),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "--enable-prefix-caching",
        "--gpu-memory-utilization",
        "0.95",
        "--kv-cache-dtype",
        "fp8",
        "--max-model-len",
        "8192",
        "--tensor-parallel-size",
        "4",
    ]
    # A key the launch command owns, or a malformed name, stops the container with a clear message
    for name, message in (("SM_VLLM_PORT", "cannot be overridden"), ("SM_VLLM_max_len", "must match")):
        bad = subprocess.run(
            [str(start), "--print-args"], capture_output=True, text=True, env=clean_env(**{name: "1"}), check=False
        )
        assert bad.returncode == 2 and message in bad.stderr and name in bad.stderr


def test_tensorrt_llm_flags_use_underscores(catalog, tmp_path):
    run = qwen8b(catalog, "tensorrt-llm", serving_params={"max_batch_size": 64, "trust_remote_code": True})
    out = written(render_bundle(run, catalog), tmp_path)
    assert engine_argv(out / "serving/start.sh") == ["--max_batch_size", "64", "--tp_size", "4", "--trust_remote_code"]


def test_quantization_and_flask_params_reach_the_engine(catalog, tmp_path):
    fp8 = qwen8b(catalog, "transformers-sglang", quantization="fp8")
    argv = engine_argv(written(render_bundle(fp8, catalog), tmp_path / "a") / "serving/start.sh")
    assert argv == ["--quantization", "fp8", "--tp-size", "4"]
    flask = qwen8b(catalog, "http-flask", serving_params={"max_new_tokens": 256, "trust_remote_code": True})
    argv = engine_argv(written(render_bundle(flask, catalog), tmp_path / "b") / "serving/start.sh")
    assert argv == ["--max-new-tokens", "256", "--num-gpus", "4", "--trust-remote-code"]
    with pytest.raises(RenderError, match="quantization: http-flask cannot run 'fp8'"):
        render_bundle(qwen8b(catalog, "http-flask", quantization="fp8"), catalog)


def test_the_plan_refuses_what_the_renderer_would_before_anything_is_taken(catalog):
    (target,) = parse_targets(
        {
            "model_name": "Qwen/Qwen3-8B",
            "instance_type": "ml.g5.12xlarge",
            "deployment_config": "http-flask",
            "quantization": "fp8",
        }
    )
    with pytest.raises(TargetError, match="quantization: http-flask cannot run 'fp8'"):
        to_run_config(target, catalog)


def test_model_path_follows_model_source(catalog, tmp_path):
    out = written(render_bundle(make_run(catalog, **GUIDE_TARGET), catalog), tmp_path)
    script = 'source "$1"; pp_engine_command || exit 3; printf "%s\\0" "${PP_ENGINE_CMD[@]}"'
    env = clean_env(PATHPROVER_MODEL_ID="Qwen/Qwen3-32B", PATHPROVER_ENGINE_PORT="8081", MODEL_SOURCE="hub")
    result = subprocess.run(
        ["bash", "-c", script, "bash", str(out / "serving/start.sh")], capture_output=True, env=env, check=False
    )
    cmd = result.stdout.decode().split("\0")[:-1]
    assert cmd[:3] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--model") + 1] == "Qwen/Qwen3-32B"
    assert cmd[cmd.index("--port") + 1] == "8081" and cmd[cmd.index("--host") + 1] == "127.0.0.1"
    # With MODEL_SOURCE=s3 and no weights in /opt/ml/model the container refuses to start
    env["MODEL_SOURCE"] = "s3"
    result = subprocess.run(
        ["bash", "-c", script, "bash", str(out / "serving/start.sh")], capture_output=True, env=env, check=False
    )
    assert result.returncode != 0 and b"ModelDataSource" in result.stderr


# --------------------------------------------------------------------------- deploy.json, stage


def test_capacity_reservation_lands_in_deploy_json(catalog):
    arn = "arn:aws:sagemaker:us-east-2:123456789012:training-plan/tp-abc123"
    run = make_run(
        catalog,
        model_name="meta-llama/Llama-3.1-70B-Instruct",
        instance_type="ml.p5.48xlarge",
        infra_params={"capacity_reservation_arn": arn},
    )
    deploy = json.loads(render_bundle(run, catalog).text("deploy.json"))
    variant = deploy["CreateEndpointConfig"]["ProductionVariants"][0]
    assert variant["CapacityReservationConfig"] == {
        "CapacityReservationPreference": "capacity-reservations-only",
        "MlReservationArn": arn,
    }
    assert variant["InstanceType"] == "ml.p5.48xlarge" and deploy["capacity_reservation_arn"] == arn
    # Without one, no CapacityReservationConfig at all
    plain = json.loads(render_bundle(make_run(catalog, **GUIDE_TARGET), catalog).text("deploy.json"))
    assert "CapacityReservationConfig" not in plain["CreateEndpointConfig"]["ProductionVariants"][0]
    # Batch transform has no capacity reservations: refused, naming the field
    batch = make_run(
        catalog,
        **GUIDE_TARGET,
        deployment_target="batch-transform",
        infra_params={"capacity_reservation_arn": arn},
    )
    with pytest.raises(RenderError, match=r"infra_params\.capacity_reservation_arn"):
        render_bundle(batch, catalog)


def test_async_endpoint_config(catalog):
    deploy = json.loads(render_bundle(qwen8b(catalog, target="async-inference"), catalog).text("deploy.json"))
    assert deploy["CreateEndpointConfig"]["AsyncInferenceConfig"]["ClientConfig"] == {
        "MaxConcurrentInvocationsPerInstance": 8
    }
    assert "CreateEndpointConfig.AsyncInferenceConfig.OutputConfig.S3OutputPath" in deploy["fill_in"]


def test_stage_adds_the_stage_buildspec_and_serves_from_s3(catalog):
    # Given the guide's pre-staging example, on a catalog model
    run = make_run(catalog, model_name="Qwen/Qwen3-8B", instance_type="ml.g5.12xlarge", stages=ALL_STAGES)
    bundle = render_bundle(run, catalog, model_s3_uri=S3_URI)
    # Then the stage buildspec and its script are in the bundle
    stage = yaml.safe_load(bundle.text("buildspec/stage.yml"))
    assert stage["env"]["variables"]["MODEL_ID"] == "Qwen/Qwen3-8B"
    assert stage["env"]["variables"]["MODEL_S3_URI"] == S3_URI
    assert "bash buildspec/stage.sh" in stage["phases"]["build"]["commands"]
    assert "secrets-manager" not in stage["env"]  # not gated: no token needed
    # And the serving image reads the weights from S3
    env = dockerfile_env(bundle.text("serving/Dockerfile"))
    assert env["MODEL_SOURCE"] == "s3" and env["MODEL_S3_URI"] == S3_URI
    container = json.loads(bundle.text("deploy.json"))["CreateModel"]["PrimaryContainer"]
    assert container["ModelDataSource"]["S3DataSource"]["S3Uri"] == S3_URI + "/"
    assert container["Environment"]["MODEL_SOURCE"] == "s3"
    # Without "stage": from the hub, no stage files
    hub = render_bundle(qwen8b(catalog), catalog)
    assert dockerfile_env(hub.text("serving/Dockerfile"))["MODEL_SOURCE"] == "hub"
    assert not any(path.startswith("buildspec/stage") for path in hub.files)
    # An S3 URI without "stage" is a mistake, and a bad URI is refused
    with pytest.raises(RenderError, match="model_s3_uri"):
        render_bundle(qwen8b(catalog), catalog, model_s3_uri=S3_URI)
    with pytest.raises(RenderError, match="model_s3_uri"):
        render_bundle(run, catalog, model_s3_uri="s3://bucket/x; rm -rf /")


def test_gated_models_read_the_hub_token_from_secrets_manager(catalog):
    run = make_run(
        catalog, model_name="meta-llama/Llama-3.1-8B-Instruct", instance_type="ml.g5.12xlarge", stages=ALL_STAGES
    )
    stage = yaml.safe_load(render_bundle(run, catalog, hf_token_secret="team/hf").text("buildspec/stage.yml"))
    assert stage["env"]["secrets-manager"] == {"HF_TOKEN": "team/hf"}
    assert stage["env"]["variables"]["MODEL_GATED"] == "true"
    assert "MODEL_S3_URI" not in stage["env"]["variables"]  # not known: passed when the build starts


# --------------------------------------------------------------------------- stage.sh behaviour

FAKE_AWS = r'''#!/usr/bin/env python3
"""`aws s3 ls|cp|sync` over a local folder ($FAKE_S3/<bucket>/<key>)."""
import os, shutil, sys
from pathlib import Path
root = Path(os.environ["FAKE_S3"])
args = [a for a in sys.argv[1:] if a not in ("--quiet", "--only-show-errors", "--no-progress")]
def local(uri):
    return root / uri[len("s3://"):]
def keys(uri):
    rest = uri[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    base = root / bucket
    found = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()) if base.exists() else []
    return bucket, [k for k in found if k.startswith(prefix)]
assert args[0] == "s3", args
op, rest = args[1], args[2:]
if op == "ls":
    _, found = keys(rest[0])
    if not found:
        sys.exit(1)
    for key in found:
        size = (root / rest[0][5:].split("/")[0] / key).stat().st_size
        print(f"2026-11-23 12:00:00 {size:>10} {key}")
elif op == "cp":
    src, dst = rest[0], rest[1]
    if src.startswith("s3://"):
        path = local(src)
        if not path.is_file():
            sys.exit(1)
        if dst == "-":
            sys.stdout.buffer.write(path.read_bytes())
        else:
            shutil.copyfile(path, dst)
    else:
        target = local(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
elif op == "sync":
    src, dst = Path(rest[0]), rest[1].rstrip("/")
    excluded = {rest[i + 1] for i, a in enumerate(rest) if a == "--exclude"}
    wanted = {str(p.relative_to(src)) for p in src.rglob("*") if p.is_file()}
    for rel in wanted:
        target = local(dst + "/" + rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, target)
    if "--delete" in rest:
        base = local(dst)
        for p in base.rglob("*"):
            rel = str(p.relative_to(base))
            if p.is_file() and rel not in wanted and rel not in excluded:
                p.unlink()
else:
    sys.exit(f"fake aws: unsupported {args}")
'''

FAKE_HF = r"""#!/usr/bin/env bash
# hf download MODEL --revision R --local-dir DIR --quiet  ->  copy $FAKE_HF/MODEL into DIR
set -euo pipefail
[[ $1 == download ]] || exit 64
model=$2; shift 2
while (($#)); do case $1 in --local-dir) dir=$2; shift 2 ;; --revision) shift 2 ;; *) shift ;; esac; done
cp -R "$FAKE_HF/$model/." "$dir/"
mkdir -p "$dir/.cache/huggingface" && echo lock > "$dir/.cache/huggingface/x.lock"
echo "$dir"
"""


@pytest.fixture()
def stage_sandbox(catalog, tmp_path) -> Iterator[dict[str, Any]]:
    run = make_run(catalog, model_name="Qwen/Qwen3-8B", instance_type="ml.g5.12xlarge", stages=ALL_STAGES)
    out = written(render_bundle(run, catalog, model_s3_uri="s3://models-bucket/staged/qwen3-8b"), tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "hf").write_text(FAKE_HF)
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    repo = tmp_path / "hub" / "Qwen" / "Qwen3-8B"
    (repo / "sub dir").mkdir(parents=True)
    (repo / "config.json").write_text('{"architectures": ["Qwen3ForCausalLM"]}')
    (repo / "model.safetensors").write_bytes(os.urandom(4096))
    (repo / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    (repo / "sub dir" / "tokenizer.json").write_text("{}")
    env = clean_env(
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        FAKE_S3=str(tmp_path / "s3"),
        FAKE_HF=str(tmp_path / "hub"),
        STAGE_WORK_DIR=str(tmp_path / "work"),
        HF_TOKEN="hf_very_secret_token_123",
    )
    env.pop("MODEL_S3_URI", None)
    yield {
        "script": out / "buildspec/stage.sh",
        "env": env,
        "s3": tmp_path / "s3" / "models-bucket" / "staged" / "qwen3-8b",
    }


def run_stage(sandbox: dict[str, Any], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(sandbox["script"])],
        capture_output=True,
        text=True,
        env={**sandbox["env"], **env},
        timeout=60,
        check=False,
    )


def test_stage_uploads_with_a_manifest_then_is_a_no_op(stage_sandbox):
    # When the weights are staged for the first time
    first = run_stage(stage_sandbox)
    assert first.returncode == 0, first.stderr
    s3: Path = stage_sandbox["s3"]
    # Then every file is uploaded (not the hub client's .cache) with a sorted sha256 manifest
    manifest = (s3 / "manifest.sha256").read_text().splitlines()
    paths = [line.split("  ", 1)[1] for line in manifest]
    assert paths == sorted(paths) == [".gitattributes", "config.json", "model.safetensors", "sub dir/tokenizer.json"]
    assert not (s3 / ".cache").exists()
    check = subprocess.run(["sha256sum", "--check", "--strict", "manifest.sha256"], cwd=s3, capture_output=True)
    assert check.returncode == 0, check.stdout
    # And a second run finds a matching copy and does nothing
    second = run_stage(stage_sandbox)
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout and "downloading" not in second.stdout
    # The token is never printed
    for result in (first, second):
        assert "hf_very_secret_token_123" not in result.stdout + result.stderr


@pytest.mark.parametrize("tamper", ["changed", "planted", "missing"])
def test_stage_refuses_a_tampered_copy(stage_sandbox, tamper):
    assert run_stage(stage_sandbox).returncode == 0
    s3: Path = stage_sandbox["s3"]
    if tamper == "changed":
        (s3 / "config.json").write_text('{"architectures": ["Evil"]}')
    elif tamper == "planted":
        (s3 / "sub dir" / "modeling_evil.py").write_text("import os")
    else:
        (s3 / "model.safetensors").unlink()
    result = run_stage(stage_sandbox)
    assert result.returncode != 0
    assert "refusing tampered copy" in result.stderr


def test_stage_needs_a_destination_and_a_token_for_gated_models(stage_sandbox):
    missing = run_stage(stage_sandbox, MODEL_S3_URI="s3://bad bucket/x")
    assert missing.returncode != 0 and "MODEL_S3_URI" in missing.stderr
    gated = run_stage(stage_sandbox, MODEL_GATED="true", HF_TOKEN="")
    assert gated.returncode != 0 and "HF_TOKEN is empty" in gated.stderr


# --------------------------------------------------------------------------- the proxy serve.py


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeEngine(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ready = False
    seen: list[tuple[str, dict[str, Any]]] = []  # noqa: RUF012 - shared on purpose by the test

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        status = 200 if type(self).ready else 503
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, body))
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b'data: {"choices":[{"text":"a"}]}\n\n', b"data: [DONE]\n\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        data = json.dumps({"choices": [{"text": "hello"}], "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_proxy_serve_py_implements_the_sagemaker_contract(catalog, tmp_path):
    # Given the rendered proxy for a batch-transform vLLM container, and a fake engine still booting
    out = written(render_bundle(qwen8b(catalog, target="batch-transform"), catalog), tmp_path)
    engine_port, port = free_port(), free_port()
    FakeEngine.ready, FakeEngine.seen = False, []
    engine = ThreadingHTTPServer(("127.0.0.1", engine_port), FakeEngine)
    threading.Thread(target=engine.serve_forever, daemon=True).start()
    env = clean_env(
        SAGEMAKER_BIND_TO_PORT=str(port),
        PATHPROVER_ENGINE_PORT=str(engine_port),
        PATHPROVER_SERVED_MODEL="Qwen/Qwen3-8B",
    )
    proxy = subprocess.Popen([sys.executable, str(out / "serving/serve.py")], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                status, _ = http("GET", base + "/ping")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve.py did not start"
                time.sleep(0.05)
        # Then /ping is 503 while the engine boots, 200 once it is healthy
        assert status == 503
        FakeEngine.ready = True
        assert http("GET", base + "/ping")[0] == 200
        # /invocations proxies completions with the served model name filled in
        status, body = http("POST", base + "/invocations", {"prompt": "hi", "max_tokens": 4, "model": "x"})
        assert status == 200 and json.loads(body)["choices"][0]["text"] == "hello"
        assert FakeEngine.seen[-1] == ("/v1/completions", {"prompt": "hi", "max_tokens": 4, "model": "Qwen/Qwen3-8B"})
        # chat goes to chat completions, {"inputs", "parameters"} is mapped to completions
        http("POST", base + "/invocations", {"messages": [{"role": "user", "content": "hi"}]})
        assert FakeEngine.seen[-1][0] == "/v1/chat/completions"
        http("POST", base + "/invocations", {"inputs": "hi", "parameters": {"max_new_tokens": 3}})
        assert FakeEngine.seen[-1][1] == {"prompt": "hi", "stream": False, "max_tokens": 3, "model": "Qwen/Qwen3-8B"}
        # streaming is relayed chunk by chunk
        status, body = http("POST", base + "/invocations", {"prompt": "hi", "stream": True})
        assert status == 200 and body.endswith(b"data: [DONE]\n\n") and b'"text":"a"' in body
        # bad bodies are 400s; batch transform gets its execution parameters
        assert http("POST", base + "/invocations", {"nothing": 1})[0] == 400
        status, body = http("GET", base + "/execution-parameters")
        assert status == 200 and json.loads(body)["BatchStrategy"] == "SINGLE_RECORD"
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        engine.shutdown()
        engine.server_close()


# --------------------------------------------------------------------------- digest, archives, writing


def test_the_digest_is_content_addressed_and_pinned(catalog):
    run = make_run(catalog, **GUIDE_TARGET)
    first, second = render_bundle(run, catalog), render_bundle(make_run(catalog, **GUIDE_TARGET), catalog)
    assert first.files == second.files and first.digest == second.digest
    assert first.digest == GUIDE_DIGEST
    assert list(first.files) == sorted(first.files)
    # The digest is the sha256 of the sha256sum-style listing, so it only depends on content
    assert Bundle(dict(reversed(list(first.files.items())))).digest == first.digest
    changed = render_bundle(make_run(catalog, **{**GUIDE_TARGET, "serving_params": {"max_model_len": 8192}}), catalog)
    assert changed.digest != first.digest
    manifest = first.manifest()
    assert manifest["digest"] == first.digest
    assert [entry["path"] for entry in manifest["files"]] == list(first.files)
    # The image tag follows the serving files only
    serving = json.loads(first.text("run.json"))["images"]["serving"]
    assert serving["tag"] == f"{run.config_id}-{first.subtree_digest('serving')[:12]}"
    assert yaml.safe_load(first.text("buildspec/build.yml"))["env"]["variables"]["IMAGE_TAG"] == serving["tag"]


def test_the_guide_example_renders_the_guides_flags(catalog, tmp_path):
    out = written(render_bundle(make_run(catalog, **GUIDE_TARGET), catalog), tmp_path)
    assert engine_argv(out / "serving/start.sh") == [
        "--gpu-memory-utilization",
        "0.95",
        "--kv-cache-dtype",
        "fp8",
        "--max-model-len",
        "32768",
        "--tensor-parallel-size",
        "4",
    ]


def test_unknown_names_and_impossible_vectors_fail_naming_the_field(catalog):
    with pytest.raises(CatalogError, match="unknown model"):
        make_run(catalog, model_name="Qwen/Qwen3-33B", instance_type="ml.g5.12xlarge")
    with pytest.raises(TargetError, match="tp_degree"):
        make_run(catalog, **GUIDE_TARGET, tp_degree=8)
    with pytest.raises(ValidationError):
        ValidationTarget.model_validate({**GUIDE_TARGET, "servng_params": {}})
    with pytest.raises(RenderError, match="image_repo"):
        render_bundle(make_run(catalog, **GUIDE_TARGET), catalog, image_repo="Bad Repo")


def test_flask_server_accepts_every_param_the_engine_allows(catalog, tmp_path, monkeypatch):
    # Given the rendered http-flask server, imported with a stand-in for Flask (not installed here)
    params = {"dtype": "bfloat16", "max_new_tokens": 64, "trust_remote_code": True, "revision": "main"}
    params["attn_implementation"] = "sdpa"
    assert set(params) == ENGINES["flask"].allowed_params
    out = written(render_bundle(qwen8b(catalog, "http-flask", serving_params=params), catalog), tmp_path)
    stub = types.ModuleType("flask")

    class App:
        def __init__(self, name: str) -> None:
            self.name = name

        def get(self, path: str) -> Any:
            return lambda function: function

        post = get

    stub.Flask, stub.Response, stub.jsonify, stub.request = App, object, dict, None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "flask", stub)
    spec = importlib.util.spec_from_file_location("rendered_flask_serve", out / "serving/serve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # When start.sh's arguments are parsed by the server
    args = module.parse_args(["--model", "/opt/ml/model", *engine_argv(out / "serving/start.sh")])
    # Then every allowed SM_FLASK_ parameter arrives typed
    assert (args.model, args.num_gpus, args.dtype, args.max_new_tokens) == ("/opt/ml/model", 4, "bfloat16", 64)
    assert (args.trust_remote_code, args.revision, args.attn_implementation) == (True, "main", "sdpa")
    # And SageMaker-style bodies map onto OpenAI ones
    assert module.to_openai({"inputs": "hi", "parameters": {"max_new_tokens": 2}}) == (
        "/v1/completions",
        {"prompt": "hi", "stream": False, "max_tokens": 2},
    )


def test_the_benchmark_job_only_uses_flags_loadgen_has(catalog):
    # Given the real `pathprover loadgen` command and the rendered benchmark job
    loadgen = pytest.importorskip("pathprover.loadgen.cli")
    probe = typer.Typer()
    probe.command("loadgen")(loadgen.loadgen_command)
    command = typer.main.get_command(probe)
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    run_yml = render_bundle(make_run(catalog, **GUIDE_TARGET), catalog).text("benchmark/run.yml")
    (script,) = buildspec_commands(run_yml)
    # Then every flag the job passes exists
    used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", script.split("pathprover loadgen", 1)[0]))
    assert used and used <= known, used - known


# --------------------------------------------------------------------------- build.yml behaviour

FAKE_BUILD_AWS = r"""#!/usr/bin/env bash
# sts / ecr over $FAKE_ECR/<repository>/<tag> files holding a digest.
set -euo pipefail
case "$1 $2" in
  "sts get-caller-identity") echo 123456789012 ;;
  "ecr get-login-password") echo not-a-real-password ;;
  "ecr describe-images")
    shift 2; query=""
    while (($#)); do
      case $1 in
        --repository-name) repo=$2; shift 2 ;;
        --image-ids) tag=${2#imageTag=}; shift 2 ;;
        --registry-id) echo "$2" >> "$FAKE_LOG.registry"; shift 2 ;;
        --query) query=$2; shift 2 ;;
        *) shift ;;
      esac
    done
    [[ -f $FAKE_ECR/$repo/$tag ]] || { echo "ImageNotFoundException" >&2; exit 254; }
    if [[ -n $query ]]; then cat "$FAKE_ECR/$repo/$tag"; else echo '{"imageDetails": [{}]}'; fi ;;
  *) echo "fake aws: unsupported $*" >&2; exit 2 ;;
esac
"""

FAKE_DOCKER = r"""#!/usr/bin/env bash
set -euo pipefail
echo "docker $*" >> "$FAKE_LOG"
case $1 in
  login) cat >/dev/null ;;
  build) ;;
  push)
    ref=${2#*/}; repo=${ref%:*}; tag=${ref##*:}
    mkdir -p "$FAKE_ECR/$repo"
    printf 'sha256:%064d\n' 7 > "$FAKE_ECR/$repo/$tag" ;;
esac
"""


def run_buildspec(path: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run a buildspec's commands the way CodeBuild 0.2 does: one bash shell, phases in order."""
    bin_dir = tmp_path / "build-bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "aws").write_text(FAKE_BUILD_AWS)
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    spec = yaml.safe_load(path.read_text())
    variables = {k: str(v) for k, v in spec["env"]["variables"].items()}
    script = "\n".join(buildspec_commands(path.read_text()))
    full_env = clean_env(
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        FAKE_ECR=str(tmp_path / "ecr"),
        FAKE_LOG=str(tmp_path / "log"),
        AWS_REGION="us-east-1",
        CODEBUILD_BUILD_SUCCEEDING="1",
        **variables,
    )
    full_env.update(env)
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=full_env, cwd=path.parents[1], check=False
    )


def test_build_buildspec_pushes_once_and_exports_the_digest(catalog, tmp_path):
    bundle = render_bundle(make_run(catalog, **GUIDE_TARGET), catalog)
    out = written(bundle, tmp_path)
    tag = json.loads(bundle.text("run.json"))["images"]["serving"]["tag"]
    # When the build runs for the first time
    first = run_buildspec(out / "buildspec/build.yml", tmp_path)
    assert first.returncode == 0, first.stderr
    log = (tmp_path / "log").read_text()
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/pathprover:{tag}"
    assert f"docker build --pull --file serving/Dockerfile --tag {uri} serving" in log
    assert f"docker push {uri}" in log
    # Then the digest is reported and written to image.json
    digest = "sha256:" + "0" * 63 + "7"
    assert f"IMAGE_DIGEST={digest}" in first.stdout
    assert json.loads((out / "image.json").read_text()) == {"image_uri": uri, "image_digest": digest}
    # And a second build of the same content skips docker and still reports the digest
    (tmp_path / "log").write_text("")
    second = run_buildspec(out / "buildspec/build.yml", tmp_path)
    assert second.returncode == 0 and "skipping the build" in second.stdout
    assert "docker build" not in (tmp_path / "log").read_text() and digest in second.stdout


def test_build_buildspec_takes_a_full_repository_uri(catalog, tmp_path):
    registry = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
    bundle = render_bundle(make_run(catalog, **GUIDE_TARGET), catalog, image_repo=f"{registry}/team/serving")
    variables = yaml.safe_load(bundle.text("buildspec/build.yml"))["env"]["variables"]
    assert (variables["IMAGE_REGISTRY"], variables["IMAGE_REPO"]) == (registry, "team/serving")
    out = written(bundle, tmp_path)
    # An IMAGE_REPO_URI / IMAGE_TAG given when the build starts wins over the rendered ones
    result = run_buildspec(
        out / "buildspec/build.yml", tmp_path, IMAGE_REPO_URI=f"{registry}/other", IMAGE_TAG="fromlifecycle"
    )
    assert result.returncode == 0, result.stderr
    assert f"docker push {registry}/other:fromlifecycle" in (tmp_path / "log").read_text()
    assert (tmp_path / "log.registry").read_text().split() == ["210987654321", "210987654321"]
    with pytest.raises(RenderError, match="image_repo"):
        render_bundle(make_run(catalog, **GUIDE_TARGET), catalog, image_repo="Bad Repo")


# --------------------------------------------------------------------------- base images through ECR

CACHE = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("vllm/vllm-openai:v0.11.0", ("docker.io", "vllm/vllm-openai:v0.11.0")),
        ("python:3.11", ("docker.io", "library/python:3.11")),
        ("docker.io/library/python:3.11", ("docker.io", "library/python:3.11")),
        ("registry-1.docker.io/lmsysorg/sglang:v0.5.5", ("docker.io", "lmsysorg/sglang:v0.5.5")),
        ("public.ecr.aws/docker/library/python:3.11-slim", ("public.ecr.aws", "docker/library/python:3.11-slim")),
        ("nvcr.io/nvidia/tensorrt-llm/release:1.0.0", ("nvcr.io", "nvidia/tensorrt-llm/release:1.0.0")),
        ("quay.io/org/img@sha256:" + "a" * 64, ("quay.io", "org/img@sha256:" + "a" * 64)),
        ("localhost:5000/x:1", ("localhost:5000", "x:1")),
    ],
)
def test_image_references_split_into_upstream_and_path(image, expected):
    from pathprover.generate.render import split_image_reference

    assert split_image_reference(image) == expected


def test_the_cache_spec_lists_the_upstreams_it_serves():
    from pathprover.generate.render import BASE_IMAGE_CACHE_PREFIXES, parse_base_image_registry

    # The registry alone: every upstream with a cache prefix
    assert parse_base_image_registry(CACHE).upstreams == frozenset(BASE_IMAGE_CACHE_PREFIXES)
    # With a list: only those (the stack lists Docker Hub only when it has a credential for it)
    only = parse_base_image_registry(f"{CACHE};public.ecr.aws, quay.io")
    assert (only.registry, only.upstreams) == (CACHE, frozenset({"public.ecr.aws", "quay.io"}))
    assert only.pull_reference("vllm/vllm-openai:v0.11.0") == "vllm/vllm-openai:v0.11.0"
    assert (
        only.pull_reference("public.ecr.aws/neuron/x:1")
        == f"{CACHE}/{BASE_IMAGE_CACHE_PREFIXES['public.ecr.aws']}/neuron/x:1"
    )
    with pytest.raises(RenderError, match=r"base_image_registry: no pull-through cache or mirror prefix for nvcr\.io"):
        parse_base_image_registry(f"{CACHE};nvcr.io")
    with pytest.raises(RenderError, match="base_image_registry"):
        parse_base_image_registry("not a registry;docker.io")


def test_without_a_registry_base_images_are_pulled_from_their_upstream(catalog):
    # Given the default (local use) / Then the bundle is byte for byte what it always was
    bundle = render_bundle(make_run(catalog, **GUIDE_TARGET), catalog)
    assert bundle.digest == GUIDE_DIGEST
    assert "base_image_pull" not in json.loads(bundle.text("run.json"))
    assert "BASE_REGISTRY" not in bundle.text("buildspec/build.yml")


def test_with_a_registry_every_cached_parent_comes_through_ecr(catalog):
    from pathprover.generate.render import BASE_IMAGE_CACHE_PREFIXES, BENCHMARK_BASE_IMAGE

    docker_hub = BASE_IMAGE_CACHE_PREFIXES["docker.io"]
    ecr_public = BASE_IMAGE_CACHE_PREFIXES["public.ecr.aws"]
    # Given a vLLM target (Docker Hub parent) with the benchmark runner (ECR Public parent)
    run = make_run(catalog, **GUIDE_TARGET)
    bundle = render_bundle(run, catalog, base_image_registry=CACHE)
    upstream = catalog.deployment_config("transformers-vllm").base_image
    # Then the Dockerfiles pull through the account's cache, the upstream path kept under the rule's prefix
    serving_from = dockerfile_instructions(bundle.text("serving/Dockerfile"))[0]
    assert serving_from == ("FROM", f"{CACHE}/{docker_hub}/{upstream}")
    bench_from = dockerfile_instructions(bundle.text("benchmark/Dockerfile"))[0]
    assert bench_from == ("FROM", f"{CACHE}/{ecr_public}/{BENCHMARK_BASE_IMAGE.split('/', 1)[1]}")
    # And what the image is built from is still named by its upstream (label, run.json)
    assert f'io.pathprover.base-image="{upstream}"' in bundle.text("serving/Dockerfile")
    manifest = json.loads(bundle.text("run.json"))
    assert manifest["base_image"] == upstream
    assert manifest["base_image_pull"] == f"{CACHE}/{docker_hub}/{upstream}"
    # And the build logs in to the cache's registry
    build = yaml.safe_load(bundle.text("buildspec/build.yml"))
    assert f"BASE_REGISTRY={CACHE}" in "\n".join(build["phases"]["pre_build"]["commands"])


def test_parents_without_a_cache_rule_stay_upstream(catalog):
    # Given TensorRT-LLM (NGC has no ECR pull-through cache) and a cache without Docker Hub (no credential)
    trt = render_bundle(qwen8b(catalog, "tensorrt-llm"), catalog, base_image_registry=CACHE)
    assert dockerfile_instructions(trt.text("serving/Dockerfile"))[0] == (
        "FROM",
        catalog.deployment_config("tensorrt-llm").base_image,
    )
    assert "BASE_REGISTRY" not in trt.text("buildspec/build.yml")
    vllm = render_bundle(qwen8b(catalog), catalog, base_image_registry=f"{CACHE};public.ecr.aws,quay.io")
    assert dockerfile_instructions(vllm.text("serving/Dockerfile"))[0] == (
        "FROM",
        catalog.deployment_config("transformers-vllm").base_image,
    )
    # Then only the ECR Public parent (the benchmark runner's) comes through the cache
    assert dockerfile_instructions(vllm.text("benchmark/Dockerfile"))[0][1].startswith(f"{CACHE}/")


def test_the_build_logs_in_to_a_cache_in_another_registry(catalog, tmp_path):
    cache = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
    out = written(render_bundle(make_run(catalog, **GUIDE_TARGET), catalog, base_image_registry=cache), tmp_path)
    result = run_buildspec(out / "buildspec/build.yml", tmp_path)
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "log").read_text()
    assert "docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com" in log
    assert f"docker login --username AWS --password-stdin {cache}" in log
    assert "docker build --pull --file serving/Dockerfile" in log


def test_settings_carry_the_base_image_registry():
    from pathprover.settings import Settings

    assert Settings().base_image_registry is None
    spec = f"{CACHE};public.ecr.aws,quay.io"
    assert Settings.from_env({"PATHPROVER_BASE_IMAGE_REGISTRY": spec}).base_image_registry == spec


def test_a_gated_model_is_always_rendered_from_staged_weights_never_with_the_token_in_create_model(catalog):
    # Given a gated model whose target does not ask for the stage step
    run = make_run(catalog, **{**GUIDE_TARGET, "model_name": "meta-llama/Llama-3.1-8B-Instruct"})
    assert "stage" not in run.stages
    bundle = render_bundle(run, catalog)
    deploy = json.loads(bundle.text("deploy.json"))
    # Then the weights are staged (the stage build reads the token from Secrets Manager) and loaded from S3
    assert "buildspec/stage.yml" in bundle.files
    assert deploy["model_source"] == "s3"
    assert "HF_TOKEN" not in json.dumps(deploy)


def test_without_a_docker_hub_cache_the_build_mirrors_the_parent_into_ecr_once(catalog):
    # Given a registry spec that caches ECR Public and Quay and mirrors Docker Hub (no credential)
    spec = f"{CACHE.split('/')[0]};public.ecr.aws,quay.io,mirror:docker.io"
    bundle = render_bundle(make_run(catalog, **GUIDE_TARGET), catalog, base_image_registry=spec)
    # Then the vLLM parent is pulled from the mirror, and the build mirrors it first if it is missing
    parent = dockerfile_instructions(bundle.text("serving/Dockerfile"))[0][1]
    assert parent.endswith("/pathprover-mirror/docker-hub/vllm/vllm-openai:v0.11.0")
    build = bundle.text("buildspec/build.yml")
    assert "MIRROR_FROM=docker.io/vllm/vllm-openai:v0.11.0" in build
    assert 'docker push "$MIRROR_TO"' in build
    # And without a mirror the build has no such step (bundles stay byte-identical)
    assert "MIRROR_FROM" not in render_bundle(make_run(catalog, **GUIDE_TARGET), catalog).text("buildspec/build.yml")


PRINT_COMMAND = 'printf "%s\\n" "${PP_ENGINE_CMD[@]}"'


def _engine_command(bundle_text: str, tmp_path: Path, adapter_rank: int | None) -> list[str]:
    adapter_dir = tmp_path / "adapter"
    script = tmp_path / "start.sh"
    script.write_text(bundle_text.replace("/opt/ml/additional-model-data-sources/adapter", str(adapter_dir)))
    env = {"PATH": os.environ["PATH"], "PATHPROVER_MODEL_ID": "Qwen/Qwen3-4B", "PATHPROVER_ENGINE_PORT": "8081"}
    if adapter_rank is not None:
        adapter_dir.mkdir(exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(simulated_adapter("Qwen/Qwen3-4B", adapter_rank)), mode="r:gz") as tar:
            tar.extractall(adapter_dir, filter="data")
        env["PATHPROVER_ADAPTER_NAME"] = "pathprover-lora"
    out = subprocess.run(
        [
            "bash",
            "-c",
            f'set -euo pipefail; source {script}; pp_engine_command; printf "%s\\n" "${{PP_ENGINE_CMD[@]}}"',
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return out.stdout.splitlines()


def test_a_tuned_vllm_bundle_starts_the_engine_with_the_adapter(tmp_path):
    bundle = render_bundle(run_for(stages=TUNED), CATALOG)
    start = bundle.text("serving/start.sh")
    assert "--enable-lora" in start and "--lora-modules" in start and "--max-lora-rank" in start
    # When the deploy names the adapter (rank 24): vLLM's smallest accepted max rank above it is 32
    command = _engine_command(start, tmp_path, 24)
    assert command[-7:] == [
        "--enable-lora", "--max-loras", "1", "--max-lora-rank", "32",
        "--lora-modules", f"pathprover-lora={tmp_path / 'adapter'}",
    ]  # fmt: skip
    # And without an adapter the same image serves the base model only
    assert "--enable-lora" not in _engine_command(start, tmp_path, None)


def test_a_tuned_sglang_bundle_passes_lora_paths(tmp_path):
    start = render_bundle(run_for(stages=TUNED, deployment_config="transformers-sglang"), CATALOG).text(
        "serving/start.sh"
    )
    command = _engine_command(start, tmp_path, 8)
    assert command[-6:] == [
        "--lora-paths", f"pathprover-lora={tmp_path / 'adapter'}", "--max-loras-per-batch", "1", "--max-lora-rank", "8"
    ]  # fmt: skip


def test_an_untuned_bundle_has_no_lora_and_a_lora_incapable_engine_is_not_rendered():
    assert "lora" not in render_bundle(run_for(), CATALOG).text("serving/start.sh").lower()
    run = run_for(deployment_config="tensorrt-llm")
    tuned = run.model_copy(update={"tuning": run_for(stages=TUNED).tuning})
    with pytest.raises(RenderError, match="cannot serve LoRA"):
        render_bundle(tuned, CATALOG)
