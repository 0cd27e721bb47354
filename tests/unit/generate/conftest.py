"""What the generate tests share: the guide's example target, and a run made without the plan's render checks."""

from __future__ import annotations

from typing import Any

from pathprover.catalog import Catalog
from pathprover.core.runconfig import RunConfig
from pathprover.core.targets import parse_targets, run_config_of

GUIDE_TARGET: dict[str, Any] = {
    "model_name": "Qwen/Qwen3-32B",
    "instance_type": "ml.g5.12xlarge",
    "serving_params": {"max_model_len": 32768, "gpu_memory_utilization": 0.95, "kv_cache_dtype": "fp8"},
}


def make_run(catalog: Catalog, **fields: Any) -> RunConfig:
    """The run a target asks for, without the plan's render checks: these tests exercise the renderer's own."""
    (target,) = parse_targets(fields)
    return run_config_of(target, catalog)
