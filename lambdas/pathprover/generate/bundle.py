"""A rendered bundle: relative path -> bytes, content-addressed, written or archived deterministically."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

EXECUTABLE_SUFFIXES: Final = (".sh",)
_PART: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


def check_bundle_path(path: str) -> str:
    """A bundle path is relative, POSIX, with plain parts: no `..`, no absolute or hidden tricks."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or any(not _PART.match(part) for part in parts):
        raise ValueError(f"bundle path {path!r} must be relative, with parts like 'serving/start.sh'")
    return path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_mode(path: str) -> int:
    return 0o755 if path.endswith(EXECUTABLE_SUFFIXES) else 0o644


@dataclass(frozen=True)
class Bundle:
    """Everything one run needs to build, stage, deploy and benchmark, keyed by relative path.

    `digest` is the sha256 of :meth:`sha256sums` — the `sha256sum`-format listing of
    the sorted (path, sha256(content)) pairs — so it depends on the content only:
    the same inputs always give the same digest.
    """

    files: dict[str, bytes]
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        clean: dict[str, bytes] = {}
        for path in sorted(self.files):
            content = self.files[path]
            if not isinstance(content, bytes):
                raise TypeError(f"bundle file {path!r} must be bytes, got {type(content).__name__}")
            clean[check_bundle_path(path)] = content
        object.__setattr__(self, "files", clean)
        object.__setattr__(self, "digest", sha256_hex(self.sha256sums().encode("utf-8")))

    def sha256sums(self) -> str:
        """`<sha256>  <path>` per file, sorted by path (what `sha256sum -c` reads)."""
        return "".join(f"{sha256_hex(content)}  {path}\n" for path, content in self.files.items())

    def manifest(self) -> dict[str, Any]:
        """The digest and, per file, its path, sha256 and size (JSON-ready)."""
        return {
            "digest": self.digest,
            "files": [
                {"path": path, "sha256": sha256_hex(content), "size": len(content)}
                for path, content in self.files.items()
            ],
        }

    def subtree_digest(self, prefix: str) -> str:
        """Digest of the files under `prefix/` only (paths relative to it): a build context's identity."""
        inner = {path[len(prefix) + 1 :]: data for path, data in self.files.items() if path.startswith(prefix + "/")}
        if not inner:
            raise ValueError(f"bundle has no files under {prefix}/")
        return Bundle(inner).digest

    def text(self, path: str) -> str:
        return self.files[path].decode("utf-8")


def write_bundle(bundle: Bundle, out_dir: Path) -> list[Path]:
    """Write every file under `out_dir` (created if needed); refuse any path that would land outside it."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    targets: list[tuple[Path, bytes, int]] = []
    for path, content in bundle.files.items():
        target = root.joinpath(*PurePosixPath(check_bundle_path(path)).parts)
        # resolve() follows symlinks already in out_dir, so a planted link cannot redirect a write.
        resolved = target.resolve()
        if not resolved.is_relative_to(root):
            raise ValueError(f"refusing to write {path!r}: it resolves to {resolved}, outside {root}")
        targets.append((resolved, content, file_mode(path)))
    written: list[Path] = []
    for target, content, mode in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(content)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        written.append(target)
    return written


def bundle_tarball(bundle: Bundle) -> bytes:
    """Deterministic tar.gz: sorted entries, mtime 0, uid/gid 0, no user names, fixed modes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in bundle.files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mtime = 0
            info.mode = file_mode(path)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def bundle_zip(bundle: Bundle) -> bytes:
    """Deterministic zip (sorted entries, fixed 1980-01-01 timestamps, fixed modes).

    CodeBuild reads an S3 source only as a ZIP file, so this is the archive to upload as
    the build source; :func:`bundle_tarball` is the same content as tar.gz.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in bundle.files.items():
            info = zipfile.ZipInfo(path, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode below is honoured on extraction
            info.external_attr = (0o100000 | file_mode(path)) << 16
            archive.writestr(info, content)
    return out.getvalue()
