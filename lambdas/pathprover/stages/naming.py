"""Names Path Prover gives what it creates: SageMaker resource names, the standard tags, S3 URIs and the
UTC timestamps tags carry. Deterministic and pure: a retried task finds what it made, and the janitor reads
back what the tags say."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, field_validator

NAME_PREFIX: Final = "pp-"
SAGEMAKER_NAME: Final = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
SAGEMAKER_NAME_MAX: Final = 63

TAG_MANAGED_BY: Final = "managed-by"
TAG_MANAGED_BY_VALUE: Final = "path-prover"
TAG_EXECUTION: Final = "pathprover:execution"
TAG_CONFIG_ID: Final = "pathprover:config_id"
TAG_EXPIRY: Final = "pathprover:expiry"
TAG_STACK: Final = "pathprover:stack"
"""The deployment (CloudFormation stack) that made a resource: a janitor deletes only its own stack's."""
_TAG_CHARS: Final = re.compile(r"[^\w .:/=+\-@]")
_TAG_VALUE_MAX: Final = 256
_TAG_KEY_MAX: Final = 128

_S3_URI: Final = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.*)$")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``; raises ``ValueError`` for anything else."""
    match = _S3_URI.match(uri)
    if match is None:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    return match.group("bucket"), match.group("key")


def utc_iso(moment: datetime) -> str:
    """ISO-8601 UTC with a ``Z`` suffix and whole seconds (a valid tag value)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tag_value(value: str) -> str:
    return _TAG_CHARS.sub("_", value)[:_TAG_VALUE_MAX]


def tag_value(value: str) -> str:
    """``value`` as Path Prover writes it into a tag (characters tags refuse become ``_``; at most 256)."""
    return _tag_value(value)


def parse_utc_iso(value: str | None) -> datetime | None:
    """The inverse of :func:`utc_iso` (also accepts other ISO-8601 spellings); None if absent or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def standard_tags(execution_id: str, config_id: str, expiry: datetime, stack: str | None = None) -> dict[str, str]:
    """The tags every resource Path Prover creates carries (the janitor and cost reports use them).

    ``stack`` (the deployment's stack, ``Settings.stack``) adds ``pathprover:stack``: with it a janitor
    leaves another deployment's resources alone. None (a local run, or a deployment before the tag) adds
    nothing.
    """
    tags = {
        TAG_MANAGED_BY: TAG_MANAGED_BY_VALUE,
        TAG_EXECUTION: _tag_value(execution_id),
        TAG_CONFIG_ID: _tag_value(config_id),
        TAG_EXPIRY: utc_iso(expiry),
    }
    if stack:
        tags[TAG_STACK] = _tag_value(stack)
    return tags


def merge_tags(
    extra: dict[str, str], execution_id: str, config_id: str, expiry: datetime, stack: str | None = None
) -> dict[str, str]:
    """Caller tags plus the standard ones; the standard tags win."""
    merged = {k[:_TAG_KEY_MAX]: _tag_value(v) for k, v in extra.items()}
    merged.update(standard_tags(execution_id, config_id, expiry, stack))
    return merged


class ResourceNames(BaseModel):
    """SageMaker names of one prove's resources: deterministic, so a retried task finds what it made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    endpoint_config: str
    endpoint: str
    transform_job: str
    training_job: str

    @field_validator("*")
    @classmethod
    def _valid(cls, value: str) -> str:
        if len(value) > SAGEMAKER_NAME_MAX or not SAGEMAKER_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid SageMaker resource name")
        return value


def resource_names(execution_id: str, config_id: str, attempt: int, variant: str = "") -> ResourceNames:
    """Names derived from sha256(execution, config, attempt, variant), prefixed ``pp-``.

    ``variant`` separates a second deployment of the same prove (``"adapter"``
    for the tuned model). The first characters of the config id are kept
    (alphanumerics only) so a person can tell resources apart in the console.
    """
    payload = json.dumps([execution_id, config_id, int(attempt), variant], separators=(",", ":"))
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
    slug = re.sub(r"[^a-z0-9]", "", config_id.lower())[:12]
    stem = f"{NAME_PREFIX}{slug}-{digest}" if slug else f"{NAME_PREFIX}{digest}"
    return ResourceNames(
        model=f"{stem}-m",
        endpoint_config=f"{stem}-ec",
        endpoint=f"{stem}-ep",
        transform_job=f"{stem}-bt",
        training_job=f"{stem}-tr",
    )
