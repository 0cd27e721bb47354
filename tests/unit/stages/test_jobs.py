"""stages/jobs.py: the poll interval and the job state's invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pathprover.stages.jobs import MAX_WAIT_SECONDS, MIN_WAIT_SECONDS, JobState, suggest_wait

seconds = st.floats(min_value=0, max_value=10 * 24 * 3600, allow_nan=False)


# --------------------------------------------------------------------------- suggest_wait


@given(seconds, seconds, st.booleans())
def test_suggest_wait_is_bounded(elapsed: float, expected: float, billing: bool) -> None:
    assert MIN_WAIT_SECONDS <= suggest_wait(elapsed, expected, billing) <= MAX_WAIT_SECONDS


@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True), st.booleans())
def test_suggest_wait_survives_any_float(elapsed: float, expected: float, billing: bool) -> None:
    assert MIN_WAIT_SECONDS <= suggest_wait(elapsed, expected, billing) <= MAX_WAIT_SECONDS


@given(seconds, seconds)
def test_billing_never_waits_longer(elapsed: float, expected: float) -> None:
    assert suggest_wait(elapsed, expected, True) <= suggest_wait(elapsed, expected, False)


@given(st.floats(min_value=1, max_value=86400), st.data(), st.booleans())
def test_wait_shrinks_as_the_expected_end_approaches(expected: float, data: st.DataObject, billing: bool) -> None:
    a = data.draw(st.floats(min_value=0, max_value=expected))
    b = data.draw(st.floats(min_value=a, max_value=expected))
    if b < expected:
        assert suggest_wait(b, expected, billing) <= suggest_wait(a, expected, billing)


def test_suggest_wait_examples() -> None:
    # early in a two-hour tune job: poll rarely
    assert suggest_wait(0, 7200, billing=True) == 600
    assert suggest_wait(0, 7200, billing=False) == 600
    # a 12-minute build: wait out the expected time in two polls
    assert suggest_wait(0, 720, billing=False) == 600
    assert suggest_wait(600, 720, billing=False) == 120
    # a billing endpoint: 90 % of the time left, then straight to the expected end
    assert suggest_wait(0, 600, billing=True) == 540
    assert suggest_wait(540, 600, billing=True) == 60
    assert suggest_wait(880, 900, billing=True) == 20
    # overdue: a tenth of the time taken so far (plus 15 s / 30 s), capped
    assert suggest_wait(901, 900, billing=True) == 106
    assert suggest_wait(100_000, 900, billing=True) == 120
    assert suggest_wait(100_000, 900, billing=False) == 300
    # a deploy half again as long as expected is seen within a few polls
    elapsed, polls = 600.0, 0
    while elapsed < 900:
        elapsed += suggest_wait(elapsed, 600, billing=True)
        polls += 1
    assert polls <= 4 and elapsed - 900 <= 120
    # unknown expectation
    assert suggest_wait(50, 0, billing=True) == 30
    assert suggest_wait(-5, float("nan"), billing=False) == 60


@given(st.floats(min_value=60, max_value=4 * 3600), st.booleans())
def test_polls_to_reach_the_expected_end_are_few(expected: float, billing: bool) -> None:
    # Given a job that ends exactly when expected / When polled with the suggested waits
    elapsed, polls = 0.0, 0
    while elapsed < expected:
        elapsed += suggest_wait(elapsed, expected, billing)
        polls += 1
    # Then it is seen within a handful of polls and soon after it ended
    assert polls <= expected / 600 + 8
    assert elapsed - expected <= 600


# --------------------------------------------------------------------------- job states


def test_job_state_invariants() -> None:
    assert JobState.running(3).wait_seconds == MIN_WAIT_SECONDS
    assert JobState.running(9999).wait_seconds == MAX_WAIT_SECONDS
    assert JobState.succeeded().done
    with pytest.raises(ValidationError):
        JobState(done=True, status="failed", wait_seconds=0)  # a failure needs its text
    with pytest.raises(ValidationError):
        JobState(done=True, status="running", wait_seconds=10)
