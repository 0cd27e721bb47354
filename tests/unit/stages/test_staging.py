"""stages/staging.py: the smallest stage build whose disk holds a checkpoint, or why none does."""

from __future__ import annotations

import pytest

from pathprover.catalog import Catalog, default_catalog
from pathprover.stages.staging import (
    DEFAULT_STAGE_COMPUTE,
    DISK_USABLE,
    STAGE_DISKS_GB,
    checkpoint_gb,
    stage_compute,
    too_large_to_stage,
)

CATALOG = default_catalog()


@pytest.mark.parametrize("model", sorted(m.name for m in CATALOG.models.values()))
def test_each_model_gets_the_smallest_disk_that_holds_it_or_a_reason(model: str) -> None:
    size = checkpoint_gb(CATALOG, model)
    fits = [compute for compute, disk in STAGE_DISKS_GB if size <= disk * DISK_USABLE]
    assert stage_compute(CATALOG, model) == (fits[0] if fits else None)
    reason = too_large_to_stage(CATALOG, model)
    assert (reason is None) == bool(fits)


def test_a_small_model_stages_on_the_default_build_and_a_huge_one_is_refused_with_its_size() -> None:
    assert stage_compute(CATALOG, "Qwen/Qwen3-0.6B") == DEFAULT_STAGE_COMPUTE
    model = CATALOG.model("meta-llama/Llama-3.1-70B-Instruct")
    huge = Catalog.model_validate(
        {
            **CATALOG.model_dump(),
            "models": {
                **CATALOG.model_dump()["models"],
                "meta-llama/Llama-3.1-70B-Instruct": {**model.model_dump(), "total_params_b": 1000.0},
            },
        }
    )
    reason = too_large_to_stage(huge, "meta-llama/Llama-3.1-70B-Instruct")
    assert reason is not None and "2000 GB of bf16" in reason
    assert reason.endswith("a gated model can only be deployed from staged weights")


def test_each_checkpoint_is_staged_on_a_build_whose_disk_holds_it_or_said_to_be_too_large():
    # Small checkpoints on the project's own build, 70B ones on the 824 GB build, 405B (810 GB) nowhere
    assert stage_compute(CATALOG, "Qwen/Qwen3-0.6B") == "BUILD_GENERAL1_LARGE"
    assert stage_compute(CATALOG, "meta-llama/Llama-3.1-70B-Instruct") == "BUILD_GENERAL1_2XLARGE"
    assert stage_compute(CATALOG, "meta-llama/Llama-3.1-405B-Instruct") is None
    reason = too_large_to_stage(CATALOG, "meta-llama/Llama-3.1-405B-Instruct") or ""
    assert "810 GB" in reason and "gated" in reason
    assert too_large_to_stage(CATALOG, "meta-llama/Llama-3.1-70B-Instruct") is None
