"""StepFunctionsExecutions: the janitor's and the stopped handler's lookup of an execution's status,
against a real boto3 client answered by botocore's Stubber."""

from __future__ import annotations

from typing import Any

import pytest

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.executions import StepFunctionsExecutions, execution_arn
from pathprover.stages.naming import TAG_EXECUTION, standard_tags
from tests.support.aws_stubs import NOW, Env

STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:mlcc-path-prover"


def describe(name: str, status: str) -> dict[str, Any]:
    return {
        "executionArn": execution_arn(STATE_MACHINE, name),
        "stateMachineArn": STATE_MACHINE,
        "name": name,
        "status": status,
        "startDate": NOW,
    }


def test_execution_arn_is_built_from_the_state_machine() -> None:
    assert execution_arn(STATE_MACHINE, "run-7") == (
        "arn:aws:states:us-east-1:123456789012:execution:mlcc-path-prover:run-7"
    )
    gov = "arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:pp"
    assert execution_arn(gov, "r") == "arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:pp:r"
    full = "arn:aws:states:us-east-1:123456789012:execution:other:run-9"
    assert execution_arn(STATE_MACHINE, full) == full
    with pytest.raises(ValueError, match="state machine ARN"):
        execution_arn("arn:aws:lambda:us-east-1:123456789012:function:x", "r")
    with pytest.raises(ValueError):
        StepFunctionsExecutions(AwsClients(), "mlcc-path-prover")


def test_step_functions_lookup_statuses_and_missing(env: Env) -> None:
    sfn = env.stub("stepfunctions")
    sfn.add_response(
        "describe_execution", describe("run-1", "RUNNING"), {"executionArn": execution_arn(STATE_MACHINE, "run-1")}
    )
    sfn.add_client_error("describe_execution", "ThrottlingException", "Rate exceeded")
    sfn.add_response("describe_execution", describe("run-2", "TIMED_OUT"))
    sfn.add_client_error("describe_execution", "ExecutionDoesNotExist", "Execution Does Not Exist: 'run-3'")
    sfn.add_client_error("describe_execution", "AccessDeniedException", "not authorized")
    lookup = StepFunctionsExecutions(env.clients, STATE_MACHINE, sleep=env.sleep)

    assert lookup.status("run-1") == "RUNNING"
    assert lookup.status("run-2") == "TIMED_OUT"
    assert lookup.status("run-3") is None  # no "_": no listing
    with pytest.raises(Exception, match="AccessDenied"):
        lookup.status("run-4")
    assert len(env.sleeps) == 1


def test_a_sanitised_tag_is_matched_against_running_executions(env: Env) -> None:
    real_name = "nightly(retry)!"
    tag = standard_tags(real_name, "c", NOW)[TAG_EXECUTION]
    assert tag == "nightly_retry__"
    sfn = env.stub("stepfunctions")
    listed = {"stateMachineArn": STATE_MACHINE, "statusFilter": "RUNNING", "maxResults": 1000}
    sfn.add_client_error("describe_execution", "ExecutionDoesNotExist", "does not exist")
    sfn.add_response(
        "list_executions",
        {
            "executions": [
                {k: v for k, v in describe("other", "RUNNING").items()},
            ],
            "nextToken": "n2",
        },
        listed,
    )
    sfn.add_response("list_executions", {"executions": [describe(real_name, "RUNNING")]}, {**listed, "nextToken": "n2"})
    sfn.add_client_error("describe_execution", "ExecutionDoesNotExist", "does not exist")  # cached listing
    clock = [0.0]
    lookup = StepFunctionsExecutions(env.clients, STATE_MACHINE, sleep=env.sleep, monotonic=lambda: clock[0])

    assert lookup.status(tag) == "RUNNING"
    assert lookup.status("gone_for_good") is None
    # a minute later the listing is read again
    clock[0] = 120.0
    sfn.add_client_error("describe_execution", "ExecutionDoesNotExist", "does not exist")
    sfn.add_response("list_executions", {"executions": []}, listed)
    assert lookup.status(tag) is None
