"""Real boto3 clients (built by the adapters' factory) wrapped in botocore Stubbers, and the names the AWS adapter
tests share. The fixtures that use them (`env`, dummy credentials) are in tests/integration/adapters/aws/conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.stub import Stubber

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.codebuild import CodeBuildBuilder
from pathprover.adapters.aws.sagemaker import SageMakerFleet
from pathprover.stages.naming import resource_names

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:path-prover:run-42"
CONFIG = "0123456789abcdef"
ROLE = "arn:aws:iam::123456789012:role/pp-sagemaker"
ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012"
NAMES = resource_names(EXECUTION, CONFIG, 1)

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""The environment of a test that builds boto3 clients: never a real account's credentials."""


class Env:
    """Real clients (built by the adapters' factory) wrapped in Stubbers, and a fake clock."""

    def __init__(self) -> None:
        self.clients = AwsClients(region="us-east-1")
        self.stubs: dict[str, Stubber] = {}
        self.sleeps: list[float] = []
        self.clock = NOW

    def stub(self, service: str) -> Stubber:
        if service not in self.stubs:
            stubber = Stubber(self.clients.get(service))
            stubber.activate()
            self.stubs[service] = stubber
        return self.stubs[service]

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def now(self) -> datetime:
        return self.clock

    def fleet(self, **kw: Any) -> SageMakerFleet:
        return SageMakerFleet(self.clients, now=self.now, sleep=self.sleep, **kw)

    def builder(self) -> CodeBuildBuilder:
        return CodeBuildBuilder(self.clients, now=self.now, sleep=self.sleep)

    def verify(self) -> None:
        for stubber in self.stubs.values():
            stubber.assert_no_pending_responses()


def stubbed_client(service: str) -> tuple[AwsClients, Stubber]:
    """Adapters' clients holding one boto3 client for `service` (dummy keys) and a Stubber over it (not active)."""
    clients = AwsClients("us-east-1")
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    clients.set(service, client)
    return clients, Stubber(client)
