"""The simulated SageMaker fleet on a virtual clock.

Deploys "run" on a :class:`VirtualClock` (hours pass in microseconds), but an
InService endpoint is a real HTTP server on 127.0.0.1 whose token timing follows
the latency model, so the real load generator can measure it. Failures carry
the texts AWS would give, and the classifier must read them the same way.
"""

from __future__ import annotations

import io
import json
import statistics
import tarfile
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pathprover.adapters.local.artifacts import LocalArtifactStore
from pathprover.adapters.local.builder import SimulatedBuilder
from pathprover.adapters.local.endpoint import SimulatedEndpointServer
from pathprover.adapters.local.faults import Fault, FaultPlan
from pathprover.adapters.local.fleet import LOAD_FRACTION, SimulatedFleet, duration_factor
from pathprover.adapters.local.latency import LatencyModel
from pathprover.adapters.local.truth import load_facts, training_run
from pathprover.catalog import Catalog
from pathprover.classifier import classify
from pathprover.clock import SystemClock, VirtualClock
from pathprover.generate.training import script_mode_hyperparameters
from pathprover.protocols import ArtifactStore, Builder, Clock, Fleet
from pathprover.stages.jobs import JobRef, JobState
from pathprover.stages.naming import TAG_EXECUTION
from pathprover.stages.specs import DeploySpec, TrainingSpec
from tests.support.simulated_fleet import (
    EXECUTION,
    FLEET_START,
    LARGE,
    ROLE,
    SMALL,
    deploy_seconds,
    deploy_spec,
    deploy_spec_for,
    make_fleet,
    run_until_done,
    stream_completion,
    training_spec_for,
)

# --------------------------------------------------------------------------- the happy path


def test_small_config_deploys_serves_a_real_stream_and_cleans_up(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given Qwen3-0.6B on ml.g5.xlarge at tp 1, on a virtual clock
    fleet = make_fleet(clock, catalog, server)
    duration = deploy_seconds(catalog, SMALL)

    # When it is deployed, it is Creating until the virtual clock passes the deploy duration
    ref = fleet.start_deploy(deploy_spec())
    assert ref.meta["simulated"] == "true" and ref.start_failure is None
    first = fleet.check(ref)
    assert first.status == "running" and first.detail["endpoint_status"] == "Creating"
    assert fleet.invoke(ref, b'{"prompt": "hi"}', "application/json").status_code == 503
    clock.advance(duration - 1)
    assert fleet.check(ref).status == "running"
    clock.advance(2)
    ready = fleet.check(ref)

    # Then it is InService with a URL on the one local server, and serves real HTTP
    assert ready.status == "succeeded" and ready.detail["endpoint_status"] == "InService"
    url = ready.detail["endpoint_url"]
    assert url.startswith(server.url + "/endpoints/")
    answer = fleet.invoke(ref, json.dumps({"prompt": "one two three", "max_tokens": 4}).encode(), "application/json")
    assert answer.ok and json.loads(answer.body)["choices"][0]["text"].split() == ["alpha", "beta", "gamma", "delta"]

    # And a streaming completion arrives with the predicted TTFT and ITL
    model = server.latency(ref.name)
    ttfts, gaps = [], []
    for _ in range(5):
        ttft, itl, texts = stream_completion(url, prompt_words=128, max_tokens=24)
        assert len(texts) == 24
        ttfts.append(ttft)
        gaps.extend(itl)
    predicted_ttft, predicted_itl = model.ttft_ms(128), model.itl_ms(1)
    assert statistics.median(ttfts) == pytest.approx(predicted_ttft, abs=max(4.0, 0.15 * predicted_ttft))
    assert statistics.median(gaps) == pytest.approx(predicted_itl, abs=max(0.75, 0.15 * predicted_itl))

    # When it is cleaned up
    clock.advance(600)
    report = fleet.clean([ref], keep=False)

    # Then endpoint, config and model are gone, nothing is alive, and billing stopped at delete
    assert sorted(label.split("/")[0] for label in report.deleted) == ["endpoint", "endpoint-config", "model"]
    assert report.ok and fleet.alive({}) == [] and fleet.alive({TAG_EXECUTION: EXECUTION}) == []
    billed = fleet.billed_seconds(ref)
    assert billed == pytest.approx(duration + 1 + 600)
    clock.advance(3600)
    assert fleet.billed_seconds(ref) == pytest.approx(billed)
    price = catalog.instance("ml.g5.xlarge").price_per_hour_usd
    assert fleet.cost_usd(ref) == pytest.approx(billed / 3600 * price)
    assert ref.name not in server.endpoint_names()


def test_polling_with_suggested_waits_reaches_in_service_in_a_few_polls(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given a small deploy
    fleet = make_fleet(clock, catalog, server)
    ref = fleet.start_deploy(deploy_spec(config_id="c0ffee0000000002"))

    # When the workflow polls with the suggested waits
    state = run_until_done(fleet, clock, ref)

    # Then it is InService soon after the deploy duration
    assert state.status == "succeeded"
    assert fleet.billed_seconds(ref) < deploy_seconds(catalog, SMALL, "c0ffee0000000002") + 60
    fleet.clean([ref], keep=False)


# --------------------------------------------------------------------------- failures the catalog decides


def test_oversized_model_fails_with_a_cuda_oom_the_classifier_calls_oom(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given Llama-3.1-70B on one A10G
    fleet = make_fleet(clock, catalog, server)
    ref = fleet.start_deploy(deploy_spec(LARGE, config_id="c0ffee0000000003"))

    # When the virtual clock passes the model-load part of the deploy
    duration = deploy_seconds(catalog, LARGE, "c0ffee0000000003")
    clock.advance(duration * LOAD_FRACTION - 1)
    assert fleet.check(ref).status == "running"
    clock.advance(2)
    state = fleet.check(ref)

    # Then SageMaker's health-check reason and the CUDA OOM log line are both in the failure text
    assert state.status == "failed" and state.failure_stage == "deploy"
    text = state.failure_text or ""
    assert "did not pass the ping health check" in text
    assert "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate" in text
    assert "GPU 0 has a total capacity of" in text and "simulated" in text
    verdict = classify(text, stage="deploy")
    assert verdict.category == "oom" and not verdict.retryable
    # And billing stopped when the instance went away
    clock.advance(3600)
    assert fleet.billed_seconds(ref) == pytest.approx(duration * LOAD_FRACTION)
    assert fleet.clean([ref], keep=False).ok


def test_fp8_on_ampere_with_tensorrt_llm_is_a_not_retryable_model_incompatibility(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given fp8 with tensorrt-llm (needs compute capability 8.9) on g5 (A10G, 8.6)
    fleet = make_fleet(clock, catalog, server)
    ref = fleet.start_deploy(
        deploy_spec(quantization="fp8", deployment_config="tensorrt-llm", config_id="c0ffee0000000004")
    )

    # When the deploy has run its course
    state = run_until_done(fleet, clock, ref)

    # Then the container's vLLM-style capability error is classified as not retryable
    text = state.failure_text or ""
    assert state.status == "failed"
    assert "The quantization method fp8 is not supported for the current GPU. Minimum capability: 89. " in text
    assert "Current capability: 86." in text
    verdict = classify(text, stage="deploy")
    assert verdict.category == "model_incompatibility" and not verdict.retryable
    fleet.clean([ref], keep=False)


def test_tp_above_the_gpu_count_is_refused_at_create(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given tp 8 on a one-GPU instance
    fleet = make_fleet(clock, catalog, server)

    # When it is deployed
    ref = fleet.start_deploy(deploy_spec(tp=8, config_id="c0ffee0000000005"))
    state = fleet.check(ref)

    # Then the create is refused like a ValidationException, and only what was created needs cleaning
    assert ref.start_failure and "ValidationException" in ref.start_failure
    assert state.status == "failed" and state.detail["start_failed"] is True
    assert not classify(state.failure_text or "").retryable
    report = fleet.clean([ref], keep=False)
    assert [label.split("/")[0] for label in report.already_gone] == ["endpoint"]
    assert fleet.alive({}) == []
    assert fleet.billed_seconds(ref) == 0.0


def test_scarce_families_get_capacity_errors_for_the_configured_share(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given p5 is scarce and every (config, attempt) is out of stock
    fleet = make_fleet(clock, catalog, server, capacity_failure_fraction=1.0)
    spec = deploy_spec("meta-llama/Llama-3.1-8B-Instruct", "ml.p5.48xlarge", config_id="c0ffee0000000006")

    # When it is deployed
    ref = fleet.start_deploy(spec)

    # Then it is an InsufficientCapacity refusal the classifier retries
    verdict = classify(ref.start_failure or "")
    assert verdict.category == "capacity" and verdict.retryable
    fleet.clean([ref], keep=False)

    # And with the default share of 0, the same config is admitted (runs are reproducible)
    calm = make_fleet(clock, catalog, server)
    admitted = calm.start_deploy(spec)
    assert admitted.start_failure is None
    calm.clean([admitted], keep=False)


# --------------------------------------------------------------------------- injected faults


def test_a_deploy_fault_fails_the_deploy_with_its_text(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given a fault for qwen3 on g5 at deploy
    error = "ResourceLimitExceeded: The account-level service limit 'ml.g5.xlarge for endpoint usage' is 0 Instances"
    plan = FaultPlan([Fault(match={"model_family": "qwen3", "instance_family": "ml.g5"}, stage="deploy", error=error)])
    fleet = make_fleet(clock, catalog, server, plan)

    # When the matching config deploys
    state = run_until_done(fleet, clock, fleet.start_deploy(deploy_spec(config_id="c0ffee0000000007")))

    # Then it fails with the fault's text, classified as AWS's would be
    assert state.status == "failed" and error in (state.failure_text or "")
    assert classify(state.failure_text or "").category == "service_limitation"
    # And a config the fault does not match is unaffected
    other = fleet.start_deploy(deploy_spec(instance_type="ml.g6.xlarge", config_id="c0ffee0000000008"))
    assert run_until_done(fleet, clock, other).status == "succeeded"
    fleet.clean([other], keep=False)


def test_a_times_one_fault_fails_once_then_the_retry_succeeds(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given a one-shot capacity fault
    plan = FaultPlan(
        [Fault(match={"deployment_config": "vllm"}, stage="deploy", error="InsufficientCapacity", times=1)]
    )
    fleet = make_fleet(clock, catalog, server, plan)

    # When the config deploys, then is retried as attempt 2
    first = fleet.start_deploy(deploy_spec(config_id="c0ffee0000000009"))
    assert run_until_done(fleet, clock, first).status == "failed"
    second = fleet.start_deploy(deploy_spec(config_id="c0ffee0000000009", attempt=2))

    # Then the retry is InService and the fault is used up
    assert run_until_done(fleet, clock, second).status == "succeeded"
    assert plan.remaining()[0][1] == 0
    fleet.clean([first, second], keep=False)
    assert fleet.alive({}) == []


def test_a_test_fault_makes_the_endpoint_answer_http_500_for_its_fraction(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given a test-stage fault on half of the requests
    plan = FaultPlan([Fault(stage="test", error="simulated engine crash: CUDA error: illegal memory", fraction=0.5)])
    fleet = make_fleet(clock, catalog, server, plan)
    ref = fleet.start_deploy(deploy_spec(config_id="c0ffee000000000a"))
    assert run_until_done(fleet, clock, ref).status == "succeeded"

    # When it is invoked four times
    results = [fleet.invoke(ref, b'{"prompt": "hi", "max_tokens": 2}', "application/json") for _ in range(4)]

    # Then every other request is an HTTP 500 carrying the fault text, like SageMaker's ModelError
    assert [r.status_code for r in results] == [200, 500, 200, 500]
    assert b"simulated engine crash" in results[1].body
    assert (results[1].error or "").startswith("ModelError: Received server error (500)")
    fleet.clean([ref], keep=False)


def test_a_tune_fault_fails_the_training_job(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given LoRA is unsupported for llama3 (a tune fault)
    plan = FaultPlan([Fault(match={"model_family": "llama3"}, stage="tune", error="ValueError: LoRA is not supported")])
    fleet = make_fleet(clock, catalog, server, plan)

    def training(model: str, name: str) -> TrainingSpec:
        return TrainingSpec(
            execution_id=EXECUTION,
            config_id="c0ffee000000000b",
            job_name=name,
            training_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/pp-tune:1",
            hyperparameters=script_mode_hyperparameters("s3://pp-bucket/src.tar.gz", "us-east-1", {"model_id": model}),
            role_arn=ROLE,
            instance_type="ml.g5.2xlarge",
            output_s3="s3://pp-bucket/tune/",
            expiry=datetime(2026, 11, 24, tzinfo=UTC),
        )

    # When a llama and a qwen training job run
    bad = fleet.start_training(training("meta-llama/Llama-3.1-8B-Instruct", "pp-tune-llama"))
    good = fleet.start_training(training(SMALL, "pp-tune-qwen"))
    assert fleet.alive({}, billing_only=True) == sorted([bad.arn_or_id, good.arn_or_id])
    bad_state, good_state = run_until_done(fleet, clock, bad), run_until_done(fleet, clock, good)

    # Then the llama job fails at tune, not retryable; the qwen job completes; nothing keeps billing
    assert bad_state.status == "failed" and bad_state.failure_stage == "tune"
    assert classify(bad_state.failure_text or "").category == "model_incompatibility"
    assert good_state.status == "succeeded" and good_state.detail["model_artifacts"].endswith("model.tar.gz")
    assert fleet.alive({}) == []
    truth = training_run(
        catalog.model(SMALL),
        catalog.instance("ml.g5.2xlarge"),
        max_steps=50,
        lora_rank=8,
        batch_size=4,
        seq_len=512,
        weights_from_s3=False,
        facts=load_facts(catalog),
    )
    tune_s = truth.duration_s * duration_factor("c0ffee000000000b", 1, "training-job")
    assert fleet.billed_seconds(good) == pytest.approx(tune_s)


def test_async_endpoint_and_batch_transform(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer, tmp_path: Path
) -> None:
    # Given an async endpoint (answers go to the artifact store) and a batch transform job
    store = LocalArtifactStore(tmp_path)
    fleet = make_fleet(clock, catalog, server, artifacts=store)
    endpoint = fleet.start_deploy(deploy_spec(config_id="c0ffee000000000e", target="async-inference"))
    batch = fleet.start_deploy(deploy_spec(config_id="c0ffee000000000f", target="batch-transform"))

    # When both have run their course and the async endpoint is invoked
    assert run_until_done(fleet, clock, endpoint).status == "succeeded"
    answer = fleet.invoke(endpoint, b'{"inputs": "a b", "parameters": {"max_new_tokens": 3}}', "application/json")
    transform = run_until_done(fleet, clock, batch)

    # Then the async answer is stored where output_location says, and the transform completed
    assert answer.status_code == 202 and answer.output_location
    assert json.loads(store.get_bytes(answer.output_location))["usage"]["completion_tokens"] == 3
    assert transform.status == "succeeded" and transform.detail["transform_job_status"] == "Completed"
    timing = catalog.search_space.timing
    assert fleet.billed_seconds(batch) == pytest.approx(
        (timing.minutes("deploy", 0.6) + timing.minutes("test", 0.6))
        * 60
        * duration_factor("c0ffee000000000f", 1, "transform-job")
    )
    report = fleet.clean([endpoint, batch], keep=False)
    assert f"transform-job/{batch.name}" in report.already_gone  # finished jobs have nothing to stop
    assert report.ok and fleet.alive({}) == []


def test_the_simulated_parts_satisfy_the_ports(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer, tmp_path: Path
) -> None:
    # mypy checks these assignments; at run time they only need to construct
    fleet: Fleet = make_fleet(clock, catalog, server)
    builder: Builder = SimulatedBuilder(clock, catalog)
    store: ArtifactStore = LocalArtifactStore(tmp_path)
    clocks: list[Clock] = [clock, SystemClock()]
    assert fleet and builder and store and len(clocks) == 2


# --------------------------------------------------------------------------- clean-up


def test_clean_twice_is_safe_and_keep_reports_instead_of_deleting(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given an InService endpoint
    fleet = make_fleet(clock, catalog, server)
    ref = fleet.start_deploy(deploy_spec(config_id="c0ffee000000000c"))
    run_until_done(fleet, clock, ref)

    # When it is cleaned with keep=True
    kept = fleet.clean([ref], keep=True)

    # Then everything is reported kept and still alive
    assert len(kept.kept) == 3 and not kept.deleted
    assert len(fleet.alive({TAG_EXECUTION: EXECUTION})) == 3

    # When it is cleaned for real, twice
    once = fleet.clean([ref], keep=False)
    twice = fleet.clean([ref], keep=False)

    # Then the second clean finds everything already gone, and checking the ref says so
    assert len(once.deleted) == 3 and once.ok
    assert not twice.deleted and len(twice.already_gone) == 3 and twice.ok
    assert fleet.check(ref).status == "failed"
    assert fleet.invoke(ref, b"{}", "application/json").status_code == 400
    assert fleet.alive({}) == []


def test_a_clean_fault_leaves_the_endpoint_alive_until_a_second_clean(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given a one-shot throttling fault on clean
    plan = FaultPlan([Fault(stage="clean", error="ThrottlingException: Rate exceeded", times=1)])
    fleet = make_fleet(clock, catalog, server, plan)
    ref = fleet.start_deploy(deploy_spec(config_id="c0ffee000000000d"))

    # When it is cleaned twice
    first = fleet.clean([ref], keep=False)
    alive_between = fleet.alive({}, billing_only=True)
    second = fleet.clean([ref], keep=False)

    # Then the first clean reports the error and the endpoint survives it; the second removes it
    assert not first.ok and "ThrottlingException" in first.errors[0]
    assert alive_between == [ref.arn_or_id]
    assert second.ok and second.deleted == [f"endpoint/{ref.name}"]
    assert fleet.alive({}) == []


def test_four_lanes_deploying_at_once(clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer) -> None:
    # Given one fleet shared by four lanes
    fleet = make_fleet(clock, catalog, server)
    instances = ["ml.g5.xlarge", "ml.g6.xlarge", "ml.g6e.xlarge", "ml.g5.2xlarge"]
    refs: dict[int, JobRef] = {}
    states: dict[int, JobState] = {}
    answers: dict[int, int] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def lane(i: int) -> None:
        try:
            barrier.wait()
            ref = fleet.start_deploy(deploy_spec(instance_type=instances[i], config_id=f"c0ffee00000001{i:02d}"))
            refs[i] = ref
            for _ in range(200):
                state = fleet.check(ref)
                if state.done:
                    break
                clock.advance(5)
            states[i] = state
            answers[i] = fleet.invoke(ref, b'{"prompt": "a b c", "max_tokens": 3}', "application/json").status_code
        except BaseException as exc:
            errors.append(exc)

    # When the four deploy, poll and invoke concurrently
    threads = [threading.Thread(target=lane, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    # Then all four are InService on distinct endpoints and answered, and one clean removes everything
    assert not errors
    assert {s.status for s in states.values()} == {"succeeded"} and len(states) == 4
    assert set(answers.values()) == {200}
    assert len({r.name for r in refs.values()}) == 4
    assert len(fleet.alive({}, billing_only=True)) == 4
    assert fleet.clean(list(refs.values()), keep=False).ok
    assert fleet.alive({}) == []


# --------------------------------------------------------------------------- tune and adapter (issue 10)


def _training(model: str, instance: str, name: str, **hyper: Any) -> TrainingSpec:
    return TrainingSpec(
        execution_id=EXECUTION,
        config_id="c0ffee000000000c",
        job_name=name,
        training_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/pp-tune:1",
        hyperparameters=script_mode_hyperparameters(
            "s3://pp-bucket/src.tar.gz", "us-east-1", {"model_id": model, **hyper}
        ),
        role_arn=ROLE,
        instance_type=instance,
        output_s3="s3://pp-bucket/tune/",
        expiry=datetime(2026, 11, 24, tzinfo=UTC),
    )


def test_a_model_the_instance_cannot_train_fails_with_a_cuda_oom(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    # Given Qwen3-14B (29 GiB of bf16 weights) and Qwen3-4B, each trained on one 22 GiB L4
    fleet = make_fleet(clock, catalog, server)
    big = fleet.start_training(_training("Qwen/Qwen3-14B", "ml.g6.xlarge", "pp-tune-14b"))
    small = fleet.start_training(_training("Qwen/Qwen3-4B", "ml.g6.xlarge", "pp-tune-4b"))
    # When they run
    big_state, small_state = run_until_done(fleet, clock, big), run_until_done(fleet, clock, small)
    # Then the 14B job dies with PyTorch's CUDA OOM (classified oom), the 4B job completes
    assert big_state.status == "failed" and "CUDA out of memory" in (big_state.failure_text or "")
    assert classify(big_state.failure_text or "", "tune").category == "oom"
    assert small_state.status == "succeeded"


def test_training_takes_longer_with_more_steps(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer
) -> None:
    fleet = make_fleet(clock, catalog, server, duration_jitter_sigma=0)
    short = fleet.start_training(_training("Qwen/Qwen3-4B", "ml.g6.xlarge", "pp-tune-short", max_steps=10))
    long = fleet.start_training(_training("Qwen/Qwen3-4B", "ml.g6.xlarge", "pp-tune-long", max_steps=1000))
    assert float(long.meta["simulated_duration_s"]) > float(short.meta["simulated_duration_s"]) + 600


def test_a_training_job_without_a_script_fails_and_one_with_it_writes_an_adapter(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer, tmp_path: Path
) -> None:
    from pathprover.generate.training import source_tarball, training_source

    store = LocalArtifactStore(tmp_path, s3_bucket="pp-bucket")
    fleet = make_fleet(clock, catalog, server, artifacts=store)
    # Given a job sent hyperparameters only (the old request), and one sent its source
    bare = _training("Qwen/Qwen3-0.6B", "ml.g5.xlarge", "pp-tune-bare").model_copy(
        update={"hyperparameters": {"model_id": "Qwen/Qwen3-0.6B"}}
    )
    store.put_bytes("src.tar.gz", source_tarball(training_source()))
    good = _training("Qwen/Qwen3-0.6B", "ml.g5.xlarge", "pp-tune-good")
    bare_state = run_until_done(fleet, clock, fleet.start_training(bare))
    good_state = run_until_done(fleet, clock, fleet.start_training(good))
    # Then the first runs no user code; the second writes a PEFT adapter where SageMaker would
    assert bare_state.status == "failed" and "sagemaker_program" in (bare_state.failure_text or "")
    assert good_state.status == "succeeded"
    artifact = store.get_bytes(good_state.detail["model_artifacts"])
    with tarfile.open(fileobj=io.BytesIO(artifact), mode="r:gz") as tar:
        config = json.loads(tar.extractfile("adapter_config.json").read())  # type: ignore[union-attr]
        assert "adapter_model.safetensors" in tar.getnames()
    assert config["r"] == 8 and config["base_model_name_or_path"] == "Qwen/Qwen3-0.6B"


def test_an_adapter_endpoint_serves_the_adapter_by_name_only_where_the_engine_loads_it(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer, tmp_path: Path
) -> None:
    from pathprover.adapters.local.fleet import simulated_adapter

    store = LocalArtifactStore(tmp_path, s3_bucket="pp-bucket")
    uri = store.put_bytes("adapters/model.tar.gz", simulated_adapter(SMALL, 8))
    fleet = make_fleet(clock, catalog, server, artifacts=store)

    def adapter_spec(config: str, adapter_uri: str, config_id: str) -> DeploySpec:
        base = deploy_spec(deployment_config=config, config_id=config_id, stage="adapter")
        return base.model_copy(
            update={"adapter_data_uri": adapter_uri, "env": {**base.env, "PATHPROVER_ADAPTER_NAME": "pp-lora"}}
        )

    ask = json.dumps({"model": "pp-lora", "prompt": "hi", "max_tokens": 2}).encode()
    # Given a vLLM endpoint with the adapter, a TensorRT-LLM one (no LoRA by name), one with a missing adapter
    vllm = fleet.start_deploy(adapter_spec("transformers-vllm", uri, "c0ffee00000000a1"))
    trt = fleet.start_deploy(adapter_spec("tensorrt-llm", uri, "c0ffee00000000a2"))
    missing = fleet.start_deploy(
        adapter_spec("transformers-vllm", "s3://pp-bucket/none/model.tar.gz", "c0ffee00000000a3")
    )
    assert run_until_done(fleet, clock, vllm).status == "succeeded"
    assert run_until_done(fleet, clock, trt).status == "succeeded"
    missing_state = run_until_done(fleet, clock, missing)
    # Then vLLM answers as the adapter; TensorRT-LLM's proxy answers as the base model
    assert json.loads(fleet.invoke(vllm, ask, "application/json").body)["model"] == "pp-lora"
    assert json.loads(fleet.invoke(trt, ask, "application/json").body)["model"] == SMALL
    # And the engine itself refuses the unknown name (404), as the OpenAI servers do
    url = fleet.check(trt).detail["endpoint_url"] + "/v1/completions"
    request = urllib.request.Request(url, data=ask, method="POST", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 404
    # And a missing adapter fails the deploy like SageMaker's model data download
    assert missing_state.status == "failed" and "Failed to download model data" in (missing_state.failure_text or "")
    fleet.clean([vllm, trt, missing], keep=False)


def test_a_transform_job_answers_every_record_and_takes_its_latency_model_s_time(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer, tmp_path: Path
) -> None:
    # Given a JSON-lines input of five records in the store (prompt of 40 words, 10 tokens each)
    store = LocalArtifactStore(tmp_path, s3_bucket="pp-bucket")
    body = b"".join(
        json.dumps({"prompt": " ".join(["word"] * 40), "max_tokens": 10}).encode() + b"\n" for _ in range(5)
    )
    store.put_bytes("in/bench.jsonl", body)
    fleet = make_fleet(clock, catalog, server, artifacts=store)
    spec = deploy_spec(config_id="c0ffee0000000010", target="batch-transform", stage="benchmark")
    spec = spec.model_copy(update={"batch_input_s3": "s3://pp-bucket/in/bench.jsonl"})
    # When the job runs to completion
    ref = fleet.start_deploy(spec)
    done = run_until_done(fleet, clock, ref)
    # Then one answer line per record, each with its token count, at <output>/<input>.out
    assert done.status == "succeeded"
    lines = store.get_bytes("s3://pp-bucket/out/bench.jsonl.out").decode().splitlines()
    assert len(lines) == 5 and all(json.loads(line)["usage"]["completion_tokens"] == 10 for line in lines)
    # And the job took its start-up plus each record one after the other on the instance's latency model
    model = catalog.model(SMALL)
    latency = LatencyModel.estimate(catalog, model, catalog.instance("ml.g5.xlarge"), "none", 1)
    startup = catalog.search_space.timing.minutes("deploy", model.total_params_b) * 60
    startup *= duration_factor("c0ffee0000000010", 1, "transform-job")
    per_record = (latency.ttft_ms(40) + 9 * latency.itl_ms(1)) / 1000
    assert fleet.billed_seconds(ref) == pytest.approx(startup + 5 * per_record)
    # And the job's start and end times (TransformStartTime/EndTime) span exactly that
    started, ended = datetime.fromisoformat(done.detail["started"]), datetime.fromisoformat(done.detail["ended"])
    assert (ended - started).total_seconds() == pytest.approx(startup + 5 * per_record, abs=1e-3)


def test_a_transform_record_the_server_cannot_read_fails_the_job_as_a_client_error(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer, tmp_path: Path
) -> None:
    store = LocalArtifactStore(tmp_path, s3_bucket="pp-bucket")
    store.put_bytes("in/bad.jsonl", b'{"prompt": "a b", "max_tokens": 2}\n{"text": "no prompt"}\n')
    fleet = make_fleet(clock, catalog, server, artifacts=store)
    spec = deploy_spec(config_id="c0ffee0000000011", target="batch-transform")
    ref = fleet.start_deploy(spec.model_copy(update={"batch_input_s3": "s3://pp-bucket/in/bad.jsonl"}))
    done = run_until_done(fleet, clock, ref)
    assert done.status == "failed" and "record 2" in (done.failure_text or "")
    assert "ClientError" in (done.failure_text or "")


# --------------------------------------------------------------------------- the janitor's inventory and delete


def test_simulated_inventory_after_a_deploy_and_delete(sim: SimulatedFleet) -> None:
    spec = deploy_spec_for("run-1")
    ref = sim.start_deploy(spec)
    training = sim.start_training(training_spec_for("run-1"))

    found = sim.inventory()

    assert [r.label for r in found] == [
        f"endpoint/{spec.names.endpoint}",
        f"training-job/{training.name}",
        f"endpoint-config/{spec.names.endpoint_config}",
        f"model/{spec.names.model}",
    ]
    endpoint = found[0]
    assert endpoint.arn == ref.arn_or_id and endpoint.status == "Creating"
    assert endpoint.tags == spec.all_tags and endpoint.execution == "run-1"
    assert endpoint.created_at == FLEET_START and endpoint.expiry == FLEET_START + timedelta(hours=12)
    assert found[1].status == "InProgress" and found[2].status is None

    report = sim.delete(list(reversed(found)))
    assert report.deleted == [r.label for r in found]  # billing first, whatever the order given
    assert sim.inventory() == [] and sim.alive({}) == []
    again = sim.delete(found)
    assert again.deleted == [] and len(again.already_gone) == 4
