"""brain/sizing.py: does a model fit on tp_degree accelerators, and can its heads be split that way."""

import pytest

from pathprover.brain.sizing import estimate_fit, heads_divisible
from tests.unit.brain.conftest import CATALOG

SMALL = "Qwen/Qwen3-0.6B"
LARGE = "meta-llama/Llama-3.1-70B-Instruct"


def test_a_small_model_fits_one_a10g_and_the_estimate_adds_up():
    # Given a 0.6B model on one A10G (24 GiB)
    model, instance = CATALOG.model(SMALL), CATALOG.instance("ml.g5.xlarge")
    # When its fit is estimated
    fit = estimate_fit(CATALOG, model, "none", instance, 1)
    # Then it fits, and the per-device need is at least the weights plus the KV reserve
    assert fit.fits
    assert fit.needed_per_device_gib >= fit.weights_gib + fit.kv_reserve_gib
    assert 0 < fit.usable_per_device_gib < instance.accelerator_memory_gib


def test_a_70b_model_does_not_fit_one_a10g_and_the_reason_names_sizes():
    model, instance = CATALOG.model(LARGE), CATALOG.instance("ml.g5.xlarge")
    fit = estimate_fit(CATALOG, model, "none", instance, 1)
    assert not fit.fits
    text = fit.explain(model, instance, 1)
    assert LARGE in text and "ml.g5.xlarge" in text and "GiB" in text and "tp_degree 1" in text


def test_more_accelerators_and_smaller_weights_lower_the_need_per_device():
    model, instance = CATALOG.model(LARGE), CATALOG.instance("ml.p4d.24xlarge")
    one = estimate_fit(CATALOG, model, "none", instance, 1)
    eight = estimate_fit(CATALOG, model, "none", instance, 8)
    fp8 = estimate_fit(CATALOG, model, "fp8", instance, 8)
    assert eight.needed_per_device_gib < one.needed_per_device_gib
    assert fp8.weights_gib < eight.weights_gib
    assert eight.fits and not one.fits


@pytest.mark.parametrize(
    ("heads", "kv", "tp", "ok"),
    [(32, 8, 4, True), (32, 8, 16, True), (32, 8, 3, False), (40, 8, 16, False), (32, 6, 4, False)],
)
def test_heads_split_evenly_and_kv_heads_split_or_replicate(heads, kv, tp, ok):
    # Given a model with these head counts (vLLM's rule)
    model = CATALOG.model(SMALL).model_copy(update={"num_attention_heads": heads, "num_kv_heads": kv})
    assert heads_divisible(model, tp) is ok
