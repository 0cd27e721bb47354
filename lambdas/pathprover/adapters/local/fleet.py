"""A simulated SageMaker: endpoints, batch transform and training jobs on a virtual clock.

It implements :class:`~pathprover.protocols.Fleet` like
:class:`~pathprover.adapters.aws.sagemaker.SageMakerFleet` does, with the same
resource names, refs, meta keys, clean-up labels and failure-text layout, so
the lifecycle runs unchanged. What AWS would decide, the catalog decides here,
at create time, and the outcome surfaces when the virtual clock gets there:

* instance type unknown to the catalog -> CreateEndpointConfig refused (ValidationException);
* tp_degree above the instance's accelerators (NeuronCores on inf2) -> CreateEndpoint refused;
* the account's '<type> for endpoint usage' quota (``account``, an
  :class:`~pathprover.adapters.local.account.AccountProfile`) would be exceeded by the
  instances still held by endpoints plus this request -> CreateEndpoint refused
  (ResourceLimitExceeded);
* a capacity-only type (``capacity_only_instance_types`` in ``catalog/simulation.yaml``) without a
  training plan -> InsufficientCapacity; a plan ARN of another account -> ValidationException;
* a scarce family (p5, p5e, p4de by default) -> InsufficientCapacity at create for a
  deterministic share of (config_id, attempt) (``capacity_failure_fraction``, default 0);
* a ``deploy`` (or the spec's stage, e.g. ``adapter``) fault -> Failed with the fault's text;
* ``MODEL_SOURCE=s3`` without ``model_data_uri`` -> start.sh's "/opt/ml/model has no config.json";
* a model the catalog does not know -> the container cannot download it;
* a gated model read from the Hub without a token -> huggingface_hub's GatedRepoError (401);
* the engine cannot run the accelerator, the quantization or the compute capability ->
  a vLLM-style error in the container log;
* attention heads not divisible by tp_degree -> vLLM's divisibility error;
* the engine's own start-up memory accounting (:mod:`.truth`, sourced facts in
  ``catalog/simulation.yaml``, independent of the brain's sizing rule) fails -> its log line:
  CUDA OOM while loading or profiling, "No available memory for the cache blocks", the KV cache
  cannot hold one ``max_model_len`` sequence, SGLang's "Not enough memory", ...

Durations vary around the catalog figures: a deterministic log-normal factor from
(config_id, attempt) (:func:`duration_factor`, ``duration_jitter_sigma``, default 0.2).

Container failures surface after :data:`LOAD_FRACTION` of the deploy duration with
SageMaker's FailureReason ("did not pass the ping health check") plus the container
log line, so the classifier sees what it would see on AWS. Durations come from the
catalog timing (deploy / tune minutes by model size), jittered per job.

Once InService, an endpoint is served for real by a :class:`SimulatedEndpointServer`
(``detail["endpoint_url"]``); a ``test`` fault makes it answer HTTP 500 with the fault
text. Billing runs from create to delete (or to the failure, when the instances go),
on the virtual clock, at the catalog price: :meth:`SimulatedFleet.billed_seconds` and
:meth:`SimulatedFleet.cost_usd`.

Training jobs (the tune stage) run what their request names: the script-mode source
(``sagemaker_submit_directory`` must be a tarball in the artifact store holding ``sagemaker_program``),
the model from the ``model`` channel or the Hub (a gated model without the channel fails like the Hub
does), and :func:`.truth.training_run` decides, from ``max_steps``, ``lora_rank``, the batch shape and the
model's size, how long it trains and whether the last GPU runs out of memory. A completed job writes a
PEFT adapter (``adapter_config.json`` + ``adapter_model.safetensors``) as ``<output>/<job>/output/model.tar.gz``.
An adapter endpoint (``DeploySpec.adapter_data_uri``) fails like SageMaker when the adapter is not in the
store, like start.sh when it has no ``adapter_config.json``, like vLLM when its rank is too large or it was
trained for another base model; it serves the adapter under ``PATHPROVER_ADAPTER_NAME`` only when the
engine serves LoRA (:func:`.truth.lora_serving`), and every endpoint answers a request for a model it does
not serve with the OpenAI servers' 404.

Env keys read from ``DeploySpec.env`` (see :func:`.faults.job_context`): the model
``HF_MODEL_ID`` / ``MODEL_ID`` / ``PATHPROVER_MODEL_ID`` (required), ``QUANTIZATION``
(default ``none``), ``TP_DEGREE`` (default the instance's maximum), ``DEPLOYMENT_CONFIG``
(optional: without it the engine rules are skipped), plus the engines' own
``SM_<ENGINE>_*`` spellings as fall-backs. ``TrainingSpec`` is read the same way, and
its hyperparameters ``model_id`` / ``base_model`` / ``model_name_or_path`` name the model
when the env does not.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import tarfile
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any, Final, cast

from pathprover.adapters.aws.sagemaker import VARIANT_NAME
from pathprover.adapters.local.account import ESTABLISHED, AccountProfile
from pathprover.adapters.local.endpoint import AsyncIO, AsyncStore, SimulatedEndpointServer
from pathprover.adapters.local.faults import MODEL_ID_KEYS, FaultPlan, JobContext, job_context
from pathprover.adapters.local.latency import LatencyModel
from pathprover.adapters.local.truth import (
    SimulationFacts,
    container_start,
    load_facts,
    lora_serving,
    training_run,
)
from pathprover.catalog import Catalog, CatalogError, DeploymentConfig, InstanceType, ModelSpec
from pathprover.generate.training import DIR_PARAM, SCRIPT_PARAM, decode_hyperparameter
from pathprover.protocols import ArtifactStore, Clock
from pathprover.stages.jobs import (
    CleanReport,
    InvokeResult,
    JobRef,
    JobState,
    ManagedKind,
    ManagedResource,
    resource_components,
    suggest_wait,
)
from pathprover.stages.naming import TAG_MANAGED_BY, TAG_MANAGED_BY_VALUE
from pathprover.stages.specs import ADAPTER_CHANNEL, ADAPTER_DIR, ADAPTER_NAME_ENV, DeploySpec, TrainingSpec

SCARCE_FAMILIES: Final[frozenset[str]] = frozenset({"p5", "p5e", "p4de"})
LOAD_FRACTION: Final = 0.8
"""A container that cannot start fails this far into the deploy duration (after loading the model)."""
TUNE_FAIL_FRACTION: Final = 0.1
"""A faulted training job fails this far into its duration (while loading)."""
ACCOUNT_ID: Final = "000000000000"
HEALTH_CHECK_REASON: Final = (
    f"The primary container for production variant {VARIANT_NAME} did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)
_TRAINING_MODEL_KEYS: Final = ("model_id", "base_model", "model_name_or_path")
_ENDPOINT_KINDS: Final = ("endpoint", "transform-job", "training-job")
_INVENTORY_ORDER: Final[dict[str, int]] = {
    "endpoint": 0,
    "training-job": 1,
    "transform-job": 2,
    "endpoint-config": 3,
    "model": 4,
}


@dataclass
class _Resource:
    kind: str  # endpoint | endpoint-config | model | transform-job | training-job
    name: str
    arn: str
    tags: dict[str, str]
    created: datetime
    context: JobContext = field(default_factory=JobContext)
    duration_s: float = 0.0
    fail_after_s: float | None = None
    failure: str | None = None
    price_per_hour: float = 0.0
    target: str = ""
    deleted_at: datetime | None = None
    stopped_at: datetime | None = None
    latency: LatencyModel | None = None
    in_service_seen: bool = False
    endpoint_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def elapsed(self, now: datetime) -> float:
        return max(0.0, (now - self.created).total_seconds())

    def status(self, now: datetime) -> str:
        """SageMaker's status word at ``now`` (``Deleted`` once cleaned up)."""
        if self.deleted_at is not None:
            return "Deleted"
        if self.kind in ("model", "endpoint-config"):
            return "Exists"
        if self.stopped_at is not None:
            return "Stopped"
        elapsed = self.elapsed(now)
        if self.failure is not None and self.fail_after_s is not None and elapsed >= self.fail_after_s:
            return "Failed"
        if elapsed >= self.duration_s:
            return "InService" if self.kind == "endpoint" else "Completed"
        return "Creating" if self.kind == "endpoint" else "InProgress"

    def billing_end(self, now: datetime) -> datetime:
        """When the instances stopped (or ``now`` if they still run)."""
        ends = [now]
        if self.deleted_at is not None:
            ends.append(self.deleted_at)
        if self.stopped_at is not None:
            ends.append(self.stopped_at)
        if self.failure is not None and self.fail_after_s is not None:
            ends.append(self._at(self.fail_after_s))
        if self.kind != "endpoint":
            ends.append(self._at(self.duration_s))
        return min(ends)

    def _at(self, seconds: float) -> datetime:
        return self.created + timedelta(seconds=seconds)


def _capacity_share(config_id: str, attempt: int) -> float:
    digest = hashlib.sha256(f"{config_id}:{attempt}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


DURATION_JITTER_SIGMA: Final = 0.2
"""Spread of simulated durations around the catalog figure: log-normal, this sigma (0 turns it off)."""
DURATION_JITTER_BOUNDS: Final = (0.6, 1.8)
"""The jitter factor is clamped to this range (a deploy never takes less than 60 % of the catalog time)."""


def duration_factor(config_id: str, attempt: int, kind: str, sigma: float = DURATION_JITTER_SIGMA) -> float:
    """Deterministic log-normal jitter for one job: ``exp(sigma * z)``, z from sha256(kind:config_id:attempt).

    The median is 1 (the catalog figure), about 68 % of jobs land within ``exp(+-sigma)`` and the
    factor is clamped to :data:`DURATION_JITTER_BOUNDS`. Same (config, attempt, kind), same factor.
    """
    if sigma <= 0:
        return 1.0
    digest = hashlib.sha256(f"duration:{kind}:{config_id}:{attempt}".encode()).hexdigest()
    uniform = (int(digest[:13], 16) + 0.5) / 16**13
    low, high = DURATION_JITTER_BOUNDS
    return min(high, max(low, math.exp(sigma * NormalDist().inv_cdf(uniform))))


HF_TOKEN_KEYS: Final = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
"""A container with one of these set can download a gated model (the runtime never sends one: it stages to S3)."""


def gated_repo_error(model_id: str, request_id: str = "Root=1-00000000-simulated") -> str:
    """huggingface_hub's GatedRepoError for an anonymous download of a gated repo's config.json (HTTP 401)."""
    return (
        f"huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: {request_id})\n\n"
        f"Cannot access gated repo for url https://huggingface.co/{model_id}/resolve/main/config.json.\n"
        f"Access to model {model_id} is restricted. You must have access to it and be authenticated to access it. "
        "Please log in."
    )


def quota_text(operation: str, instance_type: str, quota: int, used: int, delta: int) -> str:
    """SageMaker's ResourceLimitExceeded for '<type> for endpoint usage', in the refusal layout of this fleet."""
    return (
        f"{operation} failed: ResourceLimitExceeded: The account-level service limit '{instance_type} for endpoint "
        f"usage' is {quota} Instances, with current utilization of {used} Instances and a request delta of {delta} "
        "Instances. Please use AWS Service Quotas to request an increase for this quota. If AWS Service Quotas is "
        "not available, contact AWS support to request an increase for this quota. (simulated)"
    )


DOWNLOAD_FRACTION: Final = 0.3
"""A model data download that fails ends the deploy this far into its duration (before the container starts)."""


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _tarball_names(data: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        return {member.name.removeprefix("./") for member in tar.getmembers()}


def _adapter_config_from_tarball(data: bytes) -> dict[str, Any] | None:
    """adapter_config.json at the archive's root (SageMaker extracts it into the channel's folder)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar.getmembers():
            if member.name.removeprefix("./") == "adapter_config.json":
                handle = tar.extractfile(member)
                return None if handle is None else dict(json.loads(handle.read()))
    return None


def simulated_adapter(model_id: str, rank: int) -> bytes:
    """A PEFT adapter as train.py saves it, with no tensors: adapter_config.json, an empty safetensors file
    (8-byte header length + JSON header) and the training summary, tar.gz'd like SageMaker's model.tar.gz."""
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": rank,
        "lora_alpha": 2 * rank,
        "lora_dropout": 0.05,
        "target_modules": "all-linear",
        "base_model_name_or_path": model_id,
    }
    header = json.dumps({"__metadata__": {"format": "pt", "simulated": "true"}}).encode()
    files = {
        "adapter_config.json": json.dumps(config, indent=2).encode(),
        "adapter_model.safetensors": len(header).to_bytes(8, "little") + header,
        "pathprover-training.json": json.dumps({"model_id": model_id, "lora_rank": rank, "simulated": True}).encode(),
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def config_engine(catalog: Catalog, context: JobContext) -> str | None:
    name = context.vector.get("deployment_config")
    if not isinstance(name, str):
        return None
    try:
        return catalog.deployment_config(name).engine
    except CatalogError:
        return None


@dataclass
class _Adapter:
    """The adapter an endpoint was asked to serve, as the container finds it."""

    name: str
    uri: str
    base_model: ModelSpec | None
    config: dict[str, Any] | None = None
    download_failure: str | None = None

    def start_failure(self, engine: str | None, accelerator_kind: str, facts: SimulationFacts) -> str | None:
        """start.sh's or the engine's log line when the adapter cannot be served (None: it loads)."""
        if self.config is None:
            return (
                f"start.sh: error: {ADAPTER_NAME_ENV}={self.name} but {ADAPTER_DIR} has no adapter_config.json: "
                f"{self.uri} is not a PEFT adapter"
            )
        rank = _int(self.config.get("r"), 0)
        serving = lora_serving(engine, accelerator_kind, facts)
        if serving.serves and serving.max_rank is not None and rank > serving.max_rank:
            return f"ValueError: LoRA rank {rank} is greater than max_lora_rank {serving.max_rank}."
        base = str(self.config.get("base_model_name_or_path") or "")
        trained = next((f for name, f in facts.models.items() if name.lower() == base.lower()), None)
        if self.base_model is not None and trained is not None and base.lower() != self.base_model.name.lower():
            mine = facts.model(self.base_model)
            if trained.hidden_size != mine.hidden_size or trained.vocab_size != mine.vocab_size:
                return (
                    f"RuntimeError: Loading lora {self.name} failed: Error(s) in loading state_dict for "
                    "PeftModelForCausalLM: size mismatch for base_model.model.model.layers.0.self_attn.q_proj."
                    f"lora_A.weight: the adapter was trained for {base} (hidden size {trained.hidden_size}, vocabulary "
                    f"{trained.vocab_size}), the served {self.base_model.name} has {mine.hidden_size} and "
                    f"{mine.vocab_size}"
                )
        return None


_OUTPUT_WORDS: Final = ("alpha", "beta", "gamma", "delta", "echo", "fox", "golf", "hotel", "india", "juliet")


def _transform_record(record: bytes) -> tuple[int, int] | str:
    """(input tokens, output tokens) of one JSON-lines record as the serving container reads it, or why it
    cannot: the same request shapes as /invocations (prompt, messages, or inputs with parameters)."""
    try:
        body = json.loads(record)
    except ValueError as exc:
        return f"Input validation error: the record is not JSON: {exc}"
    if not isinstance(body, dict):
        return "Input validation error: the record must be a JSON object"
    if "prompt" in body:
        prompt, limit = body["prompt"], body.get("max_tokens")
    elif "messages" in body:
        prompt, limit = json.dumps(body["messages"]), body.get("max_tokens")
    elif "inputs" in body:
        prompt, limit = body["inputs"], (body.get("parameters") or {}).get("max_new_tokens")
    else:
        return 'Input validation error: expected "prompt", "messages" or "inputs" in the record'
    try:
        output_tokens = int(limit or 16)
    except (TypeError, ValueError):
        return "Input validation error: max_tokens must be an integer"
    if output_tokens < 1:
        return "Input validation error: max_tokens must be at least 1"
    return max(1, len(str(prompt).split())), output_tokens


class SimulatedFleet:
    """:class:`~pathprover.protocols.Fleet` on a virtual clock, served by a local HTTP server. Thread-safe."""

    def __init__(
        self,
        clock: Clock,
        catalog: Catalog,
        faults: FaultPlan | None = None,
        server: SimulatedEndpointServer | None = None,
        *,
        scarce_families: frozenset[str] | set[str] = SCARCE_FAMILIES,
        capacity_failure_fraction: float = 0.0,
        artifacts: ArtifactStore | None = None,
        invoke_timeout_s: float = 30.0,
        account_id: str = ACCOUNT_ID,
        account: AccountProfile = ESTABLISHED,
        duration_jitter_sigma: float = DURATION_JITTER_SIGMA,
        facts: SimulationFacts | None = None,
    ) -> None:
        if not 0.0 <= capacity_failure_fraction <= 1.0:
            raise ValueError(f"capacity_failure_fraction must be in [0, 1], not {capacity_failure_fraction}")
        if duration_jitter_sigma < 0:
            raise ValueError(f"duration_jitter_sigma must be >= 0, not {duration_jitter_sigma}")
        self.clock = clock
        self.catalog = catalog
        self.faults = faults if faults is not None else FaultPlan()
        self._owns_server = server is None
        self.server = server if server is not None else SimulatedEndpointServer()
        self.scarce_families = frozenset(scarce_families)
        self.capacity_failure_fraction = capacity_failure_fraction
        self.artifacts = artifacts
        self.invoke_timeout_s = invoke_timeout_s
        self.account_id = account_id
        self.account = account
        self.duration_jitter_sigma = duration_jitter_sigma
        self.facts = facts if facts is not None else load_facts(catalog)
        self._resources: dict[tuple[str, str], _Resource] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ helpers
    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.catalog.pricing.region}:{self.account_id}:{kind}/{name}"

    def _live(self, kind: str, name: str) -> _Resource | None:
        found = self._resources.get((kind, name))
        return found if found is not None and found.deleted_at is None else None

    def _put(self, resource: _Resource) -> _Resource:
        self._resources[(resource.kind, resource.name)] = resource
        return resource

    def _record(self, kind: str, name: str, tags: dict[str, str], context: JobContext) -> tuple[_Resource, bool]:
        """Create a component, or adopt the live one of the same name (as the AWS adapter does)."""
        existing = self._live(kind, name)
        if existing is not None:
            return existing, True
        return self._put(_Resource(kind, name, self._arn(kind, name), dict(tags), self.clock.now(), context)), False

    def _scarce(self, instance: InstanceType, config_id: str, attempt: int) -> bool:
        return (
            instance.family in self.scarce_families
            and self.capacity_failure_fraction > 0.0
            and _capacity_share(config_id, attempt) < self.capacity_failure_fraction
        )

    def _endpoint_instances_in_use(self, instance_type: str, now: datetime) -> int:
        """Instances of a type held by endpoints: created and not deleted, not failed (a Failed endpoint's go)."""
        used = 0
        for resource in self._resources.values():
            if resource.kind != "endpoint" or resource.deleted_at is not None:
                continue
            if resource.extra.get("instance_type") != instance_type:
                continue
            if resource.status(now) in ("Creating", "InService"):
                used += int(resource.extra.get("instance_count", 1))
        return used

    def _quota_refusal(self, operation: str, instance_type: str, delta: int, now: datetime) -> str | None:
        quota = self.account.endpoint_quota(instance_type)
        if quota is None:
            return None
        used = self._endpoint_instances_in_use(instance_type, now)
        if used + delta <= quota:
            return None
        return quota_text(operation, instance_type, quota, used, delta)

    @staticmethod
    def _capacity_text(operation: str, instance_type: str) -> str:
        return (
            f"{operation} failed: InsufficientCapacity: Unable to provision requested ML compute capacity for "
            f"{instance_type}: there is not enough capacity in the supported Availability Zones right now. "
            "Please retry using a different ML instance type or after some time. (simulated)"
        )

    def _reservation_refused(self, operation: str, instance_type: str, arn: str | None) -> str | None:
        """A capacity-only type (the simulation's own list) runs only on a training plan of this account;
        a plan ARN naming another account (or the guide's literal ACCOUNT) is refused as SageMaker would."""
        if arn:
            account = arn.split(":")[4] if arn.count(":") >= 5 else ""
            if account != self.account_id:
                return (
                    f"{operation} failed: ValidationException: The training plan {arn} is not valid for account "
                    f"{self.account_id}. (simulated)"
                )
            return None
        if instance_type not in self.facts.capacity_only_instance_types:
            return None
        return (
            f"{operation} failed: InsufficientCapacity: Unable to provision requested ML compute capacity for "
            f"{instance_type}: on-demand capacity is not offered for this instance type. Please retry with a "
            "training plan (capacity reservation) for it. (simulated)"
        )

    def _instance_refused(self, operation: str, field_path: str, instance_type: str) -> str:
        known = ", ".join(sorted(self.catalog.instances)[:8])
        return (
            f"{operation} failed: ValidationException: 1 validation error detected: Value '{instance_type}' at "
            f"'{field_path}' failed to satisfy constraint: Member must satisfy enum value set: [{known}, ...] "
            "(simulated)"
        )

    def _model_spec(self, context: JobContext) -> ModelSpec | None:
        if not context.model_name:
            return None
        try:
            return self.catalog.model(context.model_name)
        except CatalogError:
            return None

    # ------------------------------------------------------------------ what the container does
    def _container_failure(
        self,
        context: JobContext,
        model: ModelSpec | None,
        instance: InstanceType,
        quantization: str,
        tp: int,
        env: Mapping[str, str] | None = None,
        model_data_uri: str | None = None,
    ) -> str | None:
        """The container log line that kills this deployment, or None if it would serve.

        In the container's order: where the weights come from (start.sh), the Hub download, the
        engine's checks, then the memory at start (:func:`.truth.container_start`).
        """
        env = env or {}
        model_id = context.model_name or "?"
        from_s3 = env.get("MODEL_SOURCE", "hub").strip().lower() == "s3"
        if from_s3 and not model_data_uri:
            # containers/serving/start.sh.j2 pp_model_path: SageMaker copied nothing to /opt/ml/model.
            where = env.get("MODEL_S3_URI") or "the staged S3 prefix"
            return (
                "start.sh: error: MODEL_SOURCE=s3 but /opt/ml/model has no config.json: the deploy request must set "
                f"PrimaryContainer.ModelDataSource.S3DataSource to {where}"
            )
        if model is None:
            return (
                "huggingface_hub.errors.RepositoryNotFoundError: 404 Client Error. "
                f"Repository Not Found for url: https://huggingface.co/api/models/{model_id}/revision/main."
            )
        if model.gated and not from_s3 and not any(env.get(key, "").strip() for key in HF_TOKEN_KEYS):
            return gated_repo_error(model.name)
        config: DeploymentConfig | None = None
        config_name = context.vector.get("deployment_config")
        if isinstance(config_name, str):
            try:
                config = self.catalog.deployment_config(config_name)
            except CatalogError:
                config = None
            if config is not None:
                if instance.accelerator_kind not in config.accelerator_kinds:
                    return (
                        "RuntimeError: Found no NVIDIA driver on your system. Please check that you have an "
                        f"NVIDIA GPU and installed a driver ({config.name} on {instance.accelerator})."
                    )
                rule = config.quantization_rule(quantization)
                if rule is None:
                    return f"ValueError: quantization {quantization} is not supported by {config.engine} here."
                if not rule.runs_on(instance.accelerator_kind, instance.compute_capability):
                    if instance.accelerator_kind == "neuron":
                        return f"ValueError: The quantization method {quantization} is not supported on Neuron devices."
                    need = round((rule.min_compute_capability or 0.0) * 10)
                    have = round((instance.compute_capability or 0.0) * 10)
                    return (
                        f"ValueError: The quantization method {quantization} is not supported for the current GPU. "
                        f"Minimum capability: {need}. Current capability: {have}."
                    )
        if not model.supports_tp_degree(tp):
            return (
                f"ValueError: Total number of attention heads ({model.num_attention_heads}) must be divisible "
                f"by tensor parallel size ({tp})."
            )
        engine = config.engine if config is not None else None
        outcome = container_start(
            model, instance, engine=engine, quantization=quantization, tp=tp, env=env, facts=self.facts
        )
        return outcome.log

    # ------------------------------------------------------------------ deploy
    def start_deploy(self, spec: DeploySpec) -> JobRef:  # noqa: C901, PLR0912, PLR0915  SageMaker's create calls simulated in the order it checks them (names, quota, capacity, faults, the target's shape); split, that order would be spread over helpers
        names = spec.names
        batch = spec.target == "batch-transform"
        kind = "transform" if batch else "endpoint"
        primary = "transform-job" if batch else "endpoint"
        name = names.transform_job if batch else names.endpoint
        meta = {
            "target": spec.target,
            "model": names.model,
            "expected_s": str(spec.expected_ready_s),
            "failure_stage": spec.stage,
            "instance_type": spec.instance_type,
            "simulated": "true",
        }
        if batch:
            meta["transform_job"] = names.transform_job
        else:
            meta["endpoint_config"] = names.endpoint_config
            meta["endpoint"] = names.endpoint
        if spec.target == "async-inference" and spec.async_output_s3:
            meta["async_output_s3"] = spec.async_output_s3
        context = job_context(self.catalog, spec.env, instance_type=spec.instance_type, target=spec.target)
        if not context.model_name:
            raise ValueError(f"SimulatedFleet needs the model id in DeploySpec.env (one of {', '.join(MODEL_ID_KEYS)})")
        tags = spec.all_tags
        now = self.clock.now()
        with self._lock:
            existing = self._live(primary, name)
            if existing is not None:
                meta["adopted"] = primary.replace("-", "_")
                meta["simulated_duration_s"] = str(int(existing.duration_s))
                return JobRef(kind=kind, name=name, arn_or_id=existing.arn, started_at=existing.created, meta=meta)

            def refused(text: str) -> JobRef:
                return JobRef(kind=kind, name=name, arn_or_id=name, started_at=now, meta=meta, start_failure=text)

            self._record("model", names.model, tags, context)
            operation = "CreateTransformJob" if batch else "CreateEndpointConfig"
            try:
                instance = self.catalog.instance(spec.instance_type)
            except CatalogError:
                where = "transformResources.instanceType" if batch else "productionVariants.1.member.instanceType"
                return refused(self._instance_refused(operation, where, spec.instance_type))
            if not batch:
                self._record("endpoint-config", names.endpoint_config, tags, context)
            operation = "CreateTransformJob" if batch else "CreateEndpoint"
            tp_raw = context.vector.get("tp_degree")
            tp = int(tp_raw) if tp_raw is not None else instance.max_tp_degree
            if tp > instance.max_tp_degree:
                return refused(
                    f"{operation} failed: ValidationException: The requested tensor parallel degree {tp} is not "
                    f"supported on {instance.name}: it has {instance.accelerator_count} {instance.accelerator} "
                    f"({instance.max_tp_degree} device ranks). (simulated)"
                )
            if not batch:
                # '<type> for endpoint usage' is checked when the endpoint asks for its instances.
                over = self._quota_refusal(operation, instance.name, spec.instance_count, now)
                if over is not None:
                    return refused(over)
            reservation = self._reservation_refused(operation, instance.name, spec.capacity_reservation_arn)
            if reservation is not None:
                return refused(reservation)
            if self._scarce(instance, spec.config_id, spec.attempt):
                return refused(self._capacity_text(operation, instance.name))

            quantization = str(context.vector.get("quantization", "none"))
            model = self._model_spec(context)
            timing = self.catalog.search_space.timing
            # A transform job's processing time is added once its records are read (_size_transform).
            duration = timing.minutes("deploy", context.params_b) * 60.0
            duration *= duration_factor(spec.config_id, spec.attempt, primary, self.duration_jitter_sigma)
            resource = _Resource(
                primary,
                name,
                self._arn(primary, name),
                dict(tags),
                now,
                context,
                duration_s=duration,
                price_per_hour=instance.price_per_hour_usd * spec.instance_count,
                target=spec.target,
            )
            resource.extra.update(instance_type=instance.name, instance_count=spec.instance_count)
            fault = context.take(self.faults, spec.stage)
            adapter = self._adapter(spec, model) if spec.adapter_data_uri else None
            if fault is not None:
                resource.fail_after_s = duration * LOAD_FRACTION
                resource.failure = fault.error.strip()
            elif adapter is not None and adapter.download_failure is not None:
                resource.fail_after_s = duration * DOWNLOAD_FRACTION
                resource.failure = adapter.download_failure
            else:
                log = self._container_failure(
                    context, model, instance, quantization, tp, env=spec.env, model_data_uri=spec.model_data_uri
                )
                if log is None and adapter is not None:
                    log = adapter.start_failure(
                        config_engine(self.catalog, context), instance.accelerator_kind, self.facts
                    )
                if log is not None:
                    resource.fail_after_s = duration * LOAD_FRACTION
                    resource.failure = (
                        f"{HEALTH_CHECK_REASON}\n"
                        f"CloudWatch log /aws/sagemaker/{'TransformJobs' if batch else 'Endpoints'}/{name} "
                        f"(simulated): {log}"
                    )
            if model is not None and resource.failure is None:
                resource.latency = LatencyModel.estimate(self.catalog, model, instance, quantization, tp)
            served = [context.model_name or "model"]
            if adapter is not None and resource.failure is None:
                engine = config_engine(self.catalog, context)
                if lora_serving(engine, instance.accelerator_kind, self.facts).serves:
                    served.append(adapter.name)
            resource.extra["served_models"] = served
            if batch:
                resource.extra["batch_input_s3"] = spec.batch_input_s3 or ""
                resource.extra["batch_output_s3"] = spec.batch_output_s3 or ""
                jitter = duration_factor(spec.config_id, spec.attempt, primary, self.duration_jitter_sigma)
                self._size_transform(resource, timing.minutes("test", context.params_b) * 60.0 * jitter)
            elif spec.target == "async-inference":
                resource.extra["async_output_s3"] = spec.async_output_s3 or ""
                resource.extra["async_failure_s3"] = spec.async_failure_s3 or ""
            self._put(resource)
            meta["simulated_duration_s"] = str(int(resource.duration_s))
            return JobRef(kind=kind, name=name, arn_or_id=resource.arn, started_at=now, meta=meta)

    def _records(self, resource: _Resource) -> list[bytes] | None:
        """The transform job's input records (one per line), or None when there is no store to read them from."""
        source = str(resource.extra.get("batch_input_s3") or "")
        if self.artifacts is None or not source:
            return None
        try:
            data = self.artifacts.get_bytes(source)
        except (OSError, ValueError):
            return None
        return [line for line in data.splitlines() if line.strip()]

    def _size_transform(self, resource: _Resource, unread_s: float) -> None:
        """Add the job's processing time to its start-up: each record one after the other
        (MaxConcurrentTransforms 1), timed by the instance's own latency model as a non-streamed request.
        A record the container cannot parse fails the job, as the model server's 400 does on SageMaker."""
        records = self._records(resource)
        if records is None:
            resource.duration_s += unread_s  # nothing to read: the catalog's test minutes stand in
            return
        latency = resource.latency
        processing = 0.0
        for number, record in enumerate(records, start=1):
            parsed = _transform_record(record)
            if isinstance(parsed, str):
                if resource.failure is None:
                    resource.fail_after_s = resource.duration_s + processing
                    resource.failure = (
                        "ClientError: See job logs for more information\n"
                        f"CloudWatch log /aws/sagemaker/TransformJobs/{resource.name} (simulated): record {number}: "
                        f"HTTP 400 from the model server: {parsed}"
                    )
                break
            input_tokens, output_tokens = parsed
            if latency is not None:
                processing += (latency.ttft_ms(input_tokens) + (output_tokens - 1) * latency.itl_ms(1)) / 1000.0
        resource.extra["records"] = len(records)
        resource.duration_s += processing

    def _write_transform_output(self, resource: _Resource) -> str | None:
        """Like SageMaker, write `<output>/<input file>.out` when the job completes (if there is a store):
        one answer line per input line (AssembleWith=Line), each as the model server answers it."""
        source = str(resource.extra.get("batch_input_s3") or "")
        output = str(resource.extra.get("batch_output_s3") or "")
        if self.artifacts is None or not source or not output:
            return None
        name = source.rsplit("/", 1)[-1]
        put_uri = getattr(self.artifacts, "put_uri", None)
        records = self._records(resource)
        if not name or put_uri is None or records is None:
            return None
        target = output.rstrip("/") + "/" + name + ".out"
        lines = []
        for index, record in enumerate(records):
            parsed = _transform_record(record)
            input_tokens, output_tokens = parsed if isinstance(parsed, tuple) else (1, 1)
            text = "".join(f" {_OUTPUT_WORDS[k % len(_OUTPUT_WORDS)]}" for k in range(output_tokens))
            usage = {"prompt_tokens": input_tokens, "completion_tokens": output_tokens}
            answer: dict[str, Any] = {"id": f"cmpl-sim-bt-{index}", "object": "text_completion", "usage": usage}
            answer["choices"] = [{"index": 0, "text": text, "finish_reason": "length"}]
            lines.append(json.dumps(answer))
        try:
            if not self.artifacts.exists(target):
                put_uri(target, ("\n".join(lines) + "\n").encode())
        except ValueError:
            return None  # the output location is not in this store
        return target

    # ------------------------------------------------------------------ adapters
    def _adapter(self, spec: DeploySpec, model: ModelSpec | None) -> _Adapter:
        """What SageMaker copies to the adapter channel, and what start.sh and the engine then find."""
        uri = spec.adapter_data_uri or ""
        name = spec.env.get(ADAPTER_NAME_ENV, "")
        found = _Adapter(name=name, uri=uri, base_model=model)
        if self.artifacts is None:
            found.config = {"r": 8, "base_model_name_or_path": model.name if model else ""}
            return found  # no store to look in: the adapter is taken as present
        archive = not uri.endswith("/")
        try:
            if archive:
                found.config = _adapter_config_from_tarball(self.artifacts.get_bytes(uri))
            elif self.artifacts.exists(uri + "adapter_config.json"):
                found.config = json.loads(self.artifacts.get_bytes(uri + "adapter_config.json"))
            else:
                found.config = None
        except (OSError, ValueError, KeyError, tarfile.TarError):
            found.download_failure = (
                f"Failed to download model data for the additional model data source '{ADAPTER_CHANNEL}' "
                f"({uri}). Please ensure that there is an object located at the URL and that the role passed to "
                "CreateModel has permissions to download the model. (simulated)"
            )
        return found

    def _write_adapter(self, resource: _Resource, uri: str) -> None:
        """Like SageMaker's upload of /opt/ml/model: the job's PEFT adapter as model.tar.gz (if there is a store)."""
        put_uri = getattr(self.artifacts, "put_uri", None)
        if self.artifacts is None or put_uri is None or resource.extra.get("adapter_written"):
            return
        try:
            put_uri(uri, simulated_adapter(str(resource.extra.get("model_id") or ""), int(resource.extra["lora_rank"])))
        except ValueError:
            return  # the output location is not in this store
        resource.extra["adapter_written"] = True

    def _script_failure(
        self, hyper: Mapping[str, Any], spec: TrainingSpec, model: ModelSpec | None, context: JobContext
    ) -> str | None:
        """What the training container says when the job names no runnable script, or cannot get the model."""
        program = hyper.get(SCRIPT_PARAM)
        source = hyper.get(DIR_PARAM)
        if not program or not source:
            return (
                "the training image ran no user code: the job's hyperparameters name no sagemaker_program / "
                "sagemaker_submit_directory (script mode) (simulated)"
            )
        if self.artifacts is not None:
            try:
                names = _tarball_names(self.artifacts.get_bytes(str(source)))
            except (OSError, ValueError, tarfile.TarError):
                return f"Failed to download {source}: the source directory tarball does not exist (simulated)"
            if str(program) not in names:
                return f"python3: can't open file '/opt/ml/code/{program}': [Errno 2] No such file or directory"
        if model is not None and model.gated and "model" not in spec.input_channels:
            return gated_repo_error(model.name)
        return None

    # ------------------------------------------------------------------ training
    def start_training(self, spec: TrainingSpec) -> JobRef:
        now = self.clock.now()
        meta = {
            "expected_s": str(spec.expected_s),
            "failure_stage": "tune",
            "instance_type": spec.instance_type,
            "simulated": "true",
        }
        env = dict(spec.env)
        hyper = {key: decode_hyperparameter(value) for key, value in spec.hyperparameters.items()}
        if not any(env.get(k) for k in MODEL_ID_KEYS):
            for key in _TRAINING_MODEL_KEYS:
                if hyper.get(key):
                    env["MODEL_ID"] = str(hyper[key])
                    break
        context = job_context(self.catalog, env, instance_type=spec.instance_type)
        with self._lock:
            existing = self._live("training-job", spec.job_name)
            if existing is not None:
                meta["adopted"] = "training_job"
                return JobRef(
                    kind="training", name=spec.job_name, arn_or_id=existing.arn, started_at=existing.created, meta=meta
                )

            def refused(text: str) -> JobRef:
                return JobRef(
                    kind="training",
                    name=spec.job_name,
                    arn_or_id=spec.job_name,
                    started_at=now,
                    meta=meta,
                    start_failure=text,
                )

            try:
                instance = self.catalog.instance(spec.instance_type)
            except CatalogError:
                return refused(
                    self._instance_refused("CreateTrainingJob", "resourceConfig.instanceType", spec.instance_type)
                )
            reservation = self._reservation_refused("CreateTrainingJob", instance.name, spec.capacity_reservation_arn)
            if reservation is not None:
                return refused(reservation)
            if self._scarce(instance, spec.config_id, spec.attempt):
                return refused(self._capacity_text("CreateTrainingJob", instance.name))
            model = self._model_spec(context)
            jitter = duration_factor(spec.config_id, spec.attempt, "training-job", self.duration_jitter_sigma)
            failure: str | None = None
            fail_after: float | None = None
            if model is not None:
                outcome = training_run(
                    model,
                    instance,
                    max_steps=_int(hyper.get("max_steps"), 50),
                    lora_rank=_int(hyper.get("lora_rank"), 8),
                    batch_size=_int(hyper.get("per_device_train_batch_size"), 4),
                    seq_len=_int(hyper.get("max_seq_length"), 512),
                    weights_from_s3="model" in spec.input_channels,
                    facts=self.facts,
                )
                duration = outcome.duration_s * jitter
                failure = outcome.failure
                fail_after = None if outcome.fail_after_s is None else outcome.fail_after_s * jitter
            else:
                duration = self.facts.training.starting_s + self.facts.training.image_download_s
                failure = (
                    "huggingface_hub.errors.RepositoryNotFoundError: 404 Client Error. Repository Not Found for url: "
                    f"https://huggingface.co/api/models/{context.model_name or '?'}/revision/main."
                )
                fail_after = duration
            script_failure = self._script_failure(hyper, spec, model, context)
            if script_failure is not None:
                failure = script_failure
                fail_after = (self.facts.training.starting_s + self.facts.training.image_download_s) * jitter
            resource = _Resource(
                "training-job",
                spec.job_name,
                self._arn("training-job", spec.job_name),
                spec.all_tags,
                now,
                context,
                duration_s=duration,
                price_per_hour=instance.price_per_hour_usd * spec.instance_count,
            )
            resource.extra.update(
                output_s3=spec.output_s3,
                model_id=str(hyper.get("model_id") or context.model_name or ""),
                lora_rank=_int(hyper.get("lora_rank"), 8),
            )
            fault = context.take(self.faults, "tune")
            if fault is not None:
                resource.fail_after_s = duration * TUNE_FAIL_FRACTION
                resource.failure = fault.error.strip()
            elif failure is not None:
                resource.fail_after_s = fail_after
                resource.failure = f'AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "{failure}"'
            elif duration > spec.max_runtime_s:
                resource.fail_after_s = float(spec.max_runtime_s)
                resource.failure = f"training job timed out: MaxRuntimeExceeded after {spec.max_runtime_s} s"
            self._put(resource)
            meta["simulated_duration_s"] = str(int(duration))
            return JobRef(kind="training", name=spec.job_name, arn_or_id=resource.arn, started_at=now, meta=meta)

    # ------------------------------------------------------------------ poll
    @staticmethod
    def _primary_key(ref: JobRef) -> tuple[str, str]:
        if ref.kind == "endpoint":
            return "endpoint", ref.meta.get("endpoint", ref.name)
        if ref.kind == "transform":
            return "transform-job", ref.meta.get("transform_job", ref.name)
        if ref.kind == "training":
            return "training-job", ref.name
        raise ValueError(f"SimulatedFleet cannot handle a {ref.kind} job")

    def _on_in_service(self, resource: _Resource) -> None:
        """First sight of InService: host the endpoint for real and arm any ``test`` fault."""
        if resource.in_service_seen:
            return
        resource.in_service_seen = True
        latency = resource.latency or LatencyModel(decode_ms_per_token=20.0, prefill_ms_per_token=0.1)
        async_io = None
        output = str(resource.extra.get("async_output_s3") or "")
        if resource.target == "async-inference" and output and hasattr(self.artifacts, "put_uri"):
            store = cast(AsyncStore, self.artifacts)
            async_io = AsyncIO(store, output, str(resource.extra.get("async_failure_s3") or "") or None)
        resource.endpoint_url = self.server.register(
            resource.name,
            latency,
            model_name=resource.context.model_name or "model",
            served_models=resource.extra.get("served_models"),
            async_io=async_io,
        )
        fault = resource.context.take(self.faults, "test")
        if fault is not None:
            self.server.inject_errors(resource.name, fault.error, fault.fraction)

    def check(self, ref: JobRef) -> JobState:
        stage = ref.meta.get("failure_stage") or ("tune" if ref.kind == "training" else "deploy")
        if ref.start_failure:
            return JobState.failed(ref.start_failure, stage, {"start_failed": True, "simulated": True})
        kind, name = self._primary_key(ref)
        now = self.clock.now()
        with self._lock:
            resource = self._live(kind, name)
            if resource is None:
                return JobState.failed(
                    f'SageMaker {ref.kind} {ref.name} no longer exists: Could not find {kind} "{name}". (simulated)',
                    stage,
                    {"simulated": True},
                )
            status = resource.status(now)
            elapsed = resource.elapsed(now)
            wait = suggest_wait(elapsed, resource.duration_s, True)
            detail: dict[str, Any] = {"simulated": True, "simulated_duration_s": round(resource.duration_s, 1)}
            label = {"endpoint": "endpoint", "transform-job": "transform job", "training-job": "training job"}[kind]
            if kind == "endpoint":
                detail.update(
                    endpoint_name=name, endpoint_arn=resource.arn, endpoint_status=status, target=resource.target
                )
            elif kind == "transform-job":
                detail.update(transform_job=name, transform_job_status=status)
            else:
                detail.update(training_job=name, training_job_status=status)
            if status in ("Creating", "InProgress"):
                return JobState.running(wait, detail)
            if status == "Failed":
                text = f"{resource.failure}\nSageMaker {label} {name}: Failed (simulated)"
                return JobState.failed(text, stage, detail)
            if status == "Stopped":
                return JobState.failed(
                    f"{label} was Stopped\nSageMaker {label} {name}: Stopped (simulated)", stage, detail
                )
            detail["finished_at"] = (resource.created + timedelta(seconds=resource.duration_s)).isoformat()
            if kind == "endpoint":
                self._on_in_service(resource)
                detail["endpoint_url"] = resource.endpoint_url
                if resource.target == "async-inference":
                    detail["runtime_url"] = self.server.url  # where this fleet's SageMaker Runtime API answers
                if resource.latency is not None:
                    detail["latency_model"] = resource.latency.as_dict()
            elif kind == "transform-job":
                detail["output"] = self._write_transform_output(resource)
                detail["started"] = resource.created.isoformat()  # TransformStartTime
                detail["ended"] = detail["finished_at"]  # TransformEndTime
                detail["instance_count"] = int(resource.extra.get("instance_count", 1))
            elif kind == "training-job":
                output = str(resource.extra.get("output_s3", "")).rstrip("/")
                detail["model_artifacts"] = f"{output}/{name}/output/model.tar.gz"
                detail["billable_seconds"] = int(resource.duration_s)
                self._write_adapter(resource, detail["model_artifacts"])
            return JobState.succeeded(detail)

    # ------------------------------------------------------------------ invoke
    def invoke(self, ref: JobRef, body: bytes, content_type: str) -> InvokeResult:
        if ref.kind != "endpoint":
            raise ValueError(f"only endpoints can be invoked, not a {ref.kind}")
        if ref.start_failure:
            raise ValueError(f"endpoint {ref.name} was never created: {ref.start_failure}")
        name = ref.meta.get("endpoint", ref.name)
        with self._lock:
            resource = self._live("endpoint", name)
            if resource is None:
                return InvokeResult(
                    status_code=400,
                    error=f"ValidationException: Endpoint {name} of account {self.account_id} not found. (simulated)",
                )
            status = resource.status(self.clock.now())
            if status == "Creating":
                return InvokeResult(status_code=503, error=f"not ready: endpoint {name} is Creating (simulated)")
            if status != "InService":
                return InvokeResult(
                    status_code=400,
                    error=f"ValidationException: Endpoint {name} is in {status} status; it cannot be invoked. "
                    "(simulated)",
                )
            self._on_in_service(resource)
            url = f"{resource.endpoint_url}/invocations"
            asynchronous = resource.target == "async-inference"
        result = self._post(url, body, content_type)
        if not asynchronous or not result.ok:
            return result
        digest = hashlib.sha256(body).hexdigest()[:24]
        if self.artifacts is not None:
            location = self.artifacts.put_bytes(f"simulated/async/{name}/{digest}.out", result.body)
            return InvokeResult(status_code=202, output_location=location)
        output = ref.meta.get("async_output_s3", "").rstrip("/")
        return InvokeResult(status_code=202, body=result.body, output_location=f"{output}/{digest}.out")

    def _post(self, url: str, body: bytes, content_type: str) -> InvokeResult:
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=self.invoke_timeout_s) as response:
                return InvokeResult(status_code=response.status, body=response.read())
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            message = payload.decode("utf-8", "replace")[:2000]
            if exc.code == 503:
                return InvokeResult(status_code=503, body=payload, error=f"not ready: {message}")
            side = "server" if exc.code >= 500 else "client"
            return InvokeResult(
                status_code=exc.code,
                body=payload,
                error=f'ModelError: Received {side} error ({exc.code}) from primary with message "{message}". '
                "(simulated)",
            )
        except TimeoutError as exc:
            return InvokeResult(status_code=504, error=f"invocation timed out: {exc} (simulated)")
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return InvokeResult(status_code=504, error=f"invocation timed out: {exc.reason} (simulated)")
            return InvokeResult(status_code=503, error=f"not ready: {exc.reason} (simulated)")

    # ------------------------------------------------------------------ clean
    _components = staticmethod(resource_components)

    def clean(self, refs: list[JobRef], keep: bool) -> CleanReport:
        report = CleanReport()
        seen: set[tuple[str, str]] = set()
        with self._lock:
            now = self.clock.now()
            for ref in refs:
                for kind, name in self._components(ref):
                    if not name or (kind, name) in seen:
                        continue
                    seen.add((kind, name))
                    label = f"{kind}/{name}"
                    if keep:
                        report.kept.append(label)
                        continue
                    self._remove_locked(report, kind, name, label, now)
        return report

    def _remove_locked(self, report: CleanReport, kind: str, name: str, label: str, now: datetime) -> None:
        """Delete (or stop) one component and file the outcome; a ``clean`` fault is an error. Holds the lock."""
        resource = self._live(kind, name)
        if resource is None:
            report.already_gone.append(label)
            return
        if kind in _ENDPOINT_KINDS:
            fault = resource.context.take(self.faults, "clean")
            if fault is not None:
                report.errors.append(f"{label}: {fault.error.strip()} (simulated)")
                return
        if kind in ("transform-job", "training-job"):
            if resource.status(now) != "InProgress":
                report.already_gone.append(label)  # finished: nothing left to stop
                return
            resource.stopped_at = now
        else:
            resource.deleted_at = now
            if kind == "endpoint":
                self.server.unregister(name)
        report.deleted.append(label)

    def delete(self, resources: list[ManagedResource]) -> CleanReport:
        """The janitor's delete: like ``clean`` for each resource (billing ones first)."""
        report = CleanReport()
        seen: set[tuple[str, str]] = set()
        with self._lock:
            now = self.clock.now()
            for resource in sorted(resources, key=lambda r: _INVENTORY_ORDER[r.kind]):
                key = (resource.kind, resource.name)
                if key in seen:
                    continue
                seen.add(key)
                self._remove_locked(report, resource.kind, resource.name, resource.label, now)
        return report

    # ------------------------------------------------------------------ inventory and billing
    def alive(self, tag_filter: dict[str, str], *, billing_only: bool = False) -> list[str]:
        """ARNs of simulated resources still there whose tags include ``tag_filter``.

        Endpoints (any status until deleted), in-progress transform and training jobs,
        and, unless ``billing_only``, models and endpoint configs too: a test can prove
        that a run left nothing behind.
        """
        wanted = {TAG_MANAGED_BY: TAG_MANAGED_BY_VALUE, **tag_filter}
        found: list[str] = []
        with self._lock:
            now = self.clock.now()
            for resource in self._resources.values():
                if resource.deleted_at is not None:
                    continue
                if resource.kind in ("transform-job", "training-job") and resource.status(now) != "InProgress":
                    continue
                if billing_only and resource.kind in ("model", "endpoint-config"):
                    continue
                if all(resource.tags.get(k) == v for k, v in wanted.items()):
                    found.append(resource.arn)
        return sorted(found)

    def inventory(self) -> list[ManagedResource]:
        """Simulated resources still there and tagged ``managed-by=path-prover``, as SageMaker lists them:
        endpoints in any status, in-progress jobs, endpoint configs and models."""
        found: list[ManagedResource] = []
        with self._lock:
            now = self.clock.now()
            for resource in self._resources.values():
                if resource.deleted_at is not None:
                    continue
                status = resource.status(now)
                if resource.kind in ("transform-job", "training-job") and status != "InProgress":
                    continue
                if resource.tags.get(TAG_MANAGED_BY) != TAG_MANAGED_BY_VALUE:
                    continue
                found.append(
                    ManagedResource(
                        kind=cast(ManagedKind, resource.kind),
                        name=resource.name,
                        arn=resource.arn,
                        tags=dict(resource.tags),
                        created_at=resource.created,
                        status=None if resource.kind in ("model", "endpoint-config") else status,
                    )
                )
        return sorted(found, key=lambda r: (_INVENTORY_ORDER[r.kind], r.name))

    def _billed(self, ref: JobRef) -> _Resource | None:
        if ref.start_failure:
            return None
        kind, name = self._primary_key(ref)
        resource = self._resources.get((kind, name))
        if resource is None:
            raise KeyError(f"no simulated {kind} named {name!r}")
        return resource

    def billed_seconds(self, ref: JobRef) -> float:
        """Instance time of the ref's endpoint or job so far: create -> delete/stop/failure/finish (virtual clock)."""
        with self._lock:
            resource = self._billed(ref)
            if resource is None:
                return 0.0
            return max(0.0, (resource.billing_end(self.clock.now()) - resource.created).total_seconds())

    def cost_usd(self, ref: JobRef) -> float:
        """``billed_seconds`` x the catalog's hourly price x instance count."""
        with self._lock:
            resource = self._billed(ref)
            if resource is None:
                return 0.0
            return self.billed_seconds(ref) / 3600.0 * resource.price_per_hour

    def status_of(self, ref: JobRef) -> str:
        """SageMaker's status word for the ref's endpoint or job (``Deleted`` after clean, ``NotCreated``)."""
        if ref.start_failure:
            return "NotCreated"
        kind, name = self._primary_key(ref)
        with self._lock:
            resource = self._resources.get((kind, name))
            return "NotCreated" if resource is None else resource.status(self.clock.now())

    def close(self) -> None:
        """Close the endpoint server if this fleet created it (a server passed in is the caller's to close)."""
        if self._owns_server:
            self.server.close()

    def __enter__(self) -> SimulatedFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        with self._lock:
            live = sum(1 for r in self._resources.values() if r.deleted_at is None)
        return f"simulated SageMaker ({live} live resources, {json.dumps(sorted(self.scarce_families))} scarce)"
