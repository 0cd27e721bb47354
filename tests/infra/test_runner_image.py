"""The benchmark runner image exists before the first benchmark: its source is built at synthesis (one
deterministic zip), a CodeBuild project builds it, a custom resource starts that build at deploy, and
the runner build, the benchmark project and the Lambdas agree on one tag: `runner-<sha12 of the zip>`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C
from infra.constructs.runner_image import BUILD_SCRIPT
from infra.iam import flatten
from infra.runner_source import build_runner_source, source_zip_bytes, wheel_bytes

from tests.infra.conftest import FULL, Synth, synthesize
from tests.infra.test_iam import actions_of, function_role, policies, role_statements

REPO = Path(__file__).resolve().parents[2]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _project(synth: Synth, name: str) -> tuple[str, dict[str, Any]]:
    for logical, resource in synth.resources("AWS::CodeBuild::Project").items():
        if resource["Properties"]["Name"] == name:
            return logical, resource["Properties"]
    raise AssertionError(name)


def _env(project: dict[str, Any]) -> dict[str, Any]:
    return {v["Name"]: v["Value"] for v in project["Environment"].get("EnvironmentVariables", [])}


def _function_env(synth: Synth, name: str) -> dict[str, Any]:
    for resource in synth.resources("AWS::Lambda::Function").values():
        if resource["Properties"].get("FunctionName") == name:
            return dict(resource["Properties"]["Environment"]["Variables"])
    raise AssertionError(name)


# --------------------------------------------------------------------------- the source zip


def test_the_source_zip_is_deterministic_and_names_the_tag(tmp_path: Path) -> None:
    first = build_runner_source(tmp_path / "a")
    second = build_runner_source(tmp_path / "b")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert first.tag == f"runner-{first.sha256[:12]}" and first.path.name == f"{first.tag}.zip"
    with zipfile.ZipFile(first.path) as archive:
        names = archive.namelist()
        assert names == ["Dockerfile", "wheels/pathprover-0.1.0-py3-none-any.whl"]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_dockerfile_is_the_one_the_bundles_render(tmp_path: Path) -> None:
    # Given the guide's target rendered by the generate stage / Then its runner Dockerfile is the shipped one
    from pathprover.catalog import load_catalog
    from pathprover.core.targets import parse_targets, to_run_config
    from pathprover.generate import render_bundle

    catalog = load_catalog(REPO / "catalog")
    (target,) = parse_targets({"model_name": "Qwen/Qwen3-32B", "instance_type": "ml.g5.12xlarge"})
    bundle = render_bundle(to_run_config(target, catalog), catalog)
    with zipfile.ZipFile(io.BytesIO(source_zip_bytes())) as archive:
        assert archive.read("Dockerfile").decode() == bundle.text("benchmark/Dockerfile")


@pytest.mark.slow
def test_the_wheel_installs_and_carries_the_package_its_data_and_the_command(tmp_path: Path) -> None:
    name, data = wheel_bytes()
    wheel = tmp_path / name
    wheel.write_bytes(data)
    target = tmp_path / "site"
    # pip checks the wheel's RECORD hashes while installing it (no index: nothing else is fetched)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    package = target / "pathprover"
    assert (package / "cli" / "app.py").is_file()
    assert (package / "_catalog" / "instances.yaml").is_file()
    assert (package / "_containers" / "benchmark" / "Dockerfile.j2").is_file()
    assert (package / "_statemachines" / "path-prover.asl.json").is_file()
    with zipfile.ZipFile(wheel) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".pyc")]
        info = "pathprover-0.1.0.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        assert "Requires-Dist: pydantic" in metadata
        assert 'Requires-Dist: boto3>=1.34; extra == "aws"' in metadata and "Provides-Extra: aws" in metadata
        assert "pathprover = pathprover.cli.app:main" in archive.read(f"{info}/entry_points.txt").decode()
    code = "import pathprover.catalog.loader as l; print(l.default_catalog_dir())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(result.stdout.strip()) == package / "_catalog"


# --------------------------------------------------------------------------- one tag, everywhere


def test_the_runner_build_the_benchmark_project_and_the_lambdas_share_one_image(full: Synth) -> None:
    runner = full.stack.prover.farm.runner
    assert runner.tag == f"runner-{runner.source_sha256[:12]}"
    _, project = _project(full, C.RUNNER_IMAGE_PROJECT)
    image_uri = _env(project)["IMAGE_URI"]
    assert flatten(image_uri).endswith(f"/<{_repository(full)}>:{runner.tag}")
    _, benchmark = _project(full, C.BENCHMARK_PROJECT)
    assert flatten(benchmark["Environment"]["Image"]).endswith(f":{runner.tag}")
    for spec in C.FUNCTIONS:
        env = _function_env(full, spec.name)
        assert env["PATHPROVER_RUNNER_IMAGE_URI"] == image_uri, spec.name
        assert env["PATHPROVER_RUNNER_IMAGE_PROJECT"] == C.RUNNER_IMAGE_PROJECT
    # And the workflow starts the runner build from the same source object the project has
    source = _function_env(full, "pathprover-check")["PATHPROVER_RUNNER_SOURCE_S3_URI"]
    key = f"{runner.asset.asset_hash}.zip"
    assert flatten(source) == f"s3://cdk-hnb659fds-assets-123456789012-us-east-1/{key}"
    assert project["Source"]["Type"] == "S3"
    assert flatten(project["Source"]["Location"]) == f"cdk-hnb659fds-assets-123456789012-us-east-1/{key}"


def _text(value: Any) -> str:
    """An Fn::Join of literals and references as text, references as <LogicalId> (braces kept, unlike flatten)."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(_text(p) for p in parts)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    return "<...>"


def _repository(synth: Synth) -> str:
    return synth.stack.get_logical_id(synth.stack.prover.farm.benchmark_repository.node.default_child)


def test_a_pinned_tag_is_used_by_both(tmp_path: Path) -> None:
    synth = synthesize({**FULL, C.CTX_BENCHMARK_IMAGE_TAG: "runner-pinned"}, tmp_path)
    _, project = _project(synth, C.RUNNER_IMAGE_PROJECT)
    assert flatten(_env(project)["IMAGE_URI"]).endswith(":runner-pinned")
    _, benchmark = _project(synth, C.BENCHMARK_PROJECT)
    assert flatten(benchmark["Environment"]["Image"]).endswith(":runner-pinned")


# --------------------------------------------------------------------------- built at deploy


def test_the_deploy_starts_the_runner_build_once_per_tag(full: Synth) -> None:
    _, resource = full.one("Custom::PathProverRunnerImageBuild")
    project, _ = _project(full, C.RUNNER_IMAGE_PROJECT)
    props = resource["Properties"]
    assert props["Create"] == props["Update"]
    call = _text(props["Create"])
    assert '"action":"startBuild","service":"CodeBuild"' in call
    assert f'"projectName":"<{project}>"' in call
    assert f'"physicalResourceId":{{"id":"{full.stack.prover.farm.runner.tag}"}}' in call
    assert '"outputPaths":["build.id"]' in call  # the response stays far below the 4 KB custom resource limit
    assert props.get("InstallLatestAwsSdk") is False  # no npm install at deploy
    depends = set(resource.get("DependsOn", []))
    assert project in depends
    assert set(full.resources("AWS::ECR::PullThroughCacheRule")) <= depends


def test_the_trigger_may_only_start_the_runner_build(full: Synth) -> None:
    project, _ = _project(full, C.RUNNER_IMAGE_PROJECT)
    statements = role_statements(full, function_role(full, C.RUNNER_TRIGGER_FUNCTION))
    assert actions_of(statements) == {"codebuild:StartBuild", "logs:CreateLogStream", "logs:PutLogEvents"}
    start = [s for s in statements if "codebuild:StartBuild" in _list(s["Action"])]
    assert [s["Resource"] for s in start] == [{"Fn::GetAtt": [project, "Arn"]}]
    role = full.json["Resources"][function_role(full, C.RUNNER_TRIGGER_FUNCTION)]["Properties"]
    assert "ManagedPolicyArns" not in role


# --------------------------------------------------------------------------- permissions


def test_the_runner_build_pushes_only_the_runner_repository_from_only_its_source(full: Synth) -> None:
    _, project = _project(full, C.RUNNER_IMAGE_PROJECT)
    role = project["ServiceRole"]["Fn::GetAtt"][0]
    statements = role_statements(full, role)
    pushes = [s for s in statements if "ecr:PutImage" in _list(s["Action"])]
    assert [s["Resource"] for s in pushes] == [{"Fn::GetAtt": [_repository(full), "Arn"]}]
    reads = {flatten(r) for s in statements if "s3:GetObject" in _list(s["Action"]) for r in _list(s["Resource"])}
    key = f"{full.stack.prover.farm.runner.asset.asset_hash}.zip"
    assert reads == {f"arn:aws:s3:::cdk-hnb659fds-assets-123456789012-us-east-1/{key}"}
    assert project["Environment"]["PrivilegedMode"] is True


def test_proves_may_check_and_build_the_runner_image_before_their_first_benchmark(full: Synth) -> None:
    project, _ = _project(full, C.RUNNER_IMAGE_PROJECT)
    runner_arn = {"Fn::GetAtt": [project, "Arn"]}
    repository_arn = {"Fn::GetAtt": [_repository(full), "Arn"]}
    for function in ("pathprover-advance", "pathprover-check"):
        statements = role_statements(full, function_role(full, function))
        on_runner = {a for s in statements if runner_arn in _list(s["Resource"]) for a in _list(s["Action"])}
        assert on_runner == {"codebuild:StartBuild", "codebuild:BatchGetBuilds"}, function
        describe = [s for s in statements if "ecr:DescribeImages" in _list(s["Action"])]
        assert [s["Resource"] for s in describe] == [repository_arn], function
    # Nothing else touches the runner project (the trigger aside)
    others = {
        owner
        for owner, s in policies(full)
        if runner_arn in _list(s["Resource"]) and any(a.startswith("codebuild:") for a in _list(s["Action"]))
    }
    allowed = {function_role(full, f) for f in ("pathprover-advance", "pathprover-check", C.RUNNER_TRIGGER_FUNCTION)}
    assert others == allowed


# --------------------------------------------------------------------------- the build script

FAKE_AWS = r"""#!/usr/bin/env bash
set -euo pipefail
echo "aws $*" >> "$FAKE_LOG"
case "$1 $2" in
  "ecr get-login-password") echo not-a-password ;;
  "ecr describe-images")
    for arg in "$@"; do case $arg in imageTag=*) tag=${arg#imageTag=} ;; esac; done
    [[ -f $FAKE_ECR/$tag ]] || { echo "ImageNotFoundException" >&2; exit 254; } ;;
  *) echo "fake aws: unsupported $*" >&2; exit 2 ;;
esac
"""
FAKE_DOCKER = r"""#!/usr/bin/env bash
set -euo pipefail
echo "docker $*" >> "$FAKE_LOG"
case $1 in
  login) cat >/dev/null ;;
  pull) [[ ${FAKE_PULL_FAILS:-0} == 0 ]] ;;
  push) mkdir -p "$FAKE_ECR"; touch "$FAKE_ECR/${2##*:}" ;;
esac
"""


CACHE_REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def _run_build(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("aws", FAKE_AWS), ("docker", FAKE_DOCKER)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "log"
    log.write_text("")
    variables = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "FAKE_ECR": str(tmp_path / "ecr"),
        "IMAGE_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/pathprover-benchmark:runner-0123456789ab",
        "BASE_IMAGE": "public.ecr.aws/docker/library/python:3.11",
        "BASE_IMAGE_PULL": f"{CACHE_REGISTRY}/pathprover-cache/ecr-public/docker/library/python:3.11",
        **env,
    }
    result = subprocess.run(["bash", "-c", BUILD_SCRIPT], env=variables, capture_output=True, text=True, check=False)
    return result, log.read_text()


def test_the_build_pulls_the_parent_through_the_cache_then_pushes_once(tmp_path: Path) -> None:
    first, log = _run_build(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "aws ecr get-login-password --region eu-west-1" in log
    assert "docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com" in log
    cached = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/pathprover-cache/ecr-public/docker/library/python:3.11"
    assert f"docker pull {cached}" in log
    assert f"docker tag {cached} public.ecr.aws/docker/library/python:3.11" in log
    assert (
        "docker build --tag 123456789012.dkr.ecr.eu-west-1.amazonaws.com/pathprover-benchmark:runner-0123456789ab ."
        in log
    )
    assert "docker push" in log
    # A second build of the same tag (immutable) builds nothing
    second, log = _run_build(tmp_path)
    assert second.returncode == 0 and "already in ECR" in second.stdout
    assert "docker build" not in log and "docker push" not in log


def test_without_the_cache_the_build_still_works_from_the_upstream(tmp_path: Path) -> None:
    result, log = _run_build(tmp_path, FAKE_PULL_FAILS="1")
    assert result.returncode == 0, result.stderr
    assert "could not be pulled through the cache" in result.stderr
    assert "docker tag" not in log and "docker build" in log
    result, log = _run_build(tmp_path / "none", BASE_IMAGE_PULL="")
    assert "docker pull" not in log and "docker build" in log


def test_settings_read_the_runner_variables(full: Synth) -> None:
    from pathprover.settings import Settings

    env = {k: flatten(v) for k, v in _function_env(full, "pathprover-advance").items()}
    settings = Settings.from_env(env)
    assert settings.runner_image_project == C.RUNNER_IMAGE_PROJECT
    assert settings.runner_image_uri.endswith(f":{full.stack.prover.farm.runner.tag}")
    assert (settings.runner_source_s3_uri or "").startswith("s3://cdk-hnb659fds-assets-")
    assert json.dumps(settings.model_dump(mode="json"))
