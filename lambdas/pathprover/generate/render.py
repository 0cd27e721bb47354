"""The `generate` stage: render one RunConfig into a content-addressed bundle of container files.

Everything a person wrote (serving_params, S3 URI, repository names) is validated here,
*before* any template runs; the templates then quote every value for where it lands
(`sh`: shell, `docker_env`: Dockerfile ENV/LABEL, `yaml_str`: YAML, `py`: Python) and
refuse control characters again as a second line of defence. A missing template
variable is an error (StrictUndefined), never an empty string.

Bundle layout (paths relative to the bundle root, which is the CodeBuild source root):

    run.json                 the RunConfig and what was derived from it (images, tags, env)
    deploy.json              parameters the deploy stage passes to SageMaker
    serving/Dockerfile       serving image (build context: serving/)
    serving/start.sh         entry point: SM_<ENGINE>_* variables -> engine CLI flags
    serving/serve.py         SageMaker contract: /ping and /invocations on port 8080
    buildspec/build.yml      CodeBuild: build + push the serving image, export IMAGE_DIGEST
    buildspec/stage.yml      CodeBuild: pre-stage the weights to S3     (stages include "stage")
    buildspec/stage.sh       the staging script stage.yml runs          (stages include "stage")
    benchmark/Dockerfile     benchmark runner image (the stack builds it once, see below)  (benchmark, real-time)
    benchmark/run.yml        CodeBuild: `pathprover loadgen` against the endpoint
"""

from __future__ import annotations

import functools
import json
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import jinja2

from pathprover.catalog import Catalog, DeploymentConfig, InstanceType, ModelSpec
from pathprover.core.runconfig import RunConfig, ServingValue, has_account_placeholder, validate_serving_params
from pathprover.generate.bundle import Bundle, bundle_tarball, bundle_zip, write_bundle
from pathprover.generate.engines import EngineSpec, engine_spec
from pathprover.stages.specs import ADAPTER_DIR, ADAPTER_NAME_ENV

__all__ = [
    "BASE_IMAGE_CACHE_PREFIXES",
    "BENCHMARK_BASE_IMAGE",
    "DEFAULT_HF_TOKEN_SECRET",
    "BaseImageRegistry",
    "Bundle",
    "RenderError",
    "bundle_tarball",
    "bundle_zip",
    "check_run",
    "default_containers_dir",
    "parse_base_image_registry",
    "render_bundle",
    "render_template",
    "serving_environment",
    "split_image_reference",
    "template_environment",
    "write_bundle",
]

BENCHMARK_BASE_IMAGE: Final = "public.ecr.aws/docker/library/python:3.11.11-slim-bookworm"
"""Parent of the benchmark runner image (not an engine image, so not in the catalog)."""
DOCKER_HUB: Final = "docker.io"
BASE_IMAGE_CACHE_PREFIXES: Final[dict[str, str]] = {
    DOCKER_HUB: "pathprover-cache/docker-hub",
    "public.ecr.aws": "pathprover-cache/ecr-public",
    "quay.io": "pathprover-cache/quay",
}
"""Upstream registry -> the repository prefix of its ECR pull-through cache rule (the CDK stack creates the
rules with these prefixes). An image `<upstream>/<path>:<tag>` is then pulled as
`<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<path>:<tag>`. Docker Hub needs a credential
(a Secrets Manager secret `ecr-pullthroughcache/...`); ECR Public and Quay do not. NGC (nvcr.io) has no
pull-through cache in ECR: those images are pulled from the upstream."""
BASE_IMAGE_MIRROR_PREFIXES: Final[dict[str, str]] = {DOCKER_HUB: "pathprover-mirror/docker-hub"}
"""Upstream -> the repository prefix of its one-time mirror in ECR, for an upstream without a cache rule
(Docker Hub when the stack has no credential for it): the first build that needs a parent pulls it once
from the upstream and pushes it there; every later build pulls it from ECR."""
MIRROR_SPEC_PREFIX: Final = "mirror:"
DEFAULT_HF_TOKEN_SECRET: Final = "pathprover/huggingface-token"
"""Secrets Manager secret holding the Hugging Face token, read by the stage buildspec for gated models."""
ENGINE_PORT: Final = 8081
MAX_VALUE_LENGTH: Final = 4096
REQUEST_TIMEOUT_S: Final[dict[str, int]] = {
    "realtime-inference": 600,
    "async-inference": 3600,
    "batch-transform": 3600,
}
BATCH_MAX_PAYLOAD_MB: Final = 6
STARTUP_TIMEOUT_S: Final = 3600  # SageMaker's maximum for both the download and the health check

_IMAGE_REPO: Final = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_REGISTRY: Final = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]{1,5})?$")
_S3_URI: Final = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._/=+-]*)?$")
_SECRET_ID: Final = re.compile(r"^[A-Za-z0-9/_+=.@:-]{1,512}$")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class RenderError(ValueError):
    """A run that cannot be rendered safely; the message names the field."""


# --- where the templates live -------------------------------------------------------------


def default_containers_dir() -> Path:
    """The copy packaged in the wheel (`pathprover/_containers`), else the repo's `containers/`."""
    here = Path(__file__).resolve()
    packaged = here.parents[1] / "_containers"  # pathprover/_containers in a wheel install
    if packaged.is_dir():
        return packaged
    return here.parents[3] / "containers"  # <repo>/lambdas/pathprover/generate/render.py -> <repo>/containers


# --- quoting filters ----------------------------------------------------------------------


def _text(value: Any) -> str:
    """One scalar as the text an engine flag or env variable carries; control characters refused."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | str):
        text = str(value)
    else:
        raise RenderError(f"cannot render {type(value).__name__} value {value!r} as text")
    if _CONTROL.search(text):
        raise RenderError(f"value {text!r} contains a control character")
    return text


def _sh(value: Any) -> str:
    return shlex.quote(_text(value))


def _docker_env(value: Any) -> str:
    # A JSON string is a valid Dockerfile double-quoted word once `$` is escaped: inside double
    # quotes Docker honours exactly \" \\ and \$ (and control characters are refused above).
    return json.dumps(_text(value), ensure_ascii=False).replace("$", "\\$")


def _yaml_str(value: Any) -> str:
    return json.dumps(_text(value), ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _py(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return repr(_text(value))


@functools.cache
def _environment(directory: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(sh=_sh, docker_env=_docker_env, yaml_str=_yaml_str, py=_py)
    return env


def template_environment(directory: Path | None = None) -> jinja2.Environment:
    """The jinja2 environment over `directory` (default: :func:`default_containers_dir`)."""
    root = (directory or default_containers_dir()).resolve()
    if not root.is_dir():
        raise RenderError(f"container templates directory {root} does not exist")
    return _environment(root)


def render_template(name: str, context: Mapping[str, Any], directory: Path | None = None) -> str:
    """Render one template; a variable the context lacks raises :class:`jinja2.UndefinedError`."""
    return template_environment(directory).get_template(name).render(dict(context))


# --- validation ---------------------------------------------------------------------------


def serving_environment(run: RunConfig, config: DeploymentConfig, spec: EngineSpec) -> list[tuple[str, str]]:
    """`SM_<ENGINE>_<KEY>` -> value for the run: the vector's managed params plus serving_params, sorted.

    Raises :class:`RenderError` (naming `serving_params.<key>`) for a key the engine reserves or
    does not understand, or a value that cannot travel safely through shell, YAML and Dockerfile.
    """
    try:
        params: dict[str, ServingValue] = validate_serving_params(dict(run.serving_params))
    except ValueError as exc:
        raise RenderError(str(exc)) from None
    vector = run.vector
    rendered: dict[str, str] = {}
    for key, value in params.items():
        where = f"serving_params.{key}"
        if key == spec.tp_param:
            raise RenderError(f"{where}: set from tp_degree ({vector.tp_degree}); change tp_degree instead")
        if key == spec.quantization_param:
            raise RenderError(f"{where}: set from quantization ({vector.quantization}); change quantization instead")
        if key in spec.contract_params:
            raise RenderError(
                f"{where}: set by the {config.name} container itself (model, host and port are fixed "
                "behind the SageMaker proxy); remove it"
            )
        if spec.allowed_params is not None and key not in spec.allowed_params:
            raise RenderError(
                f"{where}: {config.name} does not take {key!r}; it takes {', '.join(sorted(spec.allowed_params))}"
            )
        try:
            text = _text(value)
        except RenderError:
            raise RenderError(f"{where}: value must be one line without control characters") from None
        if len(text) > MAX_VALUE_LENGTH:
            raise RenderError(f"{where}: value is {len(text)} characters long; the limit is {MAX_VALUE_LENGTH}")
        rendered[key] = text
    merged = {**spec.managed_params(vector.tp_degree, vector.quantization), **rendered}
    return sorted((config.env_prefix + key.upper(), value) for key, value in merged.items())


def split_image_repo(image_repo: str) -> tuple[str, str]:
    """`123456789012.dkr.ecr.us-east-1.amazonaws.com/pathprover` -> (registry, repository); a bare
    repository name (`pathprover`, `team/pathprover`) has registry "" (the build account's ECR)."""
    first, sep, rest = image_repo.partition("/")
    if sep and ("." in first or ":" in first):
        registry, repository = first, rest
        _check_pattern("image_repo", registry, _REGISTRY, "'123456789012.dkr.ecr.us-east-1.amazonaws.com/pathprover'")
    else:
        registry, repository = "", image_repo
    _check_pattern("image_repo", repository, _IMAGE_REPO, "'pathprover' or 'team/pathprover'")
    return registry, repository


def _check_pattern(field: str, value: str, pattern: re.Pattern[str], example: str) -> str:
    if not pattern.match(value):
        raise RenderError(f"{field}: {value!r} is not valid (expected something like {example})")
    return value


# --- base images through an ECR pull-through cache ---------------------------------------------

_DOCKER_HUB_ALIASES: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


def split_image_reference(image: str) -> tuple[str, str]:
    """`<registry>/<path>[:tag][@digest]` -> (registry, path with tag/digest), Docker Hub normalised:
    `vllm/vllm-openai:v1` -> ("docker.io", "vllm/vllm-openai:v1"); `python:3` -> ("docker.io", "library/python:3")
    (an official image lives under `library/`, which the Docker Hub cache needs spelled out)."""
    if not image or _CONTROL.search(image) or " " in image:
        raise RenderError(f"base image: {image!r} is not an image reference")
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, image
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    if not path:
        raise RenderError(f"base image: {image!r} names no repository")
    return registry, path


class BaseImageRegistry:
    """Where base images are pulled from instead of their upstream: an ECR registry with pull-through cache
    rules for some upstreams (:data:`BASE_IMAGE_CACHE_PREFIXES`).

    Spelled (Settings.base_image_registry, PATHPROVER_BASE_IMAGE_REGISTRY) as the registry alone, which
    caches every upstream in the table, or `<registry>;<upstream>,<upstream>` for only those
    (the stack lists the rules it created: Docker Hub only when it was given a credential).
    """

    def __init__(self, registry: str, upstreams: frozenset[str], mirrored: frozenset[str] = frozenset()) -> None:
        self.registry = registry
        self.upstreams = upstreams
        self.mirrored = mirrored - upstreams
        """Upstreams without a cache rule whose images go through a one-time mirror in this registry
        (listed as `mirror:<upstream>`)."""

    def pull_reference(self, image: str) -> str:
        """`image` as pulled through the cache or its mirror, or unchanged when its upstream has neither."""
        upstream, path = split_image_reference(image)
        if upstream in self.upstreams:
            return f"{self.registry}/{BASE_IMAGE_CACHE_PREFIXES[upstream]}/{path}"
        if upstream in self.mirrored and "@" not in path:  # a digest-pinned parent is pulled as pinned
            return f"{self.registry}/{BASE_IMAGE_MIRROR_PREFIXES[upstream]}/{path}"
        return image

    def mirror_source(self, image: str) -> str | None:
        """Where a mirrored image is pulled from once (the upstream reference), None when not mirrored."""
        upstream, path = split_image_reference(image)
        return f"{upstream}/{path}" if upstream in self.mirrored and "@" not in path else None


def parse_base_image_registry(spec: str) -> BaseImageRegistry:
    """Parse `<registry>[;<upstream>,...]` (see :class:`BaseImageRegistry`); RenderError names the field."""
    field = "base_image_registry"
    registry, sep, listed = spec.strip().partition(";")
    registry = registry.strip().rstrip("/")
    _check_pattern(field, registry, _REGISTRY, "'123456789012.dkr.ecr.us-east-1.amazonaws.com'")
    if not sep:
        return BaseImageRegistry(registry, frozenset(BASE_IMAGE_CACHE_PREFIXES))
    entries = [u.strip() for u in listed.split(",") if u.strip()]
    mirrored = frozenset(e.removeprefix(MIRROR_SPEC_PREFIX) for e in entries if e.startswith(MIRROR_SPEC_PREFIX))
    upstreams = frozenset(e for e in entries if not e.startswith(MIRROR_SPEC_PREFIX))
    unknown = sorted(upstreams - set(BASE_IMAGE_CACHE_PREFIXES)) + sorted(
        f"{MIRROR_SPEC_PREFIX}{m}" for m in mirrored - set(BASE_IMAGE_MIRROR_PREFIXES)
    )
    if unknown:
        raise RenderError(
            f"{field}: no pull-through cache or mirror prefix for {', '.join(unknown)} "
            f"(known: {', '.join(sorted(BASE_IMAGE_CACHE_PREFIXES))}; "
            f"{', '.join(MIRROR_SPEC_PREFIX + m for m in sorted(BASE_IMAGE_MIRROR_PREFIXES))})"
        )
    return BaseImageRegistry(registry, upstreams, mirrored)


# --- deploy.json --------------------------------------------------------------------------


def _deploy_request(
    run: RunConfig,
    instance: InstanceType,
    *,
    model_source: str,
    model_s3_uri: str | None,
    max_concurrency: int,
) -> dict[str, Any]:
    """What the deploy stage sends to SageMaker, minus names, role and image (listed in `fill_in`)."""
    target = run.vector.deployment_target
    arn = run.infra_params.capacity_reservation_arn
    fill_in = [
        "CreateModel.ModelName",
        "CreateModel.ExecutionRoleArn",
        "CreateModel.PrimaryContainer.Image (the build's IMAGE_URI, pinned by IMAGE_DIGEST)",
    ]
    if has_account_placeholder(arn):
        # Never sent as written: the plan (pathprover run, the brain Lambda) puts the deploying account in.
        fill_in.append("capacity_reservation_arn: the literal ACCOUNT is the deploying account's id")
    environment = {"MODEL_SOURCE": model_source}
    container: dict[str, Any] = {"Environment": environment}
    if model_source == "s3":
        if model_s3_uri is not None:
            environment["MODEL_S3_URI"] = model_s3_uri
            container["ModelDataSource"] = {
                "S3DataSource": {
                    "S3Uri": model_s3_uri.rstrip("/") + "/",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            }
        else:
            fill_in.append("CreateModel.PrimaryContainer.ModelDataSource.S3DataSource (the staged S3 prefix)")
    request: dict[str, Any] = {
        "format": "pathprover.deploy/1",
        "config_id": run.config_id,
        "deployment_target": target,
        "instance_type": instance.name,
        "model_name": run.model_name,
        "model_source": model_source,
        "model_s3_uri": model_s3_uri,
        "capacity_reservation_arn": arn,
        "CreateModel": {"PrimaryContainer": container},
    }
    if target == "batch-transform":
        request["CreateTransformJob"] = {
            "TransformResources": {"InstanceType": instance.name, "InstanceCount": 1},
            "BatchStrategy": "SingleRecord",
            "MaxConcurrentTransforms": max_concurrency,
            "MaxPayloadInMB": BATCH_MAX_PAYLOAD_MB,
            "ModelClientConfig": {"InvocationsTimeoutInSeconds": REQUEST_TIMEOUT_S[target], "InvocationsMaxRetries": 0},
            "TransformInput": {"ContentType": "application/json", "SplitType": "Line", "CompressionType": "None"},
            "TransformOutput": {"Accept": "application/json", "AssembleWith": "Line"},
        }
        fill_in += [
            "CreateTransformJob.TransformJobName",
            "CreateTransformJob.ModelName",
            "CreateTransformJob.TransformInput.DataSource.S3DataSource.S3Uri",
            "CreateTransformJob.TransformOutput.S3OutputPath",
        ]
    else:
        variant: dict[str, Any] = {
            "VariantName": "AllTraffic",
            "InstanceType": instance.name,
            "InitialInstanceCount": 1,
            "InitialVariantWeight": 1.0,
            "ContainerStartupHealthCheckTimeoutInSeconds": STARTUP_TIMEOUT_S,
            "ModelDataDownloadTimeoutInSeconds": STARTUP_TIMEOUT_S,
        }
        if arn is not None:
            # CreateEndpointConfig: ProductionVariants[].CapacityReservationConfig takes the training
            # plan / ML capacity reservation ARN as MlReservationArn.
            variant["CapacityReservationConfig"] = {
                "CapacityReservationPreference": "capacity-reservations-only",
                "MlReservationArn": arn,
            }
        endpoint_config: dict[str, Any] = {"ProductionVariants": [variant]}
        fill_in += [
            "CreateEndpointConfig.EndpointConfigName",
            "CreateEndpointConfig.ProductionVariants[0].ModelName",
            "CreateEndpoint.EndpointName",
        ]
        if target == "async-inference":
            endpoint_config["AsyncInferenceConfig"] = {
                "ClientConfig": {"MaxConcurrentInvocationsPerInstance": max_concurrency}
            }
            fill_in.append("CreateEndpointConfig.AsyncInferenceConfig.OutputConfig.S3OutputPath")
        request["CreateEndpointConfig"] = endpoint_config
    request["fill_in"] = fill_in
    return request


def _json_bytes(payload: Any) -> bytes:
    return (json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


# --- the bundle ---------------------------------------------------------------------------


def check_run(run: RunConfig, catalog: Catalog) -> None:
    """Everything :func:`render_bundle` checks before any template runs, without rendering.

    The plan calls it for every explicit target, so an engine that cannot take the quantization, a
    serving_params key the engine refuses or a target the stack does not offer is refused before a
    lease or a reservation is taken (not at the generate stage, against a real config).
    Raises :class:`RenderError` or :class:`~pathprover.catalog.CatalogError` naming the field.
    """
    _checked(run, catalog)


def _checked(
    run: RunConfig, catalog: Catalog
) -> tuple[DeploymentConfig, InstanceType, ModelSpec, EngineSpec, list[tuple[str, str]], dict[str, Any] | None]:
    vector = run.vector
    target = vector.deployment_target
    config = catalog.deployment_config(vector.deployment_config)
    if target not in config.targets:
        raise RenderError(
            f"deployment_target: {config.name} does not offer {target!r} (it offers {', '.join(config.targets)})"
        )
    instance = catalog.instance(run.instance_type)
    model = catalog.model(run.model_name)
    if config.quantization_rule(vector.quantization) is None:
        raise RenderError(
            f"quantization: {config.name} cannot run {vector.quantization!r} "
            f"(it runs {', '.join(config.quantizations)})"
        )
    if vector.tp_degree > instance.max_tp_degree:
        raise RenderError(
            f"tp_degree: {vector.tp_degree} exceeds the {instance.max_tp_degree} accelerators of {instance.name}"
        )
    spec = engine_spec(config.engine)
    serving_env = serving_environment(run, config, spec)
    lora_ctx: dict[str, Any] | None = None
    if run.serves_adapter:
        # The same image serves the base model (deploy) and, when the deploy names an adapter, the adapter too.
        refusal = config.lora_refusal(model, instance, run.tuning.lora_rank if run.tuning else None)
        if refusal is not None:
            raise RenderError(f"{'tuning' if run.tuning else 'adapter_s3_uri'}: {refusal}")
        assert config.lora is not None
        lora_ctx = {
            "rank_choices": [str(choice) for choice in config.lora.rank_choices],
            "adapter_dir": ADAPTER_DIR,
            "name_env": ADAPTER_NAME_ENV,
        }
    arn = run.infra_params.capacity_reservation_arn
    if arn is not None and target == "batch-transform":
        raise RenderError(
            "infra_params.capacity_reservation_arn: batch-transform jobs cannot use a capacity reservation "
            "(CreateTransformJob has no CapacityReservationConfig); use realtime-inference or async-inference"
        )
    return config, instance, model, spec, serving_env, lora_ctx


def render_bundle(
    run: RunConfig,
    catalog: Catalog,
    *,
    image_repo: str = "pathprover",
    model_s3_uri: str | None = None,
    hf_token_secret: str = DEFAULT_HF_TOKEN_SECRET,
    benchmark_base_image: str = BENCHMARK_BASE_IMAGE,
    templates_dir: Path | None = None,
    base_image_registry: str | None = None,
) -> Bundle:
    """Render every file `run` needs into a :class:`Bundle` (same inputs -> same digest).

    `model_s3_uri` is the prefix the weights are staged under; it is only meaningful (and only
    accepted) when `run.stages` includes "stage". `base_image_registry` (see :class:`BaseImageRegistry`)
    makes the Dockerfiles pull their parent images through that ECR registry's pull-through cache instead
    of anonymously from Docker Hub / ECR Public / Quay; None (the default, and local use) pulls them from
    the upstream. Raises :class:`RenderError` (a ValueError) or :class:`~pathprover.catalog.CatalogError`
    naming the field, before any template runs.
    """
    vector = run.vector
    target = vector.deployment_target
    config, instance, model, spec, serving_env, lora_ctx = _checked(run, catalog)
    base_image = config.image_for(instance.accelerator_kind)
    registry, repository = split_image_repo(image_repo)
    cache = parse_base_image_registry(base_image_registry) if base_image_registry else None
    pulled_base_image = cache.pull_reference(base_image) if cache else base_image
    pulled_benchmark_image = cache.pull_reference(benchmark_base_image) if cache else benchmark_base_image
    _check_pattern("hf_token_secret", hf_token_secret, _SECRET_ID, "'pathprover/huggingface-token'")
    # A gated model is always deployed from staged weights: the token stays in Secrets Manager (read by the
    # stage build), never in CreateModel's environment, where DescribeModel would show it.
    staged = "stage" in run.stages or model.gated
    if model_s3_uri is not None:
        _check_pattern("model_s3_uri", model_s3_uri, _S3_URI, "'s3://bucket/models/Qwen/Qwen3-32B'")
        if not staged:
            raise RenderError(
                "model_s3_uri: only used when the weights are pre-staged to S3 "
                "(stages include 'stage', or the model is gated)"
            )
    model_source = "s3" if staged else "hub"
    max_concurrency = max(run.benchmark.concurrency_levels)

    run_ctx = {
        "config_id": run.config_id,
        "model_name": model.name,
        "instance_type": instance.name,
        "deployment_config": config.name,
        "deployment_target": target,
        "quantization": vector.quantization,
        "tp_degree": vector.tp_degree,
    }
    engine_ctx = {
        "name": spec.name,
        "template": spec.template,
        "flag_style": spec.flag_style,
        "server": spec.server,
        "health_path": spec.health_path,
    }
    dockerfile_env: list[tuple[str, str]] = [
        ("PATHPROVER_ENGINE", spec.name),
        ("PATHPROVER_ENV_PREFIX", config.env_prefix),
        ("PATHPROVER_CONFIG_ID", run.config_id),
        ("PATHPROVER_MODEL_ID", model.name),
        ("PATHPROVER_DEPLOYMENT_TARGET", target),
    ]
    if spec.server == "proxy":
        dockerfile_env.append(("PATHPROVER_ENGINE_PORT", str(ENGINE_PORT)))
    dockerfile_env.append(("MODEL_SOURCE", model_source))
    if model_s3_uri is not None:
        dockerfile_env.append(("MODEL_S3_URI", model_s3_uri))
    dockerfile_env += serving_env
    labels = [
        ("io.pathprover.config-id", run.config_id),
        ("io.pathprover.deployment-config", config.name),
        ("io.pathprover.deployment-target", target),
        ("io.pathprover.model", model.name),
        ("io.pathprover.instance-type", instance.name),
        ("io.pathprover.base-image", base_image),
    ]
    base: dict[str, Any] = {
        "run": run_ctx,
        "engine": engine_ctx,
        "env_prefix": config.env_prefix,
        "base_image": pulled_base_image,
        "accelerator_kind": instance.accelerator_kind,
        "serving_env": serving_env,
        "engine_contract_params": sorted(spec.contract_params),
        "dockerfile_env": dockerfile_env,
        "labels": labels,
        "request_timeout_s": REQUEST_TIMEOUT_S[target],
        "batch": {"max_concurrent_transforms": max_concurrency, "max_payload_mb": BATCH_MAX_PAYLOAD_MB},
        "lora": lora_ctx,
    }
    env = template_environment(templates_dir)

    def render(name: str, **extra: Any) -> bytes:
        return env.get_template(name).render({**base, **extra}).encode("utf-8")

    files: dict[str, bytes] = {
        "serving/Dockerfile": render("serving/Dockerfile.j2"),
        "serving/start.sh": render("serving/start.sh.j2"),
        "serving/serve.py": render("serving/serve.py.j2"),
    }
    serving_tag = f"{run.config_id}-{Bundle(files).subtree_digest('serving')[:12]}"
    files["buildspec/build.yml"] = render(
        "buildspec/build.yml.j2",
        build={
            "purpose": "serving",
            "context_dir": "serving",
            "registry": registry,
            "image_repo": repository,
            "repo_uri_var": "IMAGE_REPO_URI",
            "image_tag": serving_tag,
            "tag_source": "config_id + sha256 of serving/",
            "base_registry": _cache_registry(cache, base_image, pulled_base_image),
            "mirror_from": cache.mirror_source(base_image) if cache else None,
            "mirror_to": pulled_base_image,
        },
    )
    images: dict[str, Any] = {
        "serving": {
            "registry": registry or None,
            "repository": repository,
            "tag": serving_tag,
            "context": "serving",
            "buildspec": "buildspec/build.yml",
        }
    }
    if staged:
        stage_ctx = {
            "model_id": model.name,
            "revision": "main",
            "gated": model.gated,
            "s3_uri": model_s3_uri or "",
            "hf_token_secret": hf_token_secret,
        }
        files["buildspec/stage.yml"] = render("buildspec/stage.yml.j2", stage=stage_ctx)
        files["buildspec/stage.sh"] = render("buildspec/stage.sh.j2", stage=stage_ctx)
    benchmarked = "benchmark" in run.stages and target == "realtime-inference"
    if benchmarked:
        workload = run.benchmark
        bench_ctx = {
            "base_image": pulled_benchmark_image,
            "concurrency": [str(level) for level in workload.concurrency_levels],
            "requests_per_level": workload.requests_per_level,
            "input_tokens": workload.input_tokens,
            "output_tokens": workload.output_tokens,
            "seed": workload.seed,
            "price_per_hour": instance.price_per_hour_usd,
        }
        files["benchmark/Dockerfile"] = render("benchmark/Dockerfile.j2", benchmark=bench_ctx)
        bench_repo = f"{repository}-benchmark"
        files["benchmark/run.yml"] = render("benchmark/run.yml.j2", benchmark=bench_ctx)
        images["benchmark"] = {
            "registry": registry or None,
            "repository": bench_repo,
            # One runner image per stack, one tag scheme: the CDK app zips this Dockerfile with the pathprover
            # wheel, and the pathprover-runner-image project pushes it as runner-<sha256 of that zip>[:12] (at
            # deploy; or the first prove that finds it missing). The benchmark project runs in that tag.
            "tag": "runner-<sha256 of the runner source zip>[:12]",
            "context": "benchmark",
            "built_by": "the pathprover-runner-image CodeBuild project",
            "run_buildspec": "benchmark/run.yml",
        }
    files["deploy.json"] = _json_bytes(
        _deploy_request(
            run,
            instance,
            model_source=model_source,
            model_s3_uri=model_s3_uri,
            max_concurrency=max_concurrency,
        )
    )
    manifest: dict[str, Any] = {
        "format": "pathprover.bundle/1",
        "config_id": run.config_id,
        "run_config_hash": run.run_config_hash,
        "run_config": run.model_dump(mode="json"),
        "engine": spec.name,
        "accelerator_kind": instance.accelerator_kind,
        "base_image": base_image,
        "env_prefix": config.env_prefix,
        "serving_env": dict(serving_env),
        "model_source": model_source,
        "model_s3_uri": model_s3_uri,
        "images": images,
        "stage_buildspec": "buildspec/stage.yml" if staged else None,
        "benchmark": {"rendered": benchmarked, "reason": None if benchmarked else _no_benchmark_reason(run)},
        "lora": None if lora_ctx is None else {"adapter_dir": ADAPTER_DIR, "name_env": ADAPTER_NAME_ENV},
    }
    if pulled_base_image != base_image:
        manifest["base_image_pull"] = pulled_base_image  # only when a cache is used: unchanged bundles otherwise
    files["run.json"] = _json_bytes(manifest)
    return Bundle(files)


def _cache_registry(cache: BaseImageRegistry | None, image: str, pulled: str) -> str | None:
    """The registry a build must log in to for its parent image: the cache's, when the image comes through it."""
    return cache.registry if cache is not None and pulled != image else None


def _no_benchmark_reason(run: RunConfig) -> str:
    if "benchmark" not in run.stages:
        return "not requested: stages do not include 'benchmark'"
    return (
        f"not rendered: `pathprover loadgen` drives streaming real-time endpoints; "
        f"{run.vector.deployment_target} has none"
    )
