"""The CLI's Athena reader: the workgroup and result location from flags, settings or the stack's outputs;
reads with pyathena over moto's S3 (Athena's API stubbed); never a write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from pathprover.adapters.aws.clients import AwsClients
from pathprover.brain.history import COMPLETED_SQL, OUTCOMES_SQL
from tests.support.athena_moto import (
    COMPLETED_COLUMNS,
    OUTCOMES_COLUMNS,
    QUERY_RESULTS,
    REGION,
    RESULTS_BUCKET,
    Athena,
)
from tests.support.aws_stubs import NOW


def _settings(**values: Any) -> Any:
    from pathprover.settings import Settings

    return Settings(region=REGION, **values)


def _stack(clients: AwsClients, name: str, outputs: dict[str, str] | None) -> Stubber:
    """DescribeStacks of ``name`` answers these outputs (None: the stack does not exist)."""
    client = clients.get("cloudformation")
    stub = Stubber(client)
    if outputs is None:
        stub.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {name} does not exist",
            expected_params={"StackName": name},
        )
    else:
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": name,
                        "CreationTime": NOW,
                        "StackStatus": "UPDATE_COMPLETE",
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                    }
                ]
            },
            {"StackName": name},
        )
    stub.activate()
    return stub


@pytest.mark.slow
def test_the_reader_finds_workgroup_and_result_location_in_the_stacks_outputs(aws: str) -> None:
    from pathprover.adapters.aws.athena_reader import resolve_target

    clients = AwsClients(region=REGION)
    stub = _stack(clients, "MlccCiHarnessStack-blue", {"AthenaWorkgroup": "pathprover-blue", "ResultsBucket": "rb"})
    target = resolve_target(_settings(), stack_name="MlccCiHarnessStack-blue", clients=clients)
    stub.assert_no_pending_responses()
    assert (target.workgroup, target.output_location, target.stack) == (
        "pathprover-blue",
        "s3://rb/athena-results/",
        "MlccCiHarnessStack-blue",
    )


@pytest.mark.slow
def test_the_reader_takes_flags_and_settings_before_the_stack(aws: str) -> None:
    from pathprover.adapters.aws.athena_reader import AthenaReadError, resolve_target

    # A workgroup from the flags or the settings: no stack is asked
    target = resolve_target(_settings(athena_workgroup="wg-env"), clients=AwsClients(region=REGION))
    assert (target.workgroup, target.output_location, target.stack) == ("wg-env", None, None)
    target = resolve_target(_settings(), workgroup="wg", output_location="s3://mine/out/")
    assert (target.workgroup, target.output_location) == ("wg", "s3://mine/out/")
    with pytest.raises(AthenaReadError, match="s3:// URI"):
        resolve_target(_settings(), workgroup="wg", output_location="/tmp/out")
    # Nothing given: the default stack (PATHPROVER_STACK's, else MlccCiHarnessStack), which must exist
    clients = AwsClients(region=REGION)
    _stack(clients, "MlccCiHarnessStack", None)
    with pytest.raises(AthenaReadError, match="stack MlccCiHarnessStack does not exist in us-east-1"):
        resolve_target(_settings(), clients=clients)


@pytest.mark.slow
def test_run_sql_and_load_history_read_the_real_table(aws: str) -> None:
    from pathprover.adapters.aws.athena_reader import AthenaReader, AthenaTarget, load_history, run_sql

    target = AthenaTarget(workgroup="pathprover", output_location=QUERY_RESULTS, region=REGION)
    clients = AwsClients(region=REGION)
    athena = Athena(AthenaReader(target, clients).store)
    athena.answers([("model_family", "varchar"), ("n", "bigint")], [["qwen3", "3"]], sql="SELECT 1")
    result = run_sql(target, "SELECT 1", clients)
    assert (result.columns, result.rows) == (["model_family", "n"], [["qwen3", 3]])

    athena.answers(COMPLETED_COLUMNS, [["vllm", "qwen3", "g5", "none", "1", "realtime-inference", "1", None]])
    athena.answers(OUTCOMES_COLUMNS, [])
    history = load_history(target, clients)
    athena.done()
    assert list(history.configs) == [("transformers-vllm", "qwen3", "g5", "none", 1, "realtime-inference")]


@pytest.mark.slow
def test_the_reader_never_writes_and_says_why_a_query_failed(aws: str) -> None:
    from pathprover.adapters.aws.athena_reader import AthenaReader, AthenaReadError, AthenaTarget

    reader = AthenaReader(AthenaTarget(workgroup="pathprover", output_location=None, region=REGION))
    with pytest.raises(AthenaReadError, match="never writes"):
        reader.append([])
    athena = Athena(reader.store)
    athena.stub.add_client_error(
        "start_query_execution",
        service_error_code="InvalidRequestException",
        service_message="WorkGroup pathprover is not found.",
    )
    with pytest.raises(AthenaReadError, match="InvalidRequestException: WorkGroup pathprover is not found"):
        reader.query("SELECT 1")
    athena.done()


@pytest.mark.slow
def test_pathprover_gaps_athena_end_to_end(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the deployed stack's outputs and the two history queries' result files
    from typer.testing import CliRunner

    from pathprover.adapters.aws import athena_reader
    from pathprover.cli.app import app

    clients = AwsClients(region=REGION)
    _stack(clients, "MlccCiHarnessStack", {"AthenaWorkgroup": "pathprover", "ResultsBucket": RESULTS_BUCKET})
    monkeypatch.setattr(athena_reader, "AwsClients", lambda region=None: clients)  # the stubbed clients
    for name in ("PATHPROVER_ATHENA_WORKGROUP", "PATHPROVER_STACK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    target = athena_reader.AthenaTarget(workgroup="pathprover", output_location=QUERY_RESULTS, region=REGION)
    athena = Athena(athena_reader.AthenaReader(target, clients).store)
    proven = [
        ["vllm", "qwen3", "g5", "none", "1", "realtime-inference", "2", "2026-11-20 08:00:00.000"],
        ["sglang", "qwen3", "g6", "none", "1", "realtime-inference", "1", "2026-11-21 08:00:00.000"],
    ]
    athena.answers(COMPLETED_COLUMNS, proven, sql=COMPLETED_SQL)
    athena.answers(OUTCOMES_COLUMNS, [], sql=OUTCOMES_SQL)

    # When `pathprover gaps --athena` runs with nothing but the stack to go on
    result = CliRunner().invoke(app, ["gaps", "--athena", "--limit", "3", "--json"])

    # Then it read the stack's workgroup and the history from the result files, and ranked the gaps
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["completed"] == 2
    gaps = {(g["deployment_config"], g["instance_family"]) for g in payload["gaps"]}
    assert gaps == {("transformers-sglang", "g5"), ("transformers-vllm", "g6")}  # the two unproven crossings
    athena.done()
