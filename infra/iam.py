"""Least privilege, written down: one role per principal, every statement explicit, every wildcard justified.

- :func:`least_privilege_role` makes a role whose only policy is the statements given here.
  Constructs receive ``role.without_policy_updates()``, so no L2 grant adds anything behind
  our back: everything a principal may do is in this repository's statements.
- :data:`RESOURCE_STAR_ACTIONS` lists the only actions allowed on ``Resource: "*"``, each with
  the reason (the API has no resource-level permissions).
- :data:`WILDCARD_RESOURCES` lists the only resource patterns with a ``*``, each with its reason.
- :class:`AcknowledgeJustifiedWildcards` acknowledges cdk-nag's AwsSolutions-IAM5 findings
  that match those lists, with those reasons; any other wildcard stays a violation. The infra
  tests walk every policy against the same lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

import jsii
from aws_cdk import Acknowledgment, IAspect, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from infra import constants as C

_LOG_DELIVERY: Final = "Step Functions log delivery: the vended-logs APIs have no resource-level permissions"
RESOURCE_STAR_ACTIONS: Final[dict[str, str]] = {
    "xray:PutTraceSegments": "X-Ray tracing: X-Ray has no resource-level permissions",
    "servicequotas:ListServiceQuotas": "the plan reads the account's SageMaker instance quotas (read-only): "
    "ListServiceQuotas has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray tracing: X-Ray has no resource-level permissions",
    "ecr:GetAuthorizationToken": "ECR login: the registry token is account-wide; the API takes no repository",
    "sagemaker:ListEndpoints": "inventory of live pp- endpoints: SageMaker List APIs take no resource ARN",
    "sagemaker:ListEndpointConfigs": "janitor inventory: SageMaker List APIs take no resource ARN",
    "sagemaker:ListModels": "janitor inventory: SageMaker List APIs take no resource ARN",
    "sagemaker:ListTransformJobs": "inventory of running pp- jobs: SageMaker List APIs take no resource ARN",
    "sagemaker:ListTrainingJobs": "inventory of running pp- jobs: SageMaker List APIs take no resource ARN",
    "cloudwatch:PutMetricData": "SageMaker job and endpoint metrics: CloudWatch metrics have no ARN "
    "(limited by condition to the /aws/sagemaker/ namespaces)",
    "logs:CreateLogDelivery": _LOG_DELIVERY,
    "logs:GetLogDelivery": _LOG_DELIVERY,
    "logs:UpdateLogDelivery": _LOG_DELIVERY,
    "logs:DeleteLogDelivery": _LOG_DELIVERY,
    "logs:ListLogDeliveries": _LOG_DELIVERY,
    "logs:PutResourcePolicy": _LOG_DELIVERY,
    "logs:DescribeResourcePolicies": _LOG_DELIVERY,
    "logs:DescribeLogGroups": _LOG_DELIVERY,
}

_PART = r"(?:<[A-Za-z0-9:.]+>|[^:<>]+)"
"""One ARN field: a literal (`aws`, `us-east-1`, `123456789012`) or, in an environment-agnostic synth, a
pseudo parameter as cdk-nag prints it (`<AWS::Partition>`, `<AWS::Region>`, `<AWS::AccountId>`)."""
_ARN = rf"arn:{_PART}"
_REGION_ACCOUNT = rf"{_PART}:{_PART}"
_SAGEMAKER_TYPES = "|".join(re.escape(t) for t in C.SAGEMAKER_RESOURCE_TYPES)
_AREAS = "|".join(C.ARTIFACT_AREAS)
WILDCARD_RESOURCES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (
        re.compile(
            rf"^{_ARN}:sagemaker:{_REGION_ACCOUNT}:({_SAGEMAKER_TYPES})/{re.escape(C.SAGEMAKER_NAME_PREFIX)}\*$"
        ),
        "SageMaker resources are created at run time with deterministic names pp-<config>-<sha256> "
        "(pathprover.stages.naming.resource_names); the pp- prefix is the narrowest name scope that exists",
    ),
    (
        re.compile(rf"^<[A-Za-z0-9]+\.Arn>/{C.ARTIFACT_PREFIX}/({_AREAS})/\*$"),
        "objects under one artifact area of the artifact bucket; keys are content hashes made at run time",
    ),
    (
        re.compile(rf"^<[A-Za-z0-9]+\.Arn>/{re.escape(C.TABLE_PREFIX)}\*$"),
        "Parquet files of the results table (one object per write, under dt=YYYY-MM-DD partitions)",
    ),
    (
        re.compile(rf"^<[A-Za-z0-9]+\.Arn>/{re.escape(C.LEVELS_PREFIX)}\*$"),
        "Parquet files of the levels table (one object per write, under dt=YYYY-MM-DD partitions)",
    ),
    (
        re.compile(rf"^{_ARN}:ecr:{_REGION_ACCOUNT}:repository/{re.escape(C.BASE_IMAGE_CACHE_ROOT)}/\*$"),
        "ECR pull-through cache repositories: the first pull of a parent image creates "
        "pathprover-cache/<upstream>/<path> and imports it; their names come from the base images",
    ),
    (
        re.compile(rf"^{_ARN}:ecr:{_REGION_ACCOUNT}:repository/{re.escape(C.BASE_IMAGE_MIRROR_ROOT)}/\*$"),
        "one-time mirrors of Docker Hub parents (no pull-through credential given): the first build that needs "
        "a parent creates pathprover-mirror/<upstream>/<path> and pushes it; names come from the base images",
    ),
    (
        re.compile(rf"^<[A-Za-z0-9]+\.Arn>/{re.escape(C.ATHENA_RESULTS_PREFIX)}\*$"),
        "Athena query results under the workgroup's output prefix (one object per query id)",
    ),
    (
        re.compile(rf"^{_ARN}:states:{_REGION_ACCOUNT}:execution:{re.escape(C.STATE_MACHINE_NAME)}(-[a-z0-9]+)?:\*$"),
        "the janitor reads the status of this state machine's executions; execution names are generated",
    ),
    (
        re.compile(
            rf"^{_ARN}:logs:{_REGION_ACCOUNT}:log-group:/aws/sagemaker/(Endpoints|TrainingJobs|TransformJobs)\S*\*$"
        ),
        "SageMaker writes endpoint and job logs to log groups it names /aws/sagemaker/<kind>/<resource>",
    ),
)


def existing_table_objects(bucket: str, prefix: str, table: str = "results") -> tuple[re.Pattern[str], str]:
    """The extra wildcard a stack on an existing table needs: that table's files, by its configured location
    (and, for a named deployment sharing another's tables, the levels table's files beside them)."""
    return (
        re.compile(rf"^arn:{_PART}:s3:::{re.escape(bucket)}/{re.escape(prefix)}\*$"),
        f"Parquet files of the existing {table} table (-c UseExistingBenchmarkTable, -c BenchmarkTableLocation): "
        "one object per write, under dt=YYYY-MM-DD partitions of its location",
    )


def justify_resource(resource: str, extra: Sequence[tuple[re.Pattern[str], str]] = ()) -> str | None:
    """The reason a wildcard resource (flattened as cdk-nag prints it) is allowed, or None."""
    for pattern, reason in (*WILDCARD_RESOURCES, *extra):
        if pattern.match(resource):
            return reason
    return None


# --------------------------------------------------------------------------- statements


def allow(
    actions: Sequence[str], resources: Sequence[str], conditions: dict[str, Any] | None = None
) -> iam.PolicyStatement:
    """An Allow statement with exact actions (never a `*` in an action: the tests refuse it)."""
    for action in actions:
        if "*" in action:
            raise ValueError(f"wildcard action {action!r}: list the exact actions")
    return iam.PolicyStatement(
        effect=iam.Effect.ALLOW, actions=list(actions), resources=list(resources), conditions=conditions
    )


def own_stack_condition(scope: Construct) -> dict[str, Any]:
    """Only SageMaker resources this stack's runs made, or made before the stack tag existed:
    `aws:ResourceTag/pathprover:stack` is this stack's name when present (IfExists: an older resource
    carries no such tag and stays deletable, as the janitor's `decide` judges it). Put it only on actions
    whose resource type (endpoint, endpoint-config, model, training-job, transform-job) lists the condition
    key `aws:ResourceTag/${TagKey}` in the Service Authorization Reference ("Actions, resources, and
    condition keys for Amazon SageMaker"): on any other, an Allow with it would never match."""
    return {"StringEqualsIfExists": {f"aws:ResourceTag/{C.TAG_STACK}": Stack.of(scope).stack_name}}


def sagemaker_removal_statements(scope: Construct) -> list[iam.PolicyStatement]:
    """Delete this stack's endpoints, endpoint configs and models and stop its training and transform jobs
    (the Describe calls say whether a job still runs): the one set of removal rights the Clean function,
    the janitor and the stopped-execution clean-up share."""
    return [
        allow(
            ["sagemaker:DeleteEndpoint", "sagemaker:DeleteEndpointConfig", "sagemaker:DeleteModel"],
            sagemaker_arns(scope, "endpoint", "endpoint-config", "model"),
            own_stack_condition(scope),
        ),
        allow(
            ["sagemaker:DescribeTrainingJob", "sagemaker:DescribeTransformJob"],
            sagemaker_arns(scope, "training-job", "transform-job"),
        ),
        allow(
            ["sagemaker:StopTrainingJob", "sagemaker:StopTransformJob"],
            sagemaker_arns(scope, "training-job", "transform-job"),
            own_stack_condition(scope),
        ),
    ]


def allow_unscoped(actions: Sequence[str], conditions: dict[str, Any] | None = None) -> iam.PolicyStatement:
    """Actions that have no resource-level permissions, on `*`: only those in RESOURCE_STAR_ACTIONS."""
    unknown = [a for a in actions if a not in RESOURCE_STAR_ACTIONS]
    if unknown:
        raise ValueError(f"{unknown} may not be granted on '*': add them to RESOURCE_STAR_ACTIONS with a reason")
    return allow(actions, ["*"], conditions)


def xray_statement() -> iam.PolicyStatement:
    return allow_unscoped(["xray:PutTraceSegments", "xray:PutTelemetryRecords"])


def sagemaker_arns(scope: Construct, *resource_types: str) -> list[str]:
    """`arn:...:sagemaker:<region>:<account>:<type>/pp-*` for each type."""
    stack = Stack.of(scope)
    return [
        stack.format_arn(service="sagemaker", resource=kind, resource_name=f"{C.SAGEMAKER_NAME_PREFIX}*")
        for kind in resource_types
    ]


def least_privilege_role(
    scope: Construct,
    construct_id: str,
    *,
    assumed_by: iam.IPrincipal,
    description: str,
    statements: Iterable[iam.PolicyStatement] = (),
) -> tuple[iam.Role, iam.PolicyDocument]:
    """A role whose one inline policy holds exactly `statements` (more can be added to the document)."""
    document = iam.PolicyDocument(statements=list(statements))
    role = iam.Role(
        scope,
        construct_id,
        assumed_by=assumed_by,
        description=description,
        inline_policies={"least-privilege": document},
    )
    return role, document


def service_principal(service: str, scope: Construct) -> iam.IPrincipal:
    """A service principal limited to this account (confused-deputy protection)."""
    return iam.ServicePrincipal(service).with_conditions(
        {"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}}
    )


# --------------------------------------------------------------------------- cdk-nag IAM5


def flatten(reference: Any) -> str:
    """cdk-nag's flattenCfnReference: a resolved CloudFormation value as the string its findings print."""
    if reference is None:
        return ""
    if isinstance(reference, str):
        return reference.replace("${", "<").replace("}", ">")
    if isinstance(reference, dict):
        if "Fn::Join" in reference:
            delimiter, items = reference["Fn::Join"]
            return str(delimiter).join(flatten(i) for i in items)
        if "Fn::Sub" in reference:
            return flatten(reference["Fn::Sub"])
        if "Fn::GetAtt" in reference:
            resource, attribute = reference["Fn::GetAtt"]
            return f"<{flatten(resource)}.{flatten(attribute)}>"
        if "Fn::ImportValue" in reference:
            return flatten(reference["Fn::ImportValue"])
        if "Ref" in reference:
            return f"<{flatten(reference['Ref'])}>"
    import json

    return json.dumps(reference, separators=(",", ":"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _documents(node: IConstruct) -> list[dict[str, Any]]:
    stack = Stack.of(node)
    if isinstance(node, iam.CfnRole):
        documents = []
        for policy in _as_list(stack.resolve(node.policies) or []):
            resolved = stack.resolve(policy) or {}
            document = resolved.get("policyDocument", resolved.get("PolicyDocument"))
            documents.append(stack.resolve(document) or {})
        return documents
    if isinstance(node, (iam.CfnPolicy, iam.CfnManagedPolicy)):
        return [stack.resolve(node.policy_document) or {}]
    return []


def wildcard_findings(
    document: dict[str, Any], extra: Sequence[tuple[re.Pattern[str], str]] = ()
) -> dict[str, str | None]:
    """cdk-nag IAM5 findings of one policy document -> the reason they are allowed (None: not allowed)."""
    findings: dict[str, str | None] = {}
    star_actions: set[str] = set()
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        for action in actions:
            if "*" in action:
                findings[f"Action::{action}"] = None
        for resource in _as_list(statement.get("Resource", [])):
            flat = flatten(resource)
            if "*" not in flat:
                continue
            if flat == "*":
                star_actions.update(actions)
                continue
            findings[f"Resource::{flat}"] = justify_resource(flat, extra)
    if star_actions:
        unjustified = sorted(a for a in star_actions if a not in RESOURCE_STAR_ACTIONS)
        findings["Resource::*"] = (
            None
            if unjustified
            else "; ".join(sorted({f"{a}: {RESOURCE_STAR_ACTIONS[a]}" for a in sorted(star_actions)}))
        )
    return findings


@jsii.implements(IAspect)
class AcknowledgeJustifiedWildcards:
    """Acknowledge each AwsSolutions-IAM5 finding that the lists above (and `extra`, this stack's own
    configured locations) justify, with their reason."""

    def __init__(self, extra: Sequence[tuple[re.Pattern[str], str]] = ()) -> None:
        self.extra = tuple(extra)

    def visit(self, node: IConstruct) -> None:
        for document in _documents(node):
            for finding, reason in wildcard_findings(document, self.extra).items():
                if reason is not None:
                    Validations.of(node).acknowledge(Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag rule on a construct (and everything under it), with the reason."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
