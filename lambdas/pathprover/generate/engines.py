"""What the renderer must know about each serving engine, beyond its catalog entry.

The catalog says which engine a deployment config uses, its pinned parent images
and its `SM_<ENGINE>_` prefix. This registry adds how the engine is launched:
the CLI flag style its argument parser expects, the health endpoint the
SageMaker proxy polls, and the serving_params Path Prover sets itself (from the
config vector or the container contract) and therefore refuses from a target.

Adding an engine is one :class:`EngineSpec` line here, one
`containers/serving/engines/<engine>.j2` template and one catalog entry; see
`docs/containers.md`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

FlagStyle = Literal["dashes", "underscores"]
ServerKind = Literal["proxy", "inline"]


@dataclass(frozen=True)
class EngineSpec:
    """How one engine is started and configured inside the serving container."""

    name: str
    flag_style: FlagStyle
    """`dashes`: key `max_model_len` becomes `--max-model-len`; `underscores`: `--max_model_len`."""
    server: ServerKind
    """`proxy`: the engine serves OpenAI on localhost and serve.py proxies /invocations to it;
    `inline`: serve.py is itself the model server (no separate engine process)."""
    health_path: str | None
    """Engine endpoint that answers 200 once the model is loaded (proxy engines only)."""
    tp_param: str
    """serving_params key that carries tp_degree (set from the config vector, never from a target)."""
    quantization_param: str | None = None
    """serving_params key that carries the quantization; None: the checkpoint itself decides."""
    quantization_values: Mapping[str, str] = field(default_factory=dict)
    """Catalog quantization -> engine value, for the quantizations the engine takes as a flag."""
    contract_params: frozenset[str] = frozenset()
    """Keys the launch command sets (model path, host, port, served name): refused from a target."""
    allowed_params: frozenset[str] | None = None
    """When not None, the only serving_params the engine understands (others are refused)."""
    context_param: str | None = None
    """serving_params key of the longest sequence the engine must hold (None: the engine has none)."""

    @property
    def reserved_params(self) -> frozenset[str]:
        managed = {self.tp_param} | ({self.quantization_param} if self.quantization_param else set())
        return self.contract_params | managed

    def managed_params(self, tp_degree: int, quantization: str) -> dict[str, str]:
        """serving_params Path Prover derives from the config vector."""
        params = {self.tp_param: str(tp_degree)}
        if self.quantization_param is not None and quantization in self.quantization_values:
            params[self.quantization_param] = self.quantization_values[quantization]
        return params

    def flag(self, key: str) -> str:
        return "--" + (key.replace("_", "-") if self.flag_style == "dashes" else key)

    @property
    def template(self) -> str:
        return f"serving/engines/{self.name}.j2"


_QUANTIZATION_FLAGS: Final[dict[str, str]] = {"fp8": "fp8", "awq": "awq", "gptq": "gptq"}

ENGINES: Final[dict[str, EngineSpec]] = {
    spec.name: spec
    for spec in (
        EngineSpec(
            name="vllm",
            flag_style="dashes",
            server="proxy",
            health_path="/health",
            tp_param="tensor_parallel_size",
            quantization_param="quantization",
            quantization_values=_QUANTIZATION_FLAGS,
            contract_params=frozenset({"model", "host", "port", "served_model_name"}),
            context_param="max_model_len",
        ),
        EngineSpec(
            name="sglang",
            flag_style="dashes",
            server="proxy",
            health_path="/health",
            tp_param="tp_size",
            quantization_param="quantization",
            quantization_values=_QUANTIZATION_FLAGS,
            contract_params=frozenset({"model_path", "host", "port", "served_model_name"}),
            context_param="context_length",
        ),
        EngineSpec(
            # trtllm-serve's click options are spelled with underscores (--tp_size, --max_batch_size).
            # Quantized TRT-LLM runs take a pre-quantized (ModelOpt) checkpoint; there is no flag.
            name="tensorrt-llm",
            flag_style="underscores",
            server="proxy",
            health_path="/health",
            tp_param="tp_size",
            contract_params=frozenset({"model", "host", "port", "served_model_name"}),
            context_param="max_seq_len",
        ),
        EngineSpec(
            # No engine: serve.py loads the model with transformers and answers /invocations itself.
            name="flask",
            flag_style="dashes",
            server="inline",
            health_path=None,
            tp_param="num_gpus",
            contract_params=frozenset({"model", "port"}),
            allowed_params=frozenset(
                {"dtype", "max_new_tokens", "trust_remote_code", "revision", "attn_implementation"}
            ),
        ),
    )
}


def engine_spec(engine: str) -> EngineSpec:
    try:
        return ENGINES[engine]
    except KeyError:
        raise ValueError(f"no container templates for engine {engine!r}; known: {', '.join(sorted(ENGINES))}") from None
