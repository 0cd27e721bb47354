"""The app's switches, read once from CDK context (`-c Key=Value` or cdk.json) and validated.

A wrong value fails synthesis with a message naming the context key, before any
resource is defined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Stack
from constructs import IConstruct, Node
from pydantic import ValidationError

from infra import constants as C
from pathprover.workflow.models import WorkflowInput

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})
_SCHEDULE = re.compile(
    r"^(rate\(\s*[1-9][0-9]*\s+(minute|minutes|hour|hours|day|days)\s*\)"
    r"|cron\(\s*\S+(\s+\S+){5}\s*\))$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LAYER_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PTC_SECRET_NAME = re.compile(rf"^{re.escape(C.DOCKER_HUB_CREDENTIAL_PREFIX)}[A-Za-z0-9/_+=.@-]+$")
_PTC_SECRET_ARN = re.compile(
    rf"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{{12}}:secret:{re.escape(C.DOCKER_HUB_CREDENTIAL_PREFIX)}"
    r"[A-Za-z0-9/_+=.@-]+$"
)
_S3_LOCATION = re.compile(
    # Bucket names are 3-63 characters in AWS; a shorter one (e.g. the docs' s3://x/y/) still synthesizes.
    r"^s3://(?P<bucket>[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?)/(?P<prefix>(?:[A-Za-z0-9!_.'()=-]+/)+)$"
)


class ConfigError(ValueError):
    """A context value is invalid."""


def _flag(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"-c {key}={value!r}: expected true or false")


def _optional(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def schedule_expression(key: str, value: Any) -> str | None:
    """A valid EventBridge rate(...) or cron(...) expression, or None when the key is unset."""
    text = _optional(value)
    if text is None:
        return None
    if not _SCHEDULE.match(text):
        raise ConfigError(
            f'-c {key}={text!r}: expected an EventBridge schedule such as "rate(1 day)", "rate(12 hours)" '
            'or "cron(0 6 * * ? *)"'
        )
    return re.sub(r"\s+", " ", text)


def schedule_input(max_proves: Any, max_cost: Any) -> dict[str, int | float]:
    """The execution input a scheduled run starts with, checked by the workflow's own input model."""
    raw: dict[str, Any] = {
        C.INPUT_MAX_PROVES: C.DEFAULT_MAX_PROVES if _optional(max_proves) is None else max_proves,
        C.INPUT_MAX_COST: C.DEFAULT_MAX_COST if _optional(max_cost) is None else max_cost,
    }
    try:
        proves = int(str(raw[C.INPUT_MAX_PROVES]).strip())
        cost = float(str(raw[C.INPUT_MAX_COST]).strip())
        parsed = WorkflowInput.model_validate({C.INPUT_MAX_PROVES: proves, C.INPUT_MAX_COST: cost})
    except (ValueError, ValidationError) as exc:
        raise ConfigError(
            f"-c {C.CTX_MAX_PROVES} / -c {C.CTX_MAX_COST}: not a valid execution input ({raw}): {exc}"
        ) from exc
    cost_value: int | float = int(parsed.MAX_COST_PER_RUN) if parsed.MAX_COST_PER_RUN.is_integer() else cost
    return {C.INPUT_MAX_PROVES: parsed.MAX_PROVES_PER_RUN, C.INPUT_MAX_COST: cost_value}


@dataclass(frozen=True)
class TableLocation:
    """Where an existing table's files are: `s3://<bucket>/<prefix>` (prefix ends with '/')."""

    bucket: str
    prefix: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def table_location(use_existing: Any, location: Any) -> TableLocation | None:
    """The existing table's location with -c UseExistingBenchmarkTable=true, else None (the stack creates it)."""
    use = _flag(C.CTX_USE_EXISTING_TABLE, use_existing)
    text = _optional(location)
    if not use:
        if text is not None:
            raise ConfigError(
                f"-c {C.CTX_TABLE_LOCATION} is only used with -c {C.CTX_USE_EXISTING_TABLE}=true "
                "(without it the stack creates the table in its own results bucket)"
            )
        return None
    if text is None:
        raise ConfigError(
            f"-c {C.CTX_USE_EXISTING_TABLE}=true needs the existing table's S3 location: "
            f"-c {C.CTX_TABLE_LOCATION}=s3://<bucket>/{C.TABLE_PREFIX} (the table's StorageDescriptor.Location: "
            f"aws glue get-table --database-name {C.GLUE_DATABASE} --name {C.GLUE_TABLE} "
            "--query Table.StorageDescriptor.Location)"
        )
    match = _S3_LOCATION.match(text if text.endswith("/") else text + "/")
    if match is None:
        raise ConfigError(f"-c {C.CTX_TABLE_LOCATION}={text!r}: expected s3://<bucket>/<prefix>/")
    return TableLocation(bucket=match["bucket"], prefix=match["prefix"])


@dataclass(frozen=True)
class HarnessConfig:
    create_path_prover: bool
    schedule: str | None
    schedule_input: dict[str, int | float]
    pandas_layer_arn: str | None
    benchmark_image_tag: str | None
    """None: the content-addressed runner tag (runner-<sha12 of its source>); set only to pin one."""
    hf_token_secret: str
    alarm_email: str | None
    strict_bundling: bool
    existing_table: TableLocation | None = None
    """Set with -c UseExistingBenchmarkTable=true: the stack creates no Glue database or table."""
    docker_hub_credential: str | None = None
    """Name or ARN of the `ecr-pullthroughcache/...` secret for the Docker Hub cache rule (None: no rule)."""
    names: C.Names = field(default_factory=C.Names)
    """-c PathProverName: every physical name of this deployment (default: today's names)."""

    @property
    def shares_tables(self) -> bool:
        """A named deployment on an existing table shares another deployment's results and levels tables
        (it creates neither); the default deployment on an existing table still creates the levels table."""
        return self.existing_table is not None and self.names.deployment is not None

    @classmethod
    def from_node(cls, node: Node) -> HarnessConfig:
        return cls.from_mapping({key: node.try_get_context(key) for key in _KEYS})

    @classmethod
    def from_mapping(cls, ctx: dict[str, Any]) -> HarnessConfig:
        from pathprover.generate.render import DEFAULT_HF_TOKEN_SECRET

        create = _flag(C.CTX_CREATE_PATH_PROVER, ctx.get(C.CTX_CREATE_PATH_PROVER))
        schedule = schedule_expression(C.CTX_SCHEDULE, ctx.get(C.CTX_SCHEDULE))
        if schedule and not create:
            raise ConfigError(f"-c {C.CTX_SCHEDULE} needs -c {C.CTX_CREATE_PATH_PROVER}=true (nothing to schedule)")
        layer = _optional(ctx.get(C.CTX_PANDAS_LAYER_ARN))
        if layer is not None and not _LAYER_ARN.match(layer):
            raise ConfigError(f"-c {C.CTX_PANDAS_LAYER_ARN}={layer!r}: expected a Lambda layer version ARN")
        tag = _optional(ctx.get(C.CTX_BENCHMARK_IMAGE_TAG))
        if tag is not None and not _IMAGE_TAG.match(tag):
            raise ConfigError(f"-c {C.CTX_BENCHMARK_IMAGE_TAG}={tag!r}: not a valid image tag")
        secret = _optional(ctx.get(C.CTX_HF_TOKEN_SECRET)) or DEFAULT_HF_TOKEN_SECRET
        if not _SECRET_NAME.match(secret):
            raise ConfigError(f"-c {C.CTX_HF_TOKEN_SECRET}={secret!r}: not a Secrets Manager secret name")
        email = _optional(ctx.get(C.CTX_ALARM_EMAIL))
        if email is not None and not _EMAIL.match(email):
            raise ConfigError(f"-c {C.CTX_ALARM_EMAIL}={email!r}: not an e-mail address")
        existing_table = table_location(ctx.get(C.CTX_USE_EXISTING_TABLE), ctx.get(C.CTX_TABLE_LOCATION))
        docker_hub = _optional(ctx.get(C.CTX_DOCKER_HUB_CREDENTIAL))
        if docker_hub is not None and not (_PTC_SECRET_NAME.match(docker_hub) or _PTC_SECRET_ARN.match(docker_hub)):
            raise ConfigError(
                f"-c {C.CTX_DOCKER_HUB_CREDENTIAL}={docker_hub!r}: expected the name or ARN of a Secrets Manager "
                f"secret whose name starts with {C.DOCKER_HUB_CREDENTIAL_PREFIX!r} (ECR reads pull-through cache "
                "credentials only from such secrets)"
            )
        deployment = _optional(ctx.get(C.CTX_NAME))
        if deployment is not None and not C.DEPLOYMENT_NAME.match(deployment):
            raise ConfigError(
                f"-c {C.CTX_NAME}={deployment!r}: expected 1-12 lower-case letters and digits, starting with a "
                "letter (it scopes every physical name: pathprover-<name>-brain, mlcc-path-prover-<name>, ...)"
            )
        bundling = (_optional(ctx.get(C.CTX_BUNDLING)) or C.DEFAULT_BUNDLING).lower()
        if bundling not in ("pip", "strict"):
            raise ConfigError(f"-c {C.CTX_BUNDLING}={bundling!r}: expected pip or strict")
        return cls(
            create_path_prover=create,
            schedule=schedule,
            schedule_input=schedule_input(ctx.get(C.CTX_MAX_PROVES), ctx.get(C.CTX_MAX_COST)),
            pandas_layer_arn=layer,
            benchmark_image_tag=tag,
            hf_token_secret=secret,
            alarm_email=email,
            strict_bundling=bundling == "strict",
            existing_table=existing_table,
            docker_hub_credential=docker_hub,
            names=C.Names(deployment),
        )


_KEYS = (
    C.CTX_CREATE_PATH_PROVER,
    C.CTX_SCHEDULE,
    C.CTX_MAX_PROVES,
    C.CTX_MAX_COST,
    C.CTX_PANDAS_LAYER_ARN,
    C.CTX_BENCHMARK_IMAGE_TAG,
    C.CTX_HF_TOKEN_SECRET,
    C.CTX_ALARM_EMAIL,
    C.CTX_BUNDLING,
    C.CTX_USE_EXISTING_TABLE,
    C.CTX_TABLE_LOCATION,
    C.CTX_DOCKER_HUB_CREDENTIAL,
    C.CTX_NAME,
)


def names_of(scope: IConstruct) -> C.Names:
    """The physical names of the deployment ``scope`` belongs to (its stack's -c PathProverName)."""
    config = getattr(Stack.of(scope), "config", None)
    return config.names if isinstance(config, HarnessConfig) else C.Names()
