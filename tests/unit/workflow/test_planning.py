"""workflow/planning.py: the execution's input checked first, its plan within the limits, its lanes and queues."""

from __future__ import annotations

import pytest

from pathprover.protocols import Services
from pathprover.workflow.planning import (
    MAX_EVENTS_PER_PROVE,
    InvalidInput,
    events_allowance,
    load_next,
    parse_input,
    plan_execution,
)

TARGETS = [
    {"model_name": "Qwen/Qwen3-0.6B", "instance_type": "ml.g5.xlarge"},
    {"model_name": "Qwen/Qwen3-0.6B", "instance_type": "ml.g6.xlarge"},
    {"model_name": "Qwen/Qwen3-4B", "instance_type": "ml.g6.xlarge"},
]


def test_an_empty_input_takes_the_guides_defaults():
    request = parse_input(None)
    assert (request.MAX_PROVES_PER_RUN, request.MAX_COST_PER_RUN, request.PARALLEL_LANES) == (10, 50.0, 1)
    assert request.TARGETS is None and request.DRY_RUN is False


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ([1, 2], "must be a JSON object, got list"),
        ({"MAX_PROVES_PER_RUN": 5000}, "MAX_PROVES_PER_RUN"),
        ({"MAX_PROVES_PER_RUN": "5"}, "MAX_PROVES_PER_RUN"),
        ({"MAX_PROVES": 5}, "MAX_PROVES"),
        ({"TARGETS": TARGETS, "INCLUDE_CATALOG": True}, "TARGETS replaces"),
    ],
)
def test_a_wrong_input_is_refused_before_anything_is_planned(raw, words):
    with pytest.raises(InvalidInput, match=words):
        parse_input(raw)


def test_targets_are_spread_over_the_lanes_and_a_duplicate_config_is_excluded_with_the_reason(svc: Services):
    # Given three targets, the last the same config as the second (qwen3 on g6: the model size is no dimension)
    raw = {"TARGETS": TARGETS, "PARALLEL_LANES": 2, "MAX_COST_PER_RUN": 500}
    # When the execution is planned
    plan = plan_execution(raw, "exec-plan-1", svc)
    # Then the two configs are selected within the budget, and the duplicate is excluded naming both entries
    assert plan.source == "targets" and len(plan.selected) == 2
    assert plan.estimated_total_usd <= 500 and plan.nothing_planned_reason is None
    assert plan.excluded_counts == {"duplicate": 1}
    assert "TARGETS[2] is the same config as TARGETS[1]" in plan.excluded[0]["reason"]
    # And each of the two lanes starts with one prove in flight, then has nothing more to hand out
    assert len(plan.lanes) == 2
    assert all(lane.has_prove and lane.prove is not None and lane.execution_id == "exec-plan-1" for lane in plan.lanes)
    assert {lane.prove.run.instance_type for lane in plan.lanes if lane.prove} == {"ml.g5.xlarge", "ml.g6.xlarge"}
    assert not any(load_next(lane, svc).has_prove for lane in plan.lanes)


def test_a_budget_that_fits_nothing_plans_nothing_and_says_why(svc: Services):
    plan = plan_execution({"TARGETS": TARGETS[:1], "MAX_COST_PER_RUN": 0.01}, "exec-plan-2", svc)
    assert plan.selected == [] and plan.nothing_planned_reason
    assert "0.01" in plan.nothing_planned_reason


def test_each_proves_share_of_history_events_is_capped_and_shrinks_with_more_proves():
    assert events_allowance(1, 2) == events_allowance(10, 2) == MAX_EVENTS_PER_PROVE
    assert MAX_EVENTS_PER_PROVE > events_allowance(20, 2) > events_allowance(50, 2) > events_allowance(50, 16) > 0
