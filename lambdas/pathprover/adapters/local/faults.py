"""Injected failures for the simulated cloud, and what a simulated job is running.

A fault file (YAML) is a list of entries such as::

    - match: {model_family: llama3, instance_family: g5}
      stage: deploy
      error: "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    - match: {deployment_config: vllm, model_name: Qwen/Qwen3-0.6B}
      stage: build
      error: "toomanyrequests: You have reached your pull rate limit."
      times: 1                 # fail once, then behave (omit for "always")
    - match: {instance_family: g6}
      stage: test
      error: "simulated 500 from the model server"
      fraction: 0.5            # test faults only: every other request gets HTTP 500

``match`` keys are the six dimensions (normalised as everywhere else, so
``vllm`` means ``transformers-vllm`` and ``fp16`` means ``none``) plus
``model_name`` and ``instance_type``; an empty ``match`` matches every job of
the stage. A key the job cannot tell (a build that was not given its
quantization) does not match.

Who consumes which stage: the simulated builder takes ``build``, ``stage`` and
``benchmark`` faults when a job starts; the simulated fleet takes ``deploy`` /
``adapter`` (the spec's stage) when an endpoint or transform is created,
``test`` when an endpoint turns InService, ``tune`` when a training job starts
and ``clean`` when a resource is deleted. ``generate``, ``push`` and
``register`` are for the local workflow to take itself.

The second half of the module, :func:`job_context`, reads which config a
``DeploySpec`` / ``BuildJob`` / ``TrainingSpec`` runs from its environment
(keys listed in :data:`MODEL_ID_KEYS` and friends), so faults can match it and
the fleet can size it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, ValidationInfo, field_validator

from pathprover.catalog import Catalog, CatalogError
from pathprover.classifier import STAGES as FAULT_STAGES
from pathprover.classifier import normalise_stage
from pathprover.core.dimensions import DIMENSIONS, DimensionValueError, normalise_value
from pathprover.core.documents import DocumentError, load_document
from pathprover.core.errors import InputError

MATCH_KEYS: Final[tuple[str, ...]] = (*DIMENSIONS, "model_name", "instance_type")
"""What a fault may match on: the six dimensions, the model id and the instance type."""

# --------------------------------------------------------------------------- environment keys

MODEL_ID_KEYS: Final[tuple[str, ...]] = ("HF_MODEL_ID", "MODEL_ID", "PATHPROVER_MODEL_ID")
DEPLOYMENT_CONFIG_KEYS: Final[tuple[str, ...]] = ("DEPLOYMENT_CONFIG", "PATHPROVER_DEPLOYMENT_CONFIG")
QUANTIZATION_KEY: Final = "QUANTIZATION"
TP_DEGREE_KEY: Final = "TP_DEGREE"
INSTANCE_TYPE_KEY: Final = "INSTANCE_TYPE"
DEPLOYMENT_TARGET_KEYS: Final[tuple[str, ...]] = ("DEPLOYMENT_TARGET", "PATHPROVER_DEPLOYMENT_TARGET")
MODEL_PARAMS_KEY: Final = "MODEL_PARAMS_B"
ENV_PREFIX_KEY: Final = "PATHPROVER_ENV_PREFIX"


def normalise_instance_type(name: str) -> str:
    key = name.strip().lower()
    return key if key.startswith("ml.") else f"ml.{key}"


class FaultFileError(InputError, ValueError):
    """A fault file that cannot be used; the message names the file, the entry index and the field."""

    code = "invalid_faults"


def _match_value(name: str, raw: Any) -> str | int:
    """One ``match`` entry, normalised; ``ValueError`` for an unknown key or a bad value."""
    if name not in MATCH_KEYS:
        raise ValueError(f"unknown key {name!r}; expected one of {', '.join(MATCH_KEYS)}")
    if raw is None or isinstance(raw, bool | list | dict):
        raise ValueError(f"{name}: expected a string or integer, got {raw!r}")
    if name == "model_name":
        return str(raw).strip()
    if name == "instance_type":
        return normalise_instance_type(str(raw))
    try:
        return normalise_value(name, raw)
    except DimensionValueError as exc:
        raise ValueError(str(exc)) from None


class Fault(BaseModel):
    """One injected failure: where it applies, what it says, how often."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: dict[str, str | int] = Field(default_factory=dict)
    stage: str
    error: str = Field(min_length=1)
    times: StrictInt | None = Field(default=None, ge=1, description="None: every matching job fails")
    fraction: float = Field(
        default=1.0, gt=0.0, le=1.0, description="test faults: the share of requests answered with HTTP 500"
    )

    @field_validator("match", mode="before")
    @classmethod
    def _match(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError("must be a mapping of dimension -> value")
        return {str(key): _match_value(str(key), raw) for key, raw in value.items()}

    @field_validator("stage", mode="before")
    @classmethod
    def _stage(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"must be one of {', '.join(FAULT_STAGES)}")
        stage = normalise_stage(value)  # raises for an unknown stage, naming the known ones
        if stage is None:
            raise ValueError(f"must be one of {', '.join(FAULT_STAGES)}")
        return stage

    @field_validator("fraction")
    @classmethod
    def _fraction_only_for_test(cls, value: float, info: ValidationInfo) -> float:
        if value != 1.0 and info.data.get("stage", "test") != "test":
            raise ValueError("applies to test faults only (the share of requests answered with HTTP 500)")
        return value

    def matches(self, stage: str, values: Mapping[str, str | int]) -> bool:
        if stage != self.stage:
            return False
        for key, wanted in self.match.items():
            have = values.get(key)
            if have is None:
                return False
            if key == "model_name":
                if str(have).lower() != str(wanted).lower():
                    return False
            elif have != wanted:
                return False
        return True


def _job_values(vector: Mapping[str, Any], model_name: str | None, instance_type: str | None) -> dict[str, str | int]:
    values: dict[str, str | int] = {}
    for key in DIMENSIONS:
        raw = vector.get(key)
        if raw is None or raw == "":
            continue
        try:
            values[key] = normalise_value(key, raw)
        except DimensionValueError:
            continue
    if model_name:
        values["model_name"] = model_name.strip()
    if instance_type:
        values["instance_type"] = normalise_instance_type(instance_type)
    return values


@dataclass
class _Slot:
    fault: Fault
    remaining: int | None


class FaultPlan:
    """The faults of one run, consumed as jobs meet them. Thread-safe; the first matching fault wins."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._slots = [_Slot(f, f.times) for f in faults]
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._slots.append(_Slot(fault, fault.times))

    def take_fault(
        self,
        stage: str,
        vector: Mapping[str, Any] | None = None,
        model_name: str | None = None,
        instance_type: str | None = None,
    ) -> Fault | None:
        """The first live fault matching this job at ``stage``, using up one of its ``times``."""
        canonical = normalise_stage(stage) or stage  # an unknown stage is a bug of the caller: raises
        values = _job_values(vector or {}, model_name, instance_type)
        with self._lock:
            for slot in self._slots:
                if slot.remaining == 0 or not slot.fault.matches(canonical, values):
                    continue
                if slot.remaining is not None:
                    slot.remaining -= 1
                return slot.fault
        return None

    def take(
        self,
        stage: str,
        vector: Mapping[str, Any] | None = None,
        model_name: str | None = None,
        instance_type: str | None = None,
    ) -> str | None:
        """The error text of the first live matching fault (and use it up once), or None."""
        fault = self.take_fault(stage, vector, model_name, instance_type)
        return fault.error if fault is not None else None

    def remaining(self) -> list[tuple[Fault, int | None]]:
        """Each fault with the uses it has left (None: unlimited)."""
        with self._lock:
            return [(s.fault, s.remaining) for s in self._slots]

    def __len__(self) -> int:
        with self._lock:
            return len(self._slots)

    def __repr__(self) -> str:
        return f"FaultPlan({len(self)} faults)"


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(entry)"


def _never_fires(key: str, value: str | int, catalog: Catalog) -> str | None:
    """Why a ``match`` value can never meet a job (a name the catalog does not have), or None."""
    try:
        if key == "model_name":
            catalog.model(str(value))
        elif key == "instance_type":
            catalog.instance(str(value))
        elif key != "tp_degree" and not catalog.knows(key, value):
            known = ", ".join(sorted(str(v) for v in catalog.values(key)))
            return f"unknown {key} {value!r}; known: {known}"
    except CatalogError as exc:
        return str(exc)
    return None


def parse_faults(raw: Any, source: str = "faults", catalog: Catalog | None = None) -> FaultPlan:
    """Validate already-parsed YAML/JSON (a list of fault mappings) into a plan.

    With ``catalog``, a ``match`` value the catalog does not know (a typo: ``qwen33``, ``ml.g5.xlarg``)
    is refused: the fault could never fire, and the run would prove nothing it was meant to.
    """
    if raw is None:
        return FaultPlan()
    if isinstance(raw, Mapping) and set(raw) == {"faults"}:
        raw = raw["faults"] or []
    if not isinstance(raw, list):
        raise FaultFileError(f"{source}: expected a list of faults, got {type(raw).__name__}")
    faults: list[Fault] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            raise FaultFileError(f"{source}: entry {index}: expected a mapping, got {entry!r}")
        match = entry.get("match")
        if isinstance(match, Mapping):  # name the offending key: field 'match.gpu'
            for key, raw in match.items():
                try:
                    _match_value(str(key), raw)
                except ValueError as exc:
                    raise FaultFileError(f"{source}: entry {index}: field 'match.{key}': {exc}") from None
        try:
            faults.append(Fault.model_validate(dict(entry)))
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                where = _field_path(tuple(err["loc"]))
                message = str(err["msg"]).removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    message = f"unknown field; expected one of {', '.join(Fault.model_fields)}"
                problems.append(f"field {where!r}: {message}")
            raise FaultFileError(f"{source}: entry {index}: " + "; ".join(problems)) from None
        if catalog is not None:
            for key, value in faults[-1].match.items():
                if (reason := _never_fires(key, value, catalog)) is not None:
                    raise FaultFileError(f"{source}: entry {index}: field 'match.{key}' can never match: {reason}")
    return FaultPlan(faults)


def load_faults(path: Path | str, catalog: Catalog | None = None) -> FaultPlan:
    """Read a fault file (YAML list); a bad entry raises :class:`FaultFileError` naming its index and field.
    A missing relative path that names a shipped example (`examples/faults.yaml`) reads that example."""
    from pathprover.examples import resolve_input

    file = resolve_input(path)
    try:
        raw = load_document(file)
    except DocumentError as exc:
        raise FaultFileError(f"fault file {exc}") from None
    return parse_faults(raw, str(file), catalog)


# --------------------------------------------------------------------------- what a job runs


@dataclass(frozen=True)
class JobContext:
    """The config a simulated job runs, as far as its spec tells.

    ``vector`` holds the dimensions that could be read (normalised); missing
    ones are simply absent. ``params_b`` is the model size in billions (0 if unknown).
    """

    vector: dict[str, str | int] = field(default_factory=dict)
    model_name: str | None = None
    instance_type: str | None = None
    params_b: float = 0.0

    def take(self, plan: FaultPlan, stage: str) -> Fault | None:
        return plan.take_fault(stage, self.vector, self.model_name, self.instance_type)


def _first(env: Mapping[str, str], keys: Iterable[str]) -> str | None:
    for key in keys:
        value = env.get(key)
        if value is not None and value.strip():
            return value.strip()
    return None


def _engine_keys(catalog: Catalog, env: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """(deployment_config, tp key, quantization key) from the container's `SM_<ENGINE>_` variables."""
    from pathprover.generate.engines import ENGINES

    prefix = env.get(ENV_PREFIX_KEY)
    for config in catalog.deployment_configs.values():
        if prefix is not None and prefix != config.env_prefix:
            continue
        if prefix is None and not any(key.startswith(config.env_prefix) for key in env):
            continue
        spec = ENGINES.get(config.engine)
        if spec is None:
            return config.name, None, None
        tp_key = config.env_prefix + spec.tp_param.upper()
        quant_key = config.env_prefix + spec.quantization_param.upper() if spec.quantization_param else None
        return config.name, tp_key, quant_key
    return None, None, None


def job_context(
    catalog: Catalog,
    env: Mapping[str, str],
    *,
    instance_type: str | None = None,
    target: str | None = None,
) -> JobContext:
    """Read the config from a spec's environment.

    Keys, first found wins: model ``HF_MODEL_ID`` / ``MODEL_ID`` / ``PATHPROVER_MODEL_ID``;
    ``DEPLOYMENT_CONFIG`` / ``PATHPROVER_DEPLOYMENT_CONFIG`` (else the engine whose
    ``SM_<ENGINE>_`` variables are present); ``QUANTIZATION`` (else ``SM_VLLM_QUANTIZATION``
    and the like; else ``none`` when the engine is known); ``TP_DEGREE`` (else
    ``SM_VLLM_TENSOR_PARALLEL_SIZE`` / ``SM_SGLANG_TP_SIZE`` / ``SM_TRTLLM_TP_SIZE`` /
    ``SM_FLASK_NUM_GPUS``); ``INSTANCE_TYPE`` (unless given); ``DEPLOYMENT_TARGET``
    (unless given); ``MODEL_PARAMS_B`` (else the catalog's size of the model);
    ``MODEL_FAMILY`` / ``INSTANCE_FAMILY`` (else from the catalog).
    """
    vector: dict[str, str | int] = {}
    model_name = _first(env, MODEL_ID_KEYS)
    instance = instance_type or _first(env, (INSTANCE_TYPE_KEY,))
    engine_config, tp_key, quant_key = _engine_keys(catalog, env)

    def put(dimension: str, raw: Any) -> None:
        if raw is None or raw == "":
            return
        try:
            vector[dimension] = normalise_value(dimension, raw)
        except DimensionValueError:
            return

    put("deployment_config", _first(env, DEPLOYMENT_CONFIG_KEYS) or engine_config)
    quantization = _first(env, (QUANTIZATION_KEY,)) or (env.get(quant_key) if quant_key else None)
    if quantization is None and "deployment_config" in vector:
        quantization = "none"
    put("quantization", quantization)
    put("tp_degree", _first(env, (TP_DEGREE_KEY,)) or (env.get(tp_key) if tp_key else None))
    put("deployment_target", target or _first(env, DEPLOYMENT_TARGET_KEYS))
    put("model_family", _first(env, ("MODEL_FAMILY",)))
    put("instance_family", _first(env, ("INSTANCE_FAMILY",)))

    params_b = 0.0
    if model_name:
        try:
            model = catalog.model(model_name)
        except CatalogError:
            model = None
        if model is not None:
            vector.setdefault("model_family", model.family)
            params_b = model.total_params_b
    if instance:
        with contextlib.suppress(CatalogError):
            vector.setdefault("instance_family", catalog.family_of_instance_type(instance))
    raw_params = env.get(MODEL_PARAMS_KEY)
    if raw_params:
        try:
            params_b = max(0.0, float(raw_params))
        except ValueError:
            raise ValueError(f"{MODEL_PARAMS_KEY}={raw_params!r} is not a number of billions of parameters") from None
    return JobContext(vector=vector, model_name=model_name, instance_type=instance, params_b=params_b)
