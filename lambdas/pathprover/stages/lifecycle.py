"""The lifecycle of one prove, as the small steps the state machine strings together.

`[stage] → generate → build → push → deploy → test → [tune → adapter → test] → benchmark → register → clean`

- :func:`begin` takes the config's lease and reserves its budget (or skips it);
- :func:`advance` starts the next stage: quick stages finish at once
  (`status = next`), long ones return a job to poll (`status = polling` with
  `wait_seconds`);
- :func:`check` polls the current job, bounded by a deadline and a poll count
  per stage, and by the prove's reserved budget while something bills;
- :func:`handle_failure` classifies what went wrong and records it;
- :func:`clean` deletes everything the prove created (always runs);
- :func:`settle` replaces the reservation by the actual cost and frees the lease.

Every function takes the prove's state and the services, and returns the new
state; business failures are data (`status = failed`), never exceptions.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pathprover.brain.feasibility import timeout_limit_reason
from pathprover.classifier import classify
from pathprover.classifier.redact import redact
from pathprover.classifier.scope import FailureOrigin
from pathprover.core.records import ProveContext, completed_records, failure_record
from pathprover.core.runconfig import RunConfig
from pathprover.core.stage_table import BILLING_STAGES, QUICK_STAGE_SECONDS, STAGE_ORDER, STAGE_TABLE
from pathprover.generate.bundle import Bundle, bundle_zip
from pathprover.protocols import Services, record_time
from pathprover.stages.jobs import BUILD_KINDS, FLEET_KINDS, JobRef, JobState, suggest_wait
from pathprover.stages.naming import resource_names
from pathprover.stages.specs import ADAPTER_NAME_ENV, BuildJob, DeploySpec, TrainingSpec
from pathprover.stages.staging import DEFAULT_STAGE_COMPUTE, stage_compute, too_large_to_stage
from pathprover.stages.state import (
    EVENTS_PER_STATE,
    EVENTS_PER_TASK,
    Failure,
    ProveState,
    StageRecord,
)

DEADLINE_FACTOR: Final = 2.0
"""A stage may take this many times its expected duration (x the config's timeout multiplier)."""
DEADLINE_SLACK_S: Final = 300
MAX_POLLS_PER_STAGE: Final = 60
COLD_START_TIMEOUT_S: Final = 900
"""The smoke test keeps retrying connection refused / 503 for this long after InService."""
HORIZON_MARGIN: Final = timedelta(hours=1)
"""Beyond the prove's own deadlines: Lambda retries, a Wait that overshoots, Clean and Settle."""
SMOKE_PROMPT: Final = "Say hello in one short sentence."


class StageError(Exception):
    """A stage cannot even start because its inputs are missing (a bug in the workflow, not the config)."""


# ---------------------------------------------------------------------------------------------- helpers
def _now(svc: Services) -> datetime:
    now = svc.clock.now()
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def with_required_stages(run: RunConfig, svc: Services) -> RunConfig:
    """The run as it must be proved.

    - A gated model's weights are always staged to S3 first (by the stage job, which reads the Hugging
      Face token from Secrets Manager): the endpoint then loads them from S3 (ModelDataSource) and never
      sees the token.
    - The engine holds the context the plan sized the config for (the catalog's KV reserve, or the
      benchmark's longest request if longer, capped by the model's own context) unless the target says
      otherwise: left to its default, an engine
      reserves the model's full context (128K tokens for Llama 3.1) and a config the brain sized to fit
      fails for a reason no one chose.
    """
    from pathprover.generate.engines import engine_spec

    update: dict[str, Any] = {}
    model = svc.catalog.model(run.model_name)
    if model.gated and "stage" not in run.stages:
        update["stages"] = ("stage", *run.stages)
    engine = engine_spec(svc.catalog.deployment_config(run.vector.deployment_config).engine)
    if engine.context_param and engine.context_param not in run.serving_params:
        workload = run.benchmark.input_tokens + run.benchmark.output_tokens
        context = min(model.context_length, max(svc.catalog.search_space.sizing.kv_reserve_tokens, workload))
        update["serving_params"] = {**run.serving_params, engine.context_param: context}
    return run.model_copy(update=update) if update else run


def stage_plan(run: RunConfig) -> list[str]:
    """The stages this prove runs, in lifecycle order; tune stages only when tuning was asked for, the adapter
    stage when there is an adapter to serve (RunConfig refuses an adapter stage without one)."""
    wanted = set(run.stages) | {"register", "clean"}
    if run.tuning is not None:
        wanted |= {"tune", "adapter"}
    if run.adapter_s3_uri is not None:
        wanted.add("adapter")
    plan = [s for s in STAGE_ORDER if s in wanted]
    if "adapter" in plan and "test" in plan:
        plan.insert(plan.index("adapter") + 1, "test")
    return plan


ADAPTER_NAME: Final = "pathprover-lora"
"""The name the adapter is served under: the adapter test and the benchmark send it as the OpenAI `model`."""


RUNNER_IMAGE_MINUTES: Final = 10.0
"""Expected build time of the benchmark runner image (python base + one wheel)."""
INTERNAL_ERRORS: Final = frozenset(
    {
        "StageError",
        "ValidationError",
        "KeyError",
        "TypeError",
        "AttributeError",
        "ValueError",
        "IndexError",
        "NameError",
        "RuntimeError",
        "AssertionError",
        "ZeroDivisionError",
        "ImportError",
        "ModuleNotFoundError",
    }
)
"""A task that crashed with one of these is a bug in Path Prover, not a property of the config: the row is
`failed` with scope `harness`, and the run reports an error."""


def _expected_seconds(svc: Services, state: ProveState, stage: str) -> float:
    """The stage's catalog timing for this model x the config's timeout multiplier; a fixed time for a
    stage without a timing row (:data:`~pathprover.core.stage_table.STAGE_TABLE`)."""
    facts = STAGE_TABLE.get(stage)  # type: ignore[call-overload]
    if facts is None or facts.timing is None:
        return facts.fixed_seconds if facts is not None else QUICK_STAGE_SECONDS
    params = svc.catalog.model(state.run.model_name).total_params_b
    return svc.catalog.search_space.timing.minutes(facts.timing, params) * 60.0 * state.run.timeout_multiplier


def _price(svc: Services, state: ProveState) -> float:
    return svc.catalog.instance(state.run.instance_type).price_per_hour_usd


def _billing_cost(svc: Services, state: ProveState, now: datetime) -> float:
    price = _price(svc, state)
    seconds = 0.0
    for span in state.billing.values():
        start = datetime.fromisoformat(span[0])
        end = datetime.fromisoformat(span[1]) if len(span) > 1 else now
        seconds += max(0.0, (end - start).total_seconds())
    return round(seconds / 3600.0 * price, 4)


def _stop_billing(state: ProveState, name: str, at: datetime) -> None:
    """Close a billing span (a job that ended by itself, an endpoint deleted before the prove's clean)."""
    span = state.billing.get(name)
    if span is not None and len(span) == 1:
        start = datetime.fromisoformat(span[0])
        span.append(max(start, at).isoformat())


def _job_end(job_state: JobState, now: datetime) -> datetime:
    finished = job_state.detail.get("finished_at")
    if isinstance(finished, str):
        try:
            at = datetime.fromisoformat(finished)
            return min(now, at if at.tzinfo else at.replace(tzinfo=UTC))
        except ValueError:
            pass
    return now


def _clean_cost(svc: Services, state: ProveState) -> float:
    return _expected_seconds(svc, state, "clean") / 3600.0 * _price(svc, state)


STOPPED_STATUSES: Final = frozenset({"STOPPED", "Stopped", "Stopping"})
_STATUS_KEYS: Final = ("build_status", "endpoint_status", "training_job_status", "transform_job_status")


def failure_origin(job: JobRef, job_state: JobState) -> FailureOrigin:
    """Where a failed job's failure was seen. A job someone stopped (the harness's clean-up, the janitor,
    an operator) did not fail on its own: that is the harness's, never the configuration's."""
    if job.start_failure:
        return "api"
    if any(job_state.detail.get(key) in STOPPED_STATUSES for key in _STATUS_KEYS):
        return "harness"
    return "job"


def _fail(state: ProveState, stage: str | None, text: str, origin: FailureOrigin = "job") -> ProveState:
    """Take the failure path; ``origin`` says where it was seen (it informs who is at fault)."""
    state.status = "failed"
    state.wait_seconds = 0
    state.failure = Failure(stage=stage, text=redact(text), origin=origin)
    if state.history and state.history[-1].outcome == "running":
        state.history[-1].outcome = "failed"
    return state


def _finish_stage(state: ProveState, now: datetime, outcome: str = "succeeded", note: str | None = None) -> None:
    record = state.history[-1]
    record.finished_at = now
    record.outcome = outcome  # type: ignore[assignment]
    record.note = note
    state.job = None
    state.current = None
    state.deadline = None
    state.index += 1
    state.status = "finished" if state.index >= len(state.plan) else "next"
    state.wait_seconds = 0


def _poll_later(state: ProveState, job: JobRef, wait: int) -> ProveState:
    state.job = job
    state.status = "polling"
    state.wait_seconds = max(1, int(wait))
    return state


def serving_env(svc: Services, run: RunConfig) -> dict[str, str]:
    """The container's environment: model, parallelism and `SM_<ENGINE>_<KEY>` engine arguments."""
    config = svc.catalog.deployment_config(run.vector.deployment_config)
    env = {
        "MODEL_ID": run.model_name,
        "HF_MODEL_ID": run.model_name,
        "QUANTIZATION": run.vector.quantization,
        "TP_DEGREE": str(run.vector.tp_degree),
        "DEPLOYMENT_CONFIG": run.vector.deployment_config,
    }
    for key, value in sorted(run.serving_params.items()):
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        env[f"{config.env_prefix}{key.upper()}"] = text.lower() if isinstance(value, bool) else text
    return env


# ---------------------------------------------------------------------------------------------- begin
def begin(state: ProveState, svc: Services) -> ProveState:
    """Lease the config and reserve its budget, or skip it with the reason."""
    now = _now(svc)
    state.started_at = state.started_at or now
    state.run = with_required_stages(state.run, svc)
    state.plan = state.plan or stage_plan(state.run)
    owner = _lease_owner(state)
    if not svc.ledger.acquire_lease(state.config_id, owner, _seconds_until(prove_horizon(state, svc, now), now), now):
        return _skip(state, now, "another execution is proving this config (lease held)")
    # Checked under the lease: another execution may have proved it since this run's plan was made.
    since = ""
    planned = state.rows_since or state.planned_at  # on the rows' clock: run_timestamp is wall-clock time
    if planned is not None:
        # The plan already left out what was proved before it was made (an explicit target is re-proved
        # on purpose), so only rows written since matter: read those partitions, not the whole table.
        since = (
            f" AND dt >= '{planned.astimezone(UTC):%Y-%m-%d}'"
            f" AND run_timestamp >= from_iso8601_timestamp('{planned.isoformat()}')"
        )
    already = svc.store.query(
        "SELECT COUNT(*) FROM mlcc_ci.benchmark_results "
        f"WHERE config_id = {_sql_text(state.config_id)} AND status IN ('completed', 'unfeasible') "
        f"AND COALESCE(execution_id, '') <> {_sql_text(state.execution_id)}{since}"
    ).rows
    if already and already[0][0]:
        svc.ledger.release_lease(state.config_id, owner)
        return _skip(state, now, "already proved or recorded unfeasible by another execution")
    if state.run_deadline is not None:
        needed = expected_prove_seconds(state.run, svc) * DEADLINE_FACTOR
        if now + timedelta(seconds=needed) > state.run_deadline:
            svc.ledger.release_lease(state.config_id, owner)
            return _skip(
                state,
                now,
                f"not enough time left in this execution: the prove may take {needed / 3600:.1f} h and the "
                f"execution's TimeoutSeconds is reached at {state.run_deadline:%Y-%m-%d %H:%M} UTC",
            )
    estimate = state.run.budget_ceiling_usd or state.run.estimated_cost_usd or 0.0
    if not svc.ledger.reserve(state.execution_id, state.budget_key, estimate, state.max_cost_usd):
        svc.ledger.release_lease(state.config_id, owner)
        spent, reserved = svc.ledger.totals(state.execution_id)
        return _skip(
            state,
            now,
            f"over budget: ${estimate:.2f} would bring spent ${spent:.2f} + reserved ${reserved:.2f} "
            f"over MAX_COST_PER_RUN ${state.max_cost_usd:.2f}",
        )
    state.reserved_usd = estimate
    state.status = "next"
    return state


def _sql_text(value: str) -> str:
    """A SQL string literal (execution names may contain quotes)."""
    return "'" + value.replace("'", "''") + "'"


def _skip(state: ProveState, now: datetime, reason: str) -> ProveState:
    state.status = "skipped"
    state.outcome = "skipped"
    state.skip_reason = reason
    state.finished_at = now
    return state


# ---------------------------------------------------------------------------------------------- advance
def advance(state: ProveState, svc: Services) -> ProveState:
    """Start the next stage of the plan."""
    if state.status not in ("next",):
        raise StageError(f"advance called with status {state.status!r}")
    if state.index >= len(state.plan):
        state.status = "finished"
        return state
    stage = state.plan[state.index]
    now = _now(svc)
    state.current = stage
    state.stage_started_at = now
    state.history.append(StageRecord(stage=stage, started_at=now))
    budget = _stage_budget(svc, state, stage)
    state.deadline = now + timedelta(seconds=budget)
    if state.run_deadline is not None and stage not in ("clean", "register"):
        state.deadline = min(state.deadline, max(now, state.run_deadline))
    # The cap grows with the deadline, so a longer timeout (multiplier) is not cut short by the poll count.
    state.max_polls = MAX_POLLS_PER_STAGE + int(budget // 120)
    starter = _STARTERS[stage]
    return starter(state, svc, now)


def _stage_budget(svc: Services, state: ProveState, stage: str) -> float:
    """Seconds a stage may take before it fails as a timeout (its deadline)."""
    if stage == "test":
        return COLD_START_TIMEOUT_S * state.run.timeout_multiplier
    return _expected_seconds(svc, state, stage) * DEADLINE_FACTOR + DEADLINE_SLACK_S


def prove_horizon(state: ProveState, svc: Services, now: datetime) -> datetime:
    """The latest a prove can still be running: the current stage's deadline (or now), then every later
    stage at its full budget, plus a margin; never past the execution's own end (plus the margin).

    The lease's expiry and the resources' `pathprover:expiry` tag follow it, so neither the lease nor
    the janitor can take from a prove that is still within its deadlines, however long its plan is;
    the lease is renewed to it on every check."""
    later = state.plan[state.index + 1 :] if state.current is not None else state.plan[state.index :]
    start = max(now, state.deadline) if state.deadline is not None else now
    horizon = start + timedelta(seconds=sum(_stage_budget(svc, state, s) for s in later)) + HORIZON_MARGIN
    if state.run_deadline is not None:
        horizon = min(horizon, max(now, state.run_deadline) + HORIZON_MARGIN)
    return horizon


def _seconds_until(when: datetime, now: datetime) -> int:
    return max(60, int((when - now).total_seconds()))


def _lease_owner(state: ProveState) -> str:
    return f"{state.execution_id}#{state.lane}"


def _start_stage_weights(state: ProveState, svc: Services, now: datetime) -> ProveState:
    run = state.run
    unstageable = too_large_to_stage(svc.catalog, run.model_name)
    if unstageable is not None:  # the plan leaves these out; a hand-made state must not start a doomed build
        return _fail(state, "stage", unstageable, "harness")
    prefix = f"models/{hashlib.sha256(run.model_name.encode()).hexdigest()[:16]}/"
    manifest_key = prefix + "manifest.sha256"
    model_uri = svc.artifacts.uri(prefix)
    state.artifacts["model_s3_uri"] = model_uri
    if svc.artifacts.exists(model_uri + "manifest.sha256"):
        _finish_stage(state, now, note="weights already staged (manifest present): no-op")
        return state
    bundle = _render(svc, state, model_s3_uri=model_uri)
    source = svc.artifacts.put_bytes(f"bundles/stage-{bundle.digest[:16]}.zip", bundle_zip(bundle))
    job = BuildJob(
        project_name=svc.settings.stage_project,
        kind="stage",
        source_s3_uri=source,
        source_digest=bundle.digest,
        env={**_job_env(svc, state), "MODEL_S3_URI": model_uri, "MANIFEST_KEY": manifest_key},
        secrets={"HF_TOKEN": svc.settings.hf_token_secret} if svc.settings.hf_token_secret else {},
        compute_type=compute
        if (compute := stage_compute(svc.catalog, run.model_name)) != DEFAULT_STAGE_COMPUTE
        else None,
        execution_id=state.execution_id,
        config_id=state.config_id,
        attempt=state.attempt,
        expected_minutes=_expected_seconds(svc, state, "stage") / 60.0,
        timeout_minutes=max(10, int(_expected_seconds(svc, state, "stage") * DEADLINE_FACTOR / 60) + 5),
    )
    ref = svc.builder.start(job)
    return _poll_later(state, ref, suggest_wait(0, _expected_seconds(svc, state, "stage"), billing=False))


def _job_env(svc: Services, state: ProveState) -> dict[str, str]:
    """What every CodeBuild job is told about the config it works for (logs, and the simulation's faults)."""
    run = state.run
    return {
        "MODEL_ID": run.model_name,
        "DEPLOYMENT_CONFIG": run.vector.deployment_config,
        "INSTANCE_TYPE": run.instance_type,
        "DEPLOYMENT_TARGET": run.vector.deployment_target,
        "QUANTIZATION": run.vector.quantization,
        "TP_DEGREE": str(run.vector.tp_degree),
        "MODEL_PARAMS_B": str(svc.catalog.model(run.model_name).total_params_b),
        "CONFIG_ID": state.config_id,
    }


def _render(svc: Services, state: ProveState, model_s3_uri: str | None = None) -> Any:
    from pathprover.generate.render import render_bundle

    return render_bundle(
        state.run,
        svc.catalog,
        image_repo=svc.settings.image_repository_uri,
        model_s3_uri=model_s3_uri,
        base_image_registry=svc.settings.base_image_registry,
    )


def _start_generate(state: ProveState, svc: Services, now: datetime) -> ProveState:
    bundle = _render(svc, state, model_s3_uri=state.artifacts.get("model_s3_uri"))
    uri = svc.artifacts.put_bytes(f"bundles/{bundle.digest[:32]}.zip", bundle_zip(bundle))
    state.artifacts["bundle_uri"] = uri
    state.artifacts["bundle_digest"] = bundle.digest
    _finish_stage(state, now, note=f"{len(bundle.files)} files, sha256 {bundle.digest[:16]}")
    return state


def _start_build(state: ProveState, svc: Services, now: datetime) -> ProveState:
    if "bundle_uri" not in state.artifacts:
        raise StageError("build needs the generate stage's bundle")
    expected = _expected_seconds(svc, state, "build")
    tag = state.artifacts["bundle_digest"][:20]
    job = BuildJob(
        project_name=svc.settings.build_project,
        kind="build",
        source_s3_uri=state.artifacts["bundle_uri"],
        source_digest=state.artifacts["bundle_digest"],
        env={**_job_env(svc, state), "IMAGE_REPO_URI": svc.settings.image_repository_uri, "IMAGE_TAG": tag},
        execution_id=state.execution_id,
        config_id=state.config_id,
        attempt=state.attempt,
        expected_minutes=expected / 60.0,
        timeout_minutes=max(10, int(expected * DEADLINE_FACTOR / 60) + 5),
    )
    state.artifacts["image_uri"] = f"{svc.settings.image_repository_uri}:{tag}"
    return _poll_later(state, svc.builder.start(job), suggest_wait(0, expected, billing=False))


def _start_push(state: ProveState, svc: Services, now: datetime) -> ProveState:
    """The build job pushes; this stage refuses to deploy an image whose digest was not recorded."""
    digest = state.artifacts.get("image_digest")
    if not digest:
        return _fail(state, "push", "the build finished without pushing an image (no IMAGE_DIGEST exported)", "harness")
    base = state.artifacts["image_uri"].rsplit(":", 1)[0]
    state.artifacts["image_ref"] = f"{base}@{digest}"
    _finish_stage(state, now, note=digest)
    return state


def _deploy_spec(state: ProveState, svc: Services, now: datetime, variant: str = "") -> DeploySpec:
    run = state.run
    names = resource_names(state.execution_id, state.config_id, state.attempt, variant)
    env = serving_env(svc, run)
    model_data_uri = state.artifacts.get("model_s3_uri")
    if model_data_uri:
        # SageMaker copies the uncompressed S3 prefix to /opt/ml/model (ModelDataSource, S3Prefix) before the
        # container starts; the container serves from there.
        env["MODEL_SOURCE"] = "s3"
        env["MODEL_S3_URI"] = model_data_uri
    adapter_uri = None
    if variant == "adapter":
        adapter_uri = state.artifacts.get("adapter_s3_uri") or run.adapter_s3_uri
        if not adapter_uri:
            raise StageError("the adapter stage needs the tune stage's adapter or the target's adapter_s3_uri")
        # SageMaker copies the adapter beside the model (AdditionalModelDataSources); start.sh serves it by name.
        env[ADAPTER_NAME_ENV] = ADAPTER_NAME
    io_prefix = svc.artifacts.uri(f"io/{names.endpoint}/")
    target = run.vector.deployment_target
    batch_input = None
    if target == "batch-transform":
        request = {"prompt": SMOKE_PROMPT, "max_tokens": 16, "temperature": 0}
        batch_input = svc.artifacts.put_bytes(f"io/{names.endpoint}/input/smoke.jsonl", json.dumps(request).encode())
    return DeploySpec(
        execution_id=state.execution_id,
        config_id=state.config_id,
        attempt=state.attempt,
        names=names,
        image_uri=state.artifacts.get("image_ref") or state.artifacts.get("image_uri", ""),
        env=env,
        instance_type=run.instance_type,
        target=target,
        async_output_s3=io_prefix + "async-output/" if target == "async-inference" else None,
        async_failure_s3=io_prefix + "async-failure/" if target == "async-inference" else None,
        batch_input_s3=batch_input,
        batch_output_s3=io_prefix + "output/" if target == "batch-transform" else None,
        capacity_reservation_arn=run.infra_params.capacity_reservation_arn if target != "batch-transform" else None,
        role_arn=svc.settings.sagemaker_role_arn,
        expiry=prove_horizon(state, svc, now),
        stack=svc.settings.stack,
        expected_ready_s=int(_expected_seconds(svc, state, "deploy")),
        stage="adapter" if variant else "deploy",
        model_data_uri=model_data_uri,
        adapter_data_uri=adapter_uri,
        **startup_timeouts(svc, run),
    )


DOWNLOAD_BYTES_PER_S: Final = 150e6
"""S3 → instance volume, a conservative sustained rate for one large model (an assumption, not a
measurement: larger instances are faster, so the timeout is generous for them)."""
LOAD_BYTES_PER_S: Final = 500e6
"""Weights from the local volume into GPU memory (safetensors, mmap), aggregated over the instance."""
ENGINE_INIT_S: Final = 600
"""Engine start besides the weights: CUDA context, NCCL with TP, memory profiling, CUDA-graph capture."""
STARTUP_TIMEOUT_RANGE: Final = (600, 3600)
"""SageMaker accepts 60-3600 s for both; less than 10 minutes is too tight for any LLM engine."""


def startup_timeouts(svc: Services, run: RunConfig) -> dict[str, int]:
    """ModelDataDownloadTimeoutInSeconds and ContainerStartupHealthCheckTimeoutInSeconds, sized from the
    model's bytes: SageMaker's defaults are too short for a large model (a 65 GB model with TP 4 does not
    pass them). Twice the expected time, clamped to what SageMaker accepts; always sent."""
    model = svc.catalog.model(run.model_name)
    weight_bytes = model.total_params_b * 1e9 * svc.catalog.weight_bytes_per_param(model, run.vector.quantization)
    low, high = STARTUP_TIMEOUT_RANGE
    download = int(min(high, max(low, 2 * weight_bytes / DOWNLOAD_BYTES_PER_S)))
    startup = int(min(high, max(low, 2 * (weight_bytes / LOAD_BYTES_PER_S) + ENGINE_INIT_S)))
    return {"model_download_timeout_s": download, "startup_health_check_timeout_s": startup}


def _start_deploy(state: ProveState, svc: Services, now: datetime, variant: str = "") -> ProveState:
    spec = _deploy_spec(state, svc, now, variant)
    ref = svc.fleet.start_deploy(spec)
    state.resources.append(ref)
    state.billing[ref.name] = [now.isoformat()]
    if spec.batch_output_s3:
        state.artifacts["batch_output_s3"] = spec.batch_output_s3
    return _poll_later(state, ref, suggest_wait(0, spec.expected_ready_s, billing=True))


def _start_adapter(state: ProveState, svc: Services, now: datetime) -> ProveState:
    released = _release_base_endpoint(state, svc, now, "adapter")
    if released is not None:
        return released
    return _start_deploy(state, svc, now, variant="adapter")


def _release_base_endpoint(state: ProveState, svc: Services, now: datetime, stage: str) -> ProveState | None:
    """Delete the base endpoint once its test passed, before the training job or the adapter endpoint starts,
    so one instance bills at a time (what the plan reserved for). None when done; a failed state when the
    delete was refused (going on would bill two instances)."""
    base = [
        r
        for r in state.resources
        if r.kind == "endpoint" and r.meta.get("failure_stage", "deploy") == "deploy" and not r.start_failure
    ]
    live = [r for r in base if len(state.billing.get(r.name, [])) == 1]
    if not live:
        return None
    report = svc.fleet.clean(live, keep=False)
    if report.errors:
        return _fail(
            state,
            stage,
            f"could not delete the base endpoint before {stage}: {'; '.join(report.errors)}",
            "harness",
        )
    for ref in live:
        _stop_billing(state, ref.name, now)
    state.artifacts.pop("endpoint_url", None)
    state.notes.append(f"base endpoint deleted after its test, before {stage} (one instance bills at a time)")
    return None


def _endpoint_ref(state: ProveState) -> JobRef:
    endpoints = [r for r in state.resources if r.kind in ("endpoint", "transform")]
    if not endpoints:
        raise StageError("test needs a deployed endpoint")
    return endpoints[-1]


def _smoke(state: ProveState, svc: Services, now: datetime) -> ProveState:
    """One fixed request; connection refused / 503 while booting means 'not yet', bounded by the cold start."""
    ref = _endpoint_ref(state)
    if ref.kind == "transform":
        output = state.artifacts.get("batch_output_s3", "") + "smoke.jsonl.out"
        if not svc.artifacts.exists(output):
            return _fail(state, "test", f"batch transform finished without output at {output}")
        answer = svc.artifacts.get_bytes(output).strip().splitlines()
        if not answer or not _has_text(answer[0]):
            return _fail(state, "test", f"batch transform output has no text: {b''.join(answer)[:300]!r}")
        _finish_stage(state, now, note="batch transform output present")
        return state
    served = _served_model(state, ref)
    body = json.dumps({"model": served, "prompt": SMOKE_PROMPT, "max_tokens": 16, "temperature": 0}).encode()
    result = svc.fleet.invoke(ref, body, "application/json")
    if result.status_code in (200, 202):
        if result.status_code == 200 and not _has_text(result.body):
            return _fail(state, "test", f"smoke request returned no text: {result.body[:300]!r}")
        if served == ADAPTER_NAME and result.status_code == 200 and _answered_by(result.body) not in (None, served):
            return _fail(
                state,
                "test",
                f"the adapter test asked for model {served!r} but {_answered_by(result.body)!r} answered: the "
                "endpoint does not serve the adapter",
                # The plan admits only stacks the catalog says serve adapters: this is the container's plumbing.
                "harness",
            )
        note = f"HTTP {result.status_code}" + (f", adapter {served}" if served == ADAPTER_NAME else "")
        _finish_stage(state, now, note=note)
        return state
    if result.status_code in (503, 0) or result.error == "not ready":
        if state.deadline is not None and now >= state.deadline:
            return _fail(state, "test", f"endpoint not ready after the cold-start timeout: {result.error or ''}")
        return _poll_later(state, ref, 15)
    text = result.error or result.body.decode("utf-8", "replace")
    return _fail(state, "test", f"smoke request failed with HTTP {result.status_code}: {text[:2000]}")


def _served_model(state: ProveState, ref: JobRef) -> str:
    """What a request to ``ref`` names as its model: the adapter on the adapter endpoint, else the base model."""
    return ADAPTER_NAME if ref.meta.get("failure_stage") == "adapter" else state.run.model_name


def _answered_by(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    model = payload.get("model") if isinstance(payload, dict) else None
    return str(model) if model else None


def _has_text(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return bool(body.strip())
    if isinstance(payload, dict) and payload.get("choices"):
        choice = payload["choices"][0]
        return bool(choice.get("text") or (choice.get("message") or {}).get("content"))
    return bool(payload)


def _start_tune(state: ProveState, svc: Services, now: datetime) -> ProveState:
    """Start the LoRA training job: containers/training as its script-mode source, the bundled dataset as its
    train channel, the staged weights (when there are) as its model channel. The base endpoint goes first."""
    from pathprover.generate.training import (
        DATASET,
        TRAINING_DEFAULTS,
        script_mode_hyperparameters,
        source_tarball,
        training_source,
    )

    run = state.run
    assert run.tuning is not None
    released = _release_base_endpoint(state, svc, now, "tune")
    if released is not None:
        return released
    names = resource_names(state.execution_id, state.config_id, state.attempt)
    out = svc.artifacts.uri(f"tune/{names.training_job}/")
    source = training_source()
    source_uri = svc.artifacts.put_bytes(f"tune/source/sourcedir-{source.digest[:16]}.tar.gz", source_tarball(source))
    data = svc.artifacts.put_bytes(f"tune/{names.training_job}/data/train.jsonl", source.files[DATASET])
    channels = {"train": data.rsplit("/", 1)[0] + "/"}
    if state.artifacts.get("model_s3_uri"):
        channels["model"] = state.artifacts["model_s3_uri"]
    arguments = {
        **TRAINING_DEFAULTS,
        "model_id": run.model_name,
        "technique": run.tuning.technique,
        "max_steps": run.tuning.max_steps,
        "lora_rank": run.tuning.lora_rank,
    }
    spec = TrainingSpec(
        execution_id=state.execution_id,
        config_id=state.config_id,
        attempt=state.attempt,
        job_name=names.training_job,
        training_image=svc.settings.training_image,
        hyperparameters=script_mode_hyperparameters(source_uri, svc.settings.region, arguments),
        role_arn=svc.settings.sagemaker_role_arn,
        instance_type=run.instance_type,
        input_channels=channels,
        output_s3=out + "output/",
        capacity_reservation_arn=run.infra_params.capacity_reservation_arn,
        expiry=prove_horizon(state, svc, now),
        stack=svc.settings.stack,
        expected_s=int(_expected_seconds(svc, state, "tune")),
        max_runtime_s=max(600, int(_expected_seconds(svc, state, "tune") * DEADLINE_FACTOR)),
    )
    ref = svc.fleet.start_training(spec)
    state.resources.append(ref)
    state.billing[ref.name] = [now.isoformat()]
    state.artifacts["training_source_uri"] = source_uri
    return _poll_later(state, ref, suggest_wait(0, spec.expected_s, billing=True))


def _start_benchmark(state: ProveState, svc: Services, now: datetime) -> ProveState:
    """Realtime and async: the benchmark job loads the endpoint. Batch: first a transform job over the
    workload's generated input (:func:`_start_batch_benchmark`), then the job turns its output into metrics."""
    target = state.run.vector.deployment_target
    if target == "batch-transform":
        return _start_batch_benchmark(state, svc, now)
    ref = _endpoint_ref(state)
    env = {
        "ENDPOINT_NAME": ref.name,
        "ENDPOINT_URL": state.artifacts.get("endpoint_url", ""),
        # the adapter on a tuned prove's adapter endpoint, else the base model
        "MODEL_NAME": _served_model(state, ref),
    }
    if target == "async-inference":
        endpoint = ref.meta.get("endpoint", ref.name)
        env.update(
            BENCHMARK_MODE="async",
            ENDPOINT_NAME=endpoint,
            # the endpoint's io prefix: its execution role reads inputs there, the job's role writes them
            ASYNC_INPUT_URI=svc.artifacts.uri(f"io/{endpoint}/async-input/"),
            RUNTIME_ENDPOINT_URL=state.artifacts.get("runtime_url", ""),
        )
    return _start_benchmark_job(state, svc, now, env)


def _benchmark_env(state: ProveState, svc: Services) -> dict[str, str]:
    run = state.run
    workload = run.benchmark
    return {
        **_job_env(svc, state),
        "MODEL_NAME": run.model_name,
        "CONCURRENCY": ",".join(str(c) for c in workload.concurrency_levels),
        "REQUESTS": str(workload.requests_per_level),
        "WARMUP_REQUESTS": str(workload.warmup_requests),
        "INPUT_TOKENS": str(workload.input_tokens),
        "OUTPUT_TOKENS": str(workload.output_tokens),
        "SEED": str(workload.seed),
        "PRICE_PER_HOUR": str(_price(svc, state)),
        "RUN_CONFIG_HASH": run.run_config_hash,
        "REGION": svc.settings.region,
    }


def _start_benchmark_job(
    state: ProveState, svc: Services, now: datetime, extra: dict[str, str], expected_s: float | None = None
) -> ProveState:
    """The benchmark CodeBuild job (`pathprover benchmark-job`); it writes metrics.json under results_uri."""
    results_uri = svc.artifacts.uri(f"benchmarks/{state.execution_id}/{state.config_id}/{state.attempt}/")
    env = {**_benchmark_env(state, svc), **extra, "RESULTS_URI": results_uri}
    expected = expected_s if expected_s is not None else _expected_seconds(svc, state, "benchmark")
    job = BuildJob(
        project_name=svc.settings.benchmark_project,
        kind="benchmark",
        source_s3_uri=_benchmark_source(state, svc),
        source_digest=hashlib.sha256(_benchmark_buildspec().encode()).hexdigest(),
        env=env,
        execution_id=state.execution_id,
        config_id=state.config_id,
        attempt=state.attempt,
        expected_minutes=expected / 60.0,
        timeout_minutes=max(10, int(expected * DEADLINE_FACTOR / 60) + 5),
    )
    state.artifacts["results_uri"] = results_uri
    return _poll_later(state, svc.builder.start(job), suggest_wait(0, expected, billing=True))


def _benchmark_source(state: ProveState, svc: Services) -> str:
    """The benchmark job's source bundle, uploaded once per prove (by Advance: the Check task that starts a
    batch benchmark's job after its transform job needs no write access to bundles)."""
    if "benchmark_source" not in state.artifacts:
        state.artifacts["benchmark_source"] = svc.artifacts.put_bytes(
            f"bundles/benchmark-{state.artifacts.get('bundle_digest', 'none')[:16]}.zip",
            bundle_zip(Bundle(files={"buildspec.yml": _benchmark_buildspec().encode()})),
        )
    return state.artifacts["benchmark_source"]


BATCH_ANALYSIS_S: Final = 300.0
"""Expected time of the batch benchmark's CodeBuild job: provisioning, two reads, three writes."""
BATCH_VARIANT: Final = "benchmark"
"""Resource-name variant of the benchmark's transform job (the deploy's job ran the smoke record)."""


def _start_batch_benchmark(state: ProveState, svc: Services, now: datetime) -> ProveState:
    """A second transform job, over the workload's requests as a generated JSON-lines file (the deploy's
    job proved the container answers one record; this one measures a batch of them)."""
    from pathprover.loadgen.batch import BATCH_INPUT_FILE, batch_input, batch_workload

    workload = batch_workload(_loadgen_workload(state.run))
    names = resource_names(state.execution_id, state.config_id, state.attempt, BATCH_VARIANT)
    input_uri = svc.artifacts.put_bytes(
        f"io/{names.transform_job}/input/{BATCH_INPUT_FILE}", batch_input(workload, state.run.model_name)
    )
    base = _deploy_spec(state, svc, now)
    spec = base.model_copy(
        update={
            "names": names,
            "batch_input_s3": input_uri,
            "batch_output_s3": svc.artifacts.uri(f"io/{names.transform_job}/output/"),
            "stage": "benchmark",
            "expected_ready_s": int(_expected_seconds(svc, state, "benchmark")),
        }
    )
    _benchmark_source(state, svc)
    ref = svc.fleet.start_deploy(spec)
    state.resources.append(ref)
    state.billing[ref.name] = [now.isoformat()]
    state.artifacts["batch_benchmark_input"] = input_uri
    state.artifacts["batch_benchmark_output"] = f"{spec.batch_output_s3}{BATCH_INPUT_FILE}.out"
    return _poll_later(state, ref, suggest_wait(0, spec.expected_ready_s, billing=True))


def _loadgen_workload(run: RunConfig) -> Any:
    """The load generator's workload for this run's benchmark settings (what the benchmark job rebuilds from
    its environment)."""
    from pathprover.loadgen.workload import Workload

    b = run.benchmark
    return Workload(
        seed=b.seed,
        input_tokens=b.input_tokens,
        output_tokens=b.output_tokens,
        requests=b.requests_per_level,
        concurrency=b.concurrency_levels,
    )


def _batch_benchmark_done(state: ProveState, svc: Services, now: datetime, job_state: JobState) -> ProveState:
    """The benchmark transform job completed: its instances stopped at TransformEndTime (billing ends there),
    and the benchmark job turns its output and billed time into metrics."""
    detail = job_state.detail
    assert state.job is not None
    started, ended = str(detail.get("started") or ""), str(detail.get("ended") or "")
    span = state.billing.get(state.job.name)
    if span is not None and len(span) == 1:
        span.append(ended or now.isoformat())
    if not started or not ended:
        return _fail(state, "benchmark", "the benchmark transform job reported no start or end time", "harness")
    env = {
        "BENCHMARK_MODE": "batch",
        "TRANSFORM_JOB": state.job.name,
        "BATCH_INPUT_URI": state.artifacts["batch_benchmark_input"],
        "TRANSFORM_OUTPUT_URI": state.artifacts["batch_benchmark_output"],
        "TRANSFORM_START": started,
        "TRANSFORM_END": ended,
        "INSTANCE_COUNT": str(detail.get("instance_count") or 1),
        "MAX_CONCURRENT_TRANSFORMS": "1",
    }
    # Reading two files and writing three: a short job with a deadline of its own.
    state.stage_started_at = now
    state.deadline = now + timedelta(seconds=BATCH_ANALYSIS_S * DEADLINE_FACTOR + DEADLINE_SLACK_S)
    if state.run_deadline is not None:
        state.deadline = min(state.deadline, max(now, state.run_deadline))
    return _start_benchmark_job(state, svc, now, env, expected_s=BATCH_ANALYSIS_S)


def _start_runner_image(state: ProveState, svc: Services, now: datetime) -> ProveState:
    """The benchmark project runs in the runner image; the deploy builds it, but until that build is done
    (or if it failed) this prove builds it, before anything bills: a missing image would otherwise fail the
    benchmark in PROVISIONING with a GPU endpoint paid for."""
    source = svc.settings.runner_source_s3_uri
    if not source:
        return _fail(
            state,
            "build",
            f"the benchmark runner image {svc.settings.runner_image_uri} does not exist and no runner source is "
            "configured to build it (PATHPROVER_RUNNER_SOURCE_S3_URI)",
            "harness",
        )
    job = BuildJob(
        project_name=svc.settings.runner_image_project,
        kind="runner",
        source_s3_uri=source,
        source_digest=hashlib.sha256(svc.settings.runner_image_uri.encode()).hexdigest(),
        env={"IMAGE_URI": svc.settings.runner_image_uri},
        execution_id=state.execution_id,
        config_id=state.config_id,
        attempt=state.attempt,
        expected_minutes=RUNNER_IMAGE_MINUTES,
        timeout_minutes=int(RUNNER_IMAGE_MINUTES * DEADLINE_FACTOR) + 5,
    )
    state.notes.append(f"benchmark runner image {svc.settings.runner_image_uri} missing: building it")
    state.deadline = now + timedelta(seconds=RUNNER_IMAGE_MINUTES * 60 * DEADLINE_FACTOR + DEADLINE_SLACK_S)
    return _poll_later(state, svc.builder.start(job), suggest_wait(0, RUNNER_IMAGE_MINUTES * 60, billing=False))


def _runner_done(state: ProveState, svc: Services, now: datetime, job_state: JobState) -> ProveState:
    """The runner image build ended. Another lane may have pushed the same tag first (tags are immutable,
    so this build then fails): what counts is whether the image is there now."""
    if svc.builder.image_exists(svc.settings.runner_image_uri):
        _finish_stage(state, now, note=f"benchmark runner image {svc.settings.runner_image_uri} ready")
        return state
    text = job_state.failure_text or "the runner image build finished without pushing the image"
    return _fail(state, "build", f"benchmark runner image build failed: {text}", "harness")


def _benchmark_buildspec() -> str:
    """The benchmark job: the project's own load generator, run where Lambda's 15 minutes do not apply."""
    return "version: 0.2\nphases:\n  build:\n    commands:\n      - pathprover benchmark-job\n"


def _start_register(state: ProveState, svc: Services, now: datetime) -> ProveState:
    state.actual_cost_usd = round(_billing_cost(svc, state, now) + _clean_cost(svc, state), 4)
    ctx = _context(state, now, svc)
    record, levels = completed_records(
        ctx, record_time(svc), state.levels, artifacts_uri=_shown_uri(svc, state.artifacts.get("artifacts_uri"))
    )
    result = svc.store.append([record], levels)
    state.records_written += result.written
    _finish_stage(
        state,
        now,
        note=f"{result.written} row and {result.levels_written} levels "
        f"({result.skipped_duplicates} row, {result.levels_skipped_duplicates} levels already there)",
    )
    return state


def _shown_uri(svc: Services, uri: str | None) -> str | None:
    """Where a person finds an artifact: the S3 URI on AWS; locally the file:// URI of the real file (the
    simulated cloud's specs name it by its s3:// alias)."""
    return svc.artifacts.location(uri) if uri else uri


def _context(state: ProveState, now: datetime, svc: Services) -> ProveContext:
    """What the attempt's row carries. Its duration is on the workflow's clock (simulated seconds on the
    local runtime); its run_timestamp is wall-clock time (:func:`record_time`)."""
    started = state.started_at or now
    return ProveContext(
        vector=state.run.vector,
        execution_id=state.execution_id,
        attempt=state.attempt,
        model_name=state.run.model_name,
        instance_type=state.run.instance_type,
        estimated_cost_usd=state.run.estimated_cost_usd,
        actual_cost_usd=state.actual_cost_usd,
        duration_seconds=round((now - started).total_seconds(), 1),
        serving_params=dict(state.run.serving_params),
        infra_params=state.run.infra_params.model_dump(exclude_none=True),
        run_config_hash=state.run.run_config_hash,
        image_digest=state.artifacts.get("image_digest"),
        tuned=state.run.tuning is not None,
        notes="; ".join(state.notes) or None,
        simulated=svc.simulated,
    )


def _start_clean(state: ProveState, svc: Services, now: datetime) -> ProveState:
    """The last stage of a proved config. Its record is written; a clean-up error is a leak to report
    (the summary lists it and the run fails), not a property of the config."""
    clean(state, svc, keep=False)
    note = None
    if state.leaked_resources:
        note = "clean left resources alive (the janitor deletes them): " + ", ".join(state.leaked_resources)
        state.notes.append(note)
    _finish_stage(state, now, note=note)
    return state


_STARTERS = {
    "stage": _start_stage_weights,
    "generate": _start_generate,
    "build": _start_build,
    "push": _start_push,
    "deploy": _start_deploy,
    "test": _smoke,
    "tune": _start_tune,
    "adapter": _start_adapter,
    "benchmark": _start_benchmark,
    "register": _start_register,
    "clean": _start_clean,
}


# ---------------------------------------------------------------------------------------------- check
def check(state: ProveState, svc: Services) -> ProveState:
    """Poll the current stage's job; bounded by its deadline, its poll count and the reserved budget."""
    if state.status != "polling" or state.current is None:
        raise StageError(f"check called with status {state.status!r}")
    now = _now(svc)
    stage = state.current
    record = state.history[-1]
    record.polls += 1
    if not svc.ledger.acquire_lease(
        state.config_id, _lease_owner(state), _seconds_until(prove_horizon(state, svc, now), now), now
    ):
        # Only possible if the lease had lapsed and another execution took the config: stop, do not race it.
        return _fail(state, stage, "the config's lease was lost to another execution while proving it", "harness")
    over = _over_budget(state, svc, now, stage)
    if over is not None:
        return over
    if stage == "test":
        return _smoke(state, svc, now)
    if state.job is None:
        raise StageError(f"stage {stage} has no job to poll")
    job_state = svc.builder.check(state.job) if state.job.kind in BUILD_KINDS else (svc.fleet.check(state.job))
    if job_state.done:
        return _job_done(state, svc, now, stage, record, state.job, job_state)
    expected = _expected_seconds(svc, state, stage)
    elapsed = (now - (state.stage_started_at or now)).total_seconds()
    billing = stage in BILLING_STAGES
    if state.deadline is not None and now >= state.deadline:
        return _fail(
            state,
            stage,
            f"{stage} exceeded its timeout of {int((state.deadline - record.started_at).total_seconds() // 60)} "
            f"minutes (expected {expected / 60:.0f}; timeout multiplier {state.run.timeout_multiplier:g})",
            "deadline",
        )
    if record.polls >= state.max_polls:
        return _fail(
            state, stage, f"{stage} exceeded its timeout: still running after {record.polls} polls", "deadline"
        )
    wait = suggest_wait(elapsed, expected, billing)
    if state.deadline is not None:
        wait = max(10, min(wait, int((state.deadline - now).total_seconds()) + 1))
        wait = max(wait, _event_floor_wait(state, now))
    budget_wait = _budget_wait(svc, state, now) if billing else None
    if budget_wait is not None:
        # Last, so nothing (not even the history-events floor) sleeps past the point where the reservation
        # runs out; too close to it to wait at all is the budget stop, now.
        if budget_wait < MIN_POLL_S:
            return _stop_for_budget(state, svc, now, stage)
        wait = min(wait, budget_wait)
    return _poll_later(state, state.job, wait)


def _job_done(
    state: ProveState, svc: Services, now: datetime, stage: str, record: StageRecord, job: JobRef, job_state: JobState
) -> ProveState:
    """The polled job (``state.job``) ended: record when it was seen, stop its billing, then fail or succeed."""
    _detection(record, job_state, now)
    if job.kind == "training":
        _stop_billing(state, job.name, _job_end(job_state, now))  # the job's instances are gone
    if job.kind == "runner":
        return _runner_done(state, svc, now, job_state)
    if job_state.status == "failed":
        text = job_state.failure_text or f"{stage} failed"
        origin = failure_origin(job, job_state)
        if job.kind == "benchmark" and state.run.vector.deployment_target == "batch-transform":
            origin = "harness"  # the config's part (the transform job) succeeded; this job only reads it
        return _fail(state, job_state.failure_stage or stage, text, origin)
    return _succeeded(state, svc, now, stage, job_state)


MIN_POLL_S: Final = 10
"""The shortest Wait between two polls."""


def _budget_wait(svc: Services, state: ProveState, now: datetime) -> int | None:
    """Seconds until the reservation (less the clean-up) is spent at the current billing rate: every open
    resource bills (an endpoint and a training job, or two endpoints, during tune and adapter)."""
    open_spans = sum(1 for span in state.billing.values() if len(span) == 1)
    if not open_spans or state.reserved_usd <= 0:
        return None
    left = state.reserved_usd - _billing_cost(svc, state, now) - _clean_cost(svc, state)
    return int(left / (_price(svc, state) * open_spans) * 3600)


EVENTS_PER_POLL: Final = EVENTS_PER_STATE + EVENTS_PER_TASK + EVENTS_PER_STATE
"""Wait, Check, and the Choice after it."""
EVENTS_TO_FINISH_PER_STAGE: Final = EVENTS_PER_TASK + EVENTS_PER_STATE
"""Advance and its Choice, for each stage still to start."""
EVENTS_TO_END: Final = 40
"""Failure, Clean, Settle and the lane's next HasProve, with room for a retry."""


def _event_floor_wait(state: ProveState, now: datetime) -> int:
    """The shortest wait that still reaches the stage's deadline within the prove's share of history
    events: a slow stage polls less often instead of pushing the execution past 25,000 events."""
    if state.events_allowance is None or state.deadline is None:
        return 0
    reserve = EVENTS_TO_FINISH_PER_STAGE * max(0, len(state.plan) - state.index - 1) + EVENTS_TO_END
    polls_left = (state.events_allowance - state.events_used - reserve) // EVENTS_PER_POLL
    seconds_left = max(0.0, (state.deadline - now).total_seconds())
    return int(seconds_left / max(1, polls_left)) + 1


def expected_prove_seconds(run: RunConfig, svc: Services) -> float:
    """How long a prove takes when all goes as expected: its stages' expected times, back to back."""
    state = ProveState(execution_id="-", run=run, plan=stage_plan(run))
    return sum(_expected_seconds(svc, state, stage) for stage in state.plan)


def _over_budget(state: ProveState, svc: Services, now: datetime, stage: str) -> ProveState | None:
    """While something bills, stop (as a timeout) before the prove costs more than it reserved."""
    if stage not in BILLING_STAGES or not state.billing or state.reserved_usd <= 0:
        return None
    spent = _billing_cost(svc, state, now) + _clean_cost(svc, state)
    if spent < state.reserved_usd:
        return None
    return _stop_for_budget(state, svc, now, stage)


def _stop_for_budget(state: ProveState, svc: Services, now: datetime, stage: str) -> ProveState:
    spent = _billing_cost(svc, state, now) + _clean_cost(svc, state)
    return _fail(
        state,
        stage,
        f"{stage} timed out: the prove reached its reserved budget ${state.reserved_usd:.2f} "
        f"(billed ${spent:.2f} including clean-up)",
        "deadline",
    )


def _detection(record: StageRecord, job_state: JobState, now: datetime) -> None:
    finished = job_state.detail.get("finished_at")
    if isinstance(finished, str):
        try:
            at = datetime.fromisoformat(finished)
            record.detection_latency_s = max(0.0, round((now - at).total_seconds(), 3))
        except ValueError:
            return


def _succeeded(state: ProveState, svc: Services, now: datetime, stage: str, job_state: JobState) -> ProveState:
    detail = job_state.detail
    if stage == "build":
        digest = detail.get("image_digest")
        if digest:
            state.artifacts["image_digest"] = str(digest)
        if "benchmark" in state.plan and not svc.builder.image_exists(svc.settings.runner_image_uri):
            return _start_runner_image(state, svc, now)
    elif stage == "tune":
        artifact = detail.get("model_artifacts")
        if not artifact:
            return _fail(state, "tune", "the training job completed without model artifacts (no adapter)", "harness")
        state.artifacts["adapter_s3_uri"] = str(artifact)
    elif stage in ("deploy", "adapter"):
        _deployed(state, now, detail)
    elif stage == "benchmark" and state.job is not None and state.job.kind == "transform":
        return _batch_benchmark_done(state, svc, now, job_state)
    elif stage == "benchmark":
        failed = _read_benchmark(state, svc)
        if failed is not None:
            return failed
    _finish_stage(state, now)
    return state


def _deployed(state: ProveState, now: datetime, detail: dict[str, Any]) -> None:
    """An endpoint is InService (its URLs kept) or a transform job finished (its billing ends)."""
    if detail.get("endpoint_url"):
        state.artifacts["endpoint_url"] = str(detail["endpoint_url"])
    if detail.get("runtime_url"):
        state.artifacts["runtime_url"] = str(detail["runtime_url"])
    if state.job is not None and state.job.kind == "transform":
        # A finished transform job no longer bills: its instances went at TransformEndTime.
        span = state.billing.get(state.job.name)
        if span is not None and len(span) == 1:
            span.append(str(detail.get("ended") or now.isoformat()))


def _read_benchmark(state: ProveState, svc: Services) -> ProveState | None:
    """Keep the benchmark job's levels from its metrics.json; the failed state if they are missing or bad."""
    try:
        payload = json.loads(svc.artifacts.get_bytes(state.artifacts["results_uri"] + "metrics.json"))
    except (KeyError, OSError, ValueError) as exc:
        return _fail(state, "benchmark", f"benchmark finished without readable metrics: {exc}", "harness")
    state.levels = list(payload.get("levels", []))
    if payload.get("artifacts_uri"):
        state.artifacts["artifacts_uri"] = str(payload["artifacts_uri"])
    errors = [lvl for lvl in state.levels if (lvl.get("error_rate") or 0) >= 0.5]
    if not state.levels or errors:
        return _fail(state, "benchmark", "benchmark: " + str(payload.get("error") or "most requests failed"))
    return None


# ---------------------------------------------------------------------------------------------- failure path
def handle_failure(state: ProveState, svc: Services, error: dict[str, Any] | None = None) -> ProveState:
    """Classify the failure (a failed job's text, or a task's uncaught error) and record one row.

    The row is `unfeasible` only when the configuration is at fault and a retry
    cannot help; an account or harness failure is recorded `failed` with its
    scope, so it never hides the configuration from later runs.
    """
    now = _now(svc)
    internal = False
    if error is not None and (state.failure is None or state.status != "failed"):
        cause = str(error.get("Cause") or error.get("Error") or "unknown error")
        error_name = str(error.get("Error"))
        # A task that raised: Path Prover's own code (or an AWS call it made) failed, not the job.
        state.failure = Failure(stage=state.current, text=_error_text(cause), origin="harness")
        internal = error_name in INTERNAL_ERRORS
        if internal:
            state.notes.append(f"internal error in {state.current}: {error_name}: {state.failure.text}"[:500])
    if state.failure is None:
        state.failure = Failure(stage=state.current, text="the prove failed without a message", origin="harness")
    if any(r.stage == "register" and r.outcome == "succeeded" for r in state.history):
        return _failed_after_record(state, now)
    failure = state.failure
    verdict = classify(failure.text, stage=failure.stage, origin=failure.origin)
    failure.category = verdict.category
    failure.retryable = verdict.retryable
    failure.evidence = verdict.evidence
    failure.hint = verdict.hint
    failure.rule = verdict.rule
    failure.scope = verdict.failure_scope
    failure.action = verdict.action or None
    failure.decided_by = verdict.decided_by
    failure.confidence = verdict.confidence
    failure.stage = failure.stage or verdict.stage
    if state.history and state.history[-1].outcome == "running":
        state.history[-1].outcome = "failed"
        state.history[-1].finished_at = now
    keep = state.keep_on_failure
    if keep:
        state.notes.append("resources kept for post-mortem (KEEP_ON_FAILURE)")
    state.actual_cost_usd = round(_billing_cost(svc, state, now) + (0.0 if keep else _clean_cost(svc, state)), 4)
    retryable, reason = verdict.retryable, failure.reason
    if verdict.category == "timeout" and verdict.failure_scope == "config":
        limit = timeout_limit_reason(state.previous_timeouts, state.run.timeout_multiplier)
        if limit is not None:  # the guide's "retry with longer timeout", bounded
            retryable, reason = False, f"{limit}; last: {reason}"
            failure.retryable = False
    record = failure_record(
        _context(state, now, svc),
        record_time(svc),
        category=verdict.category,
        retryable=retryable,
        reason=reason,
        stage=failure.stage,
        scope=verdict.failure_scope,
        sure=verdict.is_sure,
    )
    result = svc.store.append([record])
    state.records_written += result.written
    # An internal exception of Path Prover is an error of the run (it fails the summary), recorded as such.
    state.outcome = "error" if internal else record.status
    state.status = "failed"
    _keep_job_for_clean(state)
    return state


def _keep_job_for_clean(state: ProveState) -> None:
    """The job the prove was polling (a build past its deadline, say) may still run: Clean must see it."""
    if state.job is not None and state.job not in state.resources:
        state.resources.append(state.job)
    state.job = None


def _failed_after_record(state: ProveState, now: datetime) -> ProveState:
    """The config was proved and its `completed` row written; what failed after it (clean-up) is not a
    second verdict on the config: one attempt, one row. The failure is kept as a note, Clean runs again,
    and anything still alive is reported by the summary as a leak."""
    failure = state.failure
    assert failure is not None
    state.notes.append(f"after the record was written, {failure.stage or 'a stage'} failed: {failure.text}"[:500])
    if state.history and state.history[-1].outcome == "running":
        state.history[-1].outcome = "failed"
        state.history[-1].finished_at = now
    state.outcome = "completed"
    state.status = "failed"
    _keep_job_for_clean(state)
    return state


def _error_text(cause: str) -> str:
    """A Lambda error's Cause is JSON with errorMessage (and a stack trace we do not record)."""
    try:
        payload = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(payload, dict):
        return str(payload.get("errorMessage") or payload.get("errorType") or cause)
    return cause


def clean(state: ProveState, svc: Services, keep: bool | None = None) -> ProveState:
    """Delete what the prove created; not-found counts as done; safe to call twice."""
    now = _now(svc)
    keep = state.keep_on_failure if keep is None else keep
    refs = [r for r in state.resources if r.kind in FLEET_KINDS]
    refs += _named_refs(state, now, known={(r.kind, r.name) for r in refs})
    # A runner image build is shared by every prove that waits for it: it is not this prove's to stop.
    running = [r for r in state.resources if r.kind in BUILD_KINDS and r.kind != "runner"]
    if state.job is not None and state.job.kind in BUILD_KINDS and state.job.kind != "runner":
        running.append(state.job)
    for ref in running:
        try:
            svc.builder.stop(ref)
        except Exception as exc:
            state.notes.append(f"could not stop {ref.name}: {exc}")
    report = svc.fleet.clean(refs, keep=keep) if refs else None
    for _name, span in state.billing.items():
        if len(span) == 1 and not keep:
            span.append(now.isoformat())
    if report is not None:
        state.kept_resources = list(report.kept)
        state.leaked_resources = [f"{e}" for e in report.errors]
    state.cleaned = not keep
    return state


_VARIANT_OF_STAGE: Final = {"deploy": "", "adapter": "adapter", "benchmark": BATCH_VARIANT}
"""The deployments a stage may create, by the variant of their names (a batch target's benchmark runs a
second transform job; a realtime or async benchmark creates none, so its name is simply already gone)."""


def _named_refs(state: ProveState, now: datetime, known: set[tuple[str, str]]) -> list[JobRef]:
    """What the prove may have created, from its deterministic names rather than from its state: a task
    that timed out after CreateEndpoint never stored the ref, but the name is known. Only for the stages
    that started; a name that was never created is simply `already_gone`."""
    started = {record.stage for record in state.history}
    refs: list[JobRef] = []
    batch = state.run.vector.deployment_target == "batch-transform"
    for stage, variant in _VARIANT_OF_STAGE.items():
        if stage not in started or (stage == "benchmark" and not batch):
            continue
        names = resource_names(state.execution_id, state.config_id, state.attempt, variant)
        if state.run.vector.deployment_target == "batch-transform":
            ref = JobRef(
                kind="transform",
                name=names.transform_job,
                arn_or_id=names.transform_job,
                started_at=now,
                meta={"transform_job": names.transform_job, "model": names.model, "by_name": "true"},
            )
        else:
            ref = JobRef(
                kind="endpoint",
                name=names.endpoint,
                arn_or_id=names.endpoint,
                started_at=now,
                meta={
                    "endpoint": names.endpoint,
                    "endpoint_config": names.endpoint_config,
                    "model": names.model,
                    "by_name": "true",
                },
            )
        if (ref.kind, ref.name) not in known:
            refs.append(ref)
    if "tune" in started:
        job = resource_names(state.execution_id, state.config_id, state.attempt).training_job
        if ("training", job) not in known:
            refs.append(JobRef(kind="training", name=job, arn_or_id=job, started_at=now, meta={"by_name": "true"}))
    return refs


def settle(state: ProveState, svc: Services) -> ProveState:
    """Settle the reservation to the actual cost and free the lease."""
    now = _now(svc)
    if state.outcome == "skipped":
        return state
    if state.outcome == "error" and state.records_written == 0:
        # A task error that never reached HandleFailure (Begin's Catch goes straight here, or the failure
        # handler itself crashed): the attempt still gets its one row, scope `harness` (never against the
        # config). Written before the lease goes, so a failed write leaves it to the stopped clean-up;
        # the record id makes a retried Settle, or a row HandleFailure already wrote, a no-op.
        reason = state.notes[-1] if state.notes else "a task of the prove failed"
        record = failure_record(
            _context(state, now, svc),
            record_time(svc),
            category="unknown",
            retryable=True,
            reason=reason,
            stage=state.current,
            scope="harness",
        )
        state.records_written += svc.store.append([record]).written
    state.actual_cost_usd = _billing_cost(svc, state, now)
    svc.ledger.settle(state.execution_id, state.budget_key, state.actual_cost_usd)
    svc.ledger.release_lease(state.config_id, _lease_owner(state))
    if state.outcome == "pending":
        state.outcome = "completed" if state.status == "finished" else "error"
    state.finished_at = now
    state.status = "finished" if state.outcome != "error" else state.status
    return state
