"""Typed, frozen records of the catalog and the lookups the brain needs.

Pure data and arithmetic, no I/O: the loader reads the YAML and builds a
:class:`Catalog`; everything else only queries it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from pathprover.core.dimensions import (
    DEPLOYMENT_TARGETS,
    DIMENSIONS,
    DeploymentConfigName,
    DeploymentTarget,
    DimensionValueError,
    InstanceFamily,
    ModelFamily,
    Quantization,
    normalise_value,
)
from pathprover.core.errors import InputError

AcceleratorKind = Literal["gpu", "neuron"]
PriceStatus = Literal["published", "secondary", "unverified"]
NativeDtype = Literal["bf16", "fp16", "fp8", "mxfp4"]
Engine = Literal["vllm", "sglang", "tensorrt-llm", "flask"]
TimedStage = Literal["stage", "build", "deploy", "test", "benchmark", "tune", "clean"]
"""The lifecycle stages (``core.stage_table.Stage``) the catalog gives expected minutes for."""

STAGES: Final[tuple[TimedStage, ...]] = get_args(TimedStage)

GIB: Final[int] = 2**30

# Blackwell parts report 10.x and 12.x; anything above 13 is a typo (20 instead of 2.0, 89 for 8.9).
ComputeCapability = Annotated[float, Field(ge=3.0, le=13.0)]
Text = Annotated[str, Field(min_length=1)]


class CatalogError(InputError, ValueError):
    """A catalog file or lookup is wrong; the message names the file and key so it can be fixed."""

    code = "catalog"

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        self.detail = message
        prefix = "".join(f"{part}: " for part in (file, key) if part)
        super().__init__(f"{prefix}{message}")


class LocatedValueError(ValueError):
    """Raised inside a validator to point at a sub-key; the loader appends `loc` to the error path."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_image(value: str) -> str:
    # A Dockerfile template pins its parent, so a floating or missing tag is a catalog bug.
    repository, sep, tag = value.rpartition(":")
    if not sep or "/" in tag or not repository:
        raise ValueError(f"image {value!r} needs a pinned tag (repository:tag)")
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/:-]*", repository):
        raise ValueError(f"image repository {repository!r} is not a valid image name")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}", tag) or tag == "latest":
        raise ValueError(f"image tag {tag!r} must be a pinned version, not 'latest'")
    return value


ImageRef = Annotated[str, AfterValidator(_check_image)]


def _close_matches(value: str, candidates: Iterable[str]) -> str:
    # Compare whole names and the part after "/" so `llama-3.1-8b` finds `meta-llama/Llama-3.1-8B-Instruct`.
    options = sorted(set(candidates))
    query = value.strip().lower()
    bare_query = query.rpartition("/")[2]
    lowered = {option.lower(): option for option in options}
    bare = {option.lower().rpartition("/")[2]: option for option in options}
    close: list[str] = [o for o in options if bare_query and bare_query in o.lower()][:4]
    for pool, probe in ((lowered, query), (bare, bare_query)):
        for match in difflib.get_close_matches(probe, list(pool), n=4, cutoff=0.6):
            if pool[match] not in close:
                close.append(pool[match])
    close = close[:4]
    if close:
        return f"did you mean: {', '.join(close)}?"
    shown = ", ".join(options[:10]) + (", ..." if len(options) > 10 else "")
    return f"known: {shown}"


class Pricing(_Frozen):
    """Where and when the prices in instances.yaml apply."""

    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    as_of: date
    note: Text
    sources: dict[str, Text] = Field(default_factory=dict)


class InstanceType(_Frozen):
    """One SageMaker instance type: its accelerators and its hosting price."""

    name: str = Field(pattern=r"^ml\.[a-z][a-z0-9-]*\.[a-z0-9]+$")
    family: InstanceFamily
    accelerator_kind: AcceleratorKind
    accelerator: Text
    accelerator_count: int = Field(gt=0, le=64)
    cores_per_accelerator: int = Field(default=1, gt=0, le=16)
    accelerator_memory_gib: float = Field(gt=0, le=1024)
    compute_capability: ComputeCapability | None
    vcpu: int = Field(gt=0)
    host_memory_gib: float = Field(gt=0)
    price_per_hour_usd: float = Field(gt=0, le=1000)
    price_status: PriceStatus
    price_source: Text
    capacity_only: bool = Field(
        default=False,
        description="offered only on reserved capacity (a SageMaker training plan): no on-demand endpoint; "
        "a prove on it needs infra_params.capacity_reservation_arn",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        named_family = self.name.split(".")[1]
        if named_family != self.family:
            raise LocatedValueError(("family",), f"{self.name} is in family {named_family!r}, not {self.family!r}")
        if self.accelerator_kind == "gpu" and self.compute_capability is None:
            raise LocatedValueError(("compute_capability",), "a GPU instance needs a compute capability")
        if self.accelerator_kind == "neuron" and self.compute_capability is not None:
            raise LocatedValueError(("compute_capability",), "a Neuron instance has no CUDA compute capability")
        if self.accelerator_kind == "gpu" and self.cores_per_accelerator != 1:
            raise LocatedValueError(("cores_per_accelerator",), "cores_per_accelerator is for Neuron chips only")
        return self

    @property
    def total_accelerator_memory_gib(self) -> float:
        return self.accelerator_count * self.accelerator_memory_gib

    @property
    def max_tp_degree(self) -> int:
        """Largest tensor-parallel degree: GPUs, or NeuronCores (two per Inferentia2 chip)."""
        return self.accelerator_count * self.cores_per_accelerator


class ModelSpec(_Frozen):
    """One Hugging Face model: the architecture figures the memory-fit and TP rules need."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
    family: ModelFamily
    total_params_b: float = Field(gt=0, le=10_000)
    active_params_b: float = Field(gt=0, le=10_000)
    num_layers: int = Field(gt=0)
    num_attention_heads: int = Field(gt=0)
    num_kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    architecture: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*For[A-Za-z0-9]+$")
    context_length: int = Field(gt=0)
    native_dtype: NativeDtype
    kv_bytes_per_token: int = Field(gt=0)
    gated: bool = False
    source: Text

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        # Dense models need not repeat their size; KV bytes follow from the config when not given.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "active_params_b" not in data and "total_params_b" in data:
            data["active_params_b"] = data["total_params_b"]
        parts = [data.get(key) for key in ("num_layers", "num_kv_heads", "head_dim")]
        if "kv_bytes_per_token" not in data and all(type(p) is int and p > 0 for p in parts):
            layers, kv_heads, head_dim = parts
            data["kv_bytes_per_token"] = 2 * layers * kv_heads * head_dim * 2  # K and V, bf16
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.num_attention_heads % self.num_kv_heads:
            raise LocatedValueError(
                ("num_kv_heads",),
                f"num_attention_heads {self.num_attention_heads} is not divisible by num_kv_heads {self.num_kv_heads}",
            )
        if self.active_params_b > self.total_params_b:
            raise LocatedValueError(
                ("active_params_b",),
                f"active_params_b {self.active_params_b} exceeds total_params_b {self.total_params_b}",
            )
        return self

    @property
    def is_moe(self) -> bool:
        return self.active_params_b < self.total_params_b

    def weights_gib(self, quantization_bytes: float) -> float:
        """Weight memory in GiB at `quantization_bytes` bytes per parameter (all ranks together)."""
        return self.total_params_b * 1e9 * quantization_bytes / GIB

    def kv_cache_gib(self, tokens: int) -> float:
        """bf16 KV cache in GiB for `tokens` tokens at batch 1 (all ranks together)."""
        return self.kv_bytes_per_token * tokens / GIB

    def supports_tp_degree(self, tp_degree: int) -> bool:
        """vLLM's rule: heads split evenly; KV heads split evenly or replicate evenly (§2.7)."""
        if tp_degree < 1 or self.num_attention_heads % tp_degree:
            return False
        if self.num_kv_heads >= tp_degree:
            return self.num_kv_heads % tp_degree == 0
        return tp_degree % self.num_kv_heads == 0


class QuantizationSpec(_Frozen):
    """How a quantization stores weights; `None` bytes means the model's native dtype."""

    name: Quantization
    weight_bytes_per_param: float | None = Field(gt=0, le=4)
    description: Text


class QuantizationSupport(_Frozen):
    """Where one deployment config can run one quantization."""

    min_compute_capability: ComputeCapability | None
    weight_only_below: ComputeCapability | None = None
    neuron: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        low, high = self.min_compute_capability, self.weight_only_below
        if low is not None and high is not None and high <= low:
            raise LocatedValueError(
                ("weight_only_below",),
                f"weight_only_below {high} must be above min_compute_capability {low}",
            )
        return self

    def runs_on(self, accelerator_kind: str, compute_capability: float | None) -> bool:
        if accelerator_kind == "neuron":
            return self.neuron
        if self.min_compute_capability is None:
            return True
        return compute_capability is not None and compute_capability >= self.min_compute_capability

    def is_weight_only(self, compute_capability: float | None) -> bool:
        """True where the method runs but only as weight-only (e.g. FP8 via Marlin on Ampere)."""
        if self.weight_only_below is None or compute_capability is None:
            return False
        return compute_capability < self.weight_only_below


TUNABLE_DTYPES: Final[frozenset[str]] = frozenset({"bf16", "fp16"})
"""Checkpoint dtypes the training entry point (containers/training/train.py) fine-tunes: 16-bit weights only."""


class LoraSupport(_Frozen):
    """Whether a serving stack serves a PEFT LoRA adapter beside the base model, called by name (the OpenAI
    ``model`` field), through this project's generated container. ``reason`` says why not, with its source."""

    serves: bool
    accelerator_kinds: tuple[AcceleratorKind, ...] = ("gpu",)
    rank_choices: tuple[int, ...] = Field(
        default=(), description="values the engine's max-LoRA-rank flag accepts, ascending (empty: any)"
    )
    moe: bool = Field(default=False, description="whether adapters on mixture-of-experts models are served")
    reason: Text | None = None
    source: Text

    @model_validator(mode="after")
    def _explained(self) -> Self:
        if not self.serves and self.reason is None:
            raise LocatedValueError(("reason",), "required when serves is false: say why (and the source)")
        if list(self.rank_choices) != sorted(set(self.rank_choices)):
            raise LocatedValueError(("rank_choices",), "must be ascending without duplicates")
        return self

    def max_rank_flag(self, rank: int) -> int | None:
        """The smallest accepted max-LoRA-rank value that holds ``rank`` (None: the engine cannot hold it)."""
        if not self.rank_choices:
            return rank
        return next((choice for choice in self.rank_choices if choice >= rank), None)


class DeploymentConfig(_Frozen):
    """One serving stack: engine, pinned parent images and the quantizations it runs where."""

    name: DeploymentConfigName
    engine: Engine
    base_image: ImageRef
    neuron_base_image: ImageRef | None = None
    env_prefix: str = Field(pattern=r"^SM_[A-Z][A-Z0-9]*_$")
    quantizations: dict[Quantization, QuantizationSupport] = Field(min_length=1)
    targets: tuple[DeploymentTarget, ...] = Field(min_length=1)
    accelerator_kinds: tuple[AcceleratorKind, ...] = Field(min_length=1)
    description: Text
    lora: LoraSupport | None = None
    """None: LoRA serving was not assessed for this stack, and a tune is refused."""

    @field_validator("quantizations", mode="before")
    @classmethod
    def _no_alias_duplicates(cls, value: Any) -> Any:
        # `fp16` and `none` are one quantization; listing both would silently drop one rule.
        if isinstance(value, Mapping):
            seen: dict[Any, Any] = {}
            for key in value:
                try:
                    canonical = normalise_value("quantization", key)
                except DimensionValueError as exc:
                    raise LocatedValueError((str(key),), str(exc)) from exc
                if canonical in seen:
                    raise LocatedValueError((str(key),), f"{key!r} is the same quantization as {seen[canonical]!r}")
                seen[canonical] = key
        return value

    @field_validator("targets")
    @classmethod
    def _known_targets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, target in enumerate(value):
            if target not in DEPLOYMENT_TARGETS:
                raise LocatedValueError(
                    (index,), f"unknown deployment target {target!r}; expected one of {DEPLOYMENT_TARGETS}"
                )
            if target in value[:index]:
                raise LocatedValueError((index,), f"duplicate target {target!r}")
        return value

    @field_validator("accelerator_kinds")
    @classmethod
    def _unique_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("duplicate accelerator kind")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        neuron = "neuron" in self.accelerator_kinds
        if neuron and self.neuron_base_image is None:
            raise LocatedValueError(("neuron_base_image",), "required when accelerator_kinds includes neuron")
        if not neuron and self.neuron_base_image is not None:
            raise LocatedValueError(("neuron_base_image",), "set but accelerator_kinds has no neuron")
        for name, rule in self.quantizations.items():
            if rule.neuron and not neuron:
                raise LocatedValueError(("quantizations", name, "neuron"), "true but accelerator_kinds has no neuron")
        return self

    def image_for(self, accelerator_kind: str) -> str:
        """Parent image for this accelerator kind (the Neuron build differs from the CUDA one)."""
        if accelerator_kind == "neuron" and self.neuron_base_image is not None:
            return self.neuron_base_image
        if accelerator_kind not in self.accelerator_kinds:
            raise CatalogError(f"{self.name} does not run on {accelerator_kind} instances")
        return self.base_image

    def quantization_rule(self, quantization: str) -> QuantizationSupport | None:
        return self.quantizations.get(str(normalise_value("quantization", quantization)))

    def supports(self, quantization: str, instance: InstanceType) -> bool:
        """Can this stack run `quantization` on `instance` (engine, accelerator kind, compute capability)?"""
        if instance.accelerator_kind not in self.accelerator_kinds:
            return False
        rule = self.quantization_rule(quantization)
        return rule is not None and rule.runs_on(instance.accelerator_kind, instance.compute_capability)

    def lora_refusal(self, model: ModelSpec, instance: InstanceType, lora_rank: int | None = None) -> str | None:
        """Why this stack cannot serve a LoRA adapter of ``model`` on ``instance`` (None: it can)."""
        lora = self.lora
        if lora is None:
            return (
                f"{self.name}: LoRA adapter serving is not catalogued for this stack (catalog/deployment_configs.yaml)"
            )
        if not lora.serves:
            return f"{self.name} cannot serve LoRA adapters here: {lora.reason}"
        if instance.accelerator_kind not in lora.accelerator_kinds:
            return (
                f"{self.name} serves LoRA adapters on {', '.join(lora.accelerator_kinds)} only, not on {instance.name}"
            )
        if model.is_moe and not lora.moe:
            return f"{self.name} does not serve LoRA adapters on mixture-of-experts models like {model.name}"
        if lora_rank is not None and lora.max_rank_flag(lora_rank) is None:
            return f"{self.name} holds LoRA ranks up to {lora.rank_choices[-1]}, not {lora_rank}"
        return None

    def is_weight_only(self, quantization: str, instance: InstanceType) -> bool:
        rule = self.quantization_rule(quantization)
        return (
            rule is not None and instance.accelerator_kind == "gpu" and rule.is_weight_only(instance.compute_capability)
        )


class SizingConstants(_Frozen):
    """Constants of the memory-fit rule (see search_space.yaml for the formula)."""

    gpu_memory_utilization: float = Field(gt=0, le=1)
    framework_overhead_gib: float = Field(ge=0, le=64)
    kv_reserve_tokens: int = Field(gt=0)
    activation_overhead_fraction: float = Field(ge=0, lt=1)


class TimingConstants(_Frozen):
    """Expected minutes per lifecycle stage, for cost estimates: base + per 10B parameters."""

    stage_minutes_base: float = Field(ge=0)
    stage_minutes_per_10b_params: float = Field(ge=0)
    build_minutes_base: float = Field(ge=0)
    build_minutes_per_10b_params: float = Field(ge=0)
    deploy_minutes_base: float = Field(ge=0)
    deploy_minutes_per_10b_params: float = Field(ge=0)
    test_minutes_base: float = Field(ge=0)
    test_minutes_per_10b_params: float = Field(ge=0)
    benchmark_minutes_base: float = Field(ge=0)
    benchmark_minutes_per_10b_params: float = Field(ge=0)
    tune_minutes_base: float = Field(ge=0)
    tune_minutes_per_10b_params: float = Field(ge=0)
    clean_minutes_base: float = Field(ge=0)
    clean_minutes_per_10b_params: float = Field(ge=0)
    billed_stages: tuple[TimedStage, ...] = Field(min_length=1)

    def minutes(self, stage: str, total_params_b: float = 0.0) -> float:
        """Expected minutes of `stage` for a model of `total_params_b` billion parameters."""
        if stage not in STAGES:
            raise CatalogError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
        base: float = getattr(self, f"{stage}_minutes_base")
        per_10b: float = getattr(self, f"{stage}_minutes_per_10b_params")
        return base + per_10b * total_params_b / 10

    def billed_minutes(self, total_params_b: float, *, tune: bool = False, adapter: bool = False) -> float:
        """Minutes an instance runs for one prove: tune counts only when the run tunes; an adapter endpoint
        (after a tune, or to validate a given adapter) is a second deploy and its test. The base endpoint is
        deleted before the training job and the adapter endpoint start, so one instance bills at a time."""
        minutes = sum(self.minutes(stage, total_params_b) for stage in self.billed_stages if tune or stage != "tune")
        if tune or adapter:
            minutes += self.minutes("deploy", total_params_b) + self.minutes("test", total_params_b)
        return minutes


class SearchSpace(_Frozen):
    """Allowed values of the six dimensions plus the sizing and timing constants."""

    values: dict[str, list[str | int]]
    sizing: SizingConstants
    timing: TimingConstants

    @field_validator("values", mode="before")
    @classmethod
    def _normalise(cls, raw: Any) -> Any:
        # Every value goes through normalise_value so `fp16` and `none` (or `1` and `"1"`) never differ.
        if not isinstance(raw, Mapping):
            raise ValueError("values must be a mapping of dimension -> list of values")
        for key in raw:
            if key not in DIMENSIONS:
                raise LocatedValueError((str(key),), f"unknown dimension; expected one of {', '.join(DIMENSIONS)}")
        result: dict[str, list[str | int]] = {}
        for dimension in DIMENSIONS:
            if dimension not in raw:
                raise LocatedValueError((dimension,), "missing dimension")
            items = raw[dimension]
            if not isinstance(items, list) or not items:
                raise LocatedValueError((dimension,), "must be a non-empty list")
            normalised: list[str | int] = []
            for index, item in enumerate(items):
                try:
                    value = normalise_value(dimension, item)
                except DimensionValueError as exc:
                    raise LocatedValueError((dimension, index), str(exc)) from exc
                if value in normalised:
                    raise LocatedValueError((dimension, index), f"duplicate value {value!r}")
                normalised.append(value)
            result[dimension] = normalised
        return result


class Catalog(_Frozen):
    """The validated catalog: everything the brain may choose from, with lookups by name."""

    pricing: Pricing
    instances: dict[str, InstanceType]
    models: dict[str, ModelSpec]
    deployment_configs: dict[str, DeploymentConfig]
    quantizations: dict[str, QuantizationSpec]
    dtype_bytes_per_param: dict[NativeDtype, float]
    search_space: SearchSpace
    source_dir: Path | None = None

    # --- lookups -------------------------------------------------------------------------

    def instance(self, name: str) -> InstanceType:
        """Instance type by name; case-insensitive, and the `ml.` prefix may be left out."""
        key = name.strip().lower()
        if not key.startswith("ml."):
            key = f"ml.{key}"
        found = self.instances.get(key)
        if found is None:
            raise CatalogError(f"unknown instance type {name!r}; {_close_matches(key, self.instances)}")
        return found

    def model(self, name: str) -> ModelSpec:
        """Model by Hugging Face id; case-insensitive."""
        found = self.models.get(name)
        if found is not None:
            return found
        key = name.strip().lower()
        for model_id, spec in self.models.items():
            if model_id.lower() == key:
                return spec
        raise CatalogError(f"unknown model {name!r}; {_close_matches(key, self.models)}")

    def deployment_config(self, name: str) -> DeploymentConfig:
        """Deployment config by name; aliases such as `vllm` are normalised."""
        try:
            key = str(normalise_value("deployment_config", name))
        except DimensionValueError as exc:
            raise CatalogError(str(exc)) from exc
        found = self.deployment_configs.get(key)
        if found is None:
            raise CatalogError(f"unknown deployment config {name!r}; {_close_matches(key, self.deployment_configs)}")
        return found

    def quantization(self, name: str | None) -> QuantizationSpec:
        try:
            key = str(normalise_value("quantization", name))
        except DimensionValueError as exc:
            raise CatalogError(str(exc)) from exc
        found = self.quantizations.get(key)
        if found is None:
            raise CatalogError(f"unknown quantization {name!r}; {_close_matches(key, self.quantizations)}")
        return found

    def instances_in_family(self, family: str) -> list[InstanceType]:
        """Instance types of a family, cheapest first (then by name); empty for an unknown family."""
        key = normalise_value("instance_family", family)
        members = [i for i in self.instances.values() if i.family == key]
        return sorted(members, key=lambda i: (i.price_per_hour_usd, i.name))

    def models_in_family(self, family: str) -> list[ModelSpec]:
        """Models of a family, smallest first (then by id); empty for an unknown family."""
        key = normalise_value("model_family", family)
        members = [m for m in self.models.values() if m.family == key]
        return sorted(members, key=lambda m: (m.total_params_b, m.name))

    def family_of_instance_type(self, name: str) -> str:
        """`ml.g5.12xlarge` -> `g5`. Parsed from the name, so types not in the catalog work too."""
        key = name.strip().lower()
        full = key if key.startswith("ml.") else f"ml.{key}"
        if full in self.instances:
            return self.instances[full].family
        match = re.fullmatch(r"ml\.([a-z][a-z0-9-]*)\.([a-z0-9]+)", full)
        if match is None:
            raise CatalogError(f"{name!r} is not an instance type name like ml.g5.xlarge")
        return match.group(1)

    def family_of_model(self, name: str) -> str:
        return self.model(name).family

    # --- the search space ----------------------------------------------------------------

    def values(self, dimension: str) -> list[str | int]:
        """The search space's allowed values for one dimension (a copy)."""
        if dimension not in DIMENSIONS:
            raise CatalogError(f"unknown dimension {dimension!r}; expected one of {', '.join(DIMENSIONS)}")
        return list(self.search_space.values[dimension])

    def knows(self, dimension: str, value: Any) -> bool:
        """Whether the catalog has an entry for this (normalised) dimension value."""
        if dimension not in DIMENSIONS:
            raise CatalogError(f"unknown dimension {dimension!r}; expected one of {', '.join(DIMENSIONS)}")
        try:
            key = normalise_value(dimension, value)
        except DimensionValueError:
            return False
        if dimension == "deployment_config":
            return key in self.deployment_configs
        if dimension == "model_family":
            return any(m.family == key for m in self.models.values())
        if dimension == "instance_family":
            return any(i.family == key for i in self.instances.values())
        if dimension == "quantization":
            return key in self.quantizations
        return key in self.search_space.values[dimension]

    # --- sizing --------------------------------------------------------------------------

    def weight_bytes_per_param(self, model: ModelSpec | str, quantization: str | None) -> float:
        """Bytes per weight for `model` under `quantization`; never more than the native checkpoint."""
        spec = self.model(model) if isinstance(model, str) else model
        native = self.dtype_bytes_per_param[spec.native_dtype]
        quantized = self.quantization(quantization).weight_bytes_per_param
        return native if quantized is None else min(quantized, native)
