"""The deployed workflow is the ASL file (one copy), its placeholders filled with the right functions."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

import infra.constants as C

from tests.infra.conftest import Synth

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


def resolve_text(value: Any, symbols: dict[str, str]) -> str:
    """A DefinitionString (a string, or an Fn::Join of strings and references) as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(resolve_text(p, symbols) for p in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return symbols.setdefault(json.dumps(value), f"<{'.'.join(value['Fn::GetAtt'])}>")
    if isinstance(value, dict) and "Ref" in value:
        return symbols.setdefault(json.dumps(value), f"<{value['Ref']}>")
    raise AssertionError(f"unexpected value in the definition: {value!r}")


def substitute(text: str, substitutions: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        assert match.group(1) in substitutions, f"no substitution for ${{{match.group(1)}}}"
        return substitutions[match.group(1)]

    return PLACEHOLDER.sub(replace, text)


@pytest.fixture(scope="module")
def machine(full: Synth) -> dict[str, Any]:
    return full.one("AWS::StepFunctions::StateMachine")[1]["Properties"]


def _function_of(full: Synth, reference: dict[str, Any]) -> dict[str, Any]:
    logical, attribute = reference["Fn::GetAtt"]
    assert attribute == "Arn"
    return full.json["Resources"][logical]["Properties"]


def test_definition_equals_the_asl_file_after_substitution(full: Synth, machine: dict[str, Any]) -> None:
    symbols: dict[str, str] = {}
    substitutions = {
        k: f"arn-of:{_function_of(full, v)['Handler']}" for k, v in machine["DefinitionSubstitutions"].items()
    }
    deployed = json.loads(substitute(resolve_text(machine["DefinitionString"], symbols), substitutions))
    on_disk = json.loads(substitute(C.ASL_FILE.read_text(), substitutions))
    assert deployed == on_disk
    assert "DefinitionS3Location" not in machine  # one copy: the file's text, not a second uploaded object


def test_every_placeholder_is_filled_by_the_function_with_the_matching_handler(
    full: Synth, machine: dict[str, Any]
) -> None:
    placeholders = set(PLACEHOLDER.findall(C.ASL_FILE.read_text()))
    assert placeholders == set(machine["DefinitionSubstitutions"])
    by_key = {C.substitution(spec): spec for spec in C.FUNCTIONS}
    assert placeholders == set(by_key)
    for key, reference in machine["DefinitionSubstitutions"].items():
        function = _function_of(full, reference)
        assert (function["FunctionName"], function["Handler"]) == (by_key[key].name, by_key[key].handler)


def test_execution_timeout_logging_and_tracing(full: Synth, machine: dict[str, Any]) -> None:
    definition = json.loads(resolve_text(machine["DefinitionString"], {}))
    assert definition["TimeoutSeconds"] == json.loads(C.ASL_FILE.read_text())["TimeoutSeconds"] > 0
    assert machine["StateMachineName"] == C.STATE_MACHINE_NAME == "mlcc-path-prover"
    assert machine["TracingConfiguration"] == {"Enabled": True}
    logging = machine["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is False
    group = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    props = full.json["Resources"][group]["Properties"]
    assert props["LogGroupName"] == C.STATE_MACHINE_LOG_GROUP
    assert props["RetentionInDays"] == C.LOG_RETENTION_DAYS


def test_the_state_machine_may_invoke_exactly_its_eight_functions(full: Synth, machine: dict[str, Any]) -> None:
    role = full.json["Resources"][machine["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    invoke = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert len(invoke) == 1
    assert sorted(json.dumps(r) for r in invoke[0]["Resource"]) == sorted(
        json.dumps(v) for v in machine["DefinitionSubstitutions"].values()
    )
