"""The benchmark runner image's build source, made at synthesis: one deterministic zip, shipped as a CDK asset.

    Dockerfile                                   containers/benchmark/Dockerfile.j2, rendered (BENCHMARK_BASE_IMAGE)
    wheels/pathprover-<version>-py3-none-any.whl the package built from this repository

The wheel is written here rather than by `pip wheel`: the build backend (hatchling) is not installed in
the venv and an offline synthesis cannot fetch it, and a wheel written with fixed timestamps, sorted
entries and no compression is byte-for-byte reproducible. It follows pyproject.toml (name, version,
dependencies, extras, the `pathprover` script, the `[tool.hatch.build.targets.wheel]` package and
force-include folders), so `pip install "<wheel>[aws]"` in the Dockerfile installs what `pip install
'.[aws]'` would. The tests install it and import the package.

Same sources -> same zip bytes -> same sha256 -> same image tag `runner-<sha256[:12]>`: the runner image
is rebuilt exactly when the package, its data or the Dockerfile change.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from infra import constants as C

FIXED_TIME: Final = (1980, 1, 1, 0, 0, 0)
"""ZIP's earliest date: every entry gets it, so the archive does not depend on checkout times."""
_SKIPPED_DIRS: Final = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
_SKIPPED_SUFFIXES: Final = (".pyc", ".pyo")
_SKIPPED_NAMES: Final = frozenset({".DS_Store"})
CACHE_DIR: Final = C.REPO_ROOT / ".pathprover" / "runner-source"


@dataclass(frozen=True)
class RunnerSource:
    path: Path
    sha256: str

    @property
    def tag(self) -> str:
        """The runner image's tag: the one scheme the runner build and the benchmark project share."""
        return f"{C.RUNNER_TAG_PREFIX}{self.sha256[:12]}"


def _project(pyproject: Path) -> dict[str, Any]:
    with pyproject.open("rb") as handle:
        return tomllib.load(handle)


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for name in sorted(filenames):
            if name in _SKIPPED_NAMES or name.endswith(_SKIPPED_SUFFIXES):
                continue
            yield Path(dirpath) / name


def _entry(name: str, mode: int = 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = (0o100000 | mode) << 16  # a regular file, rw-r--r--
    info.create_system = 3  # Unix: the mode above is honoured
    return info


def _write(archive: zipfile.ZipFile, entries: Iterable[tuple[str, bytes]]) -> None:
    for name, data in sorted(entries):
        archive.writestr(_entry(name), data)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _metadata(project: dict[str, Any]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
    ]
    if project.get("description"):
        lines.append(f"Summary: {project['description']}")
    license_text = (project.get("license") or {}).get("text")
    if license_text:
        lines.append(f"License: {license_text}")
    if project.get("requires-python"):
        lines.append(f"Requires-Python: {project['requires-python']}")
    lines += [f"Requires-Dist: {requirement}" for requirement in project.get("dependencies", [])]
    for extra, requirements in sorted((project.get("optional-dependencies") or {}).items()):
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {requirement}; extra == "{extra}"' for requirement in requirements]
    return "\n".join(lines) + "\n"


def wheel_bytes(repo_root: Path = C.REPO_ROOT) -> tuple[str, bytes]:
    """(file name, bytes) of the package's wheel, built from `repo_root` the way pyproject.toml describes it."""
    config = _project(repo_root / "pyproject.toml")
    project = config["project"]
    target = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    name, version = str(project["name"]), str(project["version"])
    dist = f"{name.replace('-', '_')}-{version}"
    entries: dict[str, bytes] = {}
    for package in target["packages"]:
        source = repo_root / package
        for path in _files(source):
            entries[f"{source.name}/{path.relative_to(source).as_posix()}"] = path.read_bytes()
    for source_name, destination in sorted((target.get("force-include") or {}).items()):
        source = repo_root / source_name
        for path in _files(source):
            entries[f"{destination}/{path.relative_to(source).as_posix()}"] = path.read_bytes()
    info = f"{dist}.dist-info"
    entries[f"{info}/METADATA"] = _metadata(project).encode()
    entries[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: pathprover-infra\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    scripts = project.get("scripts") or {}
    if scripts:
        body = "".join(f"{k} = {v}\n" for k, v in sorted(scripts.items()))
        entries[f"{info}/entry_points.txt"] = f"[console_scripts]\n{body}".encode()
    record = "".join(f"{entry},{_record_hash(data)},{len(data)}\n" for entry, data in sorted(entries.items()))
    entries[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        # Dist-info last, as wheels put it; otherwise sorted.
        ordered = sorted(entries.items(), key=lambda item: (item[0].startswith(f"{info}/"), item[0]))
        for entry_name, data in ordered:
            archive.writestr(_entry(entry_name), data)
    return f"{dist}-py3-none-any.whl", buffer.getvalue()


def dockerfile() -> bytes:
    """containers/benchmark/Dockerfile.j2 rendered with the runner's base image (the template needs no run)."""
    from pathprover.generate.render import BENCHMARK_BASE_IMAGE, render_template

    return render_template(
        "benchmark/Dockerfile.j2", {"benchmark": {"base_image": BENCHMARK_BASE_IMAGE}}, C.REPO_ROOT / "containers"
    ).encode()


def source_zip_bytes(repo_root: Path = C.REPO_ROOT) -> bytes:
    wheel_name, wheel = wheel_bytes(repo_root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        _write(archive, [("Dockerfile", dockerfile()), (f"wheels/{wheel_name}", wheel)])
    return buffer.getvalue()


def build_runner_source(cache_dir: Path = CACHE_DIR) -> RunnerSource:
    """Write the zip under `cache_dir` as `runner-<sha12>.zip` (atomically: parallel synths may race)."""
    data = source_zip_bytes()
    digest = hashlib.sha256(data).hexdigest()
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{C.RUNNER_TAG_PREFIX}{digest[:12]}.zip"
    if not (path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest):
        handle, temporary = tempfile.mkstemp(prefix=".runner-", suffix=".zip", dir=cache_dir)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    return RunnerSource(path=path, sha256=digest)
