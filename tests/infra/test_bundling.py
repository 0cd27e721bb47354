"""The Lambda asset is built without Docker: local pip for the Lambda platform plus the package and its data.

pip is replaced by a fake here (no network in tests); `cdk synth` runs the real one.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C
from infra.bundling import (
    PLATFORM,
    BundlingError,
    DependencyCache,
    LocalPipBundling,
    pinned_requirements,
    pip_command,
)


def _fake_distribution(target: Path, name: str, module: str) -> None:
    (target / module).mkdir(parents=True)
    (target / module / "__init__.py").write_text(f"NAME = {name!r}\n")
    info = target / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "RECORD").write_text(f"{module}/__init__.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")


class FakePip:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str]) -> None:
        self.commands.append(list(command))
        if self.fail:
            raise BundlingError("pip exited with 1: Could not find a version that satisfies the requirement")
        target = Path(command[command.index("--target") + 1])
        _fake_distribution(target, "pydantic", "pydantic")
        _fake_distribution(target, "botocore", "botocore")  # the runtime has it: must be removed
        (target / "bin").mkdir()
        (target / "bin" / "tool").write_text("#!/bin/sh\n")


def bundle(tmp_path: Path, pip: FakePip, strict: bool = False) -> tuple[Path, LocalPipBundling, list[str]]:
    warnings: list[str] = []
    bundling = LocalPipBundling(
        strict=strict,
        cache=DependencyCache(["pydantic==2.0"], root=tmp_path / "cache", pip=pip),
        on_incomplete=warnings.append,
    )
    out = tmp_path / "asset"
    out.mkdir()
    assert bundling.try_bundle(str(out), image=None) is True  # type: ignore[arg-type]
    return out, bundling, warnings


def test_asset_layout_has_the_package_its_data_and_the_wheels(tmp_path: Path) -> None:
    out, _, warnings = bundle(tmp_path, FakePip())
    package = out / "pathprover"
    assert (package / "__init__.py").is_file()
    assert (package / "handlers" / "brain.py").is_file()
    assert (package / "_catalog" / "instances.yaml").is_file()
    assert (package / "_containers" / "buildspec" / "build.yml.j2").is_file()
    assert (package / "_statemachines" / "path-prover.asl.json").is_file()
    assert (package / "classifier" / "data" / "fallback-v1.npz").is_file(), "the classifier's learned fallback"
    assert (out / "pydantic" / "__init__.py").is_file()
    assert not (out / "botocore").exists() and not list(out.glob("botocore-*.dist-info"))
    assert not (out / "bin").exists()
    assert not list(out.rglob("__pycache__"))
    assert all(p.stat().st_mode & 0o755 == 0o755 for p in out.rglob("*") if p.is_dir())
    assert all(p.stat().st_mode & 0o644 == 0o644 for p in out.rglob("*") if p.is_file())
    manifest = json.loads((out / "_bundle.json").read_text())
    assert manifest["complete"] is True and manifest["versions"] == {"pydantic": "1.0"}
    assert warnings == []


def test_wheels_are_installed_once_and_reused(tmp_path: Path) -> None:
    pip = FakePip()
    cache = DependencyCache(["pydantic==2.0"], root=tmp_path / "cache", pip=pip)
    first = cache.ensure()
    second = cache.ensure()
    assert first == second and len(pip.commands) == 1


def test_without_an_index_the_asset_holds_the_package_and_says_so(tmp_path: Path) -> None:
    out, bundling, warnings = bundle(tmp_path, FakePip(fail=True))
    assert (out / "pathprover" / "__init__.py").is_file()
    assert not (out / "pydantic").exists()
    assert json.loads((out / "_bundle.json").read_text())["complete"] is False
    assert len(warnings) == 1 and "Do not deploy" in warnings[0]
    assert bundling.last_manifest["complete"] is False


def test_strict_bundling_fails_without_an_index(tmp_path: Path) -> None:
    with pytest.raises(BundlingError, match="strict"):
        bundle(tmp_path, FakePip(fail=True), strict=True)


def test_pip_installs_manylinux_wheels_for_python_312(tmp_path: Path) -> None:
    command = pip_command(tmp_path, ["pydantic==2.0"])
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    pairs = dict(itertools.pairwise(command))
    assert pairs["--platform"] == PLATFORM == "manylinux2014_x86_64"
    assert pairs["--python-version"] == "3.12"
    assert pairs["--target"] == str(tmp_path)
    assert "--only-binary=:all:" in command and "--no-compile" in command


def test_requirements_are_pinned_to_what_the_tests_ran_with() -> None:
    from importlib import metadata

    pinned = pinned_requirements()
    assert f"pydantic=={metadata.version('pydantic')}" in pinned
    names = [p.split("==")[0].split("[")[0] for p in pinned]
    assert not {"duckdb", "numpy", "boto3", "sqlglot"} & set(names)
    assert "numpy" in C.PROVIDED_BY_RUNTIME and "boto3" in C.PROVIDED_BY_RUNTIME


def test_the_loaders_find_the_package_data_in_the_asset(tmp_path: Path) -> None:
    out, _, _ = bundle(tmp_path, FakePip(fail=True))
    code = (
        "import pathprover, pathprover.catalog.loader as l, pathprover.generate.render as r;"
        "print(pathprover.__file__); print(l.default_catalog_dir()); print(r.default_containers_dir());"
        "print(len(l.load_catalog().instances))"
    )
    env = {**os.environ, "PYTHONPATH": str(out)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    module, catalog, containers, count = result.stdout.split()
    assert Path(module).is_relative_to(out)
    assert Path(catalog) == out / "pathprover" / "_catalog"
    assert Path(containers) == out / "pathprover" / "_containers"
    assert int(count) > 0
