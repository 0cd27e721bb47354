"""A simulated CodeBuild: builds, weight pre-staging and benchmark runs on a virtual clock.

Nothing is built. A job "runs" for the catalog's expected minutes of its stage
(``build``, ``stage`` or ``benchmark``, by model size) on the injected clock, then
succeeds or fails the way the real :class:`~pathprover.adapters.aws.codebuild.CodeBuildBuilder`
reports it, so the lifecycle cannot tell the difference except by the word
"simulated" in the ref's meta, the detail and the failure text.

* A successful build reports ``detail["image_digest"] = "sha256:" + sha256(source_digest + kind)``
  (deterministic: the same bundle gives the same digest).
* A fault (stage ``build`` / ``stage`` / ``benchmark``) fails the job halfway through with
  CodeBuild's phase text followed by the fault's error text.
* A job longer than its ``timeout_minutes`` is TIMED_OUT.
* A benchmark job can run real work: ``job_runner(job)`` is called in a background thread
  when the job starts (the local workflow runs the real load generator against the
  simulated endpoint there). The job succeeds only when the virtual duration has passed
  *and* the runner has returned; its dict is in ``detail["result"]``. An exception fails
  the job with its text. While the virtual time is up but the runner still works, ``check``
  waits up to ``runner_poll_s`` of real time before answering "running" (wait 10 s), so a
  workflow polling on a virtual clock does not spin.

Env keys read from ``BuildJob.env`` (all optional): ``MODEL_PARAMS_B`` (model size in
billions, for the duration), else the catalog size of ``HF_MODEL_ID`` / ``MODEL_ID`` /
``PATHPROVER_MODEL_ID``; for fault matching also ``DEPLOYMENT_CONFIG``, ``QUANTIZATION``,
``TP_DEGREE``, ``INSTANCE_TYPE``, ``DEPLOYMENT_TARGET`` (see :func:`.faults.job_context`);
``IMAGE_URI`` and ``MODEL_S3_URI`` are echoed in ``detail["exported"]``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from pathprover.adapters.aws.codebuild import IMAGE_DIGEST_VAR, idempotency_token
from pathprover.adapters.local.account import ESTABLISHED, AccountProfile
from pathprover.adapters.local.faults import FaultPlan, job_context
from pathprover.catalog import Catalog
from pathprover.protocols import ArtifactStore, Clock
from pathprover.stages.jobs import MIN_WAIT_SECONDS, JobRef, JobState, suggest_wait
from pathprover.stages.specs import BuildJob

FAIL_AT_FRACTION: Final = 0.5
"""A faulted job fails this far into its expected duration."""

SIMULATED: Final = "simulated"

JobRunner = Callable[[BuildJob], dict[str, Any]]

_COMMANDS: Final[dict[str, str]] = {
    "build": 'docker build --pull --file "${BUILD_CONTEXT}/Dockerfile" --tag "$IMAGE_URI" "$BUILD_CONTEXT"',
    "stage": "bash buildspec/stage.sh",
    "benchmark": 'pathprover loadgen "${args[@]}" > "$RESULTS_DIR/summary.json"',
    "runner": 'docker build --tag "$IMAGE_URI" benchmark && docker push "$IMAGE_URI"',
}
BATCH_ANALYSIS_S: Final = 180.0
"""A batch benchmark job (metrics of a finished transform job): CodeBuild provisioning and a few S3 reads."""
PROVISIONING_S: Final = 60.0
"""A build that cannot provision (its image or a secret is missing) fails this soon."""


@dataclass
class _Build:
    job: BuildJob
    build_id: str
    started: datetime
    duration_s: float
    fault_text: str | None = None
    stopped_at: datetime | None = None
    thread: threading.Thread | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    log_uri: str | None = None
    provisioning_error: str | None = None


def image_digest(source_digest: str, kind: str) -> str:
    """The digest a simulated build reports for a bundle."""
    return "sha256:" + hashlib.sha256((source_digest + kind).encode("utf-8")).hexdigest()


class SimulatedBuilder:
    """:class:`~pathprover.protocols.Builder` on a virtual clock. Thread-safe."""

    def __init__(
        self,
        clock: Clock,
        catalog: Catalog,
        faults: FaultPlan | None = None,
        artifacts: ArtifactStore | None = None,
        job_runner: JobRunner | None = None,
        *,
        runner_poll_s: float = 0.5,
        account: AccountProfile = ESTABLISHED,
        runner_image_uri: str | None = None,
    ) -> None:
        self.clock = clock
        self.account = account
        self.runner_image_uri = runner_image_uri
        """The benchmark project's environment image; a benchmark job needs it in the registry."""
        self._images: set[str] = {runner_image_uri} if runner_image_uri and account.runner_image_built else set()
        self.catalog = catalog
        self.faults = faults if faults is not None else FaultPlan()
        self.artifacts = artifacts
        self.job_runner = job_runner
        self.runner_poll_s = runner_poll_s
        self._builds: dict[str, _Build] = {}
        self._by_token: dict[str, str] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ start
    def _duration_s(self, job: BuildJob, params_b: float) -> float:
        if job.kind == "runner":
            return (job.expected_minutes or 10.0) * 60.0
        if job.kind == "benchmark" and job.env.get("BENCHMARK_MODE") == "batch":
            return BATCH_ANALYSIS_S  # no load to send: the job only reads a finished transform job's output
        return self.catalog.search_space.timing.minutes(job.kind, params_b) * 60.0

    def running(self, execution_id: str, project: str) -> list[JobRef]:
        return [ref for ref in self.in_progress(project) if ref.meta.get("execution_id") == execution_id]

    def in_progress(self, project: str) -> list[JobRef]:
        now = self.clock.now()
        with self._lock:
            builds = [
                b
                for b in self._builds.values()
                if b.job.project_name == project
                and b.stopped_at is None
                and ((now - b.started).total_seconds() < b.duration_s or not b.finished.is_set())
            ]
        refs = [self._ref(b, adopted=True) for b in builds]
        return [
            ref.model_copy(update={"meta": {**ref.meta, "execution_id": b.job.execution_id}})
            if b.job.execution_id
            else ref
            for ref, b in zip(refs, builds, strict=True)
        ]

    def image_exists(self, image_uri: str) -> bool:
        with self._lock:
            return image_uri in self._images

    def _cannot_provision(self, job: BuildJob) -> str | None:
        """What CodeBuild reports in PROVISIONING when the environment image or a secret is missing."""
        for name, reference in sorted(job.secrets.items()):
            secret_id = reference.split(":", 1)[0] if not reference.startswith("arn:") else reference
            if not self.account.has_secret(secret_id):
                return (
                    f"CLIENT_ERROR: Secrets Manager error for environment variable {name}: "
                    "ResourceNotFoundException: Secrets Manager can't find the specified secret."
                )
        if job.kind == "benchmark" and self.runner_image_uri and self.runner_image_uri not in self._images:
            return (
                f"CLIENT_ERROR: Failed to pull the build environment image: CannotPullContainerError: Error response "
                f"from daemon: manifest for {self.runner_image_uri} not found: manifest unknown: Requested image "
                "not found"
            )
        return None

    def _gated_without_token(self, job: BuildJob, model_name: str | None) -> str | None:
        """A stage job downloads from the hub: a gated model needs the token (HF_TOKEN from the secret)."""
        if job.kind != "stage" or not model_name or "HF_TOKEN" in job.secrets:
            return None
        try:
            gated = self.catalog.model(model_name).gated
        except Exception:
            return None
        if not gated:
            return None
        return (
            "huggingface_hub.errors.GatedRepoError: 401 Client Error. Cannot access gated repo for url "
            f"https://huggingface.co/{model_name}/resolve/main/config.json. Access to model {model_name} is "
            "restricted. You must have access to it and be authenticated to access it. Please log in."
        )

    def start(self, job: BuildJob) -> JobRef:
        token = idempotency_token(job.execution_id, job.config_id, job.attempt, job.kind)
        with self._lock:
            existing = self._by_token.get(token)
            if existing is not None:  # CodeBuild's idempotency token: the same start is the same build
                return self._ref(self._builds[existing], adopted=True)
            context = job_context(self.catalog, job.env)
            provisioning = self._cannot_provision(job)
            # Faults name lifecycle stages; the runner image is not a stage of any config.
            fault = None if provisioning or job.kind == "runner" else context.take(self.faults, job.kind)
            fault_text = fault.error if fault is not None else self._gated_without_token(job, context.model_name)
            build = _Build(
                job=job,
                build_id=f"{job.project_name}:{uuid.UUID(token[:32])}",
                started=self.clock.now(),
                duration_s=PROVISIONING_S if provisioning else self._duration_s(job, context.params_b),
                fault_text=fault_text if provisioning is None else None,
                provisioning_error=provisioning,
            )
            self._builds[build.build_id] = build
            self._by_token[token] = build.build_id
        if (
            job.kind == "benchmark"
            and self.job_runner is not None
            and build.fault_text is None
            and build.provisioning_error is None
        ):
            thread = threading.Thread(
                target=self._run, args=(build,), name=f"simulated-benchmark-{job.config_id}", daemon=True
            )
            build.thread = thread
            thread.start()
        else:
            build.finished.set()
        return self._ref(build, adopted=False)

    def _run(self, build: _Build) -> None:
        assert self.job_runner is not None
        try:
            result = self.job_runner(build.job)
            if not isinstance(result, dict):
                raise TypeError(f"the benchmark runner returned {type(result).__name__}, not a dict")
            build.result = result
        except BaseException as exc:
            build.error = f"{type(exc).__name__}: {exc}"
        finally:
            build.finished.set()

    def _ref(self, build: _Build, *, adopted: bool) -> JobRef:
        job = build.job
        expected_min = job.expected_minutes if job.expected_minutes is not None else build.duration_s / 60.0
        meta = {
            "arn": f"arn:aws:codebuild:{self.catalog.pricing.region}:000000000000:build/{build.build_id}",
            "expected_s": str(int(expected_min * 60)),
            "failure_stage": job.failure_stage,
            "simulated": "true",
            "simulated_duration_s": str(int(build.duration_s)),
        }
        if adopted:
            meta["adopted"] = "build"
        return JobRef(
            kind=job.kind, name=job.project_name, arn_or_id=build.build_id, started_at=build.started, meta=meta
        )

    # ------------------------------------------------------------------ poll
    def check(self, ref: JobRef) -> JobState:
        stage = ref.meta.get("failure_stage", ref.kind)
        if ref.start_failure:
            return JobState.failed(ref.start_failure, stage)
        with self._lock:
            build = self._builds.get(ref.arn_or_id)
        if build is None:
            return JobState.failed(f"CodeBuild build {ref.arn_or_id} not found (simulated)", stage)
        now = self.clock.now()
        elapsed = max(0.0, (now - build.started).total_seconds())
        expected = float(ref.meta.get("expected_s", "0") or 0) or build.duration_s
        job = build.job
        detail: dict[str, Any] = {
            "build_id": build.build_id,
            "build_status": "IN_PROGRESS",
            "current_phase": "BUILD",
            "simulated": True,
            "simulated_duration_s": round(build.duration_s, 1),
        }
        timeout_s = job.timeout_minutes * 60.0
        if build.stopped_at is not None:
            detail["build_status"] = "STOPPED"
            return JobState.failed(self._failure(build, "STOPPED", "build was stopped"), stage, detail)
        if build.provisioning_error is not None and elapsed >= build.duration_s:
            detail["build_status"] = "FAILED"
            detail["current_phase"] = "PROVISIONING"
            text = (
                f"CodeBuild build {build.build_id} FAILED (phase PROVISIONING) [simulated]\n"
                f"phase PROVISIONING FAILED: {build.provisioning_error}"
            )
            detail["log_uri"] = self._write_log(build, text)
            return JobState.failed(text, stage, detail)
        if build.provisioning_error is not None:
            return JobState.running(suggest_wait(elapsed, build.duration_s, billing=False), detail)
        if build.fault_text is not None and elapsed >= min(build.duration_s * FAIL_AT_FRACTION, timeout_s):
            detail["build_status"] = "FAILED"
            text = self._command_failure(build, build.fault_text)
            detail["log_uri"] = self._write_log(build, text)
            return JobState.failed(text, stage, detail)
        if elapsed >= timeout_s and build.duration_s > timeout_s:
            detail["build_status"] = "TIMED_OUT"
            text = self._failure(build, "TIMED_OUT", None)
            detail["log_uri"] = self._write_log(build, text)
            return JobState.failed(text, stage, detail)
        if elapsed < build.duration_s:
            return JobState.running(suggest_wait(elapsed, expected, billing=False), detail)
        # The virtual time is up but the real benchmark runner may still be working: give it a
        # moment of real time here, so a workflow polling on a virtual clock does not spin.
        if not build.finished.wait(timeout=self.runner_poll_s):
            detail["waiting_for"] = "benchmark runner"
            return JobState.running(MIN_WAIT_SECONDS, detail)
        if build.error is not None:
            detail["build_status"] = "FAILED"
            text = self._command_failure(build, build.error)
            detail["log_uri"] = self._write_log(build, text)
            return JobState.failed(text, stage, detail)
        detail["build_status"] = "SUCCEEDED"
        detail["current_phase"] = "COMPLETED"
        detail["finished_at"] = (build.started + timedelta(seconds=build.duration_s)).isoformat()
        exported: dict[str, str] = {k: job.env[k] for k in ("IMAGE_URI", "MODEL_S3_URI") if k in job.env}
        if job.kind == "build":
            exported[IMAGE_DIGEST_VAR] = image_digest(job.source_digest, job.kind)
        elif job.kind == "stage":
            exported["MODEL_MANIFEST_SHA256"] = image_digest(job.source_digest, job.kind).removeprefix("sha256:")
            self._write_staged(job)
        elif job.kind == "runner" and "IMAGE_URI" in job.env:
            with self._lock:
                self._images.add(job.env["IMAGE_URI"])
        detail["exported"] = exported
        detail["image_digest"] = exported.get(IMAGE_DIGEST_VAR) or None
        if job.kind == "benchmark" and build.result is not None:
            detail["result"] = build.result
        detail["log_uri"] = self._write_log(build, f"simulated {job.kind} succeeded")
        return JobState.succeeded(detail)

    def _write_staged(self, job: BuildJob) -> None:
        """What the real stage job leaves in S3: the weights folder's config.json marker and its manifest
        (no weights: nothing is downloaded here), so a later prove finds the weights already staged."""
        prefix = job.env.get("MODEL_S3_URI")
        put = getattr(self.artifacts, "put_uri", None)
        if not prefix or put is None:
            return
        put(prefix + "config.json", json.dumps({"simulated": True, "model": job.env.get("MODEL_ID")}).encode())
        put(prefix + "manifest.sha256", f"simulated  {job.env.get('MODEL_ID', '')}\n".encode())

    def _failure(self, build: _Build, status: str, note: str | None) -> str:
        lines = [f"CodeBuild build {build.build_id} {status} (phase BUILD) [simulated]", f"phase BUILD {status}"]
        if status == "TIMED_OUT":
            lines.append(f"build timed out after {build.job.timeout_minutes} minutes")
        if note:
            lines.append(note)
        return "\n".join(lines)

    def _command_failure(self, build: _Build, error: str) -> str:
        command = _COMMANDS.get(build.job.kind, "bash run.sh")
        return (
            f"CodeBuild build {build.build_id} FAILED (phase BUILD) [simulated]\n"
            f"phase BUILD FAILED: COMMAND_EXECUTION_ERROR: Error while executing command: {command}. "
            "Reason: exit status 1\n"
            f"{error.strip()}"
        )

    def _write_log(self, build: _Build, text: str) -> str | None:
        if self.artifacts is None:
            return None
        if build.log_uri is None:
            record = {
                "simulated": True,
                "build_id": build.build_id,
                "kind": build.job.kind,
                "config_id": build.job.config_id,
                "attempt": build.job.attempt,
                "text": text,
            }
            key = f"simulated/codebuild/{build.build_id.replace(':', '/')}.json"
            stored = self.artifacts.put_bytes(key, json.dumps(record, indent=2).encode("utf-8"))
            build.log_uri = self.artifacts.location(stored)  # the real file, not the s3:// alias
        return build.log_uri

    # ------------------------------------------------------------------ stop / close
    def stop(self, ref: JobRef) -> None:
        """Stop a running job (a runner thread cannot be killed; its result is then ignored)."""
        if ref.start_failure:
            return
        with self._lock:
            build = self._builds.get(ref.arn_or_id)
            if build is None or build.stopped_at is not None:
                return
            elapsed = (self.clock.now() - build.started).total_seconds()
            if elapsed < build.duration_s or not build.finished.is_set():
                build.stopped_at = self.clock.now()

    def wait_for_runners(self, timeout_s: float | None = None) -> bool:
        """Join the benchmark runner threads; True if all have finished."""
        with self._lock:
            threads = [b.thread for b in self._builds.values() if b.thread is not None]
        for thread in threads:
            thread.join(timeout_s)
        return not any(t.is_alive() for t in threads)

    def close(self, timeout_s: float = 30.0) -> None:
        self.wait_for_runners(timeout_s)

    def __enter__(self) -> SimulatedBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
