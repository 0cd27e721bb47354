"""The scheduled run exists, enabled, only with -c PathProverSchedule; it starts the workflow with a valid input."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C
from infra.config import ConfigError, HarnessConfig

from pathprover.workflow.planning import parse_input
from tests.infra.conftest import Synth


def _targets_state_machine(synth: Synth) -> list[str]:
    """Every schedule or rule whose target is a state machine."""
    machines = {json.dumps({"Ref": k}) for k in synth.resources("AWS::StepFunctions::StateMachine")}
    found = []
    for name, schedule in synth.resources("AWS::Scheduler::Schedule").items():
        if json.dumps(schedule["Properties"]["Target"]["Arn"]) in machines:
            found.append(name)
    for name, rule in synth.resources("AWS::Events::Rule").items():
        if any(json.dumps(t["Arn"]) in machines for t in rule["Properties"].get("Targets", [])):
            found.append(name)
    return found


def test_the_guides_command_creates_an_enabled_daily_schedule(full: Synth) -> None:
    name, schedule = full.one("AWS::Scheduler::Schedule")
    props = schedule["Properties"]
    machine, _ = full.one("AWS::StepFunctions::StateMachine")
    assert props["State"] == "ENABLED"
    assert props["ScheduleExpression"] == "rate(1 day)"
    assert props["Target"]["Arn"] == {"Ref": machine}
    assert _targets_state_machine(full) == [name]


def test_the_scheduled_input_is_the_guides_defaults_and_valid_for_the_workflow(full: Synth) -> None:
    _, schedule = full.one("AWS::Scheduler::Schedule")
    payload = json.loads(schedule["Properties"]["Target"]["Input"])
    assert payload == {"MAX_PROVES_PER_RUN": 10, "MAX_COST_PER_RUN": 50}
    parsed = parse_input(payload)  # what the Plan state does first
    assert (parsed.MAX_PROVES_PER_RUN, parsed.MAX_COST_PER_RUN) == (10, 50.0)


def test_max_proves_and_max_cost_context_set_the_input(custom_schedule: Synth) -> None:
    _, schedule = custom_schedule.one("AWS::Scheduler::Schedule")
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "cron(0 6 ? * MON-FRI *)"
    assert json.loads(props["Target"]["Input"]) == {"MAX_PROVES_PER_RUN": 3, "MAX_COST_PER_RUN": 12.5}


def test_the_schedule_role_may_only_start_this_state_machine(full: Synth) -> None:
    _, schedule = full.one("AWS::Scheduler::Schedule")
    role_id = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    role = full.json["Resources"][role_id]["Properties"]
    machine, _ = full.one("AWS::StepFunctions::StateMachine")
    assert [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]] == [
        {"Service": "scheduler.amazonaws.com"}
    ]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert statements == [{"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": machine}}]
    assert "ManagedPolicyArns" not in role
    attached = [
        p for p in full.resources("AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"].get("Roles", [])
    ]
    assert attached == []


def test_without_the_schedule_flag_nothing_starts_the_state_machine(unscheduled: Synth, harness_only: Synth) -> None:
    assert unscheduled.resources("AWS::Scheduler::Schedule") == {}
    assert _targets_state_machine(unscheduled) == []
    assert harness_only.resources("AWS::Scheduler::Schedule") == {}
    assert harness_only.resources("AWS::Events::Rule") == {}


@pytest.mark.parametrize(
    "context",
    [
        {C.CTX_CREATE_PATH_PROVER: "true", C.CTX_SCHEDULE: "every day"},
        {C.CTX_CREATE_PATH_PROVER: "true", C.CTX_SCHEDULE: "rate(0 days)"},
        {C.CTX_CREATE_PATH_PROVER: "true", C.CTX_SCHEDULE: "cron(0 6 * *)"},
        {C.CTX_SCHEDULE: "rate(1 day)"},  # nothing to schedule
        {C.CTX_CREATE_PATH_PROVER: "maybe"},
        {C.CTX_CREATE_PATH_PROVER: "true", C.CTX_SCHEDULE: "rate(1 day)", C.CTX_MAX_PROVES: "-1"},
        {C.CTX_CREATE_PATH_PROVER: "true", C.CTX_SCHEDULE: "rate(1 day)", C.CTX_MAX_COST: "lots"},
    ],
)
def test_invalid_context_fails_synthesis_with_the_key_named(context: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"-c "):
        HarnessConfig.from_mapping(context)


@pytest.mark.parametrize("expression", ["rate(1 day)", "rate(12 hours)", "rate(30 minutes)", "cron(0 6 * * ? *)"])
def test_valid_expressions_are_accepted(expression: str) -> None:
    config = HarnessConfig.from_mapping({C.CTX_CREATE_PATH_PROVER: True, C.CTX_SCHEDULE: expression})
    assert config.schedule == expression
    assert config.schedule_input == {"MAX_PROVES_PER_RUN": 10, "MAX_COST_PER_RUN": 50}


def test_flags_are_off_by_default() -> None:
    config = HarnessConfig.from_mapping({})
    assert not config.create_path_prover and config.schedule is None


def test_bundling_is_strict_unless_an_offline_synth_asks_for_pip() -> None:
    # Given no bundling key, then pip, then a typo
    assert HarnessConfig.from_mapping({}).strict_bundling is True
    assert HarnessConfig.from_mapping({"PathProverBundling": "pip"}).strict_bundling is False
    with pytest.raises(ConfigError, match="PathProverBundling"):
        HarnessConfig.from_mapping({"PathProverBundling": "loose"})
