"""The deploying account through the identity port: STS on AWS (stubbed), once per process."""

from __future__ import annotations

from botocore.stub import Stubber

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.identity import StsIdentity


def test_sts_identity_asks_once_and_answers_the_account():
    # Given STS answering GetCallerIdentity once
    clients = AwsClients(region="us-east-1")
    stub = Stubber(clients.get("sts"))
    stub.add_response(
        "get_caller_identity",
        {"UserId": "AROAEXAMPLE:pathprover-brain", "Account": "123456789012", "Arn": "arn:aws:sts::123456789012:x"},
        {},
    )
    with stub:
        identity = StsIdentity(clients)
        # When the account is asked for twice
        first, second = identity.account_id(), identity.account_id()
    # Then both answers are the account, from one call (the stub would refuse a second)
    assert first == second == "123456789012"
    stub.assert_no_pending_responses()
