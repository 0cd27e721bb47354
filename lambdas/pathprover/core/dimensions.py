"""The six configuration dimensions and their normalisation.

Every place that compares, hashes or stores a dimension value goes through
:func:`normalise_value`, so `1` and `"1"` are the same tp_degree and `fp16` is
the same quantization as `none` everywhere.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from pathprover.core.errors import InputError

Dimension = Literal[
    "deployment_config",
    "model_family",
    "instance_family",
    "quantization",
    "tp_degree",
    "deployment_target",
]
DIMENSIONS: Final[tuple[str, ...]] = get_args(Dimension)
"""The six dimensions, in the canonical order used for hashing and display."""

DeploymentTargetName = Literal["realtime-inference", "async-inference", "batch-transform"]
"""The deployment targets SageMaker offers (the values of the deployment_target dimension)."""
DEPLOYMENT_TARGETS: Final[tuple[DeploymentTargetName, ...]] = get_args(DeploymentTargetName)

QUANTIZATION_ALIASES: Final[dict[str, str]] = {
    "fp16": "none",
    "bf16": "none",
    "float16": "none",
    "bfloat16": "none",
    "": "none",
    "null": "none",
    "unquantized": "none",
}
"""The guide writes `fp16` for an unquantized model; all of these mean `none`."""

DEPLOYMENT_CONFIG_ALIASES: Final[dict[str, str]] = {
    "vllm": "transformers-vllm",
    "sglang": "transformers-sglang",
    "trtllm": "tensorrt-llm",
    "tensorrtllm": "tensorrt-llm",
    "flask": "http-flask",
}
"""Short engine names people type (the guide's example says `sglang`)."""

DEPLOYMENT_TARGET_ALIASES: Final[dict[str, str]] = {
    "realtime": "realtime-inference",
    "async": "async-inference",
    "batch": "batch-transform",
}


class DimensionValueError(InputError, ValueError):
    """A dimension value that cannot be normalised (for example tp_degree `two`)."""

    code = "invalid_value"


def _normalise_tp(value: Any) -> int:
    if isinstance(value, bool):
        raise DimensionValueError(f"tp_degree must be a positive integer, got {value!r}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+").isdigit():
        result = int(value.strip())
    else:
        raise DimensionValueError(f"tp_degree must be a positive integer, got {value!r}")
    if result < 1:
        raise DimensionValueError(f"tp_degree must be a positive integer, got {value!r}")
    return result


def _normalise_text(value: Any, dimension: str) -> str:
    if value is None:
        if dimension == "quantization":
            return "none"
        raise DimensionValueError(f"{dimension} is missing")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise DimensionValueError(f"{dimension} must be a string, got {value!r}")
    text = str(value).strip().lower()
    if dimension == "quantization":
        return QUANTIZATION_ALIASES.get(text, text)
    if not text:
        raise DimensionValueError(f"{dimension} is empty")
    if dimension == "deployment_config":
        return DEPLOYMENT_CONFIG_ALIASES.get(text, text)
    if dimension == "deployment_target":
        return DEPLOYMENT_TARGET_ALIASES.get(text, text)
    if dimension == "instance_family":
        # `ml.g5` and `G5` are the family `g5`.
        return text.removeprefix("ml.")
    return text


def normalise_value(dimension: str, value: Any) -> str | int:
    """Return the canonical form of one dimension value."""
    if dimension not in DIMENSIONS:
        raise DimensionValueError(f"unknown dimension {dimension!r}; expected one of {', '.join(DIMENSIONS)}")
    if dimension == "tp_degree":
        return _normalise_tp(value)
    return _normalise_text(value, dimension)


def _normaliser(dimension: str) -> BeforeValidator:
    return BeforeValidator(lambda value: normalise_value(dimension, value))


DeploymentConfigName = Annotated[str, _normaliser("deployment_config")]
ModelFamily = Annotated[str, _normaliser("model_family")]
InstanceFamily = Annotated[str, _normaliser("instance_family")]
Quantization = Annotated[str, _normaliser("quantization")]
TpDegree = Annotated[int, _normaliser("tp_degree")]
DeploymentTarget = Annotated[str, _normaliser("deployment_target")]
ConfigId = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$", description="config_id: 16 hex characters")]


def config_id_of(values: dict[str, Any]) -> str:
    """Deterministic id of a configuration path: sha256 of the canonical JSON of its six dimensions.

    All six dimensions are included (the prior art left out quantization and
    tp_degree, so variants collided).
    """
    canonical = {name: normalise_value(name, values[name]) for name in DIMENSIONS}
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class ConfigVector(BaseModel):
    """A point in the six-dimensional configuration space."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deployment_config: DeploymentConfigName
    model_family: ModelFamily
    instance_family: InstanceFamily
    quantization: Quantization = "none"
    tp_degree: TpDegree = 1
    deployment_target: DeploymentTarget = "realtime-inference"

    @property
    def config_id(self) -> str:
        return config_id_of(self.as_dict())

    def as_dict(self) -> dict[str, str | int]:
        return {name: getattr(self, name) for name in DIMENSIONS}

    def as_tuple(self) -> tuple[str | int, ...]:
        return tuple(getattr(self, name) for name in DIMENSIONS)

    def distance(self, other: ConfigVector) -> int:
        """Hamming distance: the number of dimensions that differ."""
        return sum(1 for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True) if a != b)

    def changed(self, other: ConfigVector) -> list[str]:
        """Names of the dimensions in which `other` differs from this vector."""
        return [name for name in DIMENSIONS if getattr(self, name) != getattr(other, name)]

    def label(self) -> str:
        return " + ".join(str(v) for v in self.as_tuple())
