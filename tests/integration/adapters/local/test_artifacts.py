"""The local artifact store: files under a folder, addressed as file:// or as an s3:// alias."""

from __future__ import annotations

from pathlib import Path

import pytest

from pathprover.adapters.local.artifacts import LocalArtifactStore


def test_local_artifact_store_round_trip_and_refuses_escapes(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    uri = store.put_bytes("bundles/a.zip", b"one")
    assert uri.startswith("file://") and store.get_bytes(uri) == b"one" and store.exists(uri)
    assert store.put_bytes("bundles/a.zip", b"two") == uri and store.get_bytes(uri) == b"two"
    assert [p.name for p in (tmp_path / "store" / "bundles").iterdir()] == ["a.zip"]  # no temp files left
    assert not store.exists((tmp_path / "elsewhere").as_uri())
    for bad in ("../x", "/etc/passwd", "a//b", "a/./b", ""):
        with pytest.raises(ValueError):
            store.put_bytes(bad, b"")
    assert store.uri("bundles/a.zip") == uri and store.uri("bundles/").endswith("/bundles/")
    aliased = LocalArtifactStore(tmp_path / "store", s3_bucket="pp-local")
    assert aliased.get_bytes(aliased.s3_uri("bundles/a.zip")) == b"two"
    assert not store.exists("s3://pp-local/bundles/a.zip")
