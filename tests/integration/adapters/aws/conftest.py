"""Fixtures the AWS adapter tests share: dummy credentials for every test, stubbed clients (`env`), and moto's
S3 and Glue as a server for the tests that use pyathena and awswrangler (`moto_url`, `aws`).

S3 and Glue are moto's, run as a server on 127.0.0.1 (not the in-process mock): pyarrow's S3 file
system, which pyathena reads result files with, is C++ and never goes through botocore, so it has to
reach moto over HTTP, like every boto3 client here (``AWS_ENDPOINT_URL``).

The Athena API calls are botocore Stubber responses: this botocore speaks Athena's rest-json protocol,
which moto (5.2.5) does not serve, and moto never executes SQL anyway. Each stubbed query is SUCCEEDED
with its result file written to moto's S3 the way Athena writes it (a quoted header, quoted values,
NULL as an empty field), and its column types in the one ``GetQueryResults`` page pyathena asks for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from pathprover.adapters.aws.clients import AwsClients
from tests.support.athena_moto import PYARROW_S3, REGION, RESULTS_BUCKET, post
from tests.support.aws_stubs import DUMMY_CREDENTIALS, Env


@pytest.fixture(autouse=True)
def _dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def env() -> Iterator[Env]:
    """Stubbed clients; at the end, every queued response must have been used."""
    environment = Env()
    yield environment
    environment.verify()
    for stubber in environment.stubs.values():
        stubber.deactivate()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every client of this test talks to the moto server, which starts empty (skipped without the aws extra)."""
    pytest.importorskip("pyathena", reason="the aws extra: pip install -e '.[aws]'")
    pytest.importorskip("pyarrow", reason="the aws extra: pip install -e '.[aws]'")
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_url,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # pyarrow's S3 file system (C++) reads no endpoint from the environment: point it at moto.
    from pyarrow import fs

    real = fs.S3FileSystem

    def s3_file_system(**kwargs: Any) -> Any:
        PYARROW_S3.append(kwargs)
        return real(endpoint_override=moto_url, **kwargs)

    PYARROW_S3.clear()
    monkeypatch.setattr(fs, "S3FileSystem", s3_file_system)
    post(moto_url, "/moto-api/reset", {})
    clients = AwsClients(region=REGION)
    clients.get("s3").create_bucket(Bucket=RESULTS_BUCKET)
    yield moto_url
