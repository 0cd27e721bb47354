"""generate/bundle.py: archives are deterministic, paths stay inside the bundle, writing follows no link out."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import zipfile

import pytest

from pathprover.generate import Bundle, bundle_tarball, bundle_zip, render_bundle, write_bundle
from tests.unit.generate.conftest import GUIDE_TARGET, make_run


def test_archives_are_deterministic(catalog):
    bundle = render_bundle(make_run(catalog, **GUIDE_TARGET), catalog)
    tarball = bundle_tarball(bundle)
    assert tarball == bundle_tarball(render_bundle(make_run(catalog, **GUIDE_TARGET), catalog))
    assert gzip.decompress(tarball)  # a valid gzip stream
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(bundle.files)
        for member in members:
            assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
            assert member.mode == (0o755 if member.name.endswith(".sh") else 0o644)
            extracted = tar.extractfile(member)
            assert extracted is not None and extracted.read() == bundle.files[member.name]
    archive = bundle_zip(bundle)
    assert archive == bundle_zip(bundle)
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        assert zipped.namelist() == sorted(bundle.files)
        assert zipped.read("serving/start.sh") == bundle.files["serving/start.sh"]


@pytest.mark.parametrize("path", ["../evil", "/etc/passwd", "a/../../b", "a//b", ".hidden", "a\\b", ""])
def test_bundle_paths_must_stay_inside(path):
    with pytest.raises(ValueError, match="bundle path"):
        Bundle({path: b"x"})


def test_write_bundle_refuses_to_follow_a_link_outside(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "serving").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside"):
        write_bundle(Bundle({"serving/start.sh": b"#!/bin/sh\n"}), out)
    assert not any(outside.iterdir())
    # A normal write creates folders and sets the executable bit on scripts only
    paths = write_bundle(Bundle({"a/run.sh": b"x", "a/b.json": b"{}"}), tmp_path / "ok")
    assert [p.name for p in paths] == ["b.json", "run.sh"]
    assert os.stat(tmp_path / "ok/a/run.sh").st_mode & 0o777 == 0o755
    assert os.stat(tmp_path / "ok/a/b.json").st_mode & 0o777 == 0o644
