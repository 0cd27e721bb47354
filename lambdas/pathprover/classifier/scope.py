"""Who is at fault for a failure: the configuration, the account, or this deployment (the harness).

The category says *what* went wrong (one of the guide's six, or ``unknown``);
the scope says *whose* it is, and only a ``config`` failure may become a
permanent ``unfeasible`` verdict:

* ``account`` — the account's state: quotas and limits (two lanes racing for
  the same quota included), permissions, service control policies, opt-in
  regions, unverified or suspended accounts. Retrying the config cannot help
  until a person changes the account, but the config is not at fault either.
* ``harness`` — this deployment or its own code: its images, secrets, roles,
  CodeBuild projects and buckets; a resource removed under a running prove; an
  internal exception of Path Prover itself; an AWS control-plane hiccup
  (throttling, an internal error) on a call the harness made.
* ``config`` — everything else: the model, engine, instance type, quantization,
  tp degree or target (OOM, an unsupported architecture, an instance type the
  API does not offer for this feature, a stock-out of this instance type).

The judgement uses the message *and* where the failure happened
(:data:`FailureOrigin`): a Python ``KeyError`` raised by the serving container
is the config's code bug, the same ``KeyError`` raised by a Path Prover Lambda
is the harness's. Patterns are checked in the order account, harness; the first
family that matches decides, and the origin decides when no pattern does.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from typing import Final, Literal

from pathprover.core.records import FailureScope

FailureOrigin = Literal["job", "api", "harness", "deadline"]
"""Where a failure was seen.

``job``: a job or resource the prove started reported it (a SageMaker
``FailureReason``, container logs, a CodeBuild phase context); ``api``: a cloud
API call of the harness was refused (``CreateEndpoint`` answered an error);
``harness``: Path Prover's own code or checks (a task crashed, a result file is
missing); ``deadline``: the harness's own stage deadline or budget stopped it.
"""

ORIGINS: Final[tuple[FailureOrigin, ...]] = typing.get_args(FailureOrigin)


def normalise_origin(origin: str | None) -> FailureOrigin | None:
    """Validate an origin name (None or empty: not known)."""
    if origin is None or not origin.strip():
        return None
    key = origin.strip().lower()
    for known in ORIGINS:
        if key == known:
            return known
    raise ValueError(f"unknown origin {origin!r}; expected one of {', '.join(ORIGINS)}")


_FLAGS: Final = re.IGNORECASE


@dataclass(frozen=True)
class ScopeRule:
    """One scope pattern: which scope it proves, and what to tell the operator."""

    id: str
    scope: FailureScope
    pattern: re.Pattern[str]
    action: str
    not_from: frozenset[str] = frozenset()
    """Origins the rule does not apply to (a 500 in a container's answer is the container's, not AWS's)."""


def _scope_rule(
    rule_id: str, scope: FailureScope, regex: str, action: str, not_from: frozenset[str] = frozenset()
) -> ScopeRule:
    return ScopeRule(rule_id, scope, re.compile(regex, _FLAGS), action, not_from)


SCOPE_RULES: Final[tuple[ScopeRule, ...]] = (
    # ------------------------------------------------------------------ account
    _scope_rule(
        "account.quota",
        "account",
        r"\b(?:ResourceLimitExceeded|VcpuLimitExceeded|AccountLimitExceeded\w*|ServiceQuotaExceeded\w*"
        r"|InstanceLimitExceeded|LimitExceededException|QuotaExceeded\w*)\b"
        r"|\b(?!(?:Request|Rate|CallerRate|Throughput|Throttling)LimitExceeded)[A-Za-z0-9]+(?:Limit|Quota)Exceeded\w*\b"
        r"|\baccount-level service limit\b|\bservice limits? (?:were |was |is )?exceeded\b"
        r"|\bquota (?:has been |was |is )?(?:exceeded|reached|exhausted)\b|\bexceeded (?:your|the) (?:\w+ )?quota\b"
        r"|\bquota\b.{0,80}?\b(?:is|of) 0\b|\bis 0 Instances\b"
        r"|\brequest an (?:increase|adjustment) (?:for|to) this limit\b|\bService Quotas\b"
        r"|\bcannot have more than \d+\b.{0,80}?\b(?:for|per|in) (?:the |this |your )?account\b"
        r"|\b(?:max(?:imum)?|instance|spot|vcpu)\b[\w ]{0,30}?\b(?:count|limit) (?:was |has been )?exceeded\b",
        "raise the account quota named in the message (Service Quotas console), or lower PARALLEL_LANES",
    ),
    _scope_rule(
        "account.permission",
        "account",
        r"\b\w*AccessDenied\w*\b|\bnot authorized to perform\b|\bUnauthorizedOperation\b"
        r"|\bexplicit deny\b|\bservice control polic(?:y|ies)\b|\bSCP\b|\bpermissions boundary\b"
        r"|\bis not authorized to\b|\bInsufficient permissions?\b|\bdoes not have (?:the )?(?:required )?permissions?\b"
        r"|\bAuthorizationError\b|\bAuthFailure\b",
        "grant the missing permission to the Path Prover role, or lift the policy that denies it",
    ),
    _scope_rule(
        "account.credentials",
        "account",
        r"\bExpiredToken\w*\b|\bInvalidClientTokenId\b|\bUnrecognizedClientException\b"
        r"|\bsecurity token included in the request is (?:expired|invalid)\b|\bSignatureDoesNotMatch\b",
        "refresh or fix the account's credentials",
    ),
    _scope_rule(
        "account.opt_in",
        "account",
        r"\bOptInRequired\b|\bPendingVerification\b|\bnot subscribed to\b|\bSubscriptionRequired\w*\b"
        r"|\baccount (?:is )?(?:not (?:yet )?(?:enabled|activated|verified)|suspended|blocked)\b"
        r"|\bregion (?:is )?(?:not|disabled) (?:enabled|opted[- ]in)\b|\bnot opted in\b"
        r"|\bnot (?:supported|enabled|available) for (?:this|your) account\b",
        "enable the region or service for the account, or finish the account's verification",
    ),
    _scope_rule(
        "account.gated_model",
        "account",
        r"\bgated repo\b|\bGatedRepoError\b|\bAccess to model \S+ is restricted\b"
        r"|\bYou must have access to it and be authenticated\b|\bPlease log in\b.{0,40}\baccess\b",
        "accept the model's licence on the Hugging Face Hub with the account of the stored token",
    ),
    # ------------------------------------------------------------------ harness
    _scope_rule(
        "harness.missing_image",
        "harness",
        r"\bmanifest (?:for \S+ )?(?:unknown|not found)\b|\brepository does not exist\b"
        r"|\bRepositoryNotFoundException\b|\bRequested image\b.{0,200}?\bnot found\b|\bimage does not exist\b"
        r"|\bCannotPullContainerError\b|\bUnable to pull (?:customer's )?container image\b"
        r"|\bCLIENT_ERROR\b.{0,300}?\b(?:pull|image|manifest|docker|registry|ECR)\b"
        r"|\bImagePullBackOff\b|\bErrImagePull\b|\bname unknown\b|\binvalid reference format\b",
        "build and push the harness image the message names (see docs/deploy.md), then prove again",
    ),
    _scope_rule(
        "harness.missing_secret",
        "harness",
        r"\bSecrets Manager can(?:'|no)t find the specified secret\b|\bsecret\b.{0,80}?\b(?:not found|does not exist)\b"
        r"|\b(?:HF_TOKEN|HUGGING_FACE_HUB_TOKEN|HF_HUB_TOKEN)\b.{0,60}?\b(?:not set|missing|empty|required)\b"
        r"|\bResourceNotFoundException\b.{0,200}?\bsecret\b|\bDecryptionFailure\b|\bKMS\b.{0,60}?\bdisabled\b",
        "create or fix the secret the harness reads (e.g. the Hugging Face token), then prove again",
    ),
    _scope_rule(
        "harness.resource_gone",
        "harness",
        r"\bno longer exists\b|\bwas deleted\b|\bhas been deleted\b"
        r"|\bCould not find (?:endpoint|endpoint configuration|model|training job|transform job)\b"
        r"|\b(?:Endpoint|Endpoint configuration|Training job|Transform job|Build|Project|Bucket|Execution)\b"
        r"[^.\n]{0,120}?\bdoes not exist\b"
        r"|\bNoSuchBucket\b|\bThe specified bucket does not exist\b"
        r"|\bResourceNotFoundException\b.{0,200}?\b(?:project|build|state machine|execution|table|function)\b"
        r"|\bCannot create already existing\b|\bResourceInUse\b|\bCodeBuild build \S+ not found\b",
        "a resource the prove relies on was removed or replaced under it (janitor, operator, another "
        "deployment): check the janitor's grace and the resource tags",
    ),
    _scope_rule(
        # The model directory the harness stages for the container (/opt/ml/model, from the pre-staging stage
        # and the deploy request's ModelDataSource) is missing or incomplete: the staging's fault, not the model's.
        "harness.staged_model",
        "harness",
        r"\bCan't load (?:the )?\w+ for '/opt/ml/model\b|/opt/ml/model\S* (?:has no|does not contain|is empty)\b"
        r"|\bNo such file or directory: '/opt/ml/model\b|\bmust set PrimaryContainer\.ModelDataSource\b"
        # SageMaker fetching the model data the harness staged (ModelDataUrl / ModelDataSource)
        r"|\bFailed to (?:download|extract) model data\b|\bCould not find model data\b",
        "the staged model directory (/opt/ml/model) is missing files: check the pre-staging stage's copy and the "
        "deploy request's ModelDataSource, then prove again",
    ),
    _scope_rule(
        # The service refuses this deployment's own resources, not the configuration: a bucket in another
        # region than the service that reads it, a Lambda function on a runtime the service has retired.
        "harness.own_resources",
        "harness",
        r"\bmust be in the same region(?:al location)?\b"
        r"|\bruntime parameter of \S+ is no longer supported\b|\bno longer supported for creating or updating\b"
        # Lambda's fixed package size limit, hit by this deployment's own function (no quota can raise it).
        r"|\bUnzipped size must be smaller than\b",
        "a resource of this deployment is refused by the service (a bucket in another region, a function on a "
        "retired runtime): move or redeploy it (see docs/deploy.md), then prove again",
    ),
    _scope_rule(
        "harness.tune_plumbing",
        "harness",
        r"\bsagemaker_(?:program|submit_directory)\b|/opt/ml/code/train\.py\b|\bsource directory tarball\b"
        r"|\badditional model data source\b|\bhas no adapter_config\.json\b|\bdoes not serve the adapter\b",
        "the tune stage's own plumbing failed (the training job's script-mode source, the adapter's S3 location, "
        "the adapter channel or flags of the serving container): fix the harness or the adapter_s3_uri, then "
        "prove again",
    ),
    _scope_rule(
        "harness.control_plane",
        "harness",
        r"(?<![A-Za-z])Throttl(?:ing|ed)(?:Exception)?\b|\bRate exceeded\b|\bTooManyRequestsException\b"
        r"|\bRequestLimitExceeded\b|\bInternalFailure\b|\bInternalServerError\b|\bInternalServerException\b"
        r"|\bServiceUnavailable(?:Exception)?\b|\bInternalError\b|\bServiceException\b"
        r"|\bLambda\.(?:ServiceException|SdkClientException|TooManyRequestsException|Unknown)\b"
        r"|\bStates\.(?:Runtime|DataLimitExceeded|TaskFailed)\b|\bSandbox\.Timedout\b",
        "an AWS control-plane call of the harness failed transiently: nothing to fix in the config",
        not_from=frozenset({"job", "deadline"}),
    ),
)

DEFAULT_ACTIONS: Final[dict[str, str]] = {
    "config": "",
    "account": "change the account (quota, permission or opt-in) named in the message",
    "harness": "fix the Path Prover deployment (image, secret, role or code) named in the message",
}


@dataclass(frozen=True)
class ScopeVerdict:
    scope: FailureScope
    rule: str
    action: str
    line: str = ""
    """The line the scope pattern matched (evidence when nothing else explains the failure)."""


def _line_of(text: str, match: re.Match[str]) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return text[start : end if end >= 0 else len(text)]


CONFIG_SERVICE_RULES: Final[frozenset[str]] = frozenset({"service.region_or_api"})
"""The one `service_limitation` family that is the configuration's: the region or API does not offer
this instance type or feature. Every other service limitation (a quota, a permission, a credential, a
gated licence, a plan), or one the model judged with no rule to prove it, is the account's."""


def judge_scope(text: str, category: str, origin: FailureOrigin | None = None, rule: str | None = None) -> ScopeVerdict:
    """Who is at fault for this failure, from its text, where it happened and the rule that decided it.

    Account patterns win over harness patterns (a quota message that also
    mentions a deleted resource is still a quota), and an internal exception of
    the harness is the harness's whatever its category. A config failure's
    category is kept: OOM, model incompatibility, an unsupported instance type
    for a feature, a stock-out, a slow start or a crash in the serving code.
    When unsure whether a service limitation is the config's, the answer is the
    account's: that costs a cooldown, a wrong `unfeasible` costs the config for good.
    """
    window = text[-20_000:]
    for scope_rule in SCOPE_RULES:
        if scope_rule.scope != "account":
            break
        match = scope_rule.pattern.search(window)
        if match:
            return ScopeVerdict("account", scope_rule.id, scope_rule.action, _line_of(window, match))
    if origin == "harness":
        return ScopeVerdict("harness", "harness.origin", DEFAULT_ACTIONS["harness"])
    if category in ("oom", "model_incompatibility"):
        # The message proves a property of the configuration: a missing-looking resource
        # in the same log (a Ray worker "no longer exists" after the OOM) is a consequence.
        return ScopeVerdict("config", "config.category", "")
    for scope_rule in SCOPE_RULES:
        harness = scope_rule.scope == "harness" and origin not in scope_rule.not_from
        match = scope_rule.pattern.search(window) if harness else None
        if match:
            return ScopeVerdict("harness", scope_rule.id, scope_rule.action, _line_of(window, match))
    if category == "service_limitation" and rule not in CONFIG_SERVICE_RULES:
        return ScopeVerdict("account", "account.service_limitation", DEFAULT_ACTIONS["account"])
    return ScopeVerdict("config", "config.default", "")


_LIMIT_NAMES: Final[tuple[re.Pattern[str], ...]] = tuple(
    re.compile(regex, _FLAGS)
    for regex in (
        r"service limit '(?P<name>[^']+)'",  # SageMaker: "The account-level service limit 'ml.g5.xlarge for ..."
        r"quota (?:for |named )?'(?P<name>[^']+)'",
        r"(?P<name>\b[A-Za-z]+(?:Limit|Quota)Exceeded\w*\b)",
        r"(?P<name>cannot have more than \d+ [^.\n]{0,60})",
    )
)
_PERMISSION: Final[re.Pattern[str]] = re.compile(r"not authorized to perform:? (?P<action>[\w:*-]+)", _FLAGS)


def account_action(text: str) -> str:
    """A one-line instruction naming the limit to raise or the permission to grant."""
    for pattern in _LIMIT_NAMES:
        limit = pattern.search(text)
        if limit:
            return f"raise the quota '{limit.group('name').strip()}' (Service Quotas) or lower PARALLEL_LANES"
    permission = _PERMISSION.search(text)
    if permission:
        return f"grant {permission.group('action')} to the Path Prover role (or lift the deny in the policy)"
    verdict = judge_scope(text, "service_limitation")
    return verdict.action or DEFAULT_ACTIONS["account"]
