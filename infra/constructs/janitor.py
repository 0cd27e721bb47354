"""The janitor: every hour, delete Path Prover's SageMaker endpoints, endpoint configs and models (and stop
its in-progress training and transform jobs and CodeBuild builds) that outlived their execution or their
`pathprover:expiry` tag, so a crashed execution cannot leave GPUs (or builds) billing.

The logic is the package's (`pathprover.handlers.janitor.handler` -> `pathprover.workflow.janitor.sweep`
over `SageMakerFleet.inventory/delete` and `StepFunctionsExecutions`); this construct gives it exactly
the rights that job needs: list (SageMaker List APIs take no ARN), read tags of, delete or stop `pp-*`
resources, and read the status of this state machine's executions. It reports `JanitorDeleted` and
`JanitorErrors` (namespace PathProver) through Powertools metrics; alarms watch both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as C
from infra.config import names_of
from infra.constructs.prover_functions import python_function
from infra.iam import allow, allow_unscoped, sagemaker_arns, sagemaker_removal_statements


def fleet_cleanup_statements(scope: Construct) -> list[iam.PolicyStatement]:
    """List Path Prover's SageMaker resources by tag, delete its endpoints, configs and models, stop its
    jobs (`SageMakerFleet.inventory/delete`): the janitor's rights, and the stopped-execution clean-up's.
    Deletes and stops are limited to this stack's resources (:func:`own_stack_condition`)."""
    return [
        allow_unscoped(
            [
                "sagemaker:ListEndpointConfigs",
                "sagemaker:ListEndpoints",
                "sagemaker:ListModels",
                "sagemaker:ListTrainingJobs",
                "sagemaker:ListTransformJobs",
            ]
        ),
        allow(["sagemaker:ListTags"], sagemaker_arns(scope, *C.SAGEMAKER_RESOURCE_TYPES)),
        *sagemaker_removal_statements(scope),
    ]


class Janitor(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        environment: Mapping[str, str],
        state_machine: sfn.IStateMachine,
        projects: Sequence[codebuild.IProject],
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = self._build_function(code, layer, environment, state_machine, projects)
        self.rule = self._build_schedule()

    def _build_function(
        self,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        environment: Mapping[str, str],
        state_machine: sfn.IStateMachine,
        projects: Sequence[codebuild.IProject],
    ) -> lambda_.Function:
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{names_of(self).state_machine}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        return python_function(
            self,
            C.JANITOR,
            code=code,
            layers=[layer],
            environment={**environment, "PATHPROVER_STATE_MACHINE_ARN": state_machine.state_machine_arn},
            statements=[
                *fleet_cleanup_statements(self),
                # builds of ended executions are stopped too (judged by their PP_EXECUTION_ID)
                allow(
                    ["codebuild:BatchGetBuilds", "codebuild:ListBuildsForProject", "codebuild:StopBuild"],
                    [p.project_arn for p in projects],
                ),
                allow(["states:DescribeExecution"], [executions]),
                # A tag spelling that is not an execution name: match it against the RUNNING executions.
                allow(["states:ListExecutions"], [state_machine.state_machine_arn]),
            ],
        )

    def _build_schedule(self) -> events.Rule:
        return events.Rule(
            self,
            "Hourly",
            description="Path Prover janitor: delete leaked pp- SageMaker resources",
            schedule=events.Schedule.expression(C.JANITOR_SCHEDULE),
            targets=[targets.LambdaFunction(self.function, retry_attempts=2, max_event_age=Duration.hours(1))],
        )
