"""The scheduled run: an enabled EventBridge Scheduler schedule that starts the state machine.

Created only with `-c PathProverSchedule=...`; its role may do one thing: states:StartExecution on
this state machine. The input is the guide's budget parameters (validated by the workflow's own
input model when the app is synthesized).
"""

from __future__ import annotations

import json

from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as C
from infra.config import names_of
from infra.iam import allow, least_privilege_role, service_principal


class ProverSchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        expression: str,
        execution_input: dict[str, int | float],
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = self._build_role(state_machine)
        self.schedule = self._build_schedule(state_machine, expression, execution_input)

    def _build_role(self, state_machine: sfn.IStateMachine) -> iam.Role:
        role, _ = least_privilege_role(
            self,
            "Role",
            assumed_by=service_principal("scheduler.amazonaws.com", self),
            description="Path Prover schedule: start executions of mlcc-path-prover, nothing else",
            statements=[allow(["states:StartExecution"], [state_machine.state_machine_arn])],
        )
        return role

    def _build_schedule(
        self, state_machine: sfn.IStateMachine, expression: str, execution_input: dict[str, int | float]
    ) -> scheduler.CfnSchedule:
        return scheduler.CfnSchedule(
            self,
            "Schedule",
            name=names_of(self).scoped(C.SCHEDULE_NAME),
            description=f"Path Prover: start {names_of(self).state_machine} {expression}",
            schedule_expression=expression,
            schedule_expression_timezone="UTC",
            state="ENABLED",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=state_machine.state_machine_arn,
                role_arn=self.role.role_arn,
                input=json.dumps(execution_input, sort_keys=True),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=2, maximum_event_age_in_seconds=3600
                ),
            ),
        )
