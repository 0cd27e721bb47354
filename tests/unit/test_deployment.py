"""pathprover/deployment.py: the names the stack and the Lambdas share point at real code and at the ASL file."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from pathprover.deployment import ENDED_STATUSES, FUNCTIONS, JANITOR, STOPPED_CLEANUP, FunctionSpec

ASL = Path(__file__).resolve().parents[2] / "statemachines" / "path-prover.asl.json"


@pytest.mark.parametrize("spec", [*FUNCTIONS, JANITOR, STOPPED_CLEANUP], ids=lambda s: s.key)
def test_every_function_handler_is_a_callable_of_the_package(spec: FunctionSpec) -> None:
    # Given the handler path Lambda is configured with, When it is resolved as Lambda does
    module, _, attribute = spec.handler.rpartition(".")
    handler = getattr(importlib.import_module(module), attribute)
    # Then it is a function, and the sizes are ones Lambda accepts
    assert callable(handler)
    assert 128 <= spec.memory_mb <= 10240 and 1 <= spec.timeout_s <= 900


def test_the_state_machines_functions_are_exactly_the_asl_placeholders() -> None:
    # Given every ${<Key>FunctionArn} of the ASL file
    placeholders = set(re.findall(r"\$\{(\w+FunctionArn)\}", ASL.read_text(encoding="utf-8")))
    # Then FUNCTIONS fills each and has none the file does not use
    assert {f.substitution for f in FUNCTIONS} == placeholders


def test_substitution_names_the_key_and_names_are_unique() -> None:
    assert FunctionSpec("Brain", "n", "m.h", 128, 1).substitution == "BrainFunctionArn"
    specs = [*FUNCTIONS, JANITOR, STOPPED_CLEANUP]
    assert len({s.key for s in specs}) == len({s.name for s in specs}) == len(specs)


def test_the_ended_statuses_are_those_of_a_stopped_execution() -> None:
    assert ENDED_STATUSES == ("FAILED", "TIMED_OUT", "ABORTED")
