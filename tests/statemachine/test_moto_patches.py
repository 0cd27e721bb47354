"""The local runtime patches moto internals; the pinned moto must still have every patched name."""

from importlib.metadata import version

from pathprover.runtime.moto_patches import PATCHED_NAMES, check_patch_targets


def test_every_patched_name_exists_in_the_installed_moto():
    assert check_patch_targets() == []
    assert len(PATCHED_NAMES) == 8


def test_moto_is_the_pinned_version():
    # runtime/moto_patches.py was written against this version; bump both together.
    assert version("moto") == "5.2.5"
