"""Clean-up the moment an execution ends, however it ends: an EventBridge rule on this state machine's
"Step Functions Execution Status Change" events with status FAILED, TIMED_OUT or ABORTED invokes
`pathprover.handlers.stopped.handler`, which deletes the execution's SageMaker resources, stops its
builds, records each prove in flight once (scope `harness`), settles its reservations and frees its
leases. Without it a stopped execution's GPUs bill until the hourly janitor, and its leases block those
configs for hours.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as C
from infra.constructs.janitor import fleet_cleanup_statements
from infra.constructs.prover_functions import ProverFunctions, python_function


class StoppedCleanup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        environment: Mapping[str, str],
        functions: ProverFunctions,
        state_machine: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = self._build_function(code, layer, environment, functions)
        self.rule = self._build_rule(state_machine)

    def _build_function(
        self,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        environment: Mapping[str, str],
        functions: ProverFunctions,
    ) -> lambda_.Function:
        return python_function(
            self,
            C.STOPPED_CLEANUP,
            code=code,
            layers=[layer],
            environment=environment,
            statements=[*fleet_cleanup_statements(self), *functions.stopped_cleanup_statements()],
        )

    def _build_rule(self, state_machine: sfn.IStateMachine) -> events.Rule:
        return events.Rule(
            self,
            "ExecutionEnded",
            description="Path Prover: release what an execution that ended FAILED, TIMED_OUT or ABORTED holds",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [state_machine.state_machine_arn], "status": list(C.STOPPED_STATUSES)},
            ),
            # Every step is idempotent; an incomplete clean-up raises and is delivered again.
            targets=[targets.LambdaFunction(self.function, retry_attempts=4, max_event_age=Duration.hours(2))],
        )
