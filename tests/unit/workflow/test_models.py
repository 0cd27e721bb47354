"""workflow/models.py: the execution input takes exactly the guide's names and refuses what would be ignored."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pathprover.workflow.models import WorkflowInput

TARGET = {"model_name": "Qwen/Qwen3-0.6B", "instance_type": "ml.g5.xlarge"}
PLAN = "arn:aws:sagemaker:us-east-2:ACCOUNT:training-plan/tp-XXX"


def test_the_guides_input_is_taken_as_written():
    request = WorkflowInput.model_validate(
        {
            "MAX_PROVES_PER_RUN": 5,
            "MAX_COST_PER_RUN": 25.5,
            "PARALLEL_LANES": 4,
            "FILTERS": {"model_family": ["qwen3"]},
            "INCLUDE_CATALOG": True,
            "CAPACITY_RESERVATIONS": {"ml.p6-b200.48xlarge": PLAN},
        }
    )
    assert (request.MAX_PROVES_PER_RUN, request.MAX_COST_PER_RUN, request.PARALLEL_LANES) == (5, 25.5, 4)
    assert request.FILTERS is not None and request.FILTERS.model_family == ["qwen3"]
    assert request.CAPACITY_RESERVATIONS == {"ml.p6-b200.48xlarge": PLAN}


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"FILTERS": {"model_family": ["qwen3"]}}, "FILTERS steers the gap search, which TARGETS replaces"),
        ({"INCLUDE_CATALOG": True}, "INCLUDE_CATALOG steers the gap search"),
        (
            {"FILTERS": {"model_family": ["qwen3"]}, "INCLUDE_CATALOG": True},
            "FILTERS and INCLUDE_CATALOG steer the gap search",
        ),
    ],
)
def test_search_options_beside_targets_are_refused_as_they_would_be_ignored(extra, words):
    with pytest.raises(ValidationError, match=words):
        WorkflowInput.model_validate({"TARGETS": [TARGET], **extra})


@pytest.mark.parametrize(
    "raw",
    [
        {"TARGETS": []},
        {"PARALLEL_LANES": 17},
        {"MAX_COST_PER_RUN": float("inf")},
        {"DRY_RUN": "yes"},
        {"FILTERS": {"model_family": []}},
        {"CAPACITY_RESERVATIONS": {"p6-b200": PLAN}},
        {"CAPACITY_RESERVATIONS": {"ml.p6-b200.48xlarge": "not-an-arn"}},
        {"max_proves_per_run": 3},
    ],
)
def test_values_out_of_range_wrong_types_and_unknown_names_are_refused(raw):
    with pytest.raises(ValidationError):
        WorkflowInput.model_validate(raw)
