"""The budget ledger and config leases in DynamoDB, with conditional writes.

One table, three item kinds (partition key `pk`):

- `budget#<execution>`: `remaining` (max cost - spent - reserved), `reserved`, `spent`;
- `reservation#<execution>#<config>`: `amount`, `settled`;
- `lease#<config>`: `owner`, `expires_at` (epoch seconds, also the TTL attribute).

A reservation is one transaction: decrement `remaining` on the condition
`remaining >= amount` and create the reservation item on the condition it does
not exist, so lanes and overlapping executions can never overspend.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from pathprover.adapters.aws.clients import AwsClients
from pathprover.deployment import LEDGER_PARTITION_KEY, LEDGER_TTL_ATTRIBUTE
from pathprover.protocols import Held, TransientFailure

TTL_ATTRIBUTE: Final = LEDGER_TTL_ATTRIBUTE
PK: Final = LEDGER_PARTITION_KEY
_KEEP_SECONDS = 30 * 24 * 3600


TRANSIENT_CANCELLATIONS = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)
"""Cancellation reasons that say nothing about the budget: another transaction or DynamoDB was busy."""


def _raise_if_transient(reasons: list[Any], what: str) -> None:
    """A transaction cancelled by a conflict is retried, never read as "over budget" or "already settled"."""
    busy = sorted({str(r) for r in reasons if r in TRANSIENT_CANCELLATIONS})
    if busy:
        raise TransientFailure(f"{what}: DynamoDB transaction cancelled ({', '.join(busy)}); retry")


def _d(value: float) -> Decimal:
    return Decimal(str(round(value, 6)))


class DynamoLedger:
    def __init__(self, clients: AwsClients, table_name: str) -> None:
        self.clients = clients
        self.table = table_name

    @property
    def _ddb(self) -> Any:
        return self.clients.get("dynamodb")

    def _ensure_budget(self, execution_id: str, max_cost_usd: float, now_epoch: int) -> None:
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            self._ddb.put_item(
                TableName=self.table,
                Item={
                    PK: {"S": f"budget#{execution_id}"},
                    "remaining": {"N": str(_d(max_cost_usd))},
                    "reserved": {"N": "0"},
                    "spent": {"N": "0"},
                    "max_cost": {"N": str(_d(max_cost_usd))},
                    TTL_ATTRIBUTE: {"N": str(now_epoch + _KEEP_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )

    def reserve(self, execution_id: str, config_id: str, amount_usd: float, max_cost_usd: float) -> bool:
        if amount_usd < 0:
            raise ValueError("a reservation cannot be negative")
        now = int(datetime.now().timestamp())
        self._ensure_budget(execution_id, max_cost_usd, now)
        amount = str(_d(amount_usd))
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {PK: {"S": f"budget#{execution_id}"}},
                            "UpdateExpression": "SET remaining = remaining - :a, reserved = reserved + :a",
                            "ConditionExpression": "remaining >= :a",
                            "ExpressionAttributeValues": {":a": {"N": amount}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                PK: {"S": f"reservation#{execution_id}#{config_id}"},
                                "amount": {"N": amount},
                                "settled": {"BOOL": False},
                                TTL_ATTRIBUTE: {"N": str(now + _KEEP_SECONDS)},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
            return True
        except self._ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            _raise_if_transient(reasons, f"reserve {config_id}")
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                # The reservation exists: a retried task keeps it while open; a settled one is spent.
                item = self._ddb.get_item(
                    TableName=self.table,
                    Key={PK: {"S": f"reservation#{execution_id}#{config_id}"}},
                    ConsistentRead=True,
                ).get("Item", {})
                return not item.get("settled", {}).get("BOOL", False)
            return False

    def settle(self, execution_id: str, config_id: str, actual_usd: float) -> None:
        key = {PK: {"S": f"reservation#{execution_id}#{config_id}"}}
        item = self._ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if item is None or item.get("settled", {}).get("BOOL"):
            return
        amount = item["amount"]["N"]
        actual = str(_d(actual_usd))
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": key,
                            "UpdateExpression": "SET settled = :t, actual = :c",
                            "ConditionExpression": "settled = :f",
                            "ExpressionAttributeValues": {
                                ":t": {"BOOL": True},
                                ":f": {"BOOL": False},
                                ":c": {"N": actual},
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {PK: {"S": f"budget#{execution_id}"}},
                            "UpdateExpression": "SET reserved = reserved - :a, spent = spent + :c, "
                            "remaining = remaining + :a - :c",
                            "ExpressionAttributeValues": {":a": {"N": amount}, ":c": {"N": actual}},
                        }
                    },
                ]
            )
        except self._ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            _raise_if_transient(reasons, f"settle {config_id}")
            return  # the condition failed: settled concurrently by a retried task

    def totals(self, execution_id: str) -> tuple[float, float]:
        item = self._ddb.get_item(
            TableName=self.table, Key={PK: {"S": f"budget#{execution_id}"}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return (0.0, 0.0)
        return (float(item["spent"]["N"]), float(item["reserved"]["N"]))

    def acquire_lease(self, config_id: str, owner: str, ttl_seconds: int, now: datetime) -> bool:
        epoch = int(now.timestamp())
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item={
                    PK: {"S": f"lease#{config_id}"},
                    "owner": {"S": owner},
                    TTL_ATTRIBUTE: {"N": str(epoch + ttl_seconds)},
                },
                ConditionExpression="attribute_not_exists(pk) OR #o = :me OR #e < :now",
                ExpressionAttributeNames={"#o": "owner", "#e": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":me": {"S": owner}, ":now": {"N": str(epoch)}},
            )
            return True
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False

    def in_flight(self, execution_id: str) -> dict[str, Held]:
        """A scan: the ledger holds only live budgets, reservations and leases (items expire), and this runs
        once per stopped execution, never on a prove's path."""
        reservations = f"reservation#{execution_id}#"
        amounts: dict[str, float] = {}
        owners: dict[str, str] = {}
        for page in self._ddb.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="(begins_with(pk, :r) AND settled = :f) OR (begins_with(pk, :l) AND begins_with(#o, :e))",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={
                ":r": {"S": reservations},
                ":f": {"BOOL": False},
                ":l": {"S": "lease#"},
                ":e": {"S": f"{execution_id}#"},
            },
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                pk = item[PK]["S"]
                if pk.startswith(reservations):
                    amounts[pk[len(reservations) :]] = float(item["amount"]["N"])
                else:
                    owners[pk.removeprefix("lease#")] = item["owner"]["S"]
        return {
            config: Held(lease_owner=owners.get(config), reserved_usd=amounts.get(config))
            for config in sorted(set(amounts) | set(owners))
        }

    def release_lease(self, config_id: str, owner: str) -> None:
        try:
            self._ddb.delete_item(
                TableName=self.table,
                Key={PK: {"S": f"lease#{config_id}"}},
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": owner}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return
