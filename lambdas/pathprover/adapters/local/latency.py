"""How fast a simulated replica answers: the latency model of the simulated endpoints. Pure arithmetic.

Timing (a deliberately simple prefill/decode model of one replica):

* TTFT = ``base_ms`` + input_tokens x ``prefill_ms_per_token`` (input tokens are
  the prompt's whitespace-separated words; the workload's prompts are one word per token).
* Token ``k`` is written at ``t0 + TTFT + k x ITL`` (absolute deadlines, so jitter
  never accumulates), ``t0`` being when the request reached the handler.
* ITL = ``decode_ms_per_token`` x (1 + ``concurrency_slope`` x (requests in flight
  on this endpoint - 1)), fixed per request when it arrives.
* decode_ms_per_token = max(2 ms, 1000 x bytes of active weights /
  (memory bandwidth per device x tp_degree x 0.6)): decoding one token reads every
  active weight once, and real kernels reach ~60 % of nominal bandwidth.
  prefill_ms_per_token = the unclamped decode figure / 40: prefill processes many
  prompt tokens per pass over the weights (a stand-in for a compute-bound prefill).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pathprover.catalog import Catalog, InstanceType, ModelSpec

ACCELERATOR_BANDWIDTH_GBPS: Final[dict[str, float]] = {
    "A10G": 600.0,
    "L4": 300.0,
    "L40S": 864.0,
    "A100-40": 1555.0,
    "A100-80": 2039.0,
    "H100": 3350.0,
    "H200": 4800.0,
    "Inferentia2": 820.0,  # per chip (two NeuronCores share it)
    "T4": 320.0,
}
"""Nominal vendor figures for memory bandwidth per accelerator, GB/s (datasheets, not measurements)."""

DEFAULT_BANDWIDTH_GBPS: Final = 600.0
BANDWIDTH_EFFICIENCY: Final = 0.6
MIN_DECODE_MS: Final = 2.0
PREFILL_SPEEDUP: Final = 40.0
BASE_MS: Final = 15.0
CONCURRENCY_SLOPE: Final = 0.02


def accelerator_key(name: str) -> str | None:
    """Catalog accelerator name -> key of :data:`ACCELERATOR_BANDWIDTH_GBPS` (``NVIDIA A100 80GB`` -> ``A100-80``)."""
    text = name.upper().replace("NVIDIA", " ").replace("AWS", " ").split()
    if not text:
        return None
    head = text[0]
    if head == "A100":
        return "A100-80" if any(part.startswith("80") for part in text[1:]) else "A100-40"
    for key in ACCELERATOR_BANDWIDTH_GBPS:
        if key.upper() == head:
            return key
    return None


def accelerator_bandwidth_gbps(name: str) -> float:
    """Nominal bandwidth of one accelerator; an accelerator missing from the table gets 600 GB/s."""
    key = accelerator_key(name)
    return ACCELERATOR_BANDWIDTH_GBPS[key] if key is not None else DEFAULT_BANDWIDTH_GBPS


@dataclass(frozen=True)
class LatencyModel:
    """Per-request timing of one simulated replica (see the module docstring)."""

    decode_ms_per_token: float
    prefill_ms_per_token: float
    base_ms: float = BASE_MS
    concurrency_slope: float = CONCURRENCY_SLOPE

    def ttft_ms(self, input_tokens: int) -> float:
        return self.base_ms + max(0, input_tokens) * self.prefill_ms_per_token

    def itl_ms(self, in_flight: int = 1) -> float:
        return self.decode_ms_per_token * (1.0 + self.concurrency_slope * max(0, in_flight - 1))

    def as_dict(self) -> dict[str, float]:
        return {
            "base_ms": round(self.base_ms, 4),
            "prefill_ms_per_token": round(self.prefill_ms_per_token, 4),
            "decode_ms_per_token": round(self.decode_ms_per_token, 4),
            "concurrency_slope": self.concurrency_slope,
        }

    @classmethod
    def estimate(
        cls,
        catalog: Catalog,
        model: ModelSpec,
        instance: InstanceType,
        quantization: str,
        tp_degree: int,
        *,
        base_ms: float = BASE_MS,
    ) -> LatencyModel:
        """Decode from bytes of active weights over memory bandwidth; prefill a fixed fraction of it."""
        weight_bytes = model.active_params_b * 1e9 * catalog.weight_bytes_per_param(model, quantization)
        # tp_degree counts NeuronCores on Inferentia2: each core gets its share of the chip's bandwidth.
        per_rank_gbps = accelerator_bandwidth_gbps(instance.accelerator) / instance.cores_per_accelerator
        raw_ms = 1000.0 * weight_bytes / (per_rank_gbps * 1e9 * max(1, tp_degree) * BANDWIDTH_EFFICIENCY)
        return cls(
            decode_ms_per_token=max(MIN_DECODE_MS, raw_ms),
            prefill_ms_per_token=raw_ms / PREFILL_SPEEDUP,
            base_ms=base_ms,
        )
