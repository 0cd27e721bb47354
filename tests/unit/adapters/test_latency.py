"""adapters/local/latency.py: the simulated replica's TTFT and ITL, from the weights and the memory bandwidth."""

from __future__ import annotations

import pytest

from pathprover.adapters.local.latency import (
    ACCELERATOR_BANDWIDTH_GBPS,
    DEFAULT_BANDWIDTH_GBPS,
    MIN_DECODE_MS,
    LatencyModel,
    accelerator_bandwidth_gbps,
    accelerator_key,
)
from pathprover.catalog import Catalog


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("NVIDIA A100 80GB", "A100-80"),
        ("NVIDIA A100", "A100-40"),
        ("NVIDIA L40S", "L40S"),
        ("AWS Inferentia2", "Inferentia2"),
        ("Acme X1", None),
        ("", None),
    ],
)
def test_catalog_accelerator_names_map_to_the_bandwidth_table(name: str, key: str | None) -> None:
    assert accelerator_key(name) == key
    expected = ACCELERATOR_BANDWIDTH_GBPS[key] if key else DEFAULT_BANDWIDTH_GBPS
    assert accelerator_bandwidth_gbps(name) == expected


def test_ttft_grows_with_the_prompt_and_itl_with_the_requests_in_flight() -> None:
    model = LatencyModel(decode_ms_per_token=20.0, prefill_ms_per_token=0.5, base_ms=15.0, concurrency_slope=0.02)
    assert model.ttft_ms(0) == model.ttft_ms(-3) == 15.0
    assert model.ttft_ms(100) == 15.0 + 50.0
    assert model.itl_ms(1) == model.itl_ms(0) == 20.0
    assert model.itl_ms(11) == pytest.approx(20.0 * 1.2)
    assert model.as_dict() == {
        "base_ms": 15.0,
        "prefill_ms_per_token": 0.5,
        "decode_ms_per_token": 20.0,
        "concurrency_slope": 0.02,
    }


def test_more_tensor_parallel_ranks_decode_faster_down_to_the_floor(catalog: Catalog) -> None:
    model = catalog.model("meta-llama/Llama-3.1-70B-Instruct")
    instance = catalog.instance("ml.g5.48xlarge")
    tp2 = LatencyModel.estimate(catalog, model, instance, "none", 2)
    tp8 = LatencyModel.estimate(catalog, model, instance, "none", 8)
    assert tp8.decode_ms_per_token == pytest.approx(tp2.decode_ms_per_token / 4)
    assert tp8.prefill_ms_per_token < tp8.decode_ms_per_token
    tiny = LatencyModel.estimate(
        catalog, catalog.model("Qwen/Qwen3-0.6B"), catalog.instance("ml.p5.48xlarge"), "none", 8
    )
    assert tiny.decode_ms_per_token == MIN_DECODE_MS


def test_latency_model_uses_bandwidth_quantization_and_tp(catalog: Catalog) -> None:
    qwen, llama = catalog.model("Qwen/Qwen3-0.6B"), catalog.model("meta-llama/Llama-3.1-8B-Instruct")
    g5 = catalog.instance("ml.g5.xlarge")
    assert accelerator_key("NVIDIA A100 80GB") == "A100-80" and accelerator_key("NVIDIA L40S") == "L40S"
    assert LatencyModel.estimate(catalog, qwen, g5, "none", 1).decode_ms_per_token >= 2.0
    full = LatencyModel.estimate(catalog, llama, catalog.instance("ml.g5.12xlarge"), "none", 1)
    fp8 = LatencyModel.estimate(catalog, llama, catalog.instance("ml.g5.12xlarge"), "fp8", 1)
    tp4 = LatencyModel.estimate(catalog, llama, catalog.instance("ml.g5.12xlarge"), "none", 4)
    assert fp8.decode_ms_per_token == pytest.approx(full.decode_ms_per_token / 2, rel=0.01)
    assert tp4.decode_ms_per_token == pytest.approx(full.decode_ms_per_token / 4, rel=0.01)
    assert full.itl_ms(11) == pytest.approx(full.decode_ms_per_token * 1.2)
