"""What a serving container really does when it starts: the simulated fleet's own memory truth.

The brain decides what *should* fit with one sizing rule (``catalog/search_space.yaml``
``sizing``). If the simulated fleet used the same rule, the brain could never be wrong in a
test. This module replays instead what each engine does at start, from sourced facts in
``catalog/simulation.yaml`` (loaded here, never by the catalog loader or the brain):

* **weights** come from the model's own parameters and the quantization's real storage:
  embeddings and ``lm_head`` (and Gemma's vision tower) stay 16-bit, AWQ/GPTQ pay their group
  scales and zero points, DeepSeek-R1's native FP8 its block scales, gpt-oss's MXFP4 experts
  their shared exponents and the kernels' layout padding; every rank holds 1/tp of them;
* **vLLM** (the pinned V1 engine): the budget is ``total x gpu_memory_utilization``; the
  profiling run's peak grows with ``max_num_seqs x vocab`` (the dummy sampler) and
  ``max_num_batched_tokens x hidden``; non-torch memory grows with TP; what is left is the KV
  cache, and the engine refuses to start when it cannot hold one sequence of ``max_model_len``
  (the model's ``max_position_embeddings`` unless the container passes ``--max-model-len``);
  CUDA graphs come out of the remaining headroom;
* **SGLang** sizes ``mem_fraction_static`` from the GPU's memory and fails only when its KV
  pool would be empty (it does not refuse a long context);
* **TensorRT-LLM** takes 90 % of what is left after the model for the KV cache;
* **http-flask** loads the weights with ``device_map="auto"`` into 92 % of each GPU;
* **Inferentia2**: each NeuronCore holds its share of the weights and one sequence's KV
  (an assumption: no source for the Neuron allocator).

:func:`container_start` returns the outcome with the engine's own log line (the text the
classifier sees) and the per-device figures. The module never imports :mod:`pathprover.brain`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pathprover.catalog import Catalog, InstanceType, ModelSpec, default_catalog_dir
from pathprover.catalog.models import Engine

GIB: Final = 2**30
FACTS_FILE: Final = "simulation.yaml"

Outcome = Literal[
    "starts",
    "quantization_mismatch",
    "free_memory_below_budget",
    "weights_oom",
    "profile_oom",
    "no_kv_memory",
    "kv_too_small",
    "graph_oom",
]
ENGINES: Final[tuple[Engine, ...]] = get_args(Engine)
"""Engines the truth models; any other (or none) is treated as vLLM."""


# ------------------------------------------------------------------------------------------ facts
class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelFacts(_Facts):
    hidden_size: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    tie_word_embeddings: bool
    max_position_embeddings: int = Field(gt=0)
    sliding_window: int | None = Field(default=None, gt=0)
    full_attention_layers: int | None = Field(default=None, ge=0)
    """Layers with full attention when the others use ``sliding_window`` (None: all layers are full)."""
    kv_layout: Literal["heads", "mla"] = "heads"
    vision_params_b: float = Field(default=0.0, ge=0)
    expert_params_b: float | None = Field(default=None, gt=0)
    """MoE expert parameters stored in the checkpoint's low-bit format (gpt-oss MXFP4)."""
    source: str = Field(min_length=1)


class AcceleratorFacts(_Facts):
    cuda_total_gib: float = Field(gt=0)
    source: str = Field(min_length=1)


class BatchDefaults(_Facts):
    max_num_batched_tokens: int = Field(gt=0)
    max_num_seqs: int = Field(gt=0)


class VllmBatchDefaults(_Facts):
    large_gpu_min_gib: float
    large_gpu_excluded: tuple[str, ...]
    large: BatchDefaults
    other: BatchDefaults


class VllmFacts(_Facts):
    gpu_memory_utilization: float = Field(gt=0, le=1)
    block_size: int = Field(gt=0)
    batch_defaults: VllmBatchDefaults
    sampler_bytes_per_seq_vocab: float = Field(gt=0)
    forward_bytes_per_token_hidden: float = Field(gt=0)
    non_torch_gib_tp1: float = Field(ge=0)
    non_torch_gib_tp_multi: float = Field(ge=0)
    cuda_graph_gib: float = Field(ge=0)
    mxfp4_runtime_factor: float = Field(ge=1)


class SglangTier(_Facts):
    below_mib: float
    chunked_prefill_size: int
    graph_bs_small_tp: int
    graph_bs_large_tp: int


class SglangFacts(_Facts):
    tiers: tuple[SglangTier, ...] = Field(min_length=1)
    reserved_base_mib: float
    reserved_per_prefill_token_mib: float
    reserved_per_graph_bs_mib: float
    reserved_per_tp_mib: float
    reserved_min_above_60gib_mib: float


class TrtFacts(_Facts):
    free_gpu_memory_fraction: float = Field(gt=0, le=1)
    max_num_tokens: int = Field(gt=0)
    fixed_activation_gib: float = Field(ge=0)


class FlaskFacts(_Facts):
    max_memory_fraction: float = Field(gt=0, le=1)
    activation_gib: float = Field(ge=0)


class NeuronFacts(_Facts):
    runtime_gib: float = Field(ge=0)


class StorageFacts(_Facts):
    awq_bits_per_weight: float = Field(gt=0)
    gptq_bits_per_weight: float = Field(gt=0)
    fp8_block_scale_bytes_per_weight: float = Field(ge=0)
    mxfp4_bits_per_expert_weight: float = Field(gt=0)


class TrainingFacts(_Facts):
    starting_s: float = Field(ge=0)
    image_download_s: float = Field(ge=0)
    pip_install_s: float = Field(ge=0)
    hub_bytes_per_s: float = Field(gt=0)
    s3_channel_bytes_per_s: float = Field(gt=0)
    load_bytes_per_s: float = Field(gt=0)
    upload_s: float = Field(ge=0)
    flops_per_token_param: float = Field(gt=0)
    mfu: float = Field(gt=0, le=1)
    unlisted_tflops: float = Field(gt=0)
    dense_16bit_tflops: dict[str, float]
    lora_dims_per_layer_hidden: float = Field(gt=0)
    optimizer_bytes_per_lora_param: float = Field(ge=0)
    checkpoint_bytes_per_token_hidden_layer: float = Field(ge=0)
    recompute_bytes_per_token_hidden: float = Field(ge=0)
    logits_bytes_per_token_vocab: float = Field(ge=0)
    allocator_overhead_gib: float = Field(ge=0)


class LoraEngineFacts(_Facts):
    serves: bool
    max_rank: int | None = Field(default=None, gt=0)
    source: str = Field(min_length=1)


class SimulationFacts(_Facts):
    sources: dict[str, str]
    accelerators: dict[str, AcceleratorFacts]
    unlisted_reserved_gib: float = Field(ge=0)
    capacity_only_instance_types: tuple[str, ...] = ()
    """Types offered only on reserved capacity: no endpoint or job without a training plan."""
    context_gib: float = Field(ge=0)
    vllm: VllmFacts
    sglang: SglangFacts
    tensorrt_llm: TrtFacts
    flask: FlaskFacts
    neuron: NeuronFacts
    storage: StorageFacts
    training: TrainingFacts
    lora: dict[str, LoraEngineFacts]
    models: dict[str, ModelFacts]

    def model(self, model: ModelSpec) -> ModelFacts:
        """The config.json facts of a catalog model (KeyError names the file to extend)."""
        for name, facts in self.models.items():
            if name.lower() == model.name.lower():
                return facts
        raise KeyError(f"{FACTS_FILE}: no entry for model {model.name!r}; add its config.json facts")

    def cuda_total_gib(self, instance: InstanceType) -> float:
        """Device memory as the engine sees it (torch's total, below nvidia-smi's)."""
        known = self.accelerators.get(instance.accelerator)
        if known is not None:
            return known.cuda_total_gib
        return instance.accelerator_memory_gib / instance.cores_per_accelerator - self.unlisted_reserved_gib


class FactsError(ValueError):
    """simulation.yaml is missing or wrong; the message names the file and field."""


def facts_path(catalog: Catalog | None = None) -> Path:
    """``simulation.yaml`` beside the catalog's files, else the default catalog directory's."""
    if catalog is not None and catalog.source_dir is not None:
        candidate = Path(catalog.source_dir) / FACTS_FILE
        if candidate.is_file():
            return candidate
    return default_catalog_dir() / FACTS_FILE


@functools.cache
def _load(path: Path) -> SimulationFacts:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FactsError(f"{path}: cannot read the simulation facts: {exc}") from None
    try:
        return SimulationFacts.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise FactsError(f"{path}: {where}: {first['msg']}") from None


def load_facts(catalog: Catalog | None = None, path: Path | str | None = None) -> SimulationFacts:
    """The simulation's sourced facts (cached per file)."""
    return _load(Path(path).resolve() if path is not None else facts_path(catalog).resolve())


# ------------------------------------------------------------------------------------------ weights
def native_quantization(model: ModelSpec) -> str | None:
    """The quantization method a natively quantized checkpoint declares (its config's quant_method)."""
    return {"fp8": "fp8", "mxfp4": "mxfp4"}.get(model.native_dtype)


def weight_bytes(model: ModelSpec, quantization: str, facts: SimulationFacts) -> float:
    """Bytes of weights on the devices (all ranks), from the parameters and the real storage format.

    Embeddings, ``lm_head`` (when not tied) and a vision tower stay 16-bit in every format;
    the transformer body takes the quantization's bits. A natively quantized checkpoint keeps
    its own format (another quantization is refused by :func:`container_start`).
    """
    spec = facts.model(model)
    storage = facts.storage
    total = model.total_params_b * 1e9
    embedding = spec.vocab_size * spec.hidden_size * (1 if spec.tie_word_embeddings else 2)
    vision = spec.vision_params_b * 1e9
    unquantized = embedding + vision
    body = max(0.0, total - unquantized)
    if model.native_dtype == "mxfp4":
        experts = min(body, (spec.expert_params_b or 0.0) * 1e9)
        packed = experts * storage.mxfp4_bits_per_expert_weight / 8 + (total - experts) * 2.0
        return packed * facts.vllm.mxfp4_runtime_factor
    if model.native_dtype == "fp8":
        return body * (1.0 + storage.fp8_block_scale_bytes_per_weight) + unquantized * 2.0
    if quantization == "fp8":
        return body * 1.0 + unquantized * 2.0
    if quantization in ("awq", "gptq"):
        bits = storage.awq_bits_per_weight if quantization == "awq" else storage.gptq_bits_per_weight
        return body * bits / 8 + unquantized * 2.0
    return total * 2.0  # bf16 / fp16 checkpoint served as is


# ------------------------------------------------------------------------------------------ outcome
@dataclass(frozen=True)
class DeviceBudget:
    """One device's (rank's) memory at start, in GiB."""

    engine: str
    device_total_gib: float
    budget_gib: float
    weights_gib: float
    activation_gib: float
    non_torch_gib: float
    kv_available_gib: float
    kv_needed_gib: float
    max_model_len: int

    def explain(self) -> str:
        return (
            f"{self.engine}: {self.device_total_gib:.2f} GiB per device, budget {self.budget_gib:.2f}; weights "
            f"{self.weights_gib:.2f} + profiled peak {self.activation_gib:.2f} + non-torch {self.non_torch_gib:.2f}; "
            f"KV available {self.kv_available_gib:.2f}, needed {self.kv_needed_gib:.2f} for {self.max_model_len} tokens"
        )


@dataclass(frozen=True)
class StartOutcome:
    outcome: Outcome
    log: str | None
    """The container's log line when it does not start (None when it serves)."""
    budget: DeviceBudget | None = None

    @property
    def starts(self) -> bool:
        return self.outcome == "starts"


def _env_number(env: Mapping[str, str], key: str) -> float | None:
    raw = env.get(key)
    if raw is None or not raw.strip():
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def _env_flag(env: Mapping[str, str], key: str) -> bool:
    return env.get(key, "").strip().lower() in ("1", "true", "yes")


def _kv_bytes_per_layer_token(model: ModelSpec, spec: ModelFacts, tp: int, kv_dtype_bytes: float) -> float:
    """One layer's KV bytes per token on one rank. KV heads split over tp, or replicate past it; MLA replicates."""
    per_layer = model.kv_bytes_per_token / model.num_layers * kv_dtype_bytes / 2.0
    if spec.kv_layout == "mla":
        return per_layer
    return per_layer / min(tp, model.num_kv_heads)


def kv_needed_bytes(
    model: ModelSpec, spec: ModelFacts, tp: int, max_model_len: int, chunk_tokens: int, block: int, kv_dtype: float
) -> float:
    """KV one sequence of ``max_model_len`` needs on one rank (vLLM V1: sliding layers hold window + one chunk)."""
    per_layer_token = _kv_bytes_per_layer_token(model, spec, tp, kv_dtype)
    full_layers = model.num_layers if spec.full_attention_layers is None else spec.full_attention_layers
    sliding_layers = model.num_layers - full_layers
    full_tokens = math.ceil(max_model_len / block) * block
    needed = full_layers * full_tokens * per_layer_token
    if sliding_layers and spec.sliding_window:
        window = min(spec.sliding_window - 1 + chunk_tokens, max_model_len)
        needed += sliding_layers * (math.ceil(window / block) + 1) * block * per_layer_token
    return needed


def _estimate_max_model_len(
    model: ModelSpec, spec: ModelFacts, tp: int, available_gib: float, chunk: int, block: int, kv_dtype: float
) -> int:
    """vLLM's estimate_max_model_len: the longest length (in whole blocks) whose KV fits, by bisection."""
    low, high = 0, spec.max_position_embeddings // block
    while low < high:
        middle = (low + high + 1) // 2
        if kv_needed_bytes(model, spec, tp, middle * block, chunk, block, kv_dtype) <= available_gib * GIB:
            low = middle
        else:
            high = middle - 1
    return low * block


def _torch_oom(tried_gib: float, total: float, in_use: float) -> str:
    free_mib = max(0.0, (total - in_use) * 1024)
    allocated = max(0.0, in_use - 0.2)
    return (
        f"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {tried_gib:.2f} GiB. GPU 0 has a total "
        f"capacity of {total:.2f} GiB of which {free_mib:.2f} MiB is free. Including non-PyTorch memory, this "
        f"process has {in_use:.2f} GiB memory in use. Of the allocated memory {allocated:.2f} GiB is allocated by "
        "PyTorch, and 20.00 MiB is reserved by PyTorch but unallocated. If reserved but unallocated memory is large "
        "try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation."
    )


def _layer_share_gib(weights_gib: float, model: ModelSpec) -> float:
    """The allocation that fails while loading: one layer's share of the rank's weights."""
    return max(0.01, weights_gib / model.num_layers)


def _mismatch(model: ModelSpec, quantization: str) -> str | None:
    native = native_quantization(model)
    if native is None or quantization in ("none", native):
        return None
    return (
        "pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelConfig\n"
        f"  Value error, Quantization method specified in the model config ({native}) does not match the "
        f"quantization method specified in the `quantization` argument ({quantization})."
    )


def container_start(
    model: ModelSpec,
    instance: InstanceType,
    *,
    engine: str | None,
    quantization: str,
    tp: int,
    env: Mapping[str, str] | None = None,
    facts: SimulationFacts,
) -> StartOutcome:
    """Does this container start, and if not, what does its log say? (Memory and checkpoint format only.)

    ``engine`` is the deployment config's engine (``vllm``, ``sglang``, ``tensorrt-llm``,
    ``flask``); anything else is treated as vLLM. ``env`` is the container's environment
    (``SM_VLLM_MAX_MODEL_LEN`` and the other engine flags the serving templates pass through).
    """
    env = env or {}
    engine = engine if engine in ENGINES else "vllm"
    if engine in ("vllm", "sglang"):
        mismatch = _mismatch(model, quantization)
        if mismatch is not None:
            return StartOutcome("quantization_mismatch", mismatch)
    spec = facts.model(model)
    weights_gib = weight_bytes(model, quantization, facts) / GIB / tp
    if instance.accelerator_kind == "neuron":
        return _neuron(model, instance, spec, tp, weights_gib, env, facts)
    if engine == "sglang":
        return _sglang(model, instance, spec, tp, weights_gib, env, facts)
    if engine == "tensorrt-llm":
        return _trtllm(model, instance, spec, tp, weights_gib, env, facts)
    if engine == "flask":
        return _flask(model, instance, spec, tp, weights_gib, facts)
    return _vllm(model, instance, spec, tp, weights_gib, env, facts)


def _vllm(
    model: ModelSpec,
    instance: InstanceType,
    spec: ModelFacts,
    tp: int,
    weights_gib: float,
    env: Mapping[str, str],
    facts: SimulationFacts,
) -> StartOutcome:
    v = facts.vllm
    total = facts.cuda_total_gib(instance)
    utilization = _env_number(env, "SM_VLLM_GPU_MEMORY_UTILIZATION") or v.gpu_memory_utilization
    budget = total * utilization
    free_at_start = total - facts.context_gib
    large = total >= v.batch_defaults.large_gpu_min_gib and not any(
        word.lower() in instance.accelerator.lower() for word in v.batch_defaults.large_gpu_excluded
    )
    defaults = v.batch_defaults.large if large else v.batch_defaults.other
    seqs = int(_env_number(env, "SM_VLLM_MAX_NUM_SEQS") or defaults.max_num_seqs)
    tokens = int(_env_number(env, "SM_VLLM_MAX_NUM_BATCHED_TOKENS") or defaults.max_num_batched_tokens)
    max_model_len = int(_env_number(env, "SM_VLLM_MAX_MODEL_LEN") or spec.max_position_embeddings)
    kv_dtype = 1.0 if env.get("SM_VLLM_KV_CACHE_DTYPE", "auto").lower().startswith("fp8") else 2.0
    activation = (
        v.sampler_bytes_per_seq_vocab * seqs * spec.vocab_size
        + v.forward_bytes_per_token_hidden * tokens * spec.hidden_size
    ) / GIB
    non_torch = v.non_torch_gib_tp1 if tp == 1 else v.non_torch_gib_tp_multi
    kv_available = budget - weights_gib - activation - non_torch
    kv_needed = kv_needed_bytes(model, spec, tp, max_model_len, tokens, v.block_size, kv_dtype) / GIB
    figures = DeviceBudget(
        "vllm", total, budget, weights_gib, activation, non_torch, kv_available, kv_needed, max_model_len
    )
    if free_at_start < budget:
        return StartOutcome(
            "free_memory_below_budget",
            f"ValueError: Free memory on device ({free_at_start:.2f}/{total:.2f} GiB) on startup is less than "
            f"desired GPU memory utilization ({utilization:g}, {budget:.2f} GiB). Decrease GPU memory utilization "
            "or reduce GPU memory used by other processes.",
            figures,
        )
    if weights_gib + facts.context_gib > total:
        loaded = total - 0.01
        return StartOutcome("weights_oom", _torch_oom(_layer_share_gib(weights_gib, model), total, loaded), figures)
    if weights_gib + activation + non_torch > free_at_start:
        logits_gib = seqs * spec.vocab_size * 4 / GIB
        in_use = facts.context_gib + weights_gib + non_torch + max(0.0, activation - logits_gib)
        return StartOutcome("profile_oom", _torch_oom(logits_gib, total, min(in_use, total - 0.01)), figures)
    if kv_available <= 0:
        return StartOutcome(
            "no_kv_memory",
            "ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when "
            "initializing the engine.",
            figures,
        )
    if kv_needed > kv_available:
        estimate = _estimate_max_model_len(model, spec, tp, kv_available, tokens, v.block_size, kv_dtype)
        hint = f"Based on the available memory, the estimated maximum model length is {estimate}. " if estimate else ""
        return StartOutcome(
            "kv_too_small",
            f"ValueError: To serve at least one request with the models's max seq len ({max_model_len}), "
            f"({kv_needed:.2f} GiB KV cache is needed, which is larger than the available KV cache memory "
            f"({kv_available:.2f} GiB). {hint}Try increasing `gpu_memory_utilization` or decreasing "
            "`max_model_len` when initializing the engine.",
            figures,
        )
    headroom = free_at_start - budget
    if not _env_flag(env, "SM_VLLM_ENFORCE_EAGER") and v.cuda_graph_gib > headroom:
        return StartOutcome(
            "graph_oom", _torch_oom(v.cuda_graph_gib, total, min(facts.context_gib + budget, total - 0.01)), figures
        )
    return StartOutcome("starts", None, figures)


def _sglang(
    model: ModelSpec,
    instance: InstanceType,
    spec: ModelFacts,
    tp: int,
    weights_gib: float,
    env: Mapping[str, str],
    facts: SimulationFacts,
) -> StartOutcome:
    s = facts.sglang
    total = facts.cuda_total_gib(instance)
    gpu_mib = instance.accelerator_memory_gib * 1024  # SGLang reads nvidia-smi's total
    tier = next((t for t in s.tiers if gpu_mib < t.below_mib), s.tiers[-1])
    graph_bs = tier.graph_bs_small_tp if tp < 4 else tier.graph_bs_large_tp
    reserved = (
        s.reserved_base_mib
        + max(tier.chunked_prefill_size, 2048) * s.reserved_per_prefill_token_mib
        + graph_bs * s.reserved_per_graph_bs_mib
        + tp * s.reserved_per_tp_mib
    )
    if gpu_mib > 60 * 1024:
        reserved = max(reserved, s.reserved_min_above_60gib_mib)
    fraction = _env_number(env, "SM_SGLANG_MEM_FRACTION_STATIC") or round((gpu_mib - reserved) / gpu_mib, 3)
    free_at_start = total - facts.context_gib
    max_len = int(_env_number(env, "SM_SGLANG_CONTEXT_LENGTH") or spec.max_position_embeddings)
    kv_pool = (free_at_start - weights_gib) - free_at_start * (1 - fraction)
    kv_one = kv_needed_bytes(model, spec, tp, max_len, tier.chunked_prefill_size, 1, 2.0) / GIB
    figures = DeviceBudget("sglang", total, free_at_start * fraction, weights_gib, 0.0, 0.0, kv_pool, kv_one, max_len)
    if weights_gib + facts.context_gib > total:
        return StartOutcome(
            "weights_oom", _torch_oom(_layer_share_gib(weights_gib, model), total, total - 0.01), figures
        )
    if kv_pool <= 0:
        return StartOutcome(
            "no_kv_memory", "RuntimeError: Not enough memory. Please try to increase --mem-fraction-static.", figures
        )
    return StartOutcome("starts", None, figures)


def _trtllm(
    model: ModelSpec,
    instance: InstanceType,
    spec: ModelFacts,
    tp: int,
    weights_gib: float,
    env: Mapping[str, str],
    facts: SimulationFacts,
) -> StartOutcome:
    t = facts.tensorrt_llm
    total = facts.cuda_total_gib(instance)
    free_at_start = total - facts.context_gib
    activation = (
        facts.vllm.forward_bytes_per_token_hidden * t.max_num_tokens * spec.hidden_size / GIB + t.fixed_activation_gib
    )
    fraction = _env_number(env, "SM_TRTLLM_KV_CACHE_FREE_GPU_MEMORY_FRACTION") or t.free_gpu_memory_fraction
    left = free_at_start - weights_gib - activation
    max_len = int(_env_number(env, "SM_TRTLLM_MAX_SEQ_LEN") or spec.max_position_embeddings)
    kv_one = kv_needed_bytes(model, spec, tp, max_len, t.max_num_tokens, 32, 2.0) / GIB
    figures = DeviceBudget(
        "tensorrt-llm", total, free_at_start, weights_gib, activation, 0.0, left * fraction, kv_one, max_len
    )

    def refused(component: str, free: float) -> str:
        return (
            "[TRT-LLM] [RANK 0] [E] Failed to initialize executor on rank 0: Executor creation failed due to "
            "insufficient GPU memory.\n\nThe following component could not be created: "
            f"{component}\nTotal GPU memory (GiB): {total:.2f}\n"
            f"Free GPU memory before component creation attempt (GiB): {max(0.0, free):.2f}"
        )

    if weights_gib > free_at_start:
        return StartOutcome("weights_oom", refused("Model", free_at_start), figures)
    if left <= 0:
        return StartOutcome("no_kv_memory", refused("KV cache", free_at_start - weights_gib), figures)
    return StartOutcome("starts", None, figures)


def _flask(
    model: ModelSpec, instance: InstanceType, spec: ModelFacts, tp: int, weights_gib: float, facts: SimulationFacts
) -> StartOutcome:
    f = facts.flask
    total = facts.cuda_total_gib(instance)
    budget = total * f.max_memory_fraction
    figures = DeviceBudget("flask", total, budget, weights_gib, f.activation_gib, 0.0, 0.0, 0.0, 0)
    if weights_gib + f.activation_gib > budget:
        return StartOutcome(
            "weights_oom",
            _torch_oom(_layer_share_gib(weights_gib, model), total, min(total - 0.01, budget)),
            figures,
        )
    return StartOutcome("starts", None, figures)


def _neuron(
    model: ModelSpec,
    instance: InstanceType,
    spec: ModelFacts,
    tp: int,
    weights_gib: float,
    env: Mapping[str, str],
    facts: SimulationFacts,
) -> StartOutcome:
    per_core = instance.accelerator_memory_gib / instance.cores_per_accelerator
    max_len = int(_env_number(env, "SM_VLLM_MAX_MODEL_LEN") or spec.max_position_embeddings)
    kv_one = kv_needed_bytes(model, spec, tp, max_len, 2048, 1, 2.0) / GIB
    need = weights_gib + kv_one + facts.neuron.runtime_gib
    figures = DeviceBudget(
        "vllm-neuron",
        per_core,
        per_core,
        weights_gib,
        0.0,
        facts.neuron.runtime_gib,
        per_core - need + kv_one,
        kv_one,
        max_len,
    )
    if need <= per_core:
        return StartOutcome("starts", None, figures)
    free_mib = int(max(0.0, per_core - weights_gib) * 1024)
    tried = kv_one if weights_gib <= per_core else _layer_share_gib(weights_gib, model)
    return StartOutcome(
        "weights_oom" if weights_gib > per_core else "kv_too_small",
        f"RuntimeError: Neuron runtime failed to allocate {tried:.2f} GiB on NeuronCore 0: out of memory "
        f"({per_core:.2f} GiB of HBM per core, {free_mib} MiB free).",
        figures,
    )


# ------------------------------------------------------------------------------------------ training
@dataclass(frozen=True)
class TrainingOutcome:
    """What the tune stage's training job does: how long it runs, and the log line it dies with (if it does)."""

    duration_s: float
    failure: str | None
    fail_after_s: float | None
    device_need_gib: float
    device_total_gib: float
    compute_s: float


def training_run(
    model: ModelSpec,
    instance: InstanceType,
    *,
    max_steps: int,
    lora_rank: int,
    batch_size: int,
    seq_len: int,
    weights_from_s3: bool,
    facts: SimulationFacts,
) -> TrainingOutcome:
    """The LoRA training job on ``instance``: SageMaker's phases, then loading and training on the last device.

    Memory of the last device (it holds its share of the layers, lm_head and the loss): weights / devices,
    adapter parameters with their optimizer state / devices, one checkpointed hidden state per layer and
    token, one layer's recomputed activations, the logits of the batch and the allocator's overhead. Time:
    the fixed phases, the weights' download and load, and ``max_steps`` steps of ``batch_size x seq_len``
    tokens at ``flops_per_token_param`` FLOPs per parameter on one device at ``mfu`` of its 16-bit peak.
    """
    t = facts.training
    spec = facts.model(model)
    devices = max(1, instance.accelerator_count)
    total = facts.cuda_total_gib(instance)
    weights = weight_bytes(model, "none", facts)
    tokens = batch_size * seq_len
    lora_params = lora_rank * model.num_layers * spec.hidden_size * t.lora_dims_per_layer_hidden
    need = (
        (
            weights / devices
            + lora_params * (2 + t.optimizer_bytes_per_lora_param) / devices
            + tokens * spec.hidden_size * model.num_layers * t.checkpoint_bytes_per_token_hidden_layer / devices
            + tokens * spec.hidden_size * t.recompute_bytes_per_token_hidden
            + tokens * spec.vocab_size * t.logits_bytes_per_token_vocab
        )
        / GIB
        + facts.context_gib
        + t.allocator_overhead_gib
    )
    tflops = t.dense_16bit_tflops.get(instance.accelerator, t.unlisted_tflops)
    compute = max_steps * tokens * t.flops_per_token_param * model.active_params_b * 1e9 / (tflops * 1e12 * t.mfu)
    fetch = weights / (t.s3_channel_bytes_per_s if weights_from_s3 else t.hub_bytes_per_s)
    load = weights / t.load_bytes_per_s
    before = t.starting_s + t.image_download_s + t.pip_install_s + fetch
    duration = before + load + compute + t.upload_s
    loaded_gib = weights / devices / GIB + facts.context_gib
    if loaded_gib > total:
        oom = _torch_oom(_layer_share_gib(weights / devices / GIB, model), total, total - 0.01)
        return TrainingOutcome(duration, oom, before + load * 0.9, need, total, compute)
    if need > total:
        logits_gib = tokens * spec.vocab_size * 4 / GIB
        oom = _torch_oom(logits_gib, total, min(total - 0.01, max(loaded_gib, need - logits_gib)))
        return TrainingOutcome(duration, oom, before + load, need, total, compute)
    return TrainingOutcome(duration, None, None, need, total, compute)


def lora_serving(engine: str | None, accelerator_kind: str, facts: SimulationFacts) -> LoraEngineFacts:
    """Whether the engine, as the container starts it, serves an adapter by name (Inferentia2: never here)."""
    key = "neuron" if accelerator_kind == "neuron" else (engine if engine in facts.lora else "vllm")
    return facts.lora[key]
