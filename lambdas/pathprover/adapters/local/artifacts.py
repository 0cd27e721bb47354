"""ArtifactStore on the local file system under one root, atomic writes; URIs are ``file://`` or an s3:// alias.

The alias exists for the simulated cloud, whose specs take only ``s3://`` URIs (as AWS's do); what is
recorded or shown to a person goes through :meth:`LocalArtifactStore.location`: ``file://`` of the real file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pathprover.stages.naming import parse_s3_uri


class LocalArtifactStore:
    """:class:`~pathprover.protocols.ArtifactStore` under ``root``.

    Keys are relative POSIX paths (``bundles/abc.zip``; a key ending in ``/`` names a
    prefix for :meth:`uri`); absolute keys and empty, ``.`` or ``..`` segments are refused.
    A write goes to a temporary file in the target folder, is flushed to disk and renamed
    over the target, so a reader never sees half a file. Reads accept ``file://`` URIs
    inside ``root`` and, when ``s3_bucket`` is given, ``s3://<s3_bucket>/<key>`` as an alias
    of the same key (specs such as ``BuildJob.source_s3_uri`` only take ``s3://``).
    """

    def __init__(self, root: Path | str, *, s3_bucket: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.s3_bucket = s3_bucket
        if s3_bucket is not None:
            parse_s3_uri(f"s3://{s3_bucket}/")  # validates the bucket name

    def _path_for_key(self, key: str, *, prefix_ok: bool = False) -> Path:
        if not key or key.startswith("/") or "\\" in key:
            raise ValueError(f"artifact key must be a relative POSIX path, not {key!r}")
        body = key[:-1] if prefix_ok and key.endswith("/") else key
        if not body or any(part in ("", ".", "..") for part in body.split("/")):
            raise ValueError(f"artifact key must not contain empty, '.' or '..' segments: {key!r}")
        return self.root.joinpath(*body.split("/"))

    def path_of(self, uri: str) -> Path:
        """The local path of a URI of this store; anything else raises ``ValueError``."""
        if uri.startswith("s3://"):
            bucket, key = parse_s3_uri(uri)
            if self.s3_bucket is None or bucket != self.s3_bucket:
                raise ValueError(f"{uri!r} is not in this local store (s3 alias bucket: {self.s3_bucket})")
            return self._path_for_key(key, prefix_ok=True)
        parts = urlsplit(uri)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ValueError(f"not a local file:// URI: {uri!r}")
        path = Path(unquote(parts.path)).resolve()
        if path != self.root and self.root not in path.parents:
            raise ValueError(f"{uri!r} is outside the artifact store at {self.root}")
        return path

    def uri(self, key: str) -> str:
        """``file://`` URI of ``key`` (a key ending in ``/`` gives a folder URI ending in ``/``); writes nothing."""
        if self.s3_bucket is not None:
            return self.s3_uri(key)
        path = self._path_for_key(key, prefix_ok=True).as_uri()
        return path + "/" if key.endswith("/") else path

    def location(self, uri: str) -> str:
        """The absolute ``file://`` URI of the real file (a folder URI ends in ``/``) that ``uri`` (``file://``
        or the ``s3://`` alias) names: what records and summaries show, so a person can open it."""
        path = self.path_of(uri).as_uri()
        return path + "/" if uri.endswith("/") else path

    def s3_uri(self, key: str) -> str:
        """``s3://<s3_bucket>/<key>``: the alias of ``key`` for specs that only take s3:// URIs."""
        if self.s3_bucket is None:
            raise ValueError("this LocalArtifactStore has no s3_bucket alias")
        self._path_for_key(key, prefix_ok=True)
        return f"s3://{self.s3_bucket}/{key}"

    def put_bytes(self, key: str, data: bytes) -> str:
        target = self._path_for_key(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.s3_uri(key) if self.s3_bucket is not None else target.as_uri()

    def key_of(self, uri: str) -> str:
        """The key a URI of this store names (the inverse of :meth:`uri`)."""
        return self.path_of(uri).relative_to(self.root).as_posix()

    def put_uri(self, uri: str, data: bytes) -> str:
        """Write to a URI of this store (what a simulated job writes to its output location)."""
        return self.put_bytes(self.key_of(uri), data)

    def get_bytes(self, uri: str) -> bytes:
        path = self.path_of(uri)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"no artifact at {uri}") from None

    def exists(self, uri: str) -> bool:
        try:
            return self.path_of(uri).is_file()
        except ValueError:
            return False

    def __repr__(self) -> str:
        return f"LocalArtifactStore({self.root})"
