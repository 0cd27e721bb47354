"""The ASL definition itself: targets exist, every Task is caught and retried only on transient errors,
no `.sync`, no JSONata or Assign, Choices read only always-present fields, and every loop is bounded."""

import json
from pathlib import Path

import pytest

from pathprover.stages import lifecycle

ASL = Path(__file__).resolve().parents[2] / "statemachines" / "path-prover.asl.json"
DEFINITION = json.loads(ASL.read_text())
TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
}
ALWAYS_PRESENT = {"$.has_prove", "$.status", "$.plan.dry_run", "$.has_errors"}


def scopes(definition=DEFINITION, path="top"):
    yield path, definition["States"], definition["StartAt"]
    for name, state in definition["States"].items():
        if state["Type"] == "Map":
            yield from scopes(state["ItemProcessor"], f"{path}/{name}")


def targets(state):
    found = [state.get("Next"), state.get("Default")]
    found += [c["Next"] for c in state.get("Choices", [])]
    found += [c["Next"] for c in state.get("Catch", [])]
    return [t for t in found if t]


@pytest.mark.parametrize(("scope", "states", "start"), list(scopes()))
def test_every_target_exists_and_every_state_is_reachable(scope, states, start):
    assert start in states
    for name, state in states.items():
        for target in targets(state):
            assert target in states, f"{scope}/{name} -> {target} does not exist"
    reachable, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in reachable:
            reachable.add(name)
            todo += targets(states[name])
    assert reachable == set(states), f"unreachable in {scope}: {set(states) - reachable}"


def all_states():
    for scope, states, _ in scopes():
        for name, state in states.items():
            yield f"{scope}/{name}", state


def test_every_task_has_a_catch_and_retries_only_transient_errors():
    for name, state in all_states():
        if state["Type"] != "Task":
            continue
        assert state.get("Catch"), f"{name} has no Catch"
        for retry in state.get("Retry", []):
            if name.endswith("/Clean") and retry["ErrorEquals"] == ["States.ALL"]:
                # Clean alone retries any error: its deletions are idempotent and a leak bills by the hour
                assert retry is state["Retry"][-1] and retry["MaxAttempts"] <= 3
                continue
            assert set(retry["ErrorEquals"]) <= TRANSIENT, f"{name} retries business errors"
            assert retry["MaxAttempts"] <= 5 and retry.get("JitterStrategy") == "FULL"


def test_no_sync_integrations_jsonata_or_variables():
    text = ASL.read_text()
    assert ".sync" not in text and ":waitForTaskToken" not in text
    assert "JSONata" not in text and '"Assign"' not in text and "QueryLanguage" not in text


def test_choices_only_read_fields_that_are_always_present():
    for name, state in all_states():
        for choice in state.get("Choices", []):
            assert choice["Variable"] in ALWAYS_PRESENT, f"{name} reads {choice['Variable']}"
        if state["Type"] == "Choice":
            assert "Default" in state, f"{name} has no Default"


def test_the_failure_path_reaches_clean_and_settle():
    lane = dict(next(s for s in scopes() if s[0].endswith("ProveLanes"))[1])
    assert lane["HandleFailure"]["Next"] == "Clean"
    assert lane["HandleFailure"]["Catch"][0]["Next"] == "Clean"
    assert lane["Clean"]["Next"] == "Settle" and lane["Clean"]["Catch"][0]["Next"] == "Settle"
    for name in ("Advance", "Check"):
        assert lane[name]["Catch"][0]["Next"] == "HandleFailure"
    assert not any(s["Type"] == "Succeed" for n, s in lane.items() if n != "LaneDone")


def _cycles(states):
    """Strongly connected components with more than one state (or a self-loop): the loops."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in targets(states[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1 or v in targets(states[v]):
                out.append(comp)

    for v in states:
        if v not in index:
            visit(v)
    return out


BOUNDED_BY = {
    # state -> the bound its Lambda enforces on every pass through the loop
    "Check": "deadline, MAX_POLLS_PER_STAGE and the reserved budget (lifecycle.check)",
    "Advance": "the finite stage plan (lifecycle.advance moves index forward every call)",
    "Settle": "the finite lane queue (settle pops one prove per pass)",
    "DropProve": "the finite lane queue (drop pops one prove per pass)",
}


def test_every_loop_passes_through_a_bounded_task():
    for scope, states, _ in scopes():
        for loop in _cycles(states):
            bounded = loop & set(BOUNDED_BY)
            assert bounded, f"loop {sorted(loop)} in {scope} has no bounded task"
    assert lifecycle.MAX_POLLS_PER_STAGE <= 100
    assert lifecycle.DEADLINE_FACTOR <= 3


def test_definition_substitutions_are_the_function_arns():
    text = ASL.read_text()
    import re

    names = set(re.findall(r"\$\{(\w+)\}", text))
    assert names == {
        "BrainFunctionArn",
        "BeginFunctionArn",
        "AdvanceFunctionArn",
        "DropFunctionArn",
        "CheckFunctionArn",
        "FailureFunctionArn",
        "CleanFunctionArn",
        "SettleFunctionArn",
        "SummaryFunctionArn",
    }
