"""catalog/models.py: the shipped catalog's content, its lookups and sorting, and sizing figures."""

from __future__ import annotations

import pytest

from pathprover.catalog import (
    Catalog,
    CatalogError,
    DeploymentConfig,
    InstanceType,
    ModelSpec,
    QuantizationSpec,
    QuantizationSupport,
    SearchSpace,
)
from pathprover.core.dimensions import DIMENSIONS
from tests.unit.catalog.conftest import REQUIRED_CONFIGS

REQUIRED_INSTANCE_FAMILIES = ("g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "inf2")
REQUIRED_MODEL_FAMILIES = ("qwen3", "llama3", "deepseek-r1", "mistral", "gemma", "gpt-oss")
REQUIRED_QUANTIZATIONS = ("none", "fp8", "awq", "gptq")


def test_required_families_configs_and_quantizations_are_present(catalog: Catalog) -> None:
    # Given the shipped catalog
    # When the families are listed
    # Then every family the issue names is catalogued and in the search space
    for family in REQUIRED_INSTANCE_FAMILIES:
        assert catalog.instances_in_family(family), family
        assert family in catalog.values("instance_family")
    for family in REQUIRED_MODEL_FAMILIES:
        assert len(catalog.models_in_family(family)) >= 2, family
        assert family in catalog.values("model_family")
    assert set(REQUIRED_CONFIGS) <= set(catalog.deployment_configs)
    assert set(REQUIRED_QUANTIZATIONS) <= set(catalog.quantizations)
    assert catalog.values("tp_degree") == [1, 2, 4, 8]
    assert set(catalog.search_space.values) == set(DIMENSIONS)


def test_every_instance_has_a_price_and_a_source(catalog: Catalog) -> None:
    # Given the shipped instances
    # When their prices are inspected
    # Then each has a positive hourly price, a status and a source, in the stated region
    assert catalog.pricing.region == "us-east-1"
    assert catalog.pricing.currency == "USD"
    for instance in catalog.instances.values():
        assert instance.price_per_hour_usd > 0, instance.name
        assert instance.price_source.strip(), instance.name
    for family in catalog.values("instance_family"):
        assert all(i.price_per_hour_usd > 0 for i in catalog.instances_in_family(str(family)))


def test_unverified_prices_say_how_they_were_derived(catalog: Catalog) -> None:
    # Given the instances with no sourced hosting price
    unverified = [i for i in catalog.instances.values() if i.price_status == "unverified"]

    # When their sources are read
    # Then each says where the figure came from (an estimate, or another region or product)
    assert unverified
    for instance in unverified:
        assert any(word in instance.price_source for word in ("estimate", "us-west-2", "us-east-2")), instance.name


def test_hardware_figures_follow_the_research_notes(catalog: Catalog) -> None:
    # Given a few well-known instance types
    g5 = catalog.instance("ml.g5.12xlarge")
    p5 = catalog.instance("ml.p5.48xlarge")
    inf2 = catalog.instance("ml.inf2.48xlarge")

    # When their accelerator figures are read
    # Then they match nvidia-smi totals and the Neuron docs
    assert (g5.accelerator_count, g5.accelerator_memory_gib, g5.compute_capability) == (4, 22.49, 8.6)
    assert g5.total_accelerator_memory_gib == pytest.approx(89.96)
    assert p5.compute_capability == 9.0
    assert inf2.accelerator_kind == "neuron" and inf2.compute_capability is None
    assert inf2.max_tp_degree == 24


def test_models_have_consistent_heads_and_kv_sizes(catalog: Catalog) -> None:
    # Given every shipped model
    for model in catalog.models.values():
        # When the heads and KV figures are checked
        # Then KV heads divide the heads, and KV bytes follow the formula (except MLA DeepSeek-R1)
        assert model.num_attention_heads % model.num_kv_heads == 0
        assert model.active_params_b <= model.total_params_b
        if model.architecture != "DeepseekV3ForCausalLM":
            expected = 2 * model.num_layers * model.num_kv_heads * model.head_dim * 2
            assert model.kv_bytes_per_token == expected, model.name


# --- lookups and sorting ---------------------------------------------------------------------


def test_instance_lookup_is_forgiving_about_case_and_prefix(catalog: Catalog) -> None:
    # Given a known instance type
    # When it is looked up with odd case or without the ml. prefix
    # Then the same record comes back
    assert catalog.instance("ML.G5.XLARGE") is catalog.instance("ml.g5.xlarge")
    assert catalog.instance("g5.xlarge").name == "ml.g5.xlarge"


def test_unknown_instance_names_the_value_and_suggests_close_matches(catalog: Catalog) -> None:
    # Given a misspelt instance type
    # When it is looked up
    with pytest.raises(CatalogError) as caught:
        catalog.instance("ml.g5.xlarg")

    # Then the error names the value and lists the close match
    assert "ml.g5.xlarg" in str(caught.value)
    assert "ml.g5.xlarge" in str(caught.value)


def test_model_lookup_is_case_insensitive(catalog: Catalog) -> None:
    # Given a model id typed in lower case
    # When it is looked up
    # Then the catalogued spelling comes back, and a typo suggests the real id
    assert catalog.model("qwen/qwen3-8b").name == "Qwen/Qwen3-8B"
    with pytest.raises(CatalogError, match="Qwen/Qwen3-8B"):
        catalog.model("Qwen/Qwen3-8")


def test_deployment_config_lookup_accepts_aliases(catalog: Catalog) -> None:
    # Given the short engine names people type
    # When they are looked up
    # Then they resolve to the catalogued configs; an unknown one is an error naming it
    assert catalog.deployment_config("vllm").name == "transformers-vllm"
    assert catalog.deployment_config("sglang").engine == "sglang"
    with pytest.raises(CatalogError, match="triton"):
        catalog.deployment_config("triton")


def test_instances_in_family_are_sorted_by_price_then_name(catalog: Catalog) -> None:
    # Given the g5 family
    members = catalog.instances_in_family("G5")

    # When it is listed
    # Then it is cheapest first (ml.g5.16xlarge, a single GPU, sorts before the 4-GPU 12xlarge)
    prices = [(i.price_per_hour_usd, i.name) for i in members]
    assert prices == sorted(prices)
    assert members[0].name == "ml.g5.xlarge"
    assert catalog.instances_in_family("g99") == []


def test_models_in_family_are_sorted_by_size_then_name(catalog: Catalog) -> None:
    # Given the qwen3 family
    members = catalog.models_in_family("qwen3")

    # When it is listed
    # Then it is smallest first
    sizes = [(m.total_params_b, m.name) for m in members]
    assert sizes == sorted(sizes)
    assert members[0].name == "Qwen/Qwen3-0.6B"
    assert members[-1].name == "Qwen/Qwen3-235B-A22B"


def test_family_of_instance_type_and_model(catalog: Catalog) -> None:
    # Given instance type names and model ids
    # When their families are asked for
    # Then they come from the catalog, or from the name for a size the catalog does not list
    assert catalog.family_of_instance_type("ml.g5.12xlarge") == "g5"
    assert catalog.family_of_instance_type("ml.g6e.64xlarge") == "g6e"
    assert catalog.family_of_model("Qwen/Qwen3-8B") == "qwen3"
    assert catalog.family_of_model("openai/gpt-oss-20b") == "gpt-oss"
    with pytest.raises(CatalogError):
        catalog.family_of_instance_type("not an instance")
    with pytest.raises(CatalogError):
        catalog.family_of_model("nobody/unknown-model")


def test_knows_normalises_before_checking(catalog: Catalog) -> None:
    # Given values in various spellings
    # When the catalog is asked whether it knows them
    # Then aliases and case are normalised first
    assert catalog.knows("quantization", "fp16")
    assert catalog.knows("quantization", "FP8")
    assert catalog.knows("deployment_config", "trtllm")
    assert catalog.knows("instance_family", "ml.G5")
    assert catalog.knows("model_family", "Qwen3")
    assert catalog.knows("tp_degree", "4")
    assert catalog.knows("deployment_target", "batch")
    assert not catalog.knows("quantization", "int3")
    assert not catalog.knows("tp_degree", "two")
    assert not catalog.knows("instance_family", "g99")
    with pytest.raises(CatalogError):
        catalog.knows("colour", "red")


# --- sizing ----------------------------------------------------------------------------------


def test_llama_8b_weights_in_bf16(catalog: Catalog) -> None:
    # Given Llama-3.1-8B (8,030,261,248 parameters, bf16)
    model = catalog.model("meta-llama/Llama-3.1-8B-Instruct")

    # When its unquantized weight size is computed
    size = model.weights_gib(catalog.weight_bytes_per_param(model, "none"))

    # Then it is the 14.96 GiB of the worked example, and fp8 halves it
    assert size == pytest.approx(14.96, abs=0.01)
    assert model.weights_gib(catalog.weight_bytes_per_param(model, "fp8")) == pytest.approx(7.48, abs=0.01)


def test_fp16_is_an_alias_of_none(catalog: Catalog) -> None:
    # Given a bf16 model and an fp8-native model
    llama = catalog.model("meta-llama/Llama-3.1-8B-Instruct")
    r1 = catalog.model("deepseek-ai/DeepSeek-R1")

    # When fp16 (the guide's word for unquantized) is asked for
    # Then it means the native dtype, exactly like none
    assert catalog.weight_bytes_per_param(llama, "fp16") == catalog.weight_bytes_per_param(llama, "none") == 2.0
    assert catalog.weight_bytes_per_param(r1, "fp16") == 1.0
    assert catalog.quantization("fp16").name == "none"


def test_a_quantization_never_grows_the_weights(catalog: Catalog) -> None:
    # Given gpt-oss, whose experts ship as MXFP4
    model = catalog.model("openai/gpt-oss-120b")

    # When fp8 or awq is asked for
    # Then the bytes per parameter stay at the native MXFP4 figure or below
    native = catalog.weight_bytes_per_param(model, "none")
    assert catalog.weight_bytes_per_param(model, "fp8") == native
    assert catalog.weight_bytes_per_param(model, "awq") <= native
    with pytest.raises(CatalogError, match="int3"):
        catalog.weight_bytes_per_param(model, "int3")


def test_tp_degree_rule_matches_the_research_notes(catalog: Catalog) -> None:
    # Given models with few heads
    # When TP 8 is checked
    # Then R1-Distill-Qwen-1.5B (12 heads) and gemma-3-1b (4 heads) refuse it, Llama accepts it
    assert not catalog.model("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B").supports_tp_degree(8)
    assert not catalog.model("google/gemma-3-1b-it").supports_tp_degree(8)
    assert catalog.model("meta-llama/Llama-3.1-8B-Instruct").supports_tp_degree(8)


def test_quantization_support_by_engine_and_gpu(catalog: Catalog) -> None:
    # Given an Ampere (g5), an Ada (g6), a Turing (g4dn) and an Inferentia2 instance
    g5, g6 = catalog.instance("ml.g5.xlarge"), catalog.instance("ml.g6.xlarge")
    g4dn, inf2 = catalog.instance("ml.g4dn.xlarge"), catalog.instance("ml.inf2.xlarge")
    vllm, trt = catalog.deployment_config("vllm"), catalog.deployment_config("tensorrt-llm")
    flask = catalog.deployment_config("flask")

    # When support is checked
    # Then FP8 runs weight-only on Ampere under vLLM, natively on Ada, and not at all under TRT-LLM on Ampere
    assert vllm.supports("fp8", g5) and vllm.is_weight_only("fp8", g5)
    assert vllm.supports("fp8", g6) and not vllm.is_weight_only("fp8", g6)
    assert not trt.supports("fp8", g5) and trt.supports("fp8", g6)
    assert not trt.supports("none", g4dn)
    assert vllm.supports("awq", g4dn) and not vllm.supports("awq", inf2)
    assert vllm.supports("none", inf2) and not trt.supports("none", inf2)
    assert flask.supports("fp16", g4dn) and not flask.supports("awq", g6)
    assert vllm.image_for("neuron") != vllm.image_for("gpu")


def test_timing_scales_with_model_size(catalog: Catalog) -> None:
    # Given the timing constants
    timing = catalog.search_space.timing

    # When a small and a large model are costed
    # Then the large one takes longer, and tuning adds time only when asked for
    assert timing.minutes("deploy", 70) > timing.minutes("deploy", 1)
    assert timing.billed_minutes(8, tune=True) > timing.billed_minutes(8)
    assert catalog.search_space.sizing.gpu_memory_utilization == 0.9
    with pytest.raises(CatalogError):
        timing.minutes("coffee")


def test_records_are_frozen(catalog: Catalog) -> None:
    # Given a loaded instance type
    instance = catalog.instance("ml.g5.xlarge")

    # When a field is assigned, Then pydantic refuses
    with pytest.raises(ValueError, match="frozen"):
        instance.price_per_hour_usd = 0.01  # type: ignore[misc]


def test_public_types_are_exported() -> None:
    # Given the package API
    # When its types are inspected, Then each is a pydantic model class others can annotate with
    for cls in (
        InstanceType,
        ModelSpec,
        DeploymentConfig,
        QuantizationSupport,
        QuantizationSpec,
        SearchSpace,
    ):
        assert cls.model_config.get("frozen") is True
        assert cls.model_config.get("extra") == "forbid"


def test_the_catalog_marks_p6_b200_capacity_only_and_knows_gemma_4(catalog: Catalog) -> None:
    b200 = catalog.instance("ml.p6-b200.48xlarge")
    assert (b200.capacity_only, b200.accelerator_count, b200.compute_capability) == (True, 8, 10.0)
    assert "no price published" in b200.price_source and b200.price_status == "unverified"
    assert not any(i.capacity_only for i in catalog.instances.values() if i.family != "p6-b200")
    gemma = catalog.model("google/gemma-4-31B-it")
    assert (gemma.family, gemma.num_layers, gemma.num_attention_heads, gemma.num_kv_heads) == ("gemma", 60, 32, 16)
    assert gemma.context_length == 262144 and gemma.supports_tp_degree(8)
