"""stages/state.py: a prove's state redacts what it carries, counts its transitions and events, and keys its budget."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pathprover.stages.state import (
    CHOICE_AFTER,
    EVENTS_PER_STATE,
    EVENTS_PER_TASK,
    Failure,
    ProveState,
    StageRecord,
    prove_events,
)
from tests.unit.conftest import NewProve

HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123"
AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_failure_text_evidence_notes_and_stage_notes_are_redacted_in_and_out(new_prove: NewProve):
    # Given a failure, a stage note and a prove note that carry a Hugging Face token
    failure = Failure(stage="deploy", text=f"401 with token {HF_TOKEN}", evidence=f"token {HF_TOKEN} refused")
    record = StageRecord(stage="deploy", started_at=AT, note=f"used {HF_TOKEN}")
    state = new_prove().model_copy(update={"failure": failure, "history": [record]})
    state.notes = [f"note {HF_TOKEN}"]
    # When the state is validated again from its JSON (as the next Lambda reads it)
    dumped = state.model_dump_json()
    again = ProveState.model_validate_json(dumped)
    # Then the token appears nowhere
    assert HF_TOKEN not in dumped
    assert again.failure is not None and HF_TOKEN not in again.failure.text + (again.failure.evidence or "")
    assert HF_TOKEN not in (again.history[0].note or "") and HF_TOKEN not in again.notes[0]


@pytest.mark.parametrize(
    ("category", "evidence", "reason"),
    [
        ("oom", "CUDA out of memory", "CUDA out of memory"),
        ("unknown", "some line", "the whole text"),
        ("oom", None, "the whole text"),
    ],
)
def test_a_failures_reason_is_the_deciding_line_of_a_known_category_else_the_text(category, evidence, reason):
    failure = Failure(stage="test", text="the whole text", category=category, evidence=evidence)
    assert failure.reason == reason


def test_a_state_refuses_unknown_fields(new_prove: NewProve):
    data = new_prove().model_dump(mode="json")
    with pytest.raises(ValidationError):
        ProveState.model_validate({**data, "stauts": "next"})


def test_transitions_and_events_follow_the_steps_taken(new_prove: NewProve):
    # Given a prove that began, advanced twice and was checked three times (six Lambda invocations)
    state = new_prove()
    state.steps = {"begin": 1, "advance": 2, "check": 3}
    state.lambda_invocations = 6
    # Then its transitions are HasProve, each task, a Choice after each, and a Wait before each check
    choices = sum(state.steps.get(s, 0) for s in CHOICE_AFTER)
    assert state.transitions == 1 + 6 + choices + 3
    assert state.events_used == prove_events(6, state.transitions)
    assert prove_events(6, state.transitions) == EVENTS_PER_TASK * 6 + EVENTS_PER_STATE * (state.transitions - 6)


def test_a_substitute_reserves_under_its_own_budget_key(new_prove: NewProve):
    state = new_prove()
    assert state.budget_key == state.config_id == state.run.config_id
    substitute = state.model_copy(update={"substitute_of": "ml.g5.xlarge"})
    assert substitute.budget_key == f"{state.config_id}@{state.run.instance_type}"


def test_polls_and_detection_latency_add_up_over_the_stages(new_prove: NewProve):
    state = new_prove()
    state.history = [
        StageRecord(stage="build", started_at=AT, polls=3, detection_latency_s=1.25),
        StageRecord(stage="deploy", started_at=AT, polls=2, detection_latency_s=None),
        StageRecord(stage="test", started_at=AT, polls=1, detection_latency_s=0.5004),
    ]
    assert state.polls == 6 and state.detection_latency_s == 1.75
