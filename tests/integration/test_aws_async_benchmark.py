"""The async benchmark's AWS calls: InvokeEndpointAsync (botocore Stubber) with its input and output in S3 (moto).

The request shapes are botocore's own service model (Stubber validates every parameter against it):
InvokeEndpointAsync takes EndpointName, InputLocation, ContentType and InferenceId and answers 202 with
InferenceId, OutputLocation and FailureLocation.
"""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.s3 import S3ArtifactStore
from pathprover.loadgen.runner import run_async, run_levels
from pathprover.loadgen.transports import SageMakerAsyncTransport
from pathprover.loadgen.workload import Workload

BUCKET = "pp-artifacts"
ONE = Workload(seed=5, input_tokens=8, output_tokens=4, requests=1, concurrency=(1,), streaming=False)


@pytest.fixture(autouse=True)
def _aws(monkeypatch: pytest.MonkeyPatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield


def _answer_later(s3, key: str, body: bytes, delay_s: float) -> threading.Thread:
    def put() -> None:
        time.sleep(delay_s)
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    thread = threading.Thread(target=put, daemon=True)
    thread.start()
    return thread


def test_each_request_is_uploaded_submitted_with_its_input_location_and_read_back_from_s3() -> None:
    # Given a stubbed SageMaker Runtime that accepts two submissions (warm-up and measured) and an S3 store
    store = S3ArtifactStore(AwsClients(region="us-east-1"), BUCKET)
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    stub = Stubber(runtime)
    s3 = boto3.client("s3", region_name="us-east-1")
    answers = []
    for n in range(2):
        out = f"io/pp-ep/async-output/r{n}.out"
        stub.add_response(
            "invoke_endpoint_async",
            {"InferenceId": f"r{n}", "OutputLocation": f"s3://{BUCKET}/{out}",
             "FailureLocation": f"s3://{BUCKET}/io/pp-ep/async-failure/r{n}-error.out"},
            {"EndpointName": "pp-ep", "InputLocation": ANY, "ContentType": "application/json", "InferenceId": ANY},
        )  # fmt: skip
        answers.append(out)
    stub.activate()
    body = json.dumps({"choices": [{"text": " a b c d"}], "usage": {"completion_tokens": 4}}).encode()
    threads = [_answer_later(s3, key, body, 0.05 * (i + 1)) for i, key in enumerate(answers)]
    transport = SageMakerAsyncTransport("pp-ep", store, "io/pp-ep/async-input/", client=runtime, poll_max_s=0.02)
    # When one level of one request runs
    result = run_async(run_levels(transport, ONE, model="m"))
    for thread in threads:
        thread.join()
    # Then both calls were made as the API expects, with the uploaded inputs in S3 under the io prefix
    stub.assert_no_pending_responses()
    inputs = s3.list_objects_v2(Bucket=BUCKET, Prefix="io/pp-ep/async-input/")["Contents"]
    assert len(inputs) == 2
    sent = [json.loads(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()) for o in inputs]
    assert all(b["stream"] is False and b["max_tokens"] == 4 for b in sent)
    # And the measured request is answered from its output object, 4 tokens, no TTFT
    level = result.levels[0]
    assert level.errors == 0 and level.total_output_tokens == 4 and level.ttft_p50_ms is None
    assert level.e2e_latency_p50_ms is not None and level.e2e_latency_p50_ms > 0


def test_a_refused_submission_is_an_error_with_the_apis_words() -> None:
    store = S3ArtifactStore(AwsClients(region="us-east-1"), BUCKET)
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    stub = Stubber(runtime)
    for _ in range(2):
        stub.add_client_error("invoke_endpoint_async", "ValidationError", "Endpoint pp-ep of account 1 not found.", 400)
    stub.activate()
    transport = SageMakerAsyncTransport("pp-ep", store, "io/pp-ep/async-input/", client=runtime)
    from pathprover.loadgen.transports import LoadgenError

    with pytest.raises(LoadgenError, match="not found"):
        run_async(run_levels(transport, ONE, model="m"))
