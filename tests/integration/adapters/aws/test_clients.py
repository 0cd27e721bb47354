"""AwsClients: one lazily built boto3 client per service."""

from __future__ import annotations

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.codebuild import CodeBuildBuilder
from pathprover.adapters.aws.sagemaker import SageMakerFleet


def test_adapters_do_not_build_clients_at_import() -> None:
    clients = AwsClients(region="us-east-1")
    SageMakerFleet(clients)
    CodeBuildBuilder(clients)
    assert clients._clients == {}
