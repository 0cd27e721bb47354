"""LocalExecutions: an execution's status from a mapping, a callable, or (moto's) Step Functions."""

from __future__ import annotations

import json

import pytest

from pathprover.adapters.local.executions import LocalExecutions


def test_local_lookup_over_a_mapping_or_a_callable() -> None:
    assert LocalExecutions({"run-1": "RUNNING"}).status("run-1") == "RUNNING"
    assert LocalExecutions({"run-1": "RUNNING"}).status("run-2") is None
    assert LocalExecutions(lambda name: name.upper()).status("aborted") == "ABORTED"
    with pytest.raises(TypeError):
        LocalExecutions(42)


def test_local_lookup_over_moto_step_functions() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
        machine = sfn.create_state_machine(
            name="mlcc-path-prover",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/pp-states",
        )["stateMachineArn"]
        sfn.start_execution(stateMachineArn=machine, name="run-live")
        stopped = sfn.start_execution(stateMachineArn=machine, name="run-stopped")["executionArn"]
        sfn.stop_execution(executionArn=stopped)
        with pytest.raises(ValueError, match="state_machine_arn"):
            LocalExecutions(sfn)
        lookup = LocalExecutions(sfn, state_machine_arn=machine)

        assert lookup.status("run-live") == "RUNNING"
        assert lookup.status("run-stopped") == "ABORTED"
        assert lookup.status("run-never") is None
