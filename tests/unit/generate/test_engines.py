"""generate/engines.py: how each engine is started, and which serving parameters Path Prover sets itself."""

from __future__ import annotations

from typing import get_args

import pytest

from pathprover.catalog.models import Engine
from pathprover.generate.engines import ENGINES, engine_spec
from pathprover.generate.render import default_containers_dir


def test_every_catalog_engine_has_one_spec() -> None:
    assert set(ENGINES) == set(get_args(Engine))
    assert all(spec.name == name for name, spec in ENGINES.items())


def test_flags_follow_the_engines_spelling() -> None:
    assert engine_spec("vllm").flag("max_model_len") == "--max-model-len"
    assert engine_spec("tensorrt-llm").flag("max_batch_size") == "--max_batch_size"


def test_tp_and_quantization_come_from_the_config_vector() -> None:
    vllm = engine_spec("vllm")
    assert vllm.managed_params(2, "fp8") == {"tensor_parallel_size": "2", "quantization": "fp8"}
    assert vllm.managed_params(1, "none") == {"tensor_parallel_size": "1"}
    assert engine_spec("tensorrt-llm").managed_params(4, "fp8") == {"tp_size": "4"}  # a pre-quantized checkpoint
    assert {"tensor_parallel_size", "quantization", "model", "port"} <= vllm.reserved_params


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_a_proxy_engine_has_a_health_path_and_an_inline_one_does_not(name: str) -> None:
    spec = engine_spec(name)
    assert (spec.server == "proxy") == (spec.health_path is not None)
    assert spec.template == f"serving/engines/{name}.j2"


def test_an_unknown_engine_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: flask, sglang, tensorrt-llm, vllm"):
        engine_spec("tgi")


def test_the_engine_registry_and_templates_cover_every_catalog_engine(catalog):
    engines = {config.engine for config in catalog.deployment_configs.values()}
    assert engines <= set(ENGINES)
    for engine in engines:
        assert (default_containers_dir() / ENGINES[engine].template).is_file()
