"""The fault matrix: every adapter call the workflow makes x {API error, throttle once, throttle always,
crash, timeout after the side effect}, plus an operator stop after every state of the prove lane, each
checked for the same invariants (docs/reliability.md):

1. nothing left alive: no SageMaker resource of the execution, no running build;
2. exactly one record per prove attempt that took its lease (never both completed and failed);
3. the reservation settled and 4. the lease released (the ledger holds nothing for the execution);
5. a defined end: the execution ended, and the summary (when one was written) accounts for the prove.

One prove (Qwen/Qwen3-0.6B on ml.g5.xlarge, one lane) per case, each in its own warehouse. `make test`
runs a deterministic sample (every call point once, the kinds in rotation, and every stop);
`PATHPROVER_FAULT_MATRIX=full` runs all of it.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any, Final

import pytest

from pathprover.runtime.local import LocalRuntime, RunOutcome
from tests.e2e.conftest import rows_for
from tests.support.faulty import KINDS, FaultyAdapters

TARGET: Final = {"model_name": "Qwen/Qwen3-0.6B", "instance_type": "ml.g5.xlarge"}
PAYLOAD: Final = {"MAX_PROVES_PER_RUN": 1, "MAX_COST_PER_RUN": 50, "PARALLEL_LANES": 1, "TARGETS": [TARGET]}
FULL: Final = os.environ.get("PATHPROVER_FAULT_MATRIX") == "full"

# Every (Lambda function, adapter, method) one prove of TARGET calls inside its tasks, with the call the
# fault hits (1-based, for methods called more than once: the first and, where the call repeats with a
# different meaning, a later one). Measured with FaultyAdapters.seen on a clean run
# (test_the_call_points_are_the_ones_the_workflow_makes keeps this list honest).
CALL_POINTS: Final[list[tuple[str, str, str, int]]] = [
    ("pathprover-brain", "store", "query", 1),
    ("pathprover-brain", "artifacts", "put_bytes", 1),
    ("pathprover-brain", "artifacts", "get_bytes", 1),
    ("pathprover-begin", "store", "query", 1),
    ("pathprover-begin", "ledger", "acquire_lease", 1),
    ("pathprover-begin", "ledger", "reserve", 1),
    ("pathprover-advance", "artifacts", "put_bytes", 1),  # generate: the bundle
    ("pathprover-advance", "builder", "start", 1),  # build
    ("pathprover-advance", "builder", "start", 2),  # benchmark job
    ("pathprover-advance", "fleet", "start_deploy", 1),
    ("pathprover-advance", "fleet", "invoke", 1),  # test
    ("pathprover-advance", "store", "append", 1),  # register
    ("pathprover-advance", "fleet", "clean", 1),
    ("pathprover-check", "builder", "check", 1),
    ("pathprover-check", "builder", "image_exists", 1),
    ("pathprover-check", "fleet", "check", 1),
    ("pathprover-check", "artifacts", "get_bytes", 1),  # the benchmark's metrics
    ("pathprover-check", "ledger", "acquire_lease", 1),  # the lease's renewal
    ("pathprover-settle", "artifacts", "put_bytes", 1),
    ("pathprover-settle", "ledger", "settle", 1),
    ("pathprover-settle", "ledger", "release_lease", 1),
    ("pathprover-summary", "artifacts", "get_bytes", 1),
    ("pathprover-summary", "artifacts", "put_bytes", 1),
    ("pathprover-summary", "fleet", "alive", 1),
]

# An operator stop (StopExecution + the stopped-execution clean-up) right after each state of the lane:
# (label, the step that just returned, the stage it left current, which occurrence of that pair, a fault
# that sends the prove down the failure path first). The progress events of a clean run of TARGET are
# begin, advance (generate) -> build polling -> build done, advance (push) -> deploy polling -> deploy
# done, advance (test) -> benchmark polling -> benchmark done, advance (register), advance (clean), settle.
STOPS: Final[list[tuple[str, str, str | None, int, tuple[str, str, str] | None]]] = [
    ("after-begin", "begin", None, 1, None),
    ("after-generate", "advance", None, 1, None),
    ("build-started", "advance", "build", 1, None),
    ("build-polling", "check", "build", 1, None),
    ("build-done", "check", None, 1, None),
    ("after-push", "advance", None, 2, None),
    ("deploy-started", "advance", "deploy", 1, None),
    ("deploy-polling", "check", "deploy", 1, None),
    ("deploy-done", "check", None, 2, None),
    ("after-test", "advance", None, 3, None),
    ("benchmark-started", "advance", "benchmark", 1, None),
    ("benchmark-polling", "check", "benchmark", 1, None),
    ("benchmark-done", "check", None, 3, None),
    ("after-register", "advance", None, 4, None),
    ("after-clean", "advance", None, 5, None),
    ("after-settle", "settle", None, 1, None),
    # the failure path: a deploy check that crashes -> HandleFailure -> Clean -> Settle
    ("after-handle-failure", "failure", "deploy", 1, ("pathprover-check", "fleet", "check")),
    ("after-failure-clean", "clean", "deploy", 1, ("pathprover-check", "fleet", "check")),
]

# Cases that cannot hold, with the reason (docs/reliability.md, "Exceptions"); none is skipped silently.
EXCEPTIONS: Final[dict[str, str]] = {}


def _point_id(point: tuple[str, str, str, int]) -> str:
    function, role, method, nth = point
    return f"{function.removeprefix('pathprover-')}.{role}.{method}#{nth}"


def _cases() -> list[Any]:
    cases = []
    for index, point in enumerate(CALL_POINTS):
        kinds = KINDS if FULL else (KINDS[index % len(KINDS)],)
        for kind in kinds:
            case_id = f"{_point_id(point)}-{kind}"
            marks = [pytest.mark.xfail(reason=EXCEPTIONS[case_id], strict=True)] if case_id in EXCEPTIONS else []
            cases.append(pytest.param(point, kind, id=case_id, marks=marks))
    return cases


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from typer.testing import CliRunner

    from pathprover.cli.app import app

    warehouse = tmp_path_factory.mktemp("matrix") / "warehouse"
    result = CliRunner().invoke(app, ["seed", "--warehouse", str(warehouse)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return warehouse


@pytest.fixture
def warehouse(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse"
    shutil.copytree(template, copy)
    return copy


def assert_invariants(
    runtime: LocalRuntime, outcome: RunOutcome, faults: FaultyAdapters, stopped: bool = False
) -> None:
    name = outcome.execution_name
    # 5. a defined end
    assert outcome.status in ("SUCCEEDED", "FAILED", "ABORTED"), outcome.status
    # 1. nothing alive: no SageMaker resource, no running build
    assert runtime.fleet.alive({}) == [], f"left alive: {runtime.fleet.alive({})}"
    settings = runtime.settings
    for project in (settings.build_project, settings.stage_project, settings.benchmark_project):
        assert runtime.builder.running(name, project) == [], f"a {project} build still running"
    # 3 and 4. the reservation settled, the lease released
    assert runtime.services.ledger.in_flight(name) == {}, runtime.services.ledger.in_flight(name)
    # 2. exactly one record per prove attempt, never both completed and failed
    rows = rows_for(runtime.root, name, "config_id, status")
    by_config: dict[str, list[str]] = {}
    for row in rows:
        by_config.setdefault(row["config_id"], []).append(row["status"])
    assert all(len(statuses) == 1 for statuses in by_config.values()), by_config
    summary = outcome.summary
    leased = faults.leased
    for config_id in leased:
        # a prove that took its lease is an attempt: it has its one row
        assert config_id in by_config, f"{config_id} took its lease but has no record ({outcome.status})"
    if summary is not None and not stopped:
        accounted = {p["config_id"] for p in summary.get("proves", [])}
        errors = " ".join(summary.get("errors", []))
        for config_id in leased:
            assert config_id in accounted or config_id in errors, f"{config_id} missing from the summary"


@pytest.mark.slow
@pytest.mark.parametrize(("point", "kind"), _cases())
def test_a_fault_in_one_adapter_call_leaves_the_state_true(
    warehouse: Path, point: tuple[str, str, str, int], kind: str
) -> None:
    function, role, method, nth = point
    # Given one adapter call of the prove fails this way
    faults = FaultyAdapters(role, method, kind, nth=nth, only_in=function)
    with LocalRuntime(warehouse, wrap_adapters=faults) as runtime:
        # When the run goes
        outcome = runtime.run(PAYLOAD, timeout_s=240)
        # Then the fault hit the call it names
        assert faults.fired >= 1, f"{_point_id(point)} was never called: {sorted(faults.seen)}"
        # And the invariants hold
        assert_invariants(runtime, outcome, faults)


@pytest.mark.slow
@pytest.mark.parametrize(("step", "stage", "occurrence", "fault"), [pytest.param(*s[1:], id=s[0]) for s in STOPS])
def test_an_operator_stop_after_any_state_leaves_the_state_true(
    warehouse: Path, step: str, stage: str | None, occurrence: int, fault: tuple[str, str, str] | None
) -> None:
    reached = threading.Event()
    resume = threading.Event()
    seen: list[tuple[str, Any]] = []

    def progress(event: dict[str, Any]) -> None:
        key = (event.get("step"), event.get("stage"))
        seen.append(key)
        if not reached.is_set() and seen.count((step, stage)) == occurrence:
            reached.set()
            resume.wait(60)  # the execution stays between this state and the next while the operator stops it

    # no fault (it still notes the leases taken), or a crash that sends the prove down the failure path
    function, role, method = fault or ("-", "none", "none")
    faults = FaultyAdapters(role, method, "crash", only_in=function)
    with LocalRuntime(warehouse, progress=progress, wrap_adapters=faults) as runtime:
        arn = runtime.start(PAYLOAD)
        # Given the execution has just left the state
        assert reached.wait(30), f"never reached {step}/{stage}: {seen}"
        # When the operator stops it (StopExecution, then the clean-up of that execution)
        report = runtime.stop_and_clean(arn)
        resume.set()
        described = runtime.wait(arn, 120)
        outcome = RunOutcome(
            execution_arn=arn,
            execution_name=arn.rsplit(":", 1)[-1],
            status=str(described["status"]),
            summary=None,
            error=described.get("error"),
            cause=described.get("cause"),
            real_seconds=0.0,
            virtual_seconds=0.0,
            warehouse=str(warehouse),
            transitions={},
        )
        # Then the execution ended (ABORTED; moto's Map ends a stopped execution FAILED with States.Runtime,
        # see docs/reliability.md) and the clean-up reported no error
        assert outcome.status == "ABORTED" or (outcome.status, outcome.error) == ("FAILED", "States.Runtime")
        assert not report.errors, report.errors
        # And the invariants hold
        assert_invariants(runtime, outcome, faults, stopped=True)


def test_the_call_points_are_the_ones_the_workflow_makes(warehouse: Path) -> None:
    # Given no fault (a method name no adapter has)
    faults = FaultyAdapters("none", "none", "crash")
    with LocalRuntime(warehouse, wrap_adapters=faults) as runtime:
        # When the one prove runs
        outcome = runtime.run(PAYLOAD, timeout_s=240)
        assert outcome.status == "SUCCEEDED", outcome.summary
        assert_invariants(runtime, outcome, faults)
    # Then every call the workflow made is in the matrix, each at least as often as the matrix's call
    made = {(f, r, m): n for (f, r, m), n in faults.seen.items() if m not in ("uri", "location")}  # pure, no I/O
    listed = {(f, r, m) for f, r, m, _ in CALL_POINTS}
    assert set(made) == listed, {"not in the matrix": set(made) - listed, "never made": listed - set(made)}
    for function, role, method, nth in CALL_POINTS:
        assert made[(function, role, method)] >= nth
