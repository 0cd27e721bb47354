"""stages/naming.py: deterministic SageMaker resource names and the standard tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pathprover.stages.naming import SAGEMAKER_NAME, resource_names, standard_tags

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- resource names


@given(st.text(max_size=500), st.text(max_size=80), st.integers(min_value=1, max_value=10**9), st.text(max_size=20))
def test_resource_names_are_valid_and_short(execution: str, config_id: str, attempt: int, variant: str) -> None:
    names = resource_names(execution, config_id, attempt, variant)
    for name in names.model_dump().values():
        assert len(name) <= 63
        assert SAGEMAKER_NAME.match(name)
        assert name.startswith("pp-")
    assert resource_names(execution, config_id, attempt, variant) == names  # deterministic
    assert len(set(names.model_dump().values())) == 5


@given(st.text(max_size=100), st.text(max_size=40), st.integers(min_value=1, max_value=1000))
def test_a_new_attempt_or_variant_gets_new_names(execution: str, config_id: str, attempt: int) -> None:
    names = resource_names(execution, config_id, attempt)
    assert resource_names(execution, config_id, attempt + 1).endpoint != names.endpoint
    assert resource_names(execution, config_id, attempt, "adapter").endpoint != names.endpoint


def test_resource_names_pin() -> None:
    names = resource_names("exec-1", "0123456789abcdef", 1)
    assert names.endpoint.startswith("pp-0123456789ab-") and names.endpoint.endswith("-ep")
    assert len(names.endpoint) == len("pp-0123456789ab-") + 16 + 3


# --------------------------------------------------------------------------- tags


def test_standard_tags() -> None:
    tags = standard_tags("arn:aws:states:us-east-1:1:execution:sm:run#1", "abc", NOW + timedelta(hours=2))
    assert tags == {
        "managed-by": "path-prover",
        "pathprover:execution": "arn:aws:states:us-east-1:1:execution:sm:run_1",
        "pathprover:config_id": "abc",
        "pathprover:expiry": "2026-11-23T14:00:00Z",
    }
