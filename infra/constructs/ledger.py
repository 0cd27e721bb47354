"""The budget ledger and config leases (DynamoDB), as pathprover.adapters.aws.ledger uses them."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra import constants as C
from infra.config import names_of


class Ledger(Construct):
    """One on-demand table keyed by `pk` (string), TTL on `expires_at`, point-in-time recovery on.

    It holds reservations and leases of runs in flight, nothing that outlives them, so it is
    deleted with the stack.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = self._build_table()

    def _build_table(self) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            "Table",
            table_name=names_of(self).scoped(C.LEDGER_TABLE),
            partition_key=dynamodb.Attribute(name=C.LEDGER_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=C.LEDGER_TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,
        )
