"""Validation targets as people write them (the guide's JSON/YAML), turned into RunConfigs.

Missing dimensions come from the catalog: model_family and instance_family
from the names, tp_degree = the instance's accelerator count, quantization
`none`, deployment_config `transformers-vllm`, target `realtime-inference`.
A target without `instance_type` (the guide's pre-staging example) is placed by
the brain first (:func:`pathprover.brain.plan.place_target`: the cheapest
feasible instance); :func:`to_run_config` needs it filled in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pathprover.catalog import Catalog
from pathprover.core.dimensions import DeploymentConfigName, DeploymentTarget, Quantization, TpDegree
from pathprover.core.documents import DocumentError, describe_validation_error, load_document
from pathprover.core.errors import InputError
from pathprover.core.runconfig import (
    BenchmarkWorkload,
    InfraParams,
    ModelName,
    RunConfig,
    ServingValue,
    TuningRequest,
    adapter_request_problems,
    check_adapter_uri,
    validate_serving_params,
)
from pathprover.core.stage_table import REQUIRED_STAGES, Stage


class TargetError(InputError, ValueError):
    """A validation target that cannot be used; the message names the file, the entry and the field."""

    code = "invalid_targets"


class ValidationTarget(BaseModel):
    """One explicit config to prove (extra keys are refused: a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: ModelName
    instance_type: str | None = Field(
        default=None,
        pattern=r"^ml\.[a-z0-9-]+\.[a-z0-9]+$",
        description="leave it out and the brain picks the cheapest feasible instance",
    )
    deployment_config: DeploymentConfigName = "transformers-vllm"
    deployment_target: DeploymentTarget = "realtime-inference"
    quantization: Quantization = "none"
    tp_degree: TpDegree | None = None
    serving_params: dict[str, ServingValue] = Field(default_factory=dict)
    infra_params: InfraParams = Field(default_factory=InfraParams)
    stages: tuple[Stage, ...] | None = None
    tuning: TuningRequest | None = None
    benchmark: BenchmarkWorkload | None = None
    adapter_s3_uri: str | None = Field(default=None, max_length=1024)

    @field_validator("adapter_s3_uri")
    @classmethod
    def _adapter_uri(cls, value: str | None) -> str | None:
        return None if value is None else check_adapter_uri(value)

    @field_validator("tp_degree", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        """A person writes 2, not "2" or true: strings and booleans are refused before normalising."""
        if value is not None and (isinstance(value, bool | str | float)):
            raise ValueError(f"tp_degree must be a whole number like 2, got {value!r}")
        return value

    def model_post_init(self, __context: Any) -> None:
        validate_serving_params(dict(self.serving_params))


def to_run_config(target: ValidationTarget, catalog: Catalog) -> RunConfig:
    """Fill what the target leaves out from the catalog; unknown names and what the renderer would refuse are errors.

    What the generate stage would refuse (a quantization the engine cannot run, a serving_params key it
    does not take, a target the stack does not offer) is refused here, before a lease or a reservation.
    """
    from pathprover.generate.render import RenderError, check_run

    run = run_config_of(target, catalog)
    try:
        check_run(run, catalog)
    except RenderError as exc:
        raise TargetError(str(exc)) from None
    return run


def run_config_of(target: ValidationTarget, catalog: Catalog) -> RunConfig:
    """The RunConfig a target asks for, names checked against the catalog, before the renderer's checks."""
    from pathprover.core.dimensions import ConfigVector

    if target.instance_type is None:
        raise TargetError(
            f"{target.model_name}: no instance_type; the brain chooses one (pathprover run / render place the "
            "target first)"
        )
    instance = catalog.instance(target.instance_type)
    model = catalog.model(target.model_name)
    if instance.capacity_only and not target.infra_params.capacity_reservation_arn:
        raise TargetError(
            f"{instance.name} is capacity-only: SageMaker runs it only on a training plan, so the target needs "
            "infra_params.capacity_reservation_arn (arn:aws:sagemaker:<region>:<account>:training-plan/<name>)"
        )
    tp = target.tp_degree if target.tp_degree is not None else instance.max_tp_degree
    if tp > instance.max_tp_degree:
        raise TargetError(f"tp_degree {tp} exceeds the {instance.max_tp_degree} accelerator cores of {instance.name}")
    vector = ConfigVector(
        deployment_config=target.deployment_config,
        model_family=model.family,
        instance_family=instance.family,
        quantization=target.quantization,
        tp_degree=tp,
        deployment_target=target.deployment_target,
    )
    catalog.deployment_config(vector.deployment_config)
    extra: dict[str, Any] = {}
    if target.stages is not None:
        missing = [stage for stage in REQUIRED_STAGES if stage not in target.stages]
        if missing:
            raise TargetError(f"stages must include {', '.join(REQUIRED_STAGES)} (missing: {', '.join(missing)})")
        extra["stages"] = target.stages
    if target.benchmark is not None:
        extra["benchmark"] = target.benchmark
    tuning = target.tuning
    if tuning is None and target.stages is not None and "tune" in target.stages:
        tuning = TuningRequest()
    problem = adapter_request_problems(
        target.stages, tuning is not None, target.adapter_s3_uri, vector.deployment_target
    )
    if problem is not None:
        raise TargetError(problem)
    if tuning is not None or target.adapter_s3_uri is not None:
        refusal = lora_refusal(catalog, model.name, instance.name, vector.deployment_config, tuning)
        if refusal is not None:
            raise TargetError(refusal)
    if target.adapter_s3_uri is not None:
        extra["adapter_s3_uri"] = target.adapter_s3_uri
    return RunConfig(
        vector=vector,
        model_name=model.name,
        instance_type=instance.name,
        serving_params=dict(target.serving_params),
        infra_params=target.infra_params,
        tuning=tuning,
        **extra,
    )


def lora_refusal(
    catalog: Catalog, model_name: str, instance_type: str, deployment_config: str, tuning: TuningRequest | None
) -> str | None:
    """Why this config cannot train (when ``tuning``) or serve a LoRA adapter, from the catalog (None: it can)."""
    from pathprover.catalog.models import TUNABLE_DTYPES

    model = catalog.model(model_name)
    instance = catalog.instance(instance_type)
    config = catalog.deployment_config(deployment_config)
    if tuning is not None:
        if instance.accelerator_kind != "gpu":
            return (
                f"tune: {instance.name} has {instance.accelerator} accelerators; the training job runs the Hugging "
                "Face PyTorch GPU training image (CUDA), so tune on a GPU instance"
            )
        if model.native_dtype not in TUNABLE_DTYPES:
            return (
                f"tune: {model.name} ships {model.native_dtype} weights; the training entry point fine-tunes 16-bit "
                "(bf16/fp16) checkpoints only"
            )
    refusal = config.lora_refusal(model, instance, tuning.lora_rank if tuning is not None else None)
    return None if refusal is None else f"{'tune' if tuning is not None else 'adapter'}: {refusal}"


def parse_targets(data: Any, source: str = "targets") -> list[ValidationTarget]:
    """A single target object or a list of them."""
    if data is None:
        raise TargetError(f"{source}: no targets (the document is empty)")
    items = data if isinstance(data, list) else [data]
    if not items:
        raise TargetError(f"{source}: no targets")
    targets = []
    for index, item in enumerate(items):
        where = f"{source}[{index}]" if isinstance(data, list) else source
        if not isinstance(item, dict):
            raise TargetError(f"{where}: a target must be a mapping, got {type(item).__name__}")
        try:
            targets.append(ValidationTarget.model_validate(item))
        except ValidationError as exc:
            raise TargetError(describe_validation_error(exc, where)) from exc
        except ValueError as exc:
            raise TargetError(f"{where}: {exc}") from exc
    return targets


def load_targets(path: Path) -> list[ValidationTarget]:
    """Read targets from a JSON or YAML file (binary files and duplicate keys are refused); a missing
    relative path that names a shipped example reads that example (:func:`pathprover.examples.resolve_input`)."""
    from pathprover.examples import resolve_input

    try:
        data = load_document(resolve_input(path))
    except DocumentError as exc:
        raise TargetError(str(exc)) from None
    return parse_targets(data, str(path))
