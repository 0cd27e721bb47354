"""The customer-managed KMS key for what AWS-managed keys cannot serve: the alarm topic and CodeBuild."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import names_of


class ProverKey(Construct):
    """One key, rotated yearly. CloudWatch alarms may use it to publish to the encrypted SNS topic
    (an AWS-managed SNS key cannot grant that), and CodeBuild encrypts its build output with it."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = self._build_key()
        self._allow_cloudwatch_alarms()

    def _build_key(self) -> kms.Key:
        return kms.Key(
            self,
            "Key",
            description="Path Prover: alarm topic and CodeBuild encryption",
            enable_key_rotation=True,
            pending_window=Duration.days(7),
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _allow_cloudwatch_alarms(self) -> None:
        """CloudWatch (the service, on behalf of an alarm) may use the key to publish to the alarm topic:
        only for this account's alarms of this deployment (`aws:SourceAccount`, and `aws:SourceArn` on the
        alarm ARN pattern `<alarm prefix>-*`), so another account's or deployment's alarm cannot use it
        (the confused-deputy guard of the SNS guide's "compatibility with AWS services" key policy). The
        topic policy (alarms.py) carries the same two conditions."""
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToTheTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions=alarm_source_conditions(self),
            )
        )


def alarm_source_conditions(scope: Construct) -> dict[str, Any]:
    """`aws:SourceAccount` = this account and `aws:SourceArn` like this deployment's alarms: the conditions of
    every grant to cloudwatch.amazonaws.com (the key policy here, the alarm topic's policy)."""
    stack = Stack.of(scope)
    return {
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {
            "aws:SourceArn": stack.format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name=f"{names_of(scope).alarm_prefix}-*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        },
    }
