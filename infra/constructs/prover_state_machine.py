"""The workflow: `statemachines/path-prover.asl.json`, the one definition, deployed with DefinitionSubstitutions.

The file is embedded as the DefinitionString unchanged; CloudFormation fills `${BrainFunctionArn}`
and the other placeholders from DefinitionSubstitutions. The execution timeout is the file's own
top-level `TimeoutSeconds` (a `timeout` prop cannot apply to a definition given as a string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as C
from infra.config import names_of
from infra.iam import allow, allow_unscoped, least_privilege_role, service_principal, xray_statement

PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)


def load_definition() -> str:
    """The ASL file's text, checked: JSON, a top-level TimeoutSeconds, only known placeholders."""
    text = C.ASL_FILE.read_text(encoding="utf-8")
    definition = json.loads(text)
    if not isinstance(definition.get("TimeoutSeconds"), int) or definition["TimeoutSeconds"] <= 0:
        raise ValueError(f"{C.ASL_FILE.name} needs a top-level TimeoutSeconds (the execution timeout)")
    expected = {C.substitution(spec) for spec in C.FUNCTIONS}
    found = set(PLACEHOLDER.findall(text))
    if found != expected:
        raise ValueError(
            f"{C.ASL_FILE.name} placeholders {sorted(found)} do not match the functions {sorted(expected)}"
        )
    return text


class ProverStateMachine(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, functions: Mapping[str, lambda_.IFunction]) -> None:
        super().__init__(scope, construct_id)
        self._functions = functions
        self.log_group = self._build_log_group()
        self.role = self._build_role()
        self.state_machine = self._build_state_machine()

    def _build_log_group(self) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            "Logs",
            log_group_name=names_of(self).state_machine_log_group,
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _build_role(self) -> iam.Role:
        role, _ = least_privilege_role(
            self,
            "Role",
            assumed_by=service_principal("states.amazonaws.com", self),
            description="Path Prover state machine: invoke its eight functions, log, trace",
            statements=[
                # The ASL names unqualified function ARNs: exactly those, no `:*` versions or aliases.
                allow(["lambda:InvokeFunction"], [fn.function_arn for fn in self._functions.values()]),
                allow_unscoped(LOG_DELIVERY_ACTIONS),
                xray_statement(),
            ],
        )
        return role

    def _build_state_machine(self) -> sfn.StateMachine:
        return sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=names_of(self).state_machine,
            definition_body=sfn.DefinitionBody.from_string(load_definition()),
            definition_substitutions={
                C.substitution(spec): self._functions[spec.key].function_arn for spec in C.FUNCTIONS
            },
            role=self.role.without_policy_updates(),
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
