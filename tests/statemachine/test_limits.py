"""The local interpreter fails an execution the way Step Functions does at its three hard limits.

256 KB of state data (States.DataLimitExceeded), 25,000 history events (States.Runtime) and the
definition's TimeoutSeconds (TIMED_OUT, on the virtual clock). None of them can be caught.
"""

import json
import time

import pytest

from pathprover.runtime.local import ASL_FILE, LaneClock, asl_path
from pathprover.runtime.moto_patches import (
    HISTORY_LIMIT_CAUSE,
    MAX_HISTORY_EVENTS,
    MAX_STATE_BYTES,
    Dispatch,
    ExecutionLimits,
    patched,
)
from pathprover.workflow.planning import EXECUTION_TIMEOUT_S

moto = pytest.importorskip("moto")

REGION = "us-east-1"
CATCH_ALL = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]


def _run(definition: dict, payload: dict, *, handlers=None, timeout_seconds=None, name="t1") -> tuple[dict, Dispatch]:
    import boto3

    clock = LaneClock()
    limits = ExecutionLimits(timeout_seconds=timeout_seconds, elapsed=clock.elapsed_of)
    dispatch = Dispatch(handlers or {}, clock.sleep_for, on_invoke=clock.activate, limits=limits)
    with (
        moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}),
        patched(dispatch),
    ):
        iam = boto3.client("iam", region_name=REGION)
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        arns = {}
        for fn in handlers or {}:
            arns[fn] = lam.create_function(
                FunctionName=fn,
                Runtime="python3.12",
                Role=role,
                Handler="x.y",
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            )["FunctionArn"]
        text = json.dumps(definition)
        for fn, arn in arns.items():
            text = text.replace("${" + fn + "}", arn)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(name="m", definition=text, roleArn=role)["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))["executionArn"]
        deadline = time.monotonic() + 120
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution did not end"
            time.sleep(0.02)
        return dict(described), dispatch


def test_the_shipped_definitions_timeout_is_the_one_the_plan_budgets_for():
    assert asl_path().name == ASL_FILE
    assert json.loads(asl_path().read_text())["TimeoutSeconds"] == EXECUTION_TIMEOUT_S


def test_a_state_over_256_kb_fails_the_execution_and_cannot_be_caught():
    # Given a task whose result is larger than Step Functions passes between states, behind a Catch-all
    definition = {
        "StartAt": "Big",
        "States": {
            "Big": {"Type": "Task", "Resource": "${big}", "Next": "After", "Catch": CATCH_ALL},
            "After": {"Type": "Pass", "End": True},
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    # When it runs
    described, dispatch = _run(definition, {}, handlers={"big": lambda event, ctx: {"blob": "x" * MAX_STATE_BYTES}})
    # Then the execution fails with States.DataLimitExceeded (the Catch does not apply)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.DataLimitExceeded"
    assert dispatch.limits.failures["t1"] == "States.DataLimitExceeded"


def test_a_state_output_over_256_kb_fails_the_execution_too():
    # Given a Pass state whose output is over the limit, behind nothing that could catch it
    definition = {
        "StartAt": "Grow",
        "States": {
            "Grow": {"Type": "Pass", "Result": {"blob": "y" * (MAX_STATE_BYTES + 10)}, "Next": "After"},
            "After": {"Type": "Pass", "End": True},
        },
    }
    described, dispatch = _run(definition, {})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.DataLimitExceeded"
    assert dispatch.limits.state_bytes["t1"] < MAX_STATE_BYTES  # the output never became a state


def test_a_state_just_under_256_kb_passes():
    definition = {
        "StartAt": "Big",
        "States": {
            "Big": {"Type": "Task", "Resource": "${big}", "Next": "After"},
            "After": {"Type": "Pass", "End": True},
        },
    }
    described, dispatch = _run(
        definition, {}, handlers={"big": lambda event, ctx: {"blob": "x" * (MAX_STATE_BYTES - 2_000)}}
    )
    assert described["status"] == "SUCCEEDED"
    assert MAX_STATE_BYTES - 2_000 < dispatch.limits.state_bytes["t1"] <= MAX_STATE_BYTES


def test_the_25000th_history_event_fails_the_execution():
    # Given a loop that never ends on its own (a Pass and a Choice: four events a turn)
    definition = {
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Pass", "Next": "Again"},
            "Again": {"Type": "Choice", "Choices": [{"Variable": "$.spin", "BooleanEquals": True, "Next": "Spin"}]},
        },
    }
    # When it runs
    described, dispatch = _run(definition, {"spin": True})
    # Then Step Functions' limit ends it: FAILED, States.Runtime, its last event at most the 25,000th
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert HISTORY_LIMIT_CAUSE in described["cause"]
    assert MAX_HISTORY_EVENTS - 10 <= dispatch.limits.history_events["t1"] <= MAX_HISTORY_EVENTS


def test_timeout_seconds_is_measured_on_the_virtual_clock():
    # Given a definition whose Wait outlasts its TimeoutSeconds (on the lane's virtual clock)
    definition = {
        "StartAt": "Long",
        "TimeoutSeconds": 3600,
        "States": {
            "Long": {"Type": "Wait", "Seconds": 7200, "Next": "After"},
            "After": {"Type": "Pass", "End": True},
        },
    }
    # When it runs (two simulated hours take no real time)
    started = time.monotonic()
    described, dispatch = _run(definition, {"execution_id": "t1", "lane": 0}, timeout_seconds=3600)
    # Then it ends TIMED_OUT, as on AWS, and quickly
    assert described["status"] == "TIMED_OUT"
    assert dispatch.limits.failures["t1"] == "States.Timeout"
    assert time.monotonic() - started < 60


def test_an_execution_within_its_timeout_succeeds():
    definition = {
        "StartAt": "Short",
        "States": {
            "Short": {"Type": "Wait", "Seconds": 1800, "Next": "After"},
            "After": {"Type": "Pass", "End": True},
        },
    }
    described, _ = _run(definition, {"execution_id": "t1", "lane": 0}, timeout_seconds=3600)
    assert described["status"] == "SUCCEEDED"


def test_a_map_whose_gathered_results_pass_256_kb_fails_the_execution():
    # Given a Map whose iterations are each small, but whose gathered result is not
    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "One",
                    "States": {"One": {"Type": "Pass", "Result": {"blob": "z" * 2_000}, "End": True}},
                },
                "Next": "After",
            },
            "After": {"Type": "Pass", "End": True},
        },
    }
    described, _ = _run(definition, {"items": list(range(150))})
    # Then it fails as on AWS: the data between two states may not exceed 256 KB
    assert described["status"] == "FAILED"
    assert described["error"] == "States.DataLimitExceeded"


def test_an_input_over_256_kb_never_reaches_a_state():
    # Given an execution input over the limit (AWS refuses it at StartExecution; moto takes it): the
    # runtime's own check on every state's input stops it before the first state runs
    definition = {"StartAt": "First", "States": {"First": {"Type": "Pass", "End": True}}}
    described, dispatch = _run(definition, {"blob": "q" * (MAX_STATE_BYTES + 1)})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.DataLimitExceeded"
    assert dispatch.limits.state_bytes["t1"] > MAX_STATE_BYTES


def test_the_local_runtime_enforces_the_definitions_own_timeout(tmp_path):
    from pathprover.runtime.local import LocalRuntime

    with LocalRuntime(tmp_path / "warehouse") as runtime:
        assert runtime.limits.timeout_seconds == json.loads(asl_path().read_text())["TimeoutSeconds"]
        assert runtime.limits.max_state_bytes == MAX_STATE_BYTES
        assert runtime.limits.max_history_events == MAX_HISTORY_EVENTS
