"""The simulated fleet's memory truth: independent of the brain, calibrated on published start-up logs.

The truth (``pathprover.adapters.local.truth``) replays what each engine does at start from the
sourced facts in ``catalog/simulation.yaml``. These tests pin it to the measurements it was built
from, check the engines' own failure texts, and keep the disagreement with the brain's sizing rule
inside a stated margin (``tests/integration/memory_margin.py`` measures it; docs/simulation.md
quotes the figures).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from pathprover.adapters.local import fleet as fleet_module
from pathprover.adapters.local import truth as truth_module
from pathprover.adapters.local.truth import (
    GIB,
    FactsError,
    SimulationFacts,
    container_start,
    load_facts,
    weight_bytes,
)
from pathprover.catalog import Catalog
from pathprover.classifier import classify
from tests.integration.memory_margin import measure

# The stated bounds (docs/simulation.md, "Margin of disagreement with the brain's estimate"). Measured on
# the catalog of 2026-11-23: 25,905 cells, brain optimistic 1,316 (5.1 %), pessimistic 274 (1.1 %);
# with a 4096-token context passed to every engine, optimistic 695 (2.7 %), pessimistic 369 (1.4 %).
MAX_OPTIMISTIC_SHARE = 0.07
MAX_PESSIMISTIC_SHARE = 0.02
MAX_OPTIMISTIC_SHARE_AT_4096 = 0.035


@pytest.fixture(scope="module")
def facts(catalog: Catalog) -> SimulationFacts:
    return load_facts(catalog)


def start(
    catalog: Catalog, facts: SimulationFacts, model: str, instance: str, **kw: object
) -> truth_module.StartOutcome:
    options = {"engine": "vllm", "quantization": "none", "tp": 1, "env": None} | kw
    return container_start(catalog.model(model), catalog.instance(instance), facts=facts, **options)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- independence


def _imported_modules(module: object) -> set[str]:
    source = Path(getattr(module, "__file__", "")).read_text(encoding="utf-8")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("module", [fleet_module, truth_module], ids=["fleet", "truth"])
def test_the_simulated_fleet_and_its_truth_never_import_the_brain(module: object) -> None:
    # The fleet deciding with the brain's own sizing would make the brain right by construction.
    imported = _imported_modules(module)
    assert not {name for name in imported if name == "pathprover.brain" or name.startswith("pathprover.brain.")}
    assert "estimate_fit" not in Path(getattr(module, "__file__", "")).read_text(encoding="utf-8")


def test_importing_the_truth_does_not_load_the_brain() -> None:
    code = (
        "import sys, pathprover.adapters.local.truth; print(any(m.startswith('pathprover.brain') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- calibration


@pytest.mark.parametrize(
    ("model", "quantization", "tp", "measured_kv_gib"),
    [
        # llm-d/llm-d-benchmark empirical-vllm-memory-results.md: one H100, max-model-len 16000.
        ("meta-llama/Llama-3.1-8B-Instruct", "none", 1, 51.38),
        ("Qwen/Qwen3-0.6B", "none", 1, 64.45),
        ("Qwen/Qwen3-32B", "none", 1, 4.45),
        ("openai/gpt-oss-20b", "none", 1, 50.28),
        ("meta-llama/Llama-3.3-70B-Instruct", "fp8", 2, 32.0),
        ("meta-llama/Llama-3.3-70B-Instruct", "fp8", 1, -1.44),
    ],
)
def test_kv_budget_reproduces_published_vllm_startup_logs(
    catalog: Catalog, facts: SimulationFacts, model: str, quantization: str, tp: int, measured_kv_gib: float
) -> None:
    outcome = start(
        catalog,
        facts,
        model,
        "ml.p5.48xlarge",
        quantization=quantization,
        tp=tp,
        env={"SM_VLLM_MAX_MODEL_LEN": "16000"},
    )
    assert outcome.budget is not None
    assert outcome.budget.kv_available_gib == pytest.approx(measured_kv_gib, abs=0.2)
    assert outcome.starts == (measured_kv_gib > 0)


def test_weights_follow_the_storage_format_not_a_bytes_per_param_constant(
    catalog: Catalog, facts: SimulationFacts
) -> None:
    llama70 = catalog.model("meta-llama/Llama-3.3-70B-Instruct")
    # FP8: linear layers 1 byte, embeddings and lm_head 16-bit: 67.72 GiB measured by llm-d.
    assert weight_bytes(llama70, "fp8", facts) / GIB == pytest.approx(67.72, abs=0.2)
    assert weight_bytes(llama70, "none", facts) / GIB == pytest.approx(70.553706496e9 * 2 / GIB)
    # AWQ: 4 bits + group scales and zeros on the body, 16-bit embeddings: more than a flat 0.52 bytes/param.
    awq = weight_bytes(llama70, "awq", facts)
    assert 70.553706496e9 * 0.52 < awq < 70.553706496e9 * 0.58
    # A tied, small-vocabulary-heavy model pays relatively more for its unquantized embeddings.
    gemma = catalog.model("google/gemma-3-1b-it")
    assert weight_bytes(gemma, "awq", facts) / (gemma.total_params_b * 1e9) > 0.8
    # gpt-oss keeps its MXFP4 experts whatever the quantization says; loaded size as measured (13.47 GiB).
    oss = catalog.model("openai/gpt-oss-20b")
    assert weight_bytes(oss, "none", facts) / GIB == pytest.approx(13.47, abs=0.3)


def test_the_default_max_model_len_is_the_models_own(catalog: Catalog, facts: SimulationFacts) -> None:
    # Qwen3-8B on one A10G: 40960 tokens of KV (5.62 GiB) do not fit next to 15.27 GiB of weights, as in the
    # published log (4.50 GiB available on a 24 GB card there, 3.06 on an A10G here).
    refused = start(catalog, facts, "Qwen/Qwen3-8B", "ml.g5.2xlarge")
    assert refused.outcome == "kv_too_small"
    log = refused.log or ""
    assert log.startswith("ValueError: To serve at least one request with the models's max seq len (40960), (5.62 GiB")
    assert "Based on the available memory, the estimated maximum model length is" in log
    assert "Try increasing `gpu_memory_utilization` or decreasing `max_model_len`" in log
    assert classify(log, stage="deploy").category == "oom"
    # With the context the container is told to use, it starts.
    assert start(catalog, facts, "Qwen/Qwen3-8B", "ml.g5.2xlarge", env={"SM_VLLM_MAX_MODEL_LEN": "8192"}).starts
    # The estimate the error gives is a length that does start.
    estimate = int(log.split("estimated maximum model length is ")[1].split(".")[0])
    assert start(catalog, facts, "Qwen/Qwen3-8B", "ml.g5.2xlarge", env={"SM_VLLM_MAX_MODEL_LEN": str(estimate)}).starts
    assert not start(
        catalog, facts, "Qwen/Qwen3-8B", "ml.g5.2xlarge", env={"SM_VLLM_MAX_MODEL_LEN": str(estimate + 64)}
    ).starts


def test_each_failure_has_the_engines_own_text(catalog: Catalog, facts: SimulationFacts) -> None:
    weights = start(catalog, facts, "meta-llama/Llama-3.1-70B-Instruct", "ml.g5.xlarge")
    assert weights.outcome == "weights_oom"
    assert (weights.log or "").startswith("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate")
    assert "GPU 0 has a total capacity of 22.07 GiB" in (weights.log or "")
    no_kv = start(
        catalog,
        facts,
        "meta-llama/Llama-3.3-70B-Instruct",
        "ml.p5.48xlarge",
        quantization="fp8",
        env={"SM_VLLM_MAX_MODEL_LEN": "16000"},
    )
    assert no_kv.outcome == "no_kv_memory"
    assert no_kv.log == (
        "ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when "
        "initializing the engine."
    )
    greedy = start(catalog, facts, "Qwen/Qwen3-0.6B", "ml.g5.xlarge", env={"SM_VLLM_GPU_MEMORY_UTILIZATION": "0.99"})
    assert greedy.outcome == "free_memory_below_budget"
    assert "is less than desired GPU memory utilization (0.99," in (greedy.log or "")
    mismatch = start(catalog, facts, "openai/gpt-oss-20b", "ml.g6e.xlarge", quantization="fp8")
    assert mismatch.outcome == "quantization_mismatch"
    assert "Quantization method specified in the model config (mxfp4) does not match the quantization method " in (
        mismatch.log or ""
    )
    for outcome in (weights, no_kv, greedy):
        assert classify(outcome.log or "", stage="deploy").category == "oom"


def test_engines_differ_where_real_engines_differ(catalog: Catalog, facts: SimulationFacts) -> None:
    # SGLang does not refuse a context longer than its KV pool: Qwen3-8B starts on one A10G.
    assert start(catalog, facts, "Qwen/Qwen3-8B", "ml.g5.2xlarge", engine="sglang").starts
    # ... but refuses when its static fraction leaves no pool at all.
    # (Qwen3-32B AWQ: 18.0 GiB of weights load, but mem_fraction_static 0.837 leaves no pool on an A10G.)
    sglang = start(catalog, facts, "Qwen/Qwen3-32B", "ml.g5.2xlarge", engine="sglang", quantization="awq")
    assert sglang.outcome == "no_kv_memory"
    assert sglang.log == "RuntimeError: Not enough memory. Please try to increase --mem-fraction-static."
    assert classify(sglang.log, stage="deploy").category == "oom"
    assert start(catalog, facts, "Qwen/Qwen3-8B", "ml.g4dn.xlarge", engine="sglang").outcome == "weights_oom"
    trt = start(catalog, facts, "Qwen/Qwen3-14B", "ml.g5.2xlarge", engine="tensorrt-llm")
    assert trt.outcome == "weights_oom"
    assert "Executor creation failed due to insufficient GPU memory." in (trt.log or "")
    assert "The following component could not be created: Model" in (trt.log or "")
    assert classify(trt.log or "", stage="deploy").category == "oom"
    flask = start(catalog, facts, "Qwen/Qwen3-14B", "ml.g5.12xlarge", engine="flask", tp=4)
    assert flask.starts
    assert not start(catalog, facts, "Qwen/Qwen3-14B", "ml.g5.2xlarge", engine="flask").starts


def test_kv_heads_replicate_past_tp_and_mla_is_not_sharded(catalog: Catalog, facts: SimulationFacts) -> None:
    env = {"SM_VLLM_MAX_MODEL_LEN": "32768"}
    # Qwen3-30B-A3B has 4 KV heads: at tp 8 each rank still holds one head, as at tp 4.
    at4 = start(catalog, facts, "Qwen/Qwen3-30B-A3B", "ml.g5.48xlarge", tp=4, env=env).budget
    at8 = start(catalog, facts, "Qwen/Qwen3-30B-A3B", "ml.g5.48xlarge", tp=8, env=env).budget
    assert at4 is not None and at8 is not None
    assert at8.kv_needed_gib == pytest.approx(at4.kv_needed_gib)
    # DeepSeek-R1's latent cache is the same on every rank.
    r1 = [start(catalog, facts, "deepseek-ai/DeepSeek-R1", "ml.p5e.48xlarge", tp=tp, env=env).budget for tp in (4, 8)]
    assert r1[0] is not None and r1[1] is not None
    assert r1[0].kv_needed_gib == pytest.approx(r1[1].kv_needed_gib)


def test_sliding_window_layers_need_only_a_window(catalog: Catalog, facts: SimulationFacts) -> None:
    gemma = start(catalog, facts, "google/gemma-3-27b-it", "ml.p5.48xlarge").budget
    assert gemma is not None
    model = catalog.model("google/gemma-3-27b-it")
    all_global = model.kv_bytes_per_token * 131072 / GIB
    assert gemma.kv_needed_gib < all_global / 4


def test_a_broken_facts_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "simulation.yaml"
    bad.write_text("sources: {}\naccelerators: {}\n")
    with pytest.raises(FactsError, match=r"simulation\.yaml: .*unlisted_reserved_gib"):
        load_facts(path=bad)


def test_every_catalog_model_has_simulation_facts(catalog: Catalog, facts: SimulationFacts) -> None:
    for model in catalog.models.values():
        spec = facts.model(model)
        assert spec.max_position_embeddings >= model.context_length or spec.sliding_window, model.name
        embedding = spec.vocab_size * spec.hidden_size * (1 if spec.tie_word_embeddings else 2)
        assert embedding < model.total_params_b * 1e9 * 0.5, model.name


# --------------------------------------------------------------------------- the margin


def test_disagreement_with_the_brain_stays_within_the_stated_margin(catalog: Catalog, facts: SimulationFacts) -> None:
    margin = measure(catalog, facts)
    assert margin.cells > 20_000
    # The brain may be wrong, in both directions, but not everywhere: both sides stay honest.
    assert 0 < margin.share(margin.brain_optimistic) <= MAX_OPTIMISTIC_SHARE, margin.as_dict()
    assert 0 < margin.share(margin.brain_pessimistic) <= MAX_PESSIMISTIC_SHARE, margin.as_dict()
    # Where the brain is optimistic, the container fails at start for a memory (or checkpoint) reason.
    assert set(margin.optimistic_by_outcome) <= {
        "kv_too_small",
        "no_kv_memory",
        "weights_oom",
        "profile_oom",
        "quantization_mismatch",
        "graph_oom",
    }
    # Most of the optimism is the context the container is not told: with 4096 tokens it shrinks.
    short = measure(catalog, facts, max_model_len=4096)
    assert short.brain_optimistic < margin.brain_optimistic
    assert short.share(short.brain_optimistic) <= MAX_OPTIMISTIC_SHARE_AT_4096, short.as_dict()
