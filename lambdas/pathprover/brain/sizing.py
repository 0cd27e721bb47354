"""Does a model fit on tp_degree accelerators? One rule, used by the brain and the simulated fleet."""

from __future__ import annotations

from dataclasses import dataclass

from pathprover.catalog import Catalog, InstanceType, ModelSpec

GIB = 2**30


@dataclass(frozen=True)
class FitEstimate:
    weights_gib: float
    kv_reserve_gib: float
    needed_per_device_gib: float
    usable_per_device_gib: float

    @property
    def fits(self) -> bool:
        return self.needed_per_device_gib <= self.usable_per_device_gib

    def explain(self, model: ModelSpec, instance: InstanceType, tp_degree: int) -> str:
        return (
            f"{model.name} needs {self.needed_per_device_gib:.1f} GiB per accelerator at tp_degree {tp_degree} "
            f"(weights {self.weights_gib:.1f} GiB + KV reserve {self.kv_reserve_gib:.1f} GiB + overhead) but "
            f"{instance.name} has {self.usable_per_device_gib:.1f} GiB usable per {instance.accelerator}"
        )


def estimate_fit(
    catalog: Catalog, model: ModelSpec, quantization: str, instance: InstanceType, tp_degree: int
) -> FitEstimate:
    """Per-accelerator need vs usable memory; the formula is documented in catalog/search_space.yaml."""
    sizing = catalog.search_space.sizing
    weights = model.weights_gib(catalog.weight_bytes_per_param(model, quantization))
    kv = model.kv_bytes_per_token * sizing.kv_reserve_tokens / GIB
    per_device = (weights + kv) * (1 + sizing.activation_overhead_fraction) / tp_degree + sizing.framework_overhead_gib
    # tp_degree counts cores: on Inferentia2 two NeuronCores share one chip's memory.
    usable = instance.accelerator_memory_gib / instance.cores_per_accelerator * sizing.gpu_memory_utilization
    return FitEstimate(weights, kv, per_device, usable)


def heads_divisible(model: ModelSpec, tp_degree: int) -> bool:
    """vLLM's rule: attention heads split evenly; KV heads split evenly or are replicated."""
    if model.num_attention_heads % tp_degree:
        return False
    kv = model.num_kv_heads
    return kv % tp_degree == 0 or tp_degree % kv == 0
