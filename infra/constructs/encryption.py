"""The customer-managed KMS key for what AWS-managed keys cannot serve: the alarm topic and CodeBuild."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


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
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToTheTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
            )
        )
