"""Fixtures shared by the unit tests that call lifecycle steps directly (local adapters, virtual clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.catalog import Catalog, default_catalog
from pathprover.core.runconfig import RunConfig
from pathprover.core.targets import ValidationTarget, parse_targets, to_run_config
from pathprover.loadgen.job import run_benchmark_job
from pathprover.protocols import Services
from pathprover.stages import lifecycle
from pathprover.stages.specs import BuildJob
from pathprover.stages.state import ProveState
from tests.support.local_services import local_services

NewProve = Callable[..., ProveState]
"""``new_prove(model=..., instance=..., execution_id=..., **target fields)``: a ProveState not yet begun."""
RunLane = Callable[[ProveState], tuple[ProveState, list[str]]]
"""``run_lane(state)``: the lane of the state machine from Begin to Settle; the state and the steps taken."""


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The repository's catalog (loaded once; read-only)."""
    return default_catalog()


@pytest.fixture
def svc(tmp_path: Path) -> Services:
    return local_services(tmp_path)


@pytest.fixture
def new_prove(svc: Services) -> NewProve:
    def make(
        model: str = "Qwen/Qwen3-4B", instance: str = "ml.g6.xlarge", execution_id: str = "e1", **target: Any
    ) -> ProveState:
        run = to_run_config(ValidationTarget(model_name=model, instance_type=instance, **target), svc.catalog)
        return ProveState(execution_id=execution_id, run=run, plan=lifecycle.stage_plan(run))

    return make


QUICK_BENCHMARK: dict[str, str] = {"CONCURRENCY": "1,2", "REQUESTS": "2", "WARMUP_REQUESTS": "1", "OUTPUT_TOKENS": "4"}
"""The benchmark job's workload in unit tests: the real load generator, against the simulated endpoint, briefly."""


def _quick_benchmark(svc: Services) -> Callable[[BuildJob], dict[str, Any]]:
    def run(job: BuildJob) -> dict[str, Any]:
        env = dict(job.env)
        if env.get("BENCHMARK_MODE") != "batch":  # a batch job's input must match the workload it was made from
            env.update(QUICK_BENCHMARK)
        return run_benchmark_job(env, svc.artifacts)

    return run


@pytest.fixture
def run_lane(svc: Services) -> RunLane:
    """The lane's transitions (statemachines/path-prover.asl.json) with the Wait states on the virtual clock:
    Begin -> skipped: Settle; Advance / Check -> next: Advance, polling: Wait then Check, finished: Settle,
    failed: HandleFailure -> Clean -> Settle. The benchmark job runs the real load generator (a short
    workload) against the simulated endpoint; a check waits for it in real time, as the local runtime does."""
    builder: Any = svc.builder
    builder.job_runner = _quick_benchmark(svc)
    builder.runner_poll_s = 120.0

    def run(state: ProveState, limit: int = 2000) -> tuple[ProveState, list[str]]:
        steps = ["begin"]
        state = lifecycle.begin(state, svc)
        for _ in range(limit):
            if state.status == "next":
                steps.append(f"advance:{state.plan[state.index] if state.index < len(state.plan) else '-'}")
                state = lifecycle.advance(state, svc)
            elif state.status == "polling":
                svc.clock.advance(state.wait_seconds)  # type: ignore[attr-defined]
                steps.append(f"check:{state.current}")
                state = lifecycle.check(state, svc)
            elif state.status == "failed":
                steps += ["failure", "clean"]
                state = lifecycle.clean(lifecycle.handle_failure(state, svc), svc)
                break
            else:  # finished or skipped
                break
        else:
            raise AssertionError(f"the lane did not end within {limit} steps: {steps[-5:]}")
        steps.append("settle")
        return lifecycle.settle(state, svc), steps

    return run


SEED_NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
"""When the `seeded` table was seeded."""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> LocalWarehouse:
    """The seed's starter table (17 proven configs, 1 unfeasible) in a local warehouse; read only."""
    from pathprover.seed import seed_records

    store = LocalWarehouse(tmp_path_factory.mktemp("seeded") / "warehouse")
    prices = {name: i.price_per_hour_usd for name, i in catalog.instances.items()}
    params = {name: m.total_params_b for name, m in catalog.models.items()}
    store.append(*seed_records(SEED_NOW, prices, params))
    return store


TUNED = ["generate", "build", "push", "deploy", "test", "tune", "adapter", "benchmark", "clean"]
"""The stages of a target that tunes a LoRA adapter and serves it."""


def run_for(**target: object) -> RunConfig:
    """The run config of a Qwen3-4B on ml.g6.xlarge target, with these fields changed (checked like a plan's)."""
    values = {"model_name": "Qwen/Qwen3-4B", "instance_type": "ml.g6.xlarge", **target}
    return to_run_config(parse_targets(values)[0], default_catalog())
