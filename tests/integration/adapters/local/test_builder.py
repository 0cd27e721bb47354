"""The simulated CodeBuild: builds and benchmark jobs on a virtual clock, with CodeBuild's texts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pathprover.adapters.local.artifacts import LocalArtifactStore
from pathprover.adapters.local.builder import SimulatedBuilder, image_digest
from pathprover.adapters.local.endpoint import SimulatedEndpointServer
from pathprover.adapters.local.faults import Fault, FaultPlan
from pathprover.catalog import Catalog
from pathprover.classifier import classify
from pathprover.clock import VirtualClock
from pathprover.stages.specs import BuildJob
from tests.support.simulated_fleet import (
    EXECUTION,
    SMALL,
    deploy_spec,
    make_fleet,
    run_until_done,
)

# --------------------------------------------------------------------------- builder


def build_job(kind: str = "build", **env: str) -> BuildJob:
    return BuildJob(
        project_name=f"pp-{kind}",
        kind=kind,
        source_s3_uri="s3://pp-bucket/bundles/c0ffee.zip",
        source_digest="a" * 64,
        env={"HF_MODEL_ID": SMALL, "DEPLOYMENT_CONFIG": "vllm", "INSTANCE_TYPE": "ml.g5.xlarge", **env},
        execution_id=EXECUTION,
        config_id="c0ffee0000000100",
    )


def test_builder_build_succeeds_after_its_duration_with_a_deterministic_digest(
    clock: VirtualClock, catalog: Catalog, tmp_path: Path
) -> None:
    # Given a simulated CodeBuild
    builder = SimulatedBuilder(clock, catalog, FaultPlan(), LocalArtifactStore(tmp_path))
    job = build_job()

    # When a build starts, it returns at once and runs for the catalog's build minutes
    ref = builder.start(job)
    assert ref.meta["simulated"] == "true" and builder.start(job).arn_or_id == ref.arn_or_id
    running = builder.check(ref)
    assert running.status == "running" and 10 <= running.wait_seconds <= 600
    clock.advance(catalog.search_space.timing.minutes("build", 0.6) * 60)
    state = builder.check(ref)

    # Then it succeeded with sha256(source_digest + kind) as the image digest, and a log in the store
    assert state.status == "succeeded"
    assert state.detail["image_digest"] == image_digest(job.source_digest, "build")
    assert state.detail["image_digest"].startswith("sha256:") and len(state.detail["image_digest"]) == 71
    assert json.loads(Path(urlsplit(state.detail["log_uri"]).path).read_text())["simulated"] is True


def test_builder_fault_gives_codebuild_phase_text_and_the_error(clock: VirtualClock, catalog: Catalog) -> None:
    # Given a pull-rate-limit fault for builds
    plan = FaultPlan([Fault(match={"model_name": SMALL}, stage="build", error="toomanyrequests: pull rate limit")])
    builder = SimulatedBuilder(clock, catalog, plan)

    # When the build runs
    ref = builder.start(build_job())
    clock.advance(3600)
    state = builder.check(ref)

    # Then the failure reads like CodeBuild's, followed by the fault text, and is retryable capacity
    text = state.failure_text or ""
    assert state.status == "failed" and state.failure_stage == "build"
    assert "phase BUILD FAILED: COMMAND_EXECUTION_ERROR: Error while executing command: docker build" in text
    assert "Reason: exit status 1\ntoomanyrequests: pull rate limit" in text
    assert classify(text).category == "capacity"


def test_builder_runs_the_real_load_generator_as_the_benchmark_job(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    from pathprover.loadgen import Workload, run_loadgen

    # Given an InService endpoint and a builder whose benchmark jobs run the load generator against it
    fleet = make_fleet(clock, catalog, server)
    ref = fleet.start_deploy(deploy_spec(config_id="c0ffee0000000101"))
    url = run_until_done(fleet, clock, ref).detail["endpoint_url"]

    def runner(job: BuildJob) -> dict[str, Any]:
        workload = Workload(input_tokens=32, output_tokens=16, requests=8, concurrency=(1, 4))
        return run_loadgen(job.env["ENDPOINT_URL"], workload, model=SMALL).to_json()

    builder = SimulatedBuilder(clock, catalog, FaultPlan(), None, runner)

    # When the benchmark job starts and the virtual clock passes its duration
    job = build_job("benchmark", ENDPOINT_URL=url)
    bench = builder.start(job)
    assert builder.check(bench).status == "running"  # the virtual duration has not passed yet
    clock.advance(catalog.search_space.timing.minutes("benchmark", 0.6) * 60)
    state = builder.check(bench)
    for _ in range(60):
        if state.done:
            break
        assert state.detail.get("waiting_for") == "benchmark runner"
        state = builder.check(bench)

    # Then it succeeded with the runner's measurements, close to the endpoint's latency model
    assert state.status == "succeeded"
    levels = state.detail["result"]["levels"]
    assert [lvl["concurrency"] for lvl in levels] == [1, 4] and all(lvl["errors"] == 0 for lvl in levels)
    model = server.latency(ref.name)
    assert levels[0]["ttft_p50_ms"] == pytest.approx(model.ttft_ms(32), abs=3.0)
    assert levels[0]["itl_p50_ms"] == pytest.approx(model.itl_ms(1), abs=0.75)
    builder.close()
    fleet.clean([ref], keep=False)


def test_builder_runner_exception_and_benchmark_fault_fail_the_job(clock: VirtualClock, catalog: Catalog) -> None:
    # Given a runner that raises, and a benchmark fault for g6
    def runner(job: BuildJob) -> dict[str, Any]:
        raise RuntimeError("loadgen: every request failed (HTTP 500)")

    plan = FaultPlan([Fault(match={"instance_family": "g6"}, stage="benchmark", error="benchmark: endpoint vanished")])
    builder = SimulatedBuilder(clock, catalog, plan, None, runner)

    # When a benchmark runs on g5 (the runner raises) and one on g6 (the fault)
    raising = builder.start(build_job("benchmark"))
    faulted = builder.start(build_job("benchmark", INSTANCE_TYPE="ml.g6.xlarge").model_copy(update={"attempt": 2}))
    clock.advance(3 * 3600)
    builder.close()

    # Then both fail at benchmark with their texts
    first, second = builder.check(raising), builder.check(faulted)
    assert first.status == "failed" and "RuntimeError: loadgen: every request failed" in (first.failure_text or "")
    assert second.status == "failed" and second.failure_stage == "benchmark"
    assert "benchmark: endpoint vanished" in (second.failure_text or "")


def test_builder_duration_follows_model_size_and_timeout(clock: VirtualClock, catalog: Catalog) -> None:
    # Given a stage job for a 70B model (MODEL_PARAMS_B) with a 10-minute timeout
    builder = SimulatedBuilder(clock, catalog)
    job = build_job("stage", MODEL_PARAMS_B="70").model_copy(update={"timeout_minutes": 10})

    # When it runs past its timeout
    ref = builder.start(job)
    assert float(ref.meta["simulated_duration_s"]) == catalog.search_space.timing.minutes("stage", 70) * 60
    clock.advance(601)
    state = builder.check(ref)

    # Then it timed out like CodeBuild, which the classifier retries
    assert state.status == "failed" and "TIMED_OUT" in (state.failure_text or "")
    assert classify(state.failure_text or "").category == "timeout"
