"""S3ArtifactStore against a real boto3 client whose responses come from botocore's Stubber."""

from __future__ import annotations

import pytest

from pathprover.adapters.aws.s3 import S3ArtifactStore
from tests.support.aws_stubs import Env

# --------------------------------------------------------------------------- S3


def test_s3_artifact_store(env: Env) -> None:
    s3 = env.stub("s3")
    s3.add_response(
        "put_object",
        {},
        {
            "Bucket": "pp-artifacts",
            "Key": "runs/run-42/manifest.json",
            "Body": b"{}",
            "ContentType": "application/json",
        },
    )
    s3.add_client_error("head_object", "404", "Not Found", http_status_code=404)
    store = S3ArtifactStore(env.clients, "pp-artifacts", prefix="runs/")
    uri = store.put_bytes("run-42/manifest.json", b"{}", content_type="application/json")
    assert uri == "s3://pp-artifacts/runs/run-42/manifest.json"
    assert store.exists("s3://pp-artifacts/runs/run-42/missing.json") is False
    with pytest.raises(ValueError):
        store.put_bytes("../escape", b"")
