"""`pathprover recommend`'s logic: the cheapest proven configuration at a level that meets the SLOs."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprover.brain.feasibility import FeasibilityRules
from pathprover.brain.gaps import search_gaps
from pathprover.brain.history import History
from pathprover.catalog import load_catalog
from pathprover.core.dimensions import DIMENSIONS
from pathprover.core.targets import parse_targets, to_run_config
from pathprover.results.recommend import (
    Slo,
    best_offer,
    gap_targets,
    latest_per_configuration,
    level_misses,
    levels_of,
    recommend,
    targets_yaml,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def attempt(
    config_id: str,
    record_id: str,
    *,
    target: str = "realtime-inference",
    model: str = "Qwen/Qwen3-8B",
    instance: str = "ml.g5.xlarge",
    at: str = "2026-11-30T00:00:00+00:00",
    attempt_no: int = 1,
    **headline: object,
) -> dict[str, object]:
    return {
        "config_id": config_id,
        "record_id": record_id,
        "run_type": "path_prove",
        "status": "completed",
        "run_timestamp": at,
        "attempt": attempt_no,
        "deployment_config": "transformers-vllm",
        "model_family": "qwen3",
        "instance_family": instance.split(".")[1],
        "quantization": "none",
        "tp_degree": 1,
        "deployment_target": target,
        "model_name": model,
        "instance_type": instance,
        **headline,
    }


def level(concurrency: int, ttft_p99: float | None, tps: float, usd: float, error_rate: float = 0.0):
    return {
        "concurrency": concurrency,
        "mode": "stream" if ttft_p99 is not None else "async",
        "ttft_p99_ms": ttft_p99,
        "output_token_throughput_tps": tps,
        "cost_per_1m_tokens": usd,
        "error_rate": error_rate,
    }


def test_a_config_qualifies_at_the_cheapest_level_that_meets_the_slo():
    # Given a config whose busiest level is cheapest but too slow, and another that is dearer at every level
    rows = [attempt("a" * 16, "1" * 32), attempt("b" * 16, "2" * 32)]
    levels = {
        "1" * 32: [level(1, 150, 60, 6.5), level(4, 400, 200, 1.9), level(8, 2500, 360, 1.1)],
        "2" * 32: [level(1, 100, 50, 9.0), level(8, 900, 300, 3.0)],
    }
    # When asking for TTFT p99 <= 2000 ms
    result = recommend(rows, levels, Slo(max_ttft_p99_ms=2000))
    # Then the first config wins at concurrency 4 (its level 8 misses the SLO), the second is runner-up at 8
    assert result.best is not None
    assert (result.best.row["config_id"], result.best.concurrency, result.best.cost) == ("a" * 16, 4, 1.9)
    assert [(o.row["config_id"], o.concurrency) for o in result.runners_up] == [("b" * 16, 8)]
    assert result.nearest == []
    assert result.as_dict()["recommendation"]["cost_per_1m_tokens"] == 1.9


def test_when_nothing_qualifies_the_nearest_say_which_slo_they_miss_and_by_how_much():
    # Given two proven configs, both slower than asked
    rows = [attempt("a" * 16, "1" * 32), attempt("b" * 16, "2" * 32)]
    levels = {"1" * 32: [level(1, 2300, 60, 6.5)], "2" * 32: [level(1, 4000, 60, 5.0)]}
    # When asking for TTFT p99 <= 2000 ms
    result = recommend(rows, levels, Slo(max_ttft_p99_ms=2000))
    # Then nothing is recommended, and the closer miss comes first with its shortfall
    assert result.best is None and result.runners_up == []
    first = result.nearest[0]
    assert first.row["config_id"] == "a" * 16
    (miss,) = first.misses
    assert (miss.slo, miss.limit, miss.value, miss.by) == ("max_ttft_p99_ms", 2000, 2300.0, 300.0)
    assert miss.relative == pytest.approx(0.15)
    assert "TTFT p99 2,300 ms > 2,000 ms max" in miss.text() and "15% over" in miss.text()


def test_a_target_without_ttft_misses_a_latency_slo_as_not_measured():
    # Given an async config (no time to first token measured)
    row = attempt("c" * 16, "3" * 32, target="async-inference")
    offer = best_offer(row, [level(1, None, 400, 0.5)], Slo(max_ttft_p99_ms=2000))
    # Then it does not qualify, and the miss says the metric was not measured
    assert not offer.qualifies
    assert offer.misses[0].value is None and "not measured" in offer.misses[0].text()


def test_the_deployment_target_is_an_slo_of_the_config_whatever_its_level():
    row = attempt("c" * 16, "3" * 32, target="async-inference")
    offer = best_offer(row, [level(1, 10, 400, 0.5)], Slo(deployment_target="realtime-inference"))
    assert not offer.qualifies
    assert [m.slo for m in offer.misses] == ["deployment_target"]
    assert offer.misses[0].text() == "deployment target is async-inference, not realtime-inference"


def test_a_level_with_too_many_failed_requests_does_not_count():
    row = attempt("a" * 16, "1" * 32)
    offer = best_offer(row, [level(1, 100, 60, 6.0), level(8, 200, 400, 1.0, error_rate=0.2)], Slo())
    # The cheap level lost a fifth of its requests: the config qualifies at the level that did not
    assert offer.qualifies and offer.concurrency == 1


def test_the_latest_completed_attempt_of_each_configuration_is_the_one_that_counts():
    old = attempt("a" * 16, "1" * 32, at="2026-11-01T00:00:00+00:00")
    new = attempt("a" * 16, "2" * 32, at="2026-11-20T00:00:00+00:00", attempt_no=2)
    other_model = attempt("a" * 16, "3" * 32, model="Qwen/Qwen3-0.6B")
    failed = {**attempt("a" * 16, "4" * 32, at="2026-11-30T00:00:00+00:00"), "status": "failed"}
    latest = latest_per_configuration([old, new, other_model, failed])
    assert sorted(r["record_id"] for r in latest) == ["2" * 32, "3" * 32]


def test_without_level_rows_the_headline_stands_for_two_levels():
    # Given a row of a table exported without benchmark_levels: latency at 1, throughput and cost at 8
    row = attempt(
        "a" * 16,
        "1" * 32,
        latency_concurrency=1,
        peak_concurrency=8,
        ttft_p99_ms=150.0,
        peak_output_token_throughput_tps=400.0,
        cost_per_1m_tokens=1.0,
    )
    levels, source = levels_of(row, [])
    assert source == "headline"
    assert [(lv["concurrency"], lv["ttft_p99_ms"], lv["cost_per_1m_tokens"]) for lv in levels] == [
        (1, 150.0, None),
        (8, None, 1.0),
    ]
    # Then a latency SLO is not met at a level whose latency is unknown: it qualifies at neither half
    assert not best_offer(row, [], Slo(max_ttft_p99_ms=2000, max_usd_per_1m_tokens=2.0)).qualifies


# --------------------------------------------------------------------------- property: it is really the cheapest
levels_st = st.lists(
    st.builds(
        level,
        concurrency=st.sampled_from([1, 2, 4, 8, 16, 32]),
        ttft_p99=st.one_of(st.none(), st.floats(1, 5000)),
        tps=st.floats(1, 5000),
        usd=st.floats(0.01, 100),
        error_rate=st.sampled_from([0.0, 0.0, 0.01, 0.2]),
    ),
    min_size=0,
    max_size=4,
    unique_by=lambda lv: lv["concurrency"],
)
slo_st = st.builds(
    Slo,
    max_ttft_p99_ms=st.one_of(st.none(), st.floats(1, 5000)),
    min_tokens_per_s=st.one_of(st.none(), st.floats(1, 5000)),
    max_usd_per_1m_tokens=st.one_of(st.none(), st.floats(0.01, 100)),
    deployment_target=st.sampled_from([None, "realtime-inference", "async-inference"]),
)


def _meets(row, lv, slo: Slo) -> bool:
    """The SLOs, written out again independently of the module."""
    if slo.deployment_target is not None and row["deployment_target"] != slo.deployment_target:
        return False
    if slo.max_ttft_p99_ms is not None and (lv["ttft_p99_ms"] is None or lv["ttft_p99_ms"] > slo.max_ttft_p99_ms):
        return False
    if slo.min_tokens_per_s is not None and lv["output_token_throughput_tps"] < slo.min_tokens_per_s:
        return False
    if slo.max_usd_per_1m_tokens is not None and lv["cost_per_1m_tokens"] > slo.max_usd_per_1m_tokens:
        return False
    return slo.max_error_rate is None or lv["error_rate"] <= slo.max_error_rate


@given(
    configs=st.lists(
        st.tuples(st.sampled_from(["realtime-inference", "async-inference"]), levels_st), min_size=0, max_size=6
    ),
    slo=slo_st,
)
def test_the_recommendation_is_the_cheapest_qualifying_level_of_any_config(configs, slo):
    # Given proven configs with arbitrary levels, and arbitrary SLOs
    rows = [attempt(f"{i:016x}", f"{i:032x}", target=target) for i, (target, _) in enumerate(configs)]
    levels = {f"{i:032x}": lvls for i, (_, lvls) in enumerate(configs)}
    # When recommending
    result = recommend(rows, levels, slo, runners_up=10)
    # Then it matches the brute force over every (config, level) that meets every SLO
    pairs = [
        (lv["cost_per_1m_tokens"], r["config_id"]) for r in rows for lv in levels[r["record_id"]] if _meets(r, lv, slo)
    ]
    if not pairs:
        assert result.best is None and result.runners_up == []
        assert len(result.nearest) == min(10, len(rows))
        assert all(o.misses for o in result.nearest)
        return
    assert result.best is not None
    assert result.best.cost == min(cost for cost, _ in pairs)
    assert _meets(result.best.row, result.best.level, slo)
    # each config offered once, at its own cheapest qualifying level, cheapest first
    offered = [result.best, *result.runners_up]
    assert len({o.row["config_id"] for o in offered}) == len(offered)
    assert {o.row["config_id"] for o in offered} == {c for _, c in pairs}
    for o in offered:
        assert o.cost == min(cost for cost, c in pairs if c == o.row["config_id"])
    assert [o.cost for o in offered] == sorted(o.cost for o in offered)


@given(lv=levels_st.filter(bool).map(lambda x: x[0]), slo=slo_st)
def test_a_level_misses_exactly_the_slos_it_does_not_meet(lv, slo):
    row = attempt("a" * 16, "1" * 32)
    misses = level_misses(lv, slo)
    assert (not misses) == _meets(row, lv, Slo(**{**slo.as_dict(), "deployment_target": None}))
    for m in misses:
        assert m.by is None or m.by > 0
        assert m.relative is None or (m.relative > 0 and math.isfinite(m.relative))


# --------------------------------------------------------------------------- gaps as targets
@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_gaps_become_targets_run_accepts_and_only_those_that_can_measure_the_slo(catalog):
    # Given the brain's gaps for qwen3 on an empty table
    rules = FeasibilityRules(catalog)
    search = search_gaps(
        History(configs={}, total_rows=0),
        catalog,
        NOW,
        include_catalog=True,
        rules=rules,
        filters={"model_family": ["qwen3"]},
    )
    slo = Slo(max_ttft_p99_ms=500)
    # When turned into targets for Qwen/Qwen3-8B
    found = gap_targets(
        (search.gap(i) for i in range(search.total)), catalog, rules, slo, model_names=["Qwen/Qwen3-8B"], limit=4
    )
    # Then each is a realtime target (the only kind that measures TTFT) of that model, in its gap's instance family
    assert len(found) == 4
    for g in found:
        assert g.target["model_name"] == "Qwen/Qwen3-8B"
        assert g.target["deployment_target"] == "realtime-inference"
        assert catalog.instance(g.target["instance_type"]).family == g.dimensions["instance_family"]
        assert g.estimated_cost_usd > 0 and g.reserved_usd >= g.estimated_cost_usd
    # And the YAML written parses back as targets `run --targets` accepts, with the gaps' config ids
    parsed = parse_targets(__import__("yaml").safe_load(targets_yaml(found, "a question")))
    assert [to_run_config(t, catalog).config_id for t in parsed] == [g.config_id for g in found]
    assert set(found[0].as_dict()) >= {"config_id", *DIMENSIONS, "model_name", "instance_type", "target"}
