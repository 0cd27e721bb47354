"""Issue 10 parts 4-5 in the brain: capacity-only types, targets without an instance, ACCOUNT, timeouts, attempts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pathprover.brain.feasibility import (
    MAX_TIMEOUT_MULTIPLIER,
    TIMEOUT_LIMIT,
    FeasibilityRules,
    Placement,
    cheapest_instance,
    history_verdict,
    multiplier_after,
    timeout_limit_reason,
)
from pathprover.brain.gaps import search_gaps
from pathprover.brain.history import ConfigHistory, prior_attempts_sql
from pathprover.brain.plan import make_plan, place_target
from pathprover.brain.sizing import estimate_fit
from pathprover.catalog import default_catalog
from pathprover.core.runconfig import resolve_account
from pathprover.core.targets import TargetError, ValidationTarget, parse_targets, to_run_config
from tests.support.history_rows import history_of, history_row

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
CATALOG = default_catalog()
PLAN_ARN = "arn:aws:sagemaker:us-east-2:222233334444:training-plan/tp-b200"
B200_GAP = ("transformers-vllm", "gemma", "p6-b200", "none", 8, "realtime-inference")


def _b200_gaps(rules: FeasibilityRules) -> list:
    history = history_of([history_row("transformers-vllm", "gemma", "g6e", now=NOW)])
    search = search_gaps(history, CATALOG, NOW, include_catalog=True, rules=rules)
    return [search.gap(i) for i in range(search.total) if search.gap(i).key == B200_GAP]


def test_the_catalog_marks_p6_b200_capacity_only_and_knows_gemma_4():
    b200 = CATALOG.instance("ml.p6-b200.48xlarge")
    assert (b200.capacity_only, b200.accelerator_count, b200.compute_capability) == (True, 8, 10.0)
    assert "no price published" in b200.price_source and b200.price_status == "unverified"
    assert not any(i.capacity_only for i in CATALOG.instances.values() if i.family != "p6-b200")
    gemma = CATALOG.model("google/gemma-4-31B-it")
    assert (gemma.family, gemma.num_layers, gemma.num_attention_heads, gemma.num_kv_heads) == ("gemma", 60, 32, 16)
    assert gemma.context_length == 262144 and gemma.supports_tp_degree(8)


def test_gap_search_leaves_a_capacity_only_family_out_unless_the_run_has_a_plan_for_it():
    # Given a gap on the B200 family: without a plan it is left out, with the reason and what to give
    [without] = _b200_gaps(FeasibilityRules(CATALOG))
    assert without.verdict is not None and without.verdict.kind == "needs_reservation"
    assert "CAPACITY_RESERVATIONS" in without.verdict.reason
    # When the run has a training plan for the type, the gap is feasible and its config carries the plan
    rules = FeasibilityRules(CATALOG, {"ml.p6-b200.48xlarge": PLAN_ARN})
    [with_plan] = _b200_gaps(rules)
    assert with_plan.verdict is None
    placement = rules.check(B200_GAP)
    assert isinstance(placement, Placement) and placement.instance.name == "ml.p6-b200.48xlarge"


def test_a_planned_b200_prove_runs_on_the_runs_plan():
    rules = FeasibilityRules(CATALOG, {"ml.p6-b200.48xlarge": PLAN_ARN})
    history = history_of([history_row("transformers-vllm", "gemma", "g6e", now=NOW)])
    search = search_gaps(
        history, CATALOG, NOW, include_catalog=True, rules=rules, filters={"instance_family": ["p6-b200"]}
    )
    plan = make_plan(search, history, CATALOG, max_cost_usd=10_000, rules=rules, max_proves=50)
    b200 = [r for r in plan.selected if r.instance_type == "ml.p6-b200.48xlarge"]
    assert b200 and {r.infra_params.capacity_reservation_arn for r in b200} == {PLAN_ARN}
    assert "batch-transform" not in {r.vector.deployment_target for r in b200}


def test_a_target_without_instance_type_gets_the_cheapest_instance_that_fits():
    # Given the guide's pre-staging target (no instance_type)
    [target] = parse_targets(
        {
            "model_name": "google/gemma-4-31B-it",
            "stages": ["stage", "generate", "build", "deploy", "test", "benchmark", "clean"],
        }
    )
    rules = FeasibilityRules(CATALOG)
    # When the brain places it
    placed, reason = place_target(target, rules)
    run = to_run_config(placed, CATALOG)
    # Then it is the cheapest instance where it fits at the instance's full tp, and the plan says why
    model = CATALOG.model(target.model_name)
    instance = CATALOG.instance(run.instance_type)
    assert estimate_fit(CATALOG, model, "none", instance, run.vector.tp_degree).fits
    cheaper = [i for i in CATALOG.instances.values() if i.price_per_hour_usd < instance.price_per_hour_usd]
    for other in cheaper:
        tp = other.max_tp_degree
        assert (
            other.capacity_only
            or not CATALOG.deployment_config("vllm").supports("none", other)
            or not model.supports_tp_degree(tp)
            or not estimate_fit(CATALOG, model, "none", other, tp).fits
        ), other.name
    assert reason is not None and run.instance_type in reason and "google/gemma-4-31B-it" in reason


def test_a_target_that_nothing_can_serve_is_refused_naming_the_model():
    rules = FeasibilityRules(CATALOG)
    with pytest.raises(ValueError, match="deepseek-ai/DeepSeek-R1"):
        cheapest_instance(rules, CATALOG.model("deepseek-ai/DeepSeek-R1"), "vllm", "none", "realtime-inference", 1)


def test_an_instance_choice_respects_quotas_and_capacity_only_types():
    rules = FeasibilityRules(CATALOG)
    model = CATALOG.model("google/gemma-4-31B-it")
    free = cheapest_instance(rules, model, "vllm", "none", "realtime-inference")
    # Given the account may not run that type, the next cheapest is chosen
    blocked = cheapest_instance(
        rules, model, "vllm", "none", "realtime-inference", quota=lambda t, u: 0 if t == free.instance.name else None
    )
    assert blocked.instance.name != free.instance.name
    assert blocked.instance.price_per_hour_usd >= free.instance.price_per_hour_usd
    assert not any(
        cheapest_instance(rules, CATALOG.model(m), "vllm", "none", "realtime-inference").instance.capacity_only
        for m in ("google/gemma-4-31B-it", "Qwen/Qwen3-0.6B", "meta-llama/Llama-3.1-70B-Instruct")
    )


def test_a_capacity_only_target_without_a_plan_is_refused_clearly():
    target = ValidationTarget(model_name="google/gemma-4-31B-it", instance_type="ml.p6-b200.48xlarge")
    with pytest.raises(TargetError, match=r"ml\.p6-b200\.48xlarge is capacity-only.*capacity_reservation_arn"):
        to_run_config(target, CATALOG)


def test_a_plan_without_an_instance_type_is_refused():
    target = ValidationTarget(
        model_name="google/gemma-4-31B-it",
        infra_params={"capacity_reservation_arn": "arn:aws:sagemaker:us-east-2:ACCOUNT:training-plan/tp-XXX"},
    )
    with pytest.raises(ValueError, match="give instance_type with it"):
        place_target(target, FeasibilityRules(CATALOG))


def test_account_is_resolved_to_the_deploying_account_or_refused():
    guide = "arn:aws:sagemaker:us-east-2:ACCOUNT:training-plan/tp-XXX"
    assert resolve_account(guide, "111111111111") == "arn:aws:sagemaker:us-east-2:111111111111:training-plan/tp-XXX"
    assert resolve_account(PLAN_ARN, None) == PLAN_ARN  # a real id is left alone
    with pytest.raises(ValueError, match=r"literal ACCOUNT.*PATHPROVER_ACCOUNT_ID"):
        resolve_account(guide, None)
    with pytest.raises(ValueError):
        resolve_account(guide, "ACCOUNT")


def test_the_multiplier_doubles_to_8x_and_the_fifth_timeout_is_the_last():
    assert [multiplier_after(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert TIMEOUT_LIMIT == 5
    # Retryable with a longer timeout until the limit, at the largest multiplier only
    for previous in range(TIMEOUT_LIMIT - 1):
        assert timeout_limit_reason(previous, multiplier_after(previous)) is None
    reason = timeout_limit_reason(TIMEOUT_LIMIT - 1, MAX_TIMEOUT_MULTIPLIER)
    assert reason is not None and reason.startswith("timed out 5 times, the last 2 at the largest timeout multiplier")
    assert timeout_limit_reason(TIMEOUT_LIMIT - 1, 4.0) is None  # not given its full time yet


def test_history_holds_back_a_config_with_too_many_timeouts_from_older_tables():
    entry = ConfigHistory(key=B200_GAP, failures={"timeout": TIMEOUT_LIMIT}, last_failure_reason="timed out")
    verdict = history_verdict(entry, NOW)
    assert verdict is not None and verdict.kind == "recorded_unfeasible"
    entry.failures["timeout"] = TIMEOUT_LIMIT - 1
    assert history_verdict(entry, NOW) is None


def test_prior_attempts_are_read_for_config_ids_only():
    sql = prior_attempts_sql(["0123456789abcdef"])
    assert "config_id IN ('0123456789abcdef')" in sql and "MAX(attempt)" in sql
    with pytest.raises(ValueError):
        prior_attempts_sql(["x' OR 1=1 --"])


def test_a_substitute_is_queued_next_once_even_when_the_task_is_retried(tmp_path):
    from pathprover.adapters.local.artifacts import LocalArtifactStore
    from pathprover.stages.state import ProveState
    from pathprover.workflow.models import LaneTask
    from pathprover.workflow.planning import _store_queue, queued
    from pathprover.workflow.substitute import push_front

    class _Svc:
        artifacts = LocalArtifactStore(tmp_path, s3_bucket="pathprover-local")

    def prove(instance: str, attempt: int = 1) -> ProveState:
        target = ValidationTarget(model_name="Qwen/Qwen3-0.6B", instance_type=instance, tp_degree=1)
        return ProveState(execution_id="e1", run=to_run_config(target, CATALOG), attempt=attempt)

    # Given a lane whose stored queue holds two more proves, the first already taken
    lane = LaneTask(execution_id="e1", lane=0, max_cost_usd=10, queue=[prove("ml.g5.xlarge"), prove("ml.g6.xlarge")])
    svc: object = _Svc()
    _store_queue(lane, svc)  # type: ignore[arg-type]
    lane.queue_next = 1
    # When a substitute is pushed, twice (a retried settle task starts from the same lane state)
    substitute = prove("ml.g5.2xlarge", attempt=2)
    for _ in range(2):
        copy = lane.model_copy(deep=True)
        push_front(copy, substitute, svc)  # type: ignore[arg-type]
    # Then it is next, once, and the rest of the queue follows
    waiting = queued(copy, svc)  # type: ignore[arg-type]
    assert [(p.run.instance_type, p.attempt) for p in waiting] == [("ml.g5.2xlarge", 2), ("ml.g6.xlarge", 1)]
    assert copy.queue_total == 3
