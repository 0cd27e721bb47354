"""DynamoLedger: what a stopped execution still holds (moto's DynamoDB, beside the SQLite ledger) and
transaction conflicts (botocore Stubber).
"""

from __future__ import annotations

import boto3
import pytest

from pathprover.adapters.aws.clients import AwsClients
from tests.support.aws_stubs import stubbed_client as _clients


def _dynamo_ledger():
    from moto import mock_aws

    from pathprover.adapters.aws.ledger import DynamoLedger

    mock = mock_aws()
    mock.start()
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    client.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    clients = AwsClients("us-east-1")
    clients.set("dynamodb", client)
    return mock, DynamoLedger(clients, "ledger")


@pytest.mark.parametrize("ledger_kind", ["sqlite", "dynamodb"])
def test_what_a_stopped_execution_still_holds_is_found_in_both_ledgers(tmp_path, ledger_kind):
    from datetime import UTC, datetime

    from pathprover.adapters.local.ledger import SqliteLedger
    from pathprover.protocols import Held

    mock = None
    if ledger_kind == "sqlite":
        ledger = SqliteLedger(tmp_path / "ledger.sqlite")
    else:
        mock, ledger = _dynamo_ledger()
    try:
        now = datetime.now(UTC)
        # Given an execution with one prove in flight, one settled, and another execution's lease
        assert ledger.reserve("run_1", "c1", 2.5, 10)
        assert ledger.acquire_lease("c1", "run_1#0", 600, now)
        assert ledger.reserve("run_1", "c2", 1.0, 10)
        ledger.settle("run_1", "c2", 0.5)
        assert ledger.acquire_lease("c3", "runX1#0", 600, now)  # `_` is not a wildcard
        # Then only the one in flight is held, with its lease and its open reservation
        assert ledger.in_flight("run_1") == {"c1": Held(lease_owner="run_1#0", reserved_usd=2.5)}
    finally:
        if mock is not None:
            mock.stop()


@pytest.mark.parametrize("operation", ["reserve", "settle"])
def test_a_transaction_conflict_is_retried_never_read_as_over_budget_or_settled(operation):
    from pathprover.adapters.aws.ledger import DynamoLedger
    from pathprover.protocols import TransientFailure

    clients, stub = _clients("dynamodb")
    ledger = DynamoLedger(clients, "ledger")
    reasons = {"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]}
    if operation == "reserve":
        stub.add_client_error("put_item", "ConditionalCheckFailedException")  # the budget exists
        stub.add_client_error("transact_write_items", "TransactionCanceledException", modeled_fields=reasons)

        def call() -> object:
            return ledger.reserve("run-1", "c1", 2.0, 10.0)
    else:
        stub.add_response(
            "get_item",
            {"Item": {"pk": {"S": "reservation#run-1#c1"}, "amount": {"N": "2"}, "settled": {"BOOL": False}}},
            {"TableName": "ledger", "Key": {"pk": {"S": "reservation#run-1#c1"}}, "ConsistentRead": True},
        )
        stub.add_client_error("transact_write_items", "TransactionCanceledException", modeled_fields=reasons)

        def call() -> object:
            return ledger.settle("run-1", "c1", 1.5)

    # Then the conflict is raised as transient (the task is retried), not answered False or swallowed
    with stub, pytest.raises(TransientFailure, match="TransactionConflict"):
        call()
