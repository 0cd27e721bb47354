"""Alarms to an encrypted SNS topic: failed or timed-out executions; account and harness failures of proves;
janitor deletions, errors and failures."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as C
from infra.config import names_of
from infra.constructs.encryption import alarm_source_conditions


class ProverAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        state_machine: sfn.StateMachine,
        janitor: lambda_.IFunction,
        email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._build_topic(key, email)
        self._action = actions.SnsAction(self.topic)
        self.alarms = [
            self._alarm(
                "ExecutionsFailed",
                state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
                "A Path Prover execution failed (see the execution's error and the run summary).",
            ),
            self._alarm(
                "ExecutionsTimedOut",
                state_machine.metric_timed_out(period=Duration.minutes(5), statistic="Sum"),
                "A Path Prover execution hit its timeout; the janitor cleans up what it left behind.",
            ),
            self._alarm(
                "AccountFailures",
                self._scope_metric("account"),
                "A prove failed on the account's state (a quota, a permission, an SCP, an opt-in region): the run "
                "summary's account_actions names the limit to raise or the permission to grant.",
            ),
            self._alarm(
                "HarnessFailures",
                self._scope_metric("harness"),
                "A prove failed on Path Prover's own deployment (a missing image or secret, a resource removed "
                "under it, an internal error): the run summary's errors say which.",
            ),
            self._alarm(
                "JanitorDeleted",
                self._janitor_metric(C.JANITOR_DELETED_METRIC),
                "The janitor deleted leaked Path Prover SageMaker resources: an execution did not clean up.",
            ),
            self._alarm(
                "JanitorErrors",
                self._janitor_metric(C.JANITOR_ERRORS_METRIC),
                "The janitor could not delete or judge some Path Prover resources: they may still be billing.",
            ),
            self._alarm(
                "JanitorFailed",
                janitor.metric_errors(period=Duration.hours(1), statistic="Sum"),
                "The janitor Lambda failed: leaked SageMaker resources may be billing.",
            ),
        ]

    @staticmethod
    def _janitor_metric(name: str) -> cloudwatch.Metric:
        """A metric the janitor handler emits with Powertools (EMF): namespace PathProver, dimension service."""
        return cloudwatch.Metric(
            namespace=C.METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": C.SERVICE_NAME},
            statistic="Sum",
            period=Duration.hours(1),
        )

    @staticmethod
    def _scope_metric(scope: str) -> cloudwatch.Metric:
        """Failed proves of one scope, counted by the Failure handler (Powertools EMF, dimensions service, scope)."""
        return cloudwatch.Metric(
            namespace=C.METRICS_NAMESPACE,
            metric_name=C.FAILURE_SCOPE_METRIC,
            dimensions_map={"service": C.SERVICE_NAME, "scope": scope},
            statistic="Sum",
            period=Duration.hours(1),
        )

    def _build_topic(self, key: kms.IKey, email: str | None) -> sns.Topic:
        topic = sns.Topic(
            self,
            "Topic",
            topic_name=names_of(self).scoped(C.ALARM_TOPIC),
            display_name="Path Prover alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # CloudWatch publishes an alarm's notification as the service: without this grant (only the TLS
        # deny CDK adds) every alarm would fire silently. Scoped to this account's alarms of this deployment.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=alarm_source_conditions(self),
            )
        )
        if email:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{names_of(self).alarm_prefix}-{construct_id}",
            alarm_description=description,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        return alarm
