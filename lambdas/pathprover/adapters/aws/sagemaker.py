"""Fleet on Amazon SageMaker: endpoints (realtime, async), batch transform, training; clean-up.

Rules this adapter keeps:

* Names come from :func:`~pathprover.stages.naming.resource_names`, so a retried
  task meets the resource it created: "Cannot create already existing ..." is
  *adopted* (described and used), never an error.
* A create refused for a reason that belongs to the config (a quota such as
  ResourceLimitExceeded, no capacity, an instance type the API will not take)
  is returned as a failed JobState with the API's words, for the classifier.
  Anything else (a bug of ours, a permission) raises.
* Throttling is retried: botocore's adaptive mode, plus a bounded retry on creates.
* ``clean`` is idempotent: "Could not find ..." is success (already gone).
* ``inventory`` / ``delete`` serve the janitor: List* calls with ``NameContains="pp-"``
  (paginated), one ListTags per ``pp-`` resource (at most ``inventory_limit`` per call),
  only resources tagged ``managed-by=path-prover`` kept.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Final

from pathprover.adapters.aws.clients import (
    THROTTLING_CODES,
    AwsClients,
    call_with_throttle_retry,
    error_code,
    error_message,
    is_client_error,
)
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
from pathprover.stages.naming import NAME_PREFIX, TAG_MANAGED_BY, TAG_MANAGED_BY_VALUE, parse_s3_uri
from pathprover.stages.specs import ADAPTER_CHANNEL, DeploySpec, TrainingSpec

VARIANT_NAME: Final = "AllTraffic"
_ALREADY_EXISTS: Final = re.compile(r"Cannot create already existing|already exists", re.I)
_NOT_FOUND: Final = re.compile(
    r"Could not find|does not exist|not found|Requested resource not found|ResourceNotFound", re.I
)
_CONFIG_FAILURE_CODE: Final = re.compile(r"ResourceLimitExceeded|LimitExceeded|Capacity", re.I)
_CONFIG_FAILURE_MESSAGE: Final = re.compile(
    r"capacity|instance type|service limit|quota|reservation|training plan|is not supported", re.I
)
_NOT_READY_CODES: Final = frozenset(
    {"ModelNotReadyException", "ServiceUnavailable", "ServiceUnavailableException", "InternalDependencyException"}
)
_ENDPOINT_RUNNING: Final = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
_JOB_STOPPABLE: Final = frozenset({"InProgress"})
_MAX_PAGES: Final = 100
_PAGE_SIZE: Final = 100
DEFAULT_INVENTORY_LIMIT: Final = 500
"""At most this many ListTags calls per ``inventory`` (the rest waits for the next sweep)."""
_DELETE_ORDER: Final[dict[str, int]] = {
    "endpoint": 0,
    "training-job": 1,
    "transform-job": 2,
    "endpoint-config": 3,
    "model": 4,
}
"""Billing resources first; a model or config goes after the endpoint that uses it."""


class _Listing:
    """How one SageMaker List* call names its items (kind, method, result key, name/ARN/status keys)."""

    def __init__(
        self, kind: ManagedKind, method: str, key: str, prefix: str, status: str | None, **filters: str
    ) -> None:
        self.kind: ManagedKind = kind
        self.method = method
        self.key = key
        self.name_key = f"{prefix}Name"
        self.arn_key = f"{prefix}Arn"
        self.status_key = status
        self.filters = filters


_LISTINGS: Final = (
    _Listing("endpoint", "list_endpoints", "Endpoints", "Endpoint", "EndpointStatus"),
    _Listing(
        "training-job",
        "list_training_jobs",
        "TrainingJobSummaries",
        "TrainingJob",
        "TrainingJobStatus",
        StatusEquals="InProgress",
    ),
    _Listing(
        "transform-job",
        "list_transform_jobs",
        "TransformJobSummaries",
        "TransformJob",
        "TransformJobStatus",
        StatusEquals="InProgress",
    ),
    _Listing("endpoint-config", "list_endpoint_configs", "EndpointConfigs", "EndpointConfig", None),
    _Listing("model", "list_models", "Models", "Model", None),
)


class _StartFailed(Exception):
    """A create refused for a reason that belongs to the config."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _is_config_failure(code: str, message: str) -> bool:
    if _ALREADY_EXISTS.search(message):
        return False
    if _CONFIG_FAILURE_CODE.search(code):
        return True
    return code == "ValidationException" and bool(_CONFIG_FAILURE_MESSAGE.search(message))


def _is_not_found(exc: BaseException) -> bool:
    code = error_code(exc)
    return code in {"ResourceNotFound", "ResourceNotFoundException"} or (
        code in {"ValidationException", "ValidationError"} and bool(_NOT_FOUND.search(error_message(exc)))
    )


def _iso(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def _container(spec: DeploySpec) -> dict[str, Any]:
    container: dict[str, Any] = {"Image": spec.image_uri, "Environment": dict(spec.env)}
    uri = spec.model_data_uri
    if uri:
        if uri.endswith("/"):
            container["ModelDataSource"] = {
                "S3DataSource": {"S3Uri": uri, "S3DataType": "S3Prefix", "CompressionType": "None"}
            }
        else:
            container["ModelDataUrl"] = uri
    adapter = spec.adapter_data_uri
    if adapter:
        # A training job's model.tar.gz is extracted by SageMaker (S3Object + Gzip); a folder is copied as is.
        archive = not adapter.endswith("/")
        container["AdditionalModelDataSources"] = [
            {
                "ChannelName": ADAPTER_CHANNEL,
                "S3DataSource": {
                    "S3Uri": adapter,
                    "S3DataType": "S3Object" if archive else "S3Prefix",
                    "CompressionType": "Gzip" if archive else "None",
                },
            }
        ]
    return container


def endpoint_config_request(spec: DeploySpec) -> dict[str, Any]:
    """The CreateEndpointConfig request for a realtime or async deployment (pure; tested directly)."""
    variant: dict[str, Any] = {
        "VariantName": VARIANT_NAME,
        "ModelName": spec.names.model,
        "InstanceType": spec.instance_type,
        "InitialInstanceCount": spec.instance_count,
        "InitialVariantWeight": 1.0,
    }
    if spec.startup_health_check_timeout_s:
        variant["ContainerStartupHealthCheckTimeoutInSeconds"] = spec.startup_health_check_timeout_s
    if spec.model_download_timeout_s:
        variant["ModelDataDownloadTimeoutInSeconds"] = spec.model_download_timeout_s
    if spec.volume_size_gb:
        variant["VolumeSizeInGB"] = spec.volume_size_gb
    if spec.capacity_reservation_arn:
        variant["CapacityReservationConfig"] = {
            "CapacityReservationPreference": "capacity-reservations-only",
            "MlReservationArn": spec.capacity_reservation_arn,
        }
    request: dict[str, Any] = {
        "EndpointConfigName": spec.names.endpoint_config,
        "ProductionVariants": [variant],
        "Tags": _tag_list(spec.all_tags),
    }
    if spec.target == "async-inference":
        output: dict[str, Any] = {"S3OutputPath": spec.async_output_s3}
        if spec.async_failure_s3:
            output["S3FailurePath"] = spec.async_failure_s3
        async_config: dict[str, Any] = {"OutputConfig": output}
        if spec.async_max_concurrent_invocations:
            async_config["ClientConfig"] = {
                "MaxConcurrentInvocationsPerInstance": spec.async_max_concurrent_invocations
            }
        request["AsyncInferenceConfig"] = async_config
    return request


def transform_job_request(spec: DeploySpec) -> dict[str, Any]:
    """The CreateTransformJob request for a batch-transform deployment (one JSON line per record)."""
    return {
        "TransformJobName": spec.names.transform_job,
        "ModelName": spec.names.model,
        "BatchStrategy": "SingleRecord",
        "MaxConcurrentTransforms": 1,
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": 3600, "InvocationsMaxRetries": 1},
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": spec.batch_input_s3}},
            "ContentType": spec.batch_content_type,
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": spec.batch_output_s3, "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": spec.instance_type, "InstanceCount": spec.instance_count},
        "Tags": _tag_list(spec.all_tags),
    }


def training_job_request(spec: TrainingSpec) -> dict[str, Any]:
    """The CreateTrainingJob request for the tune stage."""
    resources: dict[str, Any] = {
        "InstanceType": spec.instance_type,
        "InstanceCount": spec.instance_count,
        "VolumeSizeInGB": spec.volume_size_gb,
    }
    if spec.capacity_reservation_arn:
        resources["TrainingPlanArn"] = spec.capacity_reservation_arn
    request: dict[str, Any] = {
        "TrainingJobName": spec.job_name,
        "AlgorithmSpecification": {"TrainingImage": spec.training_image, "TrainingInputMode": "File"},
        "RoleArn": spec.role_arn,
        "HyperParameters": dict(spec.hyperparameters),
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for channel, uri in sorted(spec.input_channels.items())
        ],
        "OutputDataConfig": {"S3OutputPath": spec.output_s3},
        "ResourceConfig": resources,
        "StoppingCondition": {"MaxRuntimeInSeconds": spec.max_runtime_s},
        "Environment": dict(spec.env),
        "Tags": _tag_list(spec.all_tags),
    }
    if not request["InputDataConfig"]:
        del request["InputDataConfig"]
    if spec.checkpoint_s3:
        request["CheckpointConfig"] = {"S3Uri": spec.checkpoint_s3}
    return request


class SageMakerFleet:
    """:class:`~pathprover.protocols.Fleet` on SageMaker."""

    def __init__(
        self,
        clients: AwsClients,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        throttle_attempts: int = 5,
        inventory_limit: int = DEFAULT_INVENTORY_LIMIT,
    ) -> None:
        self.clients = clients
        self.now = now
        self.sleep = sleep
        self.throttle_attempts = throttle_attempts
        self.inventory_limit = inventory_limit

    @property
    def _sm(self) -> Any:
        return self.clients.get("sagemaker")

    @property
    def _rt(self) -> Any:
        return self.clients.get("sagemaker-runtime")

    # ------------------------------------------------------------------ create helpers
    def _create(self, operation: str, create: Callable[[], Any], describe: Callable[[], Any]) -> tuple[Any, bool]:
        """Run a create; adopt an existing resource; turn a config-caused refusal into _StartFailed."""
        try:
            return call_with_throttle_retry(create, attempts=self.throttle_attempts, sleep=self.sleep), False
        except Exception as exc:
            if not is_client_error(exc):
                raise
            code, message = error_code(exc), error_message(exc)
            if code in {"ValidationException", "ResourceInUse"} and _ALREADY_EXISTS.search(message):
                return call_with_throttle_retry(describe, attempts=self.throttle_attempts, sleep=self.sleep), True
            if _is_config_failure(code, message):
                raise _StartFailed(f"{operation} failed: {code}: {message}") from exc
            raise

    def _create_model(self, spec: DeploySpec) -> bool:
        name = spec.names.model

        def create() -> Any:
            return self._sm.create_model(
                ModelName=name,
                PrimaryContainer=_container(spec),
                ExecutionRoleArn=spec.role_arn,
                Tags=_tag_list(spec.all_tags),
            )

        _, adopted = self._create("CreateModel", create, lambda: self._sm.describe_model(ModelName=name))
        return adopted

    # ------------------------------------------------------------------ deploy
    def start_deploy(self, spec: DeploySpec) -> JobRef:
        names = spec.names
        started = self.now()
        meta = {
            "target": spec.target,
            "model": names.model,
            "expected_s": str(spec.expected_ready_s),
            "failure_stage": spec.stage,
            "instance_type": spec.instance_type,
        }
        batch = spec.target == "batch-transform"
        if batch:
            meta["transform_job"] = names.transform_job
        else:
            meta["endpoint_config"] = names.endpoint_config
            meta["endpoint"] = names.endpoint
        if spec.target == "async-inference" and spec.async_output_s3:
            meta["async_output_s3"] = spec.async_output_s3
        kind = "transform" if batch else "endpoint"
        name = names.transform_job if batch else names.endpoint
        adopted: list[str] = []
        try:
            if self._create_model(spec):
                adopted.append("model")
            if batch:
                request = transform_job_request(spec)
                response, was = self._create(
                    "CreateTransformJob",
                    lambda: self._sm.create_transform_job(**request),
                    lambda: self._sm.describe_transform_job(TransformJobName=names.transform_job),
                )
                arn = response["TransformJobArn"]
                if was:
                    adopted.append("transform_job")
                    started = response.get("CreationTime") or started
            else:
                config = endpoint_config_request(spec)
                _, was = self._create(
                    "CreateEndpointConfig",
                    lambda: self._sm.create_endpoint_config(**config),
                    lambda: self._sm.describe_endpoint_config(EndpointConfigName=names.endpoint_config),
                )
                if was:
                    adopted.append("endpoint_config")
                response, was = self._create(
                    "CreateEndpoint",
                    lambda: self._sm.create_endpoint(
                        EndpointName=names.endpoint,
                        EndpointConfigName=names.endpoint_config,
                        Tags=_tag_list(spec.all_tags),
                    ),
                    lambda: self._sm.describe_endpoint(EndpointName=names.endpoint),
                )
                arn = response["EndpointArn"]
                if was:
                    adopted.append("endpoint")
                    started = response.get("CreationTime") or started
        except _StartFailed as failed:
            if adopted:
                meta["adopted"] = ",".join(adopted)
            return JobRef(
                kind=kind, name=name, arn_or_id=name, started_at=started, meta=meta, start_failure=failed.text
            )
        if adopted:
            meta["adopted"] = ",".join(adopted)
        return JobRef(kind=kind, name=name, arn_or_id=arn, started_at=started, meta=meta)

    def start_training(self, spec: TrainingSpec) -> JobRef:
        started = self.now()
        meta = {"expected_s": str(spec.expected_s), "failure_stage": "tune", "instance_type": spec.instance_type}
        request = training_job_request(spec)
        try:
            response, adopted = self._create(
                "CreateTrainingJob",
                lambda: self._sm.create_training_job(**request),
                lambda: self._sm.describe_training_job(TrainingJobName=spec.job_name),
            )
        except _StartFailed as failed:
            return JobRef(
                kind="training",
                name=spec.job_name,
                arn_or_id=spec.job_name,
                started_at=started,
                meta=meta,
                start_failure=failed.text,
            )
        if adopted:
            meta["adopted"] = "training_job"
            started = response.get("CreationTime") or started
        return JobRef(
            kind="training", name=spec.job_name, arn_or_id=response["TrainingJobArn"], started_at=started, meta=meta
        )

    # ------------------------------------------------------------------ poll
    def check(self, ref: JobRef) -> JobState:
        stage = ref.meta.get("failure_stage") or ("tune" if ref.kind == "training" else "deploy")
        if ref.start_failure:
            return JobState.failed(ref.start_failure, stage, {"start_failed": True})
        wait = suggest_wait(ref.elapsed_seconds(self.now()), float(ref.meta.get("expected_s", "0") or 0), True)
        try:
            if ref.kind == "endpoint":
                return self._check_endpoint(ref, stage, wait)
            if ref.kind == "transform":
                return self._check_transform(ref, stage, wait)
            if ref.kind == "training":
                return self._check_training(ref, stage, wait)
        except Exception as exc:
            if not is_client_error(exc):
                raise
            if error_code(exc) in THROTTLING_CODES:
                return JobState.running(wait, {"throttled": True})
            if _is_not_found(exc):
                return JobState.failed(f"SageMaker {ref.kind} {ref.name} no longer exists: {error_message(exc)}", stage)
            raise
        raise ValueError(f"SageMakerFleet cannot check a {ref.kind} job")

    def _check_endpoint(self, ref: JobRef, stage: str, wait: int) -> JobState:
        name = ref.meta.get("endpoint", ref.name)
        desc = self._sm.describe_endpoint(EndpointName=name)
        status = desc.get("EndpointStatus", "")
        detail = {
            "endpoint_name": name,
            "endpoint_arn": desc.get("EndpointArn"),
            "endpoint_status": status,
            "target": ref.meta.get("target"),
        }
        if status == "InService":
            detail["finished_at"] = _iso(desc.get("LastModifiedTime"))
            return JobState.succeeded(detail)
        if status in _ENDPOINT_RUNNING:
            return JobState.running(wait, detail)
        reason = desc.get("FailureReason") or f"endpoint is {status} without a failure reason"
        return JobState.failed(f"{reason}\nSageMaker endpoint {name}: {status}", stage, detail)

    def _check_transform(self, ref: JobRef, stage: str, wait: int) -> JobState:
        name = ref.meta.get("transform_job", ref.name)
        desc = self._sm.describe_transform_job(TransformJobName=name)
        status = desc.get("TransformJobStatus", "")
        detail = {
            "transform_job": name,
            "transform_job_status": status,
            "output_s3": (desc.get("TransformOutput") or {}).get("S3OutputPath"),
            "started": _iso(desc.get("TransformStartTime")),
            "ended": _iso(desc.get("TransformEndTime")),
            "instance_count": (desc.get("TransformResources") or {}).get("InstanceCount"),
        }
        if status == "InProgress":
            return JobState.running(wait, detail)
        if status == "Completed":
            detail["finished_at"] = detail["ended"]
            return JobState.succeeded(detail)
        reason = desc.get("FailureReason") or f"transform job was {status}"
        return JobState.failed(f"{reason}\nSageMaker transform job {name}: {status}", stage, detail)

    def _check_training(self, ref: JobRef, stage: str, wait: int) -> JobState:
        desc = self._sm.describe_training_job(TrainingJobName=ref.name)
        status = desc.get("TrainingJobStatus", "")
        secondary = desc.get("SecondaryStatus", "")
        detail = {
            "training_job": ref.name,
            "training_job_status": status,
            "secondary_status": secondary,
            "model_artifacts": (desc.get("ModelArtifacts") or {}).get("S3ModelArtifacts"),
            "billable_seconds": desc.get("BillableTimeInSeconds"),
        }
        if status == "InProgress":
            return JobState.running(wait, detail)
        if status == "Completed":
            detail["finished_at"] = _iso(desc.get("TrainingEndTime"))
            return JobState.succeeded(detail)
        reason = desc.get("FailureReason") or ""
        if secondary == "MaxRuntimeExceeded":
            limit = (desc.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", "?")
            reason = f"{reason}\ntraining job timed out: MaxRuntimeExceeded after {limit} s".strip()
        if not reason:
            reason = f"training job was {status} ({secondary})"
        return JobState.failed(f"{reason}\nSageMaker training job {ref.name}: {status}", stage, detail)

    # ------------------------------------------------------------------ invoke
    def invoke(self, ref: JobRef, body: bytes, content_type: str) -> InvokeResult:
        if ref.kind != "endpoint":
            raise ValueError(f"only endpoints can be invoked, not a {ref.kind}")
        if ref.start_failure:
            raise ValueError(f"endpoint {ref.name} was never created: {ref.start_failure}")
        endpoint = ref.meta.get("endpoint", ref.name)
        try:
            if ref.meta.get("target") == "async-inference":
                return self._invoke_async(ref, endpoint, body, content_type)
            response = self._rt.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type)
            payload = response["Body"].read()
            return InvokeResult(status_code=200, body=payload)
        except Exception as exc:
            return self._invoke_error(exc)

    def _invoke_async(self, ref: JobRef, endpoint: str, body: bytes, content_type: str) -> InvokeResult:
        output = ref.meta.get("async_output_s3")
        if not output:
            raise ValueError(f"async endpoint {endpoint} has no async_output_s3 in its ref")
        bucket, key = parse_s3_uri(output)
        digest = hashlib.sha256(body).hexdigest()[:24]
        input_key = f"{key.rstrip('/')}/_inputs/{digest}".lstrip("/")
        self.clients.get("s3").put_object(Bucket=bucket, Key=input_key, Body=body, ContentType=content_type)
        response = self._rt.invoke_endpoint_async(
            EndpointName=endpoint, InputLocation=f"s3://{bucket}/{input_key}", ContentType=content_type
        )
        return InvokeResult(status_code=202, output_location=response.get("OutputLocation"))

    @staticmethod
    def _invoke_error(exc: Exception) -> InvokeResult:
        from botocore.exceptions import (
            ConnectionClosedError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        if isinstance(exc, ReadTimeoutError):
            return InvokeResult(status_code=504, error=f"invocation timed out: {exc}")
        if isinstance(exc, EndpointConnectionError | ConnectionClosedError):
            return InvokeResult(status_code=503, error=f"not ready: {exc}")
        if not is_client_error(exc):
            raise exc
        code, message = error_code(exc), error_message(exc)
        http = int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _NOT_READY_CODES or http in (429, 503):
            return InvokeResult(status_code=503, error=f"not ready: {code}: {message}")
        if code == "ModelError":
            # botocore puts an error's modeled fields at the top level of the response
            response = getattr(exc, "response", {})
            error = response.get("Error", {})
            original = int(response.get("OriginalStatusCode") or error.get("OriginalStatusCode") or 424)
            body = str(response.get("OriginalMessage") or error.get("OriginalMessage") or "").encode()
            return InvokeResult(status_code=original, body=body, error=f"ModelError: {message}")
        return InvokeResult(status_code=http or 400, error=f"{code}: {message}")

    # ------------------------------------------------------------------ clean
    _components = staticmethod(resource_components)

    def clean(self, refs: list[JobRef], keep: bool) -> CleanReport:
        report = CleanReport()
        seen: set[tuple[str, str]] = set()
        for ref in refs:
            for kind, name in self._components(ref):
                if not name or (kind, name) in seen:
                    continue
                seen.add((kind, name))
                label = f"{kind}/{name}"
                if keep:
                    report.kept.append(label)
                    continue
                self._remove_into(report, kind, name, label)
        return report

    def _remove_into(self, report: CleanReport, kind: str, name: str, label: str) -> None:
        """Remove one component and file the outcome under ``label``; only non-AWS errors raise."""
        try:
            outcome = self._remove(kind, name)
        except Exception as exc:
            if not is_client_error(exc):
                raise
            if _is_not_found(exc):
                report.already_gone.append(label)
            else:
                report.errors.append(f"{label}: {error_code(exc)}: {error_message(exc)}")
            return
        (report.deleted if outcome else report.already_gone).append(label)

    def delete(self, resources: list[ManagedResource]) -> CleanReport:
        """Delete endpoints, endpoint configs and models, stop in-progress jobs (billing ones first)."""
        report = CleanReport()
        seen: set[tuple[str, str]] = set()
        for resource in sorted(resources, key=lambda r: _DELETE_ORDER[r.kind]):
            key = (resource.kind, resource.name)
            if key in seen:
                continue
            seen.add(key)
            if resource.kind == "endpoint" and resource.status == "Deleting":
                report.already_gone.append(resource.label)
                continue
            self._remove_into(report, resource.kind, resource.name, resource.label)
        return report

    def _retry(self, fn: Callable[[], Any]) -> Any:
        return call_with_throttle_retry(fn, attempts=self.throttle_attempts, sleep=self.sleep)

    def _remove(self, kind: str, name: str) -> bool:
        """Delete (or stop) one component; True if something was done, False if nothing was left."""
        sm = self._sm
        if kind == "endpoint":
            self._retry(lambda: sm.delete_endpoint(EndpointName=name))
        elif kind == "endpoint-config":
            self._retry(lambda: sm.delete_endpoint_config(EndpointConfigName=name))
        elif kind == "model":
            self._retry(lambda: sm.delete_model(ModelName=name))
        elif kind == "transform-job":
            status = self._retry(lambda: sm.describe_transform_job(TransformJobName=name))["TransformJobStatus"]
            if status not in _JOB_STOPPABLE:
                return False
            self._retry(lambda: sm.stop_transform_job(TransformJobName=name))
        elif kind == "training-job":
            status = self._retry(lambda: sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"]
            if status not in _JOB_STOPPABLE:
                return False
            self._retry(lambda: sm.stop_training_job(TrainingJobName=name))
        else:  # pragma: no cover - _components only yields the kinds above
            raise ValueError(kind)
        return True

    # ------------------------------------------------------------------ inventory
    def _pages(self, method: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        token: str | None = None
        for _ in range(_MAX_PAGES):
            args = dict(kwargs)
            if token:
                args["NextToken"] = token
            response = self._retry(functools.partial(getattr(self._sm, method), **args))
            yield from response.get(key) or []
            token = response.get("NextToken")
            if not token:
                return

    def _tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        token: str | None = None
        for _ in range(_MAX_PAGES):
            args: dict[str, Any] = {"ResourceArn": arn}
            if token:
                args["NextToken"] = token
            response = self._retry(functools.partial(self._sm.list_tags, **args))
            tags.update({t["Key"]: t["Value"] for t in response.get("Tags") or []})
            token = response.get("NextToken")
            if not token:
                break
        return tags

    def alive(self, tag_filter: dict[str, str]) -> list[str]:
        """ARNs of live Path Prover endpoints and in-progress jobs whose tags include ``tag_filter``."""
        wanted = {TAG_MANAGED_BY: TAG_MANAGED_BY_VALUE, **tag_filter}
        candidates: list[str] = []
        for ep in self._pages("list_endpoints", "Endpoints", NameContains="pp-"):
            if ep.get("EndpointStatus") != "Deleting":
                candidates.append(ep["EndpointArn"])
        for job in self._pages(
            "list_transform_jobs", "TransformJobSummaries", NameContains="pp-", StatusEquals="InProgress"
        ):
            candidates.append(job["TransformJobArn"])
        for job in self._pages(
            "list_training_jobs", "TrainingJobSummaries", NameContains="pp-", StatusEquals="InProgress"
        ):
            candidates.append(job["TrainingJobArn"])
        alive = []
        for arn in candidates:
            tags = self._tags(arn)
            if all(tags.get(k) == v for k, v in wanted.items()):
                alive.append(arn)
        return alive

    def inventory(self) -> list[ManagedResource]:
        """Path Prover's SageMaker resources: ``pp-`` endpoints (not Deleting), in-progress training and
        transform jobs, endpoint configs and models, each with its tags; untagged ones are skipped.

        One ListTags per candidate, at most ``inventory_limit`` of them (billing kinds are listed
        first, so what is left over waits for the next sweep). A resource that vanishes between the
        listing and its ListTags is skipped.
        """
        found: list[ManagedResource] = []
        budget = self.inventory_limit
        for listing in _LISTINGS:
            for item in self._pages(
                listing.method, listing.key, NameContains=NAME_PREFIX, MaxResults=_PAGE_SIZE, **listing.filters
            ):
                name = str(item.get(listing.name_key) or "")
                arn = str(item.get(listing.arn_key) or "")
                status = str(item[listing.status_key]) if listing.status_key and item.get(listing.status_key) else None
                if not name.startswith(NAME_PREFIX) or not arn:
                    continue
                if listing.kind == "endpoint" and status == "Deleting":
                    continue
                if budget <= 0:
                    return found
                budget -= 1
                try:
                    tags = self._tags(arn)
                except Exception as exc:
                    if is_client_error(exc) and _is_not_found(exc):
                        continue
                    raise
                if tags.get(TAG_MANAGED_BY) != TAG_MANAGED_BY_VALUE:
                    continue
                created = item.get("CreationTime")
                found.append(
                    ManagedResource(
                        kind=listing.kind,
                        name=name,
                        arn=arn,
                        tags=tags,
                        created_at=created if isinstance(created, datetime) else None,
                        status=status,
                    )
                )
        return found
