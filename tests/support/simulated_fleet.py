"""Helpers the simulated-fleet tests share: deploy requests as the runtime sends them, the workflow's poll loop
on the virtual clock, and a streaming client that times tokens as a user sees them."""

from __future__ import annotations

import http.client
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pathprover.adapters.local.endpoint import SimulatedEndpointServer
from pathprover.adapters.local.faults import FaultPlan
from pathprover.adapters.local.fleet import SimulatedFleet, duration_factor
from pathprover.catalog import Catalog, default_catalog
from pathprover.clock import VirtualClock
from pathprover.stages.jobs import JobRef, JobState
from pathprover.stages.naming import resource_names
from pathprover.stages.specs import DeploySpec, TrainingSpec

EXECUTION = "local-exec-1"
ROLE = "arn:aws:iam::123456789012:role/pp-sagemaker"
SMALL = "Qwen/Qwen3-0.6B"
LARGE = "meta-llama/Llama-3.1-70B-Instruct"


def make_fleet(
    clock: VirtualClock, catalog: Catalog, server: SimulatedEndpointServer, faults: FaultPlan | None = None, **kw: Any
) -> SimulatedFleet:
    return SimulatedFleet(clock, catalog, faults or FaultPlan(), server, **kw)


def deploy_spec(
    model: str = SMALL,
    instance_type: str = "ml.g5.xlarge",
    *,
    tp: int = 1,
    quantization: str = "none",
    deployment_config: str = "transformers-vllm",
    config_id: str = "c0ffee0000000001",
    attempt: int = 1,
    target: str = "realtime-inference",
    stage: str = "deploy",
    staged: bool | None = None,
    env: dict[str, str] | None = None,
    instance_count: int = 1,
) -> DeploySpec:
    """A deploy request as the runtime sends it: gated models' weights staged to S3 (``staged=None``)."""
    extra: dict[str, Any] = {}
    variables = {
        "HF_MODEL_ID": model,
        "TP_DEGREE": str(tp),
        "QUANTIZATION": quantization,
        "DEPLOYMENT_CONFIG": deployment_config,
    }
    if staged is None:
        staged = model in default_catalog().models and default_catalog().model(model).gated
    if staged:
        uri = f"s3://pp-bucket/weights/{model}/"
        variables.update(MODEL_SOURCE="s3", MODEL_S3_URI=uri)
        extra["model_data_uri"] = uri
    variables.update(env or {})
    if target == "async-inference":
        extra["async_output_s3"] = "s3://pp-bucket/async/"
    if target == "batch-transform":
        extra.update(batch_input_s3="s3://pp-bucket/in/", batch_output_s3="s3://pp-bucket/out/")
    return DeploySpec(
        execution_id=EXECUTION,
        config_id=config_id,
        attempt=attempt,
        names=resource_names(EXECUTION, config_id, attempt),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/pp-serving:local",
        env=variables,
        instance_type=instance_type,
        instance_count=instance_count,
        target=target,
        role_arn=ROLE,
        expiry=datetime(2026, 11, 24, tzinfo=UTC),
        stage=stage,
        **extra,
    )


def deploy_seconds(catalog: Catalog, model: str, config_id: str = "c0ffee0000000001", attempt: int = 1) -> float:
    """The catalog's deploy time for the model, times the endpoint's deterministic jitter."""
    minutes = catalog.search_space.timing.minutes("deploy", catalog.model(model).total_params_b)
    return minutes * 60 * duration_factor(config_id, attempt, "endpoint")


def run_until_done(fleet: SimulatedFleet, clock: VirtualClock, ref: JobRef, max_polls: int = 200) -> JobState:
    """What the workflow's Wait loop does: poll, then Wait the suggested time on the virtual clock."""
    for _ in range(max_polls):
        state = fleet.check(ref)
        if state.done:
            return state
        assert 10 <= state.wait_seconds <= 600
        clock.sleep(state.wait_seconds)
    raise AssertionError("the simulated job never finished")


def stream_completion(url: str, prompt_words: int, max_tokens: int) -> tuple[float, list[float], list[str]]:
    """POST a streaming completion; return (TTFT ms, inter-token gaps ms, token texts) as the client saw them."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    body = json.dumps(
        {"model": SMALL, "prompt": " ".join(["word"] * prompt_words), "max_tokens": max_tokens, "stream": True}
    )
    try:
        conn.putrequest("POST", parts.path + "/v1/completions")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        sent = time.perf_counter()
        conn.send(body.encode())
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("X-Simulated") == "true"
        stamps: list[float] = []
        texts: list[str] = []
        done = False
        while True:
            line = response.readline()
            if not line:
                break
            now = time.perf_counter()
            line = line.strip()
            if not line.startswith(b"data: "):
                continue
            payload = line[6:]
            if payload == b"[DONE]":
                done = True
                continue
            event = json.loads(payload)
            if event["choices"]:
                stamps.append(now)
                texts.append(event["choices"][0]["text"])
        assert done
    finally:
        conn.close()
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(stamps)]
    return (stamps[0] - sent) * 1000, gaps, texts


FLEET_START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def deploy_spec_for(execution: str, config_id: str = "c0ffee0000000001") -> DeploySpec:
    return DeploySpec(
        execution_id=execution,
        config_id=config_id,
        names=resource_names(execution, config_id, 1),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/pp-serving:local",
        env={"HF_MODEL_ID": SMALL, "TP_DEGREE": "1", "QUANTIZATION": "none", "DEPLOYMENT_CONFIG": "transformers-vllm"},
        instance_type="ml.g5.xlarge",
        target="realtime-inference",
        role_arn=ROLE,
        expiry=FLEET_START + timedelta(hours=12),
    )


def training_spec_for(execution: str) -> TrainingSpec:
    return TrainingSpec(
        execution_id=execution,
        config_id="c0ffee000000000b",
        job_name=resource_names(execution, "c0ffee000000000b", 1).training_job,
        training_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/pp-tune:1",
        hyperparameters={"model_id": SMALL},
        role_arn=ROLE,
        instance_type="ml.g5.2xlarge",
        output_s3="s3://pp-bucket/tune/",
        expiry=FLEET_START + timedelta(hours=12),
    )
