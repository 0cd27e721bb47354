"""The Lambda asset, built without Docker: local pip for the Lambda platform, plus the package and its data.

Layout of the asset (the Lambda task root):

    pathprover/                   lambdas/pathprover
    pathprover/_catalog/          catalog/         (package data: the loaders look here first)
    pathprover/_containers/       containers/
    pathprover/_statemachines/    statemachines/
    pydantic/, yaml/, jinja2/, aws_lambda_powertools/, aws_xray_sdk/, ...   (constants.LAMBDA_REQUIREMENTS)
    _bundle.json                  what went in: requirements, versions, whether the wheels are there

The wheels come from `pip install --platform manylinux2014_x86_64 --only-binary=:all:
--python-version 3.12 --target ...`, pinned to the versions installed here when they are, and are
cached under `.pathprover/lambda-deps/<hash>/`, so only the first synthesis needs an index.
Distributions the runtime or the AWS SDK for pandas layer already provide (boto3, numpy, ...) are
removed after the install.

Without an index (offline, first run) synthesis fails by default: an asset without pydantic would
deploy functions that cannot import. `-c PathProverBundling=pip` lets an offline synth go on with
the package alone and a loud warning (for looking at the template, never for `cdk deploy`).
Tests skip bundling entirely (context `aws:cdk:bundling-stacks: []`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra import constants as C

PLATFORM = "manylinux2014_x86_64"
CACHE_DIR = C.REPO_ROOT / ".pathprover" / "lambda-deps"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".DS_Store")
PipRunner = Callable[[Sequence[str]], None]


class BundlingError(RuntimeError):
    """The asset could not be built (strict mode, or a broken source tree)."""


def _normalise(name: str) -> str:
    return name.split("[", 1)[0].strip().lower().replace("_", "-")


def pinned_requirements(requirements: Sequence[str] = C.LAMBDA_REQUIREMENTS) -> list[str]:
    """Each requirement pinned to the version installed here (what the tests ran), else left open."""
    pinned = []
    for requirement in requirements:
        try:
            version = metadata.version(_normalise(requirement))
        except metadata.PackageNotFoundError:
            pinned.append(requirement)
        else:
            pinned.append(f"{requirement}=={version}")
    return pinned


def pip_command(target: Path, requirements: Sequence[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-color",
        "--disable-pip-version-check",
        "--no-compile",
        "--no-warn-script-location",
        "--platform",
        PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        C.PYTHON_VERSION,
        "--only-binary=:all:",
        "--timeout",
        "20",
        "--retries",
        "1",
        "--target",
        str(target),
        *requirements,
    ]


def run_pip(command: Sequence[str]) -> None:
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout or "").strip().splitlines()
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-3:]
        raise BundlingError(f"pip exited with {result.returncode}: {' '.join(errors)[-600:]}")


def remove_distributions(target: Path, names: Sequence[str]) -> list[str]:
    """Delete installed distributions (their RECORD's files and the dist-info) from a --target folder."""
    wanted = {_normalise(n) for n in names}
    removed = []
    for info in sorted(target.glob("*.dist-info")):
        try:
            dist_name = metadata.Distribution.at(info).metadata["Name"]
        except (OSError, KeyError):
            continue
        if _normalise(str(dist_name)) not in wanted:
            continue
        record = info / "RECORD"
        if record.is_file():
            for line in record.read_text().splitlines():
                relative = line.split(",", 1)[0]
                path = (target / relative).resolve()
                if path.is_file() and target.resolve() in path.parents:
                    path.unlink()
        shutil.rmtree(info, ignore_errors=True)
        removed.append(_normalise(str(dist_name)))
    for dirpath, _dirs, _files in os.walk(target, topdown=False):
        folder = Path(dirpath)
        if folder != target and not any(folder.iterdir()):
            folder.rmdir()
    shutil.rmtree(target / "bin", ignore_errors=True)
    return sorted(removed)


@dataclass
class DependencyCache:
    """Wheels installed once per requirement set and reused by every later synthesis."""

    requirements: list[str]
    root: Path = CACHE_DIR
    pip: PipRunner = run_pip

    @property
    def key(self) -> str:
        payload = json.dumps(
            [self.requirements, PLATFORM, C.PYTHON_VERSION, sorted(C.PROVIDED_BY_RUNTIME)], separators=(",", ":")
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:20]

    @property
    def folder(self) -> Path:
        return self.root / self.key

    def ensure(self) -> Path:
        """The folder of installed wheels; installs them first if needed (raises BundlingError on failure)."""
        done = self.folder / ".complete"
        if done.is_file():
            return self.folder
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{self.key}-", dir=self.root))
        try:
            self.pip(pip_command(staging, self.requirements))
            removed = remove_distributions(staging, C.PROVIDED_BY_RUNTIME)
            (staging / ".complete").write_text(json.dumps({"removed": removed}))
            if self.folder.exists():
                shutil.rmtree(self.folder)
            staging.rename(self.folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.folder


def copy_package(output: Path) -> None:
    """The package and its data folders, laid out as the installed wheel has them."""
    if not (C.PACKAGE_DIR / "__init__.py").is_file():
        raise BundlingError(f"{C.PACKAGE_DIR} is not the pathprover package")
    package = output / "pathprover"
    shutil.copytree(C.PACKAGE_DIR, package, ignore=_IGNORED, dirs_exist_ok=True)
    for name, source in C.PACKAGE_DATA.items():
        shutil.copytree(source, package / name, ignore=_IGNORED, dirs_exist_ok=True)


def make_world_readable(root: Path) -> None:
    """Lambda runs the code as a non-root user: directories 755, files 644 (755 if executable)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            (Path(dirpath) / name).chmod(0o755)
        for name in filenames:
            path = Path(dirpath) / name
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)


def _versions(folder: Path) -> dict[str, str]:
    versions = {}
    for info in folder.glob("*.dist-info"):
        try:
            meta = metadata.Distribution.at(info).metadata
            versions[_normalise(str(meta["Name"]))] = str(meta["Version"])
        except (OSError, KeyError):
            continue
    return dict(sorted(versions.items()))


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """CDK local bundling: runs in-process, never Docker. `try_bundle` always handles the asset."""

    def __init__(
        self,
        strict: bool = False,
        cache: DependencyCache | None = None,
        on_incomplete: Callable[[str], None] | None = None,
    ) -> None:
        self.strict = strict
        self.cache = cache or DependencyCache(pinned_requirements())
        self.on_incomplete = on_incomplete
        self.last_manifest: dict[str, Any] = {}

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        output = Path(output_dir)
        copy_package(output)
        manifest: dict[str, Any] = {"requirements": self.cache.requirements, "platform": PLATFORM}
        try:
            deps = self.cache.ensure()
        except (BundlingError, OSError, subprocess.SubprocessError) as exc:
            if self.strict:
                raise BundlingError(f"could not install the Lambda dependencies (strict bundling): {exc}") from exc
            message = (
                "The Lambda asset holds the pathprover package WITHOUT its dependencies "
                f"({', '.join(self.cache.requirements)}): pip could not install them ({exc}). "
                "Do not deploy this assembly: synthesize again with an index reachable "
                "(-c PathProverBundling=pip allowed this: do not deploy this asset)."
            )
            print(f"[pathprover bundling] {message}", file=sys.stderr)
            if self.on_incomplete is not None:
                self.on_incomplete(message)
            manifest.update(complete=False, error=str(exc))
        else:
            for entry in deps.iterdir():
                if entry.name == ".complete":
                    continue
                destination = output / entry.name
                if entry.is_dir():
                    shutil.copytree(entry, destination, ignore=_IGNORED, dirs_exist_ok=True)
                else:
                    shutil.copy2(entry, destination)
            manifest.update(complete=True, versions=_versions(deps))
        (output / "_bundle.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        make_world_readable(output)
        self.last_manifest = manifest
        return True


def lambda_code(strict: bool = False, on_incomplete: Callable[[str], None] | None = None) -> lambda_.AssetCode:
    """One asset for every function (bundled once; CDK caches the staging by source and options)."""
    local = LocalPipBundling(strict=strict, on_incomplete=on_incomplete)
    return lambda_.Code.from_asset(
        str(C.LAMBDA_SOURCE_DIR),
        asset_hash_type=AssetHashType.OUTPUT,
        exclude=["**/__pycache__", "**/*.pyc"],
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises. Named for completeness only.
            image=DockerImage.from_registry(f"public.ecr.aws/sam/build-python{C.PYTHON_VERSION}"),
            local=local,
        ),
    )
