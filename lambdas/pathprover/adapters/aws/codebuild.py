"""Builder on AWS CodeBuild: start a build from an S3 bundle, poll it, report the failing phase."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, get_args

from pathprover.adapters.aws.clients import AwsClients, call_with_throttle_retry, error_code
from pathprover.stages.jobs import BuildKind, JobRef, JobState, suggest_wait
from pathprover.stages.naming import parse_s3_uri
from pathprover.stages.specs import BuildJob

_FAILED: Final = frozenset({"FAILED", "FAULT", "TIMED_OUT", "STOPPED"})
IMAGE_DIGEST_VAR: Final = "IMAGE_DIGEST"


def idempotency_token(execution_id: str, config_id: str, attempt: int, kind: str) -> str:
    """Same (execution, config, attempt, kind) -> same token: a retried start does not start a second build.

    CodeBuild honours a token for 5 minutes; later retries are caught by the
    workflow keeping the returned build id.
    """
    payload = json.dumps([execution_id, config_id, int(attempt), kind], separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _failure_text(build: dict[str, Any]) -> str:
    """The failing phase's type, status and context messages, as lines the classifier reads."""
    status = build.get("buildStatus", "FAILED")
    lines = [f"CodeBuild build {build.get('id', '?')} {status} (phase {build.get('currentPhase', '?')})"]
    failed = [p for p in build.get("phases") or [] if p.get("phaseStatus") in _FAILED]
    for phase in failed:
        contexts = phase.get("contexts") or []
        messages = [
            ": ".join(part for part in (c.get("statusCode"), c.get("message")) if part)
            for c in contexts
            if c.get("statusCode") or c.get("message")
        ]
        head = f"phase {phase.get('phaseType', '?')} {phase.get('phaseStatus')}"
        if messages:
            lines.extend(f"{head}: {m}" for m in messages)
        else:
            lines.append(head)
    if status == "TIMED_OUT":
        lines.append(f"build timed out after {build.get('timeoutInMinutes', '?')} minutes")
    return "\n".join(lines)


def _job_kind(value: Any) -> BuildKind:
    return value if value in get_args(BuildKind) else "build"


class CodeBuildBuilder:
    """:class:`~pathprover.protocols.Builder` on CodeBuild (projects are created by the CDK stack)."""

    def __init__(
        self,
        clients: AwsClients,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        stack: str | None = None,
    ) -> None:
        self.clients = clients
        self.now = now
        self.sleep = sleep
        self.stack = stack
        """The deployment's stack (Settings.stack): every build gets it as PP_STACK, beside PP_EXECUTION_ID."""

    @property
    def _cb(self) -> Any:
        return self.clients.get("codebuild")

    def start(self, job: BuildJob) -> JobRef:
        bucket, key = parse_s3_uri(job.source_s3_uri)
        plain = {
            **job.env,
            "PP_EXECUTION_ID": job.execution_id,
            "PP_CONFIG_ID": job.config_id,
            "PP_ATTEMPT": str(job.attempt),
            "PP_JOB_KIND": job.kind,
            "PP_SOURCE_DIGEST": job.source_digest,
        }
        if self.stack:
            plain["PP_STACK"] = self.stack
        variables = [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in sorted(plain.items())]
        variables += [{"name": k, "value": v, "type": "SECRETS_MANAGER"} for k, v in sorted(job.secrets.items())]
        request = {
            "projectName": job.project_name,
            "sourceTypeOverride": "S3",
            "sourceLocationOverride": f"{bucket}/{key}",
            "environmentVariablesOverride": variables,
            "timeoutInMinutesOverride": job.timeout_minutes,
            "idempotencyToken": idempotency_token(job.execution_id, job.config_id, job.attempt, job.kind),
        }
        if job.compute_type:
            request["computeTypeOverride"] = job.compute_type
        response = call_with_throttle_retry(lambda: self._cb.start_build(**request), sleep=self.sleep)
        build = response["build"]
        expected_min = job.expected_minutes if job.expected_minutes is not None else job.timeout_minutes / 2
        started = build.get("startTime") or self.now()
        return JobRef(
            kind=job.kind,
            name=job.project_name,
            arn_or_id=build["id"],
            started_at=started,
            meta={
                "arn": build.get("arn", ""),
                "expected_s": str(int(expected_min * 60)),
                "failure_stage": job.failure_stage,
            },
        )

    def check(self, ref: JobRef) -> JobState:
        stage = ref.meta.get("failure_stage", ref.kind)
        if ref.start_failure:
            return JobState.failed(ref.start_failure, stage)
        elapsed = ref.elapsed_seconds(self.now())
        expected = float(ref.meta.get("expected_s", "0") or 0)
        try:
            response = self._cb.batch_get_builds(ids=[ref.arn_or_id])
        except Exception as exc:
            if error_code(exc) in {"ThrottlingException", "TooManyRequestsException"}:
                return JobState.running(suggest_wait(elapsed, expected, billing=False), {"throttled": True})
            raise
        builds = response.get("builds") or []
        if not builds:
            return JobState.failed(f"CodeBuild build {ref.arn_or_id} not found", stage)
        build = builds[0]
        status = build.get("buildStatus", "IN_PROGRESS")
        detail: dict[str, Any] = {
            "build_id": build.get("id"),
            "build_status": status,
            "current_phase": build.get("currentPhase"),
        }
        logs = build.get("logs") or {}
        for src, dst in (("deepLink", "logs_url"), ("groupName", "log_group"), ("streamName", "log_stream")):
            if logs.get(src):
                detail[dst] = logs[src]
        if status == "IN_PROGRESS":
            return JobState.running(suggest_wait(elapsed, expected, billing=False), detail)
        if status == "SUCCEEDED":
            exported = {v["name"]: v.get("value", "") for v in build.get("exportedEnvironmentVariables") or []}
            detail["exported"] = exported
            detail["image_digest"] = exported.get(IMAGE_DIGEST_VAR) or None
            end = build.get("endTime")
            if isinstance(end, datetime):
                detail["finished_at"] = end.astimezone(UTC).isoformat()
            return JobState.succeeded(detail)
        if status in _FAILED:
            return JobState.failed(_failure_text(build), stage, detail)
        return JobState.failed(f"CodeBuild build {ref.arn_or_id} has unexpected status {status}", stage, detail)

    def stop(self, ref: JobRef) -> None:
        if ref.start_failure:
            return
        try:
            self._cb.stop_build(id=ref.arn_or_id)
        except Exception as exc:
            # Already finished, or never existed: nothing left to stop.
            if error_code(exc) in {"InvalidInputException", "ResourceNotFoundException"}:
                return
            raise

    def running(self, execution_id: str, project: str) -> list[JobRef]:
        """The builds of ``project`` in progress that carry this execution's PP_EXECUTION_ID."""
        return [ref for ref in self.in_progress(project) if ref.meta.get("execution_id") == execution_id]

    def in_progress(self, project: str) -> list[JobRef]:
        """The project's newest builds (one page of ids, newest first: builds run at most hours, so the
        running ones are among the latest) that are still in progress, with their PP_EXECUTION_ID."""
        ids = self._cb.list_builds_for_project(projectName=project, sortOrder="DESCENDING").get("ids", [])
        refs: list[JobRef] = []
        for start in range(0, len(ids), 100):
            for build in self._cb.batch_get_builds(ids=ids[start : start + 100]).get("builds", []):
                if build.get("buildStatus") != "IN_PROGRESS":
                    continue
                # The start's environment overrides are part of the build's environment.
                env = {
                    v.get("name"): v.get("value") for v in build.get("environment", {}).get("environmentVariables", [])
                }
                meta = {"failure_stage": "build", "arn": build.get("arn", "")}
                if env.get("PP_EXECUTION_ID"):
                    meta["execution_id"] = str(env["PP_EXECUTION_ID"])
                refs.append(
                    JobRef(
                        kind=_job_kind(env.get("PP_JOB_KIND")),
                        name=project,
                        arn_or_id=build["id"],
                        started_at=build.get("startTime") or self.now(),
                        meta=meta,
                    )
                )
        return refs

    def image_exists(self, image_uri: str) -> bool:
        """ECR DescribeImages on ``<registry>/<repository>:<tag>``; a missing repository or tag is False."""
        name, _, tag = image_uri.rpartition(":")
        if not name or "/" in tag:
            raise ValueError(f"not an image reference with a tag: {image_uri!r}")
        registry, _, repository = name.partition("/")
        account = registry.split(".", 1)[0]
        request: dict[str, Any] = {"repositoryName": repository, "imageIds": [{"imageTag": tag}]}
        if account.isdigit():
            request["registryId"] = account
        try:
            found = self.clients("ecr").describe_images(**request)
        except Exception as exc:
            if error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
                return False
            raise
        return bool(found.get("imageDetails"))
