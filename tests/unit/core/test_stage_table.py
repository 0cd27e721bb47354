"""The per-stage table is the one account of what is true of each lifecycle stage."""

from __future__ import annotations

from typing import get_args

import pytest

from pathprover.catalog.models import STAGES as TIMED_STAGES
from pathprover.catalog.models import TimedStage
from pathprover.core.runconfig import RunConfig
from pathprover.core.stage_table import (
    BILLING_STAGES,
    DEFAULT_STAGES,
    REQUIRED_STAGES,
    STAGE_ORDER,
    STAGE_TABLE,
    Stage,
)
from pathprover.protocols import Services
from pathprover.stages.lifecycle import _expected_seconds
from tests.unit.conftest import NewProve


def test_the_table_has_one_row_per_stage_in_lifecycle_order() -> None:
    assert tuple(STAGE_TABLE) == STAGE_ORDER == get_args(Stage)


def test_every_timing_row_is_one_the_catalog_has() -> None:
    assert set(get_args(TimedStage)) <= set(STAGE_ORDER)
    for stage, facts in STAGE_TABLE.items():
        assert facts.timing is None or facts.timing in TIMED_STAGES, stage


def test_derived_lists_follow_the_table() -> None:
    assert all(STAGE_TABLE[stage].default for stage in DEFAULT_STAGES)
    assert set(REQUIRED_STAGES) <= set(DEFAULT_STAGES)
    assert all(STAGE_TABLE[stage].billing for stage in BILLING_STAGES)
    assert RunConfig.model_fields["stages"].default == DEFAULT_STAGES


def test_the_facts_the_lifecycle_relied_on_before_the_table() -> None:
    """The constants the table replaced (LONG_STAGES, BILLING_STAGES, the tuple in _expected_seconds)."""
    assert {s for s, f in STAGE_TABLE.items() if f.polled} == {
        "stage",
        "build",
        "deploy",
        "tune",
        "adapter",
        "benchmark",
    }
    assert {"deploy", "test", "tune", "adapter", "benchmark"} == BILLING_STAGES
    assert {s for s, f in STAGE_TABLE.items() if f.timing} == {
        "stage",
        "build",
        "deploy",
        "tune",
        "adapter",
        "benchmark",
        "clean",
    }


@pytest.mark.parametrize("stage", STAGE_ORDER)
def test_expected_seconds_reads_the_table(svc: Services, new_prove: NewProve, stage: str) -> None:
    state = new_prove()
    state.run = run = state.run.model_copy(update={"timeout_multiplier": 2.0})
    facts = STAGE_TABLE[stage]  # type: ignore[index]
    seconds = _expected_seconds(svc, state, stage)
    if facts.timing is None:
        assert seconds == facts.fixed_seconds  # no multiplier: a quick stage, or the smoke test
    else:
        params = svc.catalog.model(run.model_name).total_params_b
        assert seconds == svc.catalog.search_space.timing.minutes(facts.timing, params) * 60.0 * 2.0
