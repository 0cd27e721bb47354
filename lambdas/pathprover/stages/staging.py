"""Where a checkpoint can be staged to S3: the stage build downloads it whole before syncing it.

The stage project runs on BUILD_GENERAL1_LARGE (128 GB of disk). A larger checkpoint is staged on
BUILD_GENERAL1_2XLARGE (824 GB of SSD), chosen per build with StartBuild's computeTypeOverride; a
checkpoint larger than that cannot be staged at all. Source: the CodeBuild API reference,
ProjectEnvironment.computeType ("BUILD_GENERAL1_2XLARGE: ... 824 GB of SSD storage") and the
on-demand environment table (LARGE, Linux: 128 GB).
"""

from __future__ import annotations

from typing import Final

from pathprover.catalog import Catalog

STAGE_DISKS_GB: Final[tuple[tuple[str, int], ...]] = (
    ("BUILD_GENERAL1_LARGE", 128),
    ("BUILD_GENERAL1_2XLARGE", 824),
)
"""Compute types the stage build may run on, smallest first, with their disk."""
DISK_USABLE: Final = 0.85
"""The build image, the tools and the hub's cache take the rest."""
DEFAULT_STAGE_COMPUTE: Final = STAGE_DISKS_GB[0][0]


def checkpoint_gb(catalog: Catalog, model_name: str) -> float:
    """Size of the checkpoint the stage job downloads (the repository's native weights, GB)."""
    model = catalog.model(model_name)
    return model.total_params_b * catalog.dtype_bytes_per_param[model.native_dtype]


def stage_compute(catalog: Catalog, model_name: str) -> str | None:
    """The smallest compute type whose disk holds the checkpoint (None: none does)."""
    size = checkpoint_gb(catalog, model_name)
    for compute, disk in STAGE_DISKS_GB:
        if size <= disk * DISK_USABLE:
            return compute
    return None


def too_large_to_stage(catalog: Catalog, model_name: str) -> str | None:
    """Why a model's weights cannot be staged to S3 (None when a stage build can hold them)."""
    if stage_compute(catalog, model_name) is not None:
        return None
    model = catalog.model(model_name)
    largest, disk = STAGE_DISKS_GB[-1]
    return (
        f"too large to stage: {model_name} is about {checkpoint_gb(catalog, model_name):.0f} GB of "
        f"{model.native_dtype} weights, more than the {disk * DISK_USABLE:.0f} GB the largest stage build "
        f"({largest}, {disk} GB) can hold"
        + ("; a gated model can only be deployed from staged weights" if model.gated else "")
    )
