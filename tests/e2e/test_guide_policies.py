"""The guide's retry policies and config examples, end to end on the local runtime (issue 10, parts 4 and 5).

"capacity: Retry after 1h or try next instance; timeout: Retry with longer timeout" -- bounded: a config
that keeps timing out ends unfeasible, a stock-out is proved on the next size of the family in the same run,
every attempt is numbered, and the run's spend stays within MAX_COST_PER_RUN.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pathprover.adapters.local.faults import parse_faults
from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.brain.feasibility import TIMEOUT_LIMIT, history_verdict
from pathprover.brain.history import read_history
from pathprover.cli.app import app
from pathprover.runtime.local import LocalRuntime
from tests.e2e.conftest import rows_for

# The guide's "Validation Target Configuration" examples, verbatim.
GUIDE_CAPACITY_RESERVATION = """{
  "model_name": "google/gemma-4-31B-it",
  "instance_type": "ml.p6-b200.48xlarge",
  "infra_params": {
    "capacity_reservation_arn": "arn:aws:sagemaker:us-east-2:ACCOUNT:training-plan/tp-XXX"
  }
}"""
GUIDE_PRE_STAGING = """{
  "model_name": "google/gemma-4-31B-it",
  "stages": ["stage", "generate", "build", "deploy", "test", "benchmark", "clean"]
}"""
HEALTH_TIMEOUT = (
    "The primary container for production variant AllTraffic did not pass the ping health check within the "
    "timeout. Container startup exceeded ContainerStartupHealthCheckTimeoutInSeconds (600s)."
)
NO_CAPACITY = (
    "An error occurred (InsufficientCapacityError) when calling the CreateEndpoint operation: We currently do not "
    "have sufficient capacity for ml.g5.xlarge in the region you requested."
)
SMALL = {"model_name": "Qwen/Qwen3-0.6B", "instance_type": "ml.g5.xlarge", "tp_degree": 1}


def _targets_file(folder: Path, kind: str, shape: str) -> Path:
    examples = [json.loads(GUIDE_CAPACITY_RESERVATION), json.loads(GUIDE_PRE_STAGING)]
    data: object = examples if shape == "list" else examples[0 if shape == "capacity" else 1]
    path = folder / f"targets-{shape}.{kind}"
    if kind == "json" and shape != "list":
        # The exact text of the guide, not a re-serialisation of it.
        path.write_text(GUIDE_CAPACITY_RESERVATION if shape == "capacity" else GUIDE_PRE_STAGING)
    else:
        path.write_text(json.dumps(data) if kind == "json" else yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("kind", ["json", "yaml"])
@pytest.mark.parametrize("shape", ["capacity", "staging", "list"])
def test_the_guides_examples_are_accepted_by_run_dry_run(tmp_path, kind, shape):
    # Given the guide's examples copied into a targets file (JSON or YAML, one object or a list)
    targets = _targets_file(tmp_path, kind, shape)
    # When they are planned (budget enough for the B200 prove)
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--dry-run",
            "--targets",
            str(targets),
            "--max-cost",
            "400",
            "--warehouse",
            str(tmp_path / "w"),
            "--json",
        ],
        catch_exceptions=False,
    )
    # Then the plan holds them: the B200 prove on its training plan in the simulated account, the pre-staging
    # one on the cheapest instance that fits, saying why
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "SUCCEEDED", summary
    planned = {p["instance_type"]: p for p in summary["planned"]}
    if shape in ("capacity", "list"):
        b200 = planned["ml.p6-b200.48xlarge"]
        assert b200["capacity_reservation_arn"] == "arn:aws:sagemaker:us-east-2:111111111111:training-plan/tp-XXX"
    if shape in ("staging", "list"):
        [placed] = [p for p in summary["planned"] if "instance_choice" in p]
        assert placed["instance_choice"].startswith("cheapest feasible instance for google/gemma-4-31B-it")
        assert placed["instance_type"] in placed["instance_choice"]


@pytest.mark.parametrize("kind", ["json", "yaml"])
@pytest.mark.parametrize("shape", ["capacity", "staging"])
def test_the_guides_examples_are_accepted_by_render(tmp_path, kind, shape):
    # Given one guide example in a file
    config = _targets_file(tmp_path, kind, shape)
    # When it is rendered
    out = tmp_path / "bundle"
    result = CliRunner().invoke(app, ["render", "--config", str(config), "--out", str(out), "--json"])
    # Then a bundle is written for the instance the target names, or the one the brain chose
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    deploy = json.loads((out / "deploy.json").read_text())
    if shape == "capacity":
        assert payload["instance_type"] == "ml.p6-b200.48xlarge"
        assert any("ACCOUNT" in item for item in deploy["fill_in"])
    else:
        assert payload["instance_choice"].startswith("cheapest feasible instance")


def test_a_capacity_only_instance_without_a_plan_is_refused_before_anything_starts(tmp_path):
    # Given the guide's B200 target without its training plan
    target = {k: v for k, v in json.loads(GUIDE_CAPACITY_RESERVATION).items() if k != "infra_params"}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(target))
    # When it is run
    result = CliRunner().invoke(app, ["run", "--dry-run", "--targets", str(path), "--warehouse", str(tmp_path / "w")])
    # Then it is refused, naming the instance and the missing field
    assert result.exit_code == 2
    assert "ml.p6-b200.48xlarge is capacity-only" in result.output
    assert "capacity_reservation_arn" in result.output


def test_a_config_that_keeps_timing_out_gets_longer_timeouts_then_is_recorded_unfeasible(seeded):
    # Given a config whose container never passes its health check in time
    faults = parse_faults([{"match": {"model_name": "Qwen/Qwen3-0.6B"}, "stage": "deploy", "error": HEALTH_TIMEOUT}])
    multipliers, attempts, statuses = [], [], []
    with LocalRuntime(seeded, faults=faults) as runtime:
        # When it is requested in TIMEOUT_LIMIT runs, one after another
        for _ in range(TIMEOUT_LIMIT):
            outcome = runtime.run({"TARGETS": [SMALL], "MAX_COST_PER_RUN": 50})
            assert outcome.status == "SUCCEEDED", outcome.cause
            [planned] = outcome.summary["planned"]
            multipliers.append(planned["timeout_multiplier"])
            attempts.append(planned["attempt"])
            [row] = rows_for(seeded, outcome.execution_name, "status, failure_category, failure_reason, attempt")
            statuses.append(row["status"])
    # Then each retry had a longer timeout (doubling up to 8x), each attempt its number, and the last timeout,
    # the second at 8x, recorded the config unfeasible with that reason
    assert multipliers == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert attempts == [1, 2, 3, 4, 5]
    assert statuses == ["failed"] * (TIMEOUT_LIMIT - 1) + ["unfeasible"]
    assert row["failure_category"] == "timeout" and row["attempt"] == TIMEOUT_LIMIT
    assert row["failure_reason"].startswith("timed out 5 times, the last 2 at the largest timeout multiplier 8x")
    # And the brain never plans it again
    history = read_history(LocalWarehouse(seeded))
    [entry] = [
        e for e in history.configs.values() if e.unfeasible_reason and "timed out 5 times" in e.unfeasible_reason
    ]
    verdict = history_verdict(entry, datetime.now(UTC))
    assert verdict is not None and verdict.kind == "recorded_unfeasible"


def test_a_stock_out_is_proved_on_the_next_size_of_the_family_in_the_same_run(seeded):
    # Given no capacity for ml.g5.xlarge, ever
    faults = parse_faults([{"match": {"instance_type": "ml.g5.xlarge"}, "stage": "deploy", "error": NO_CAPACITY}])
    with LocalRuntime(seeded, faults=faults) as runtime:
        # When a config is planned on it
        outcome = runtime.run({"TARGETS": [SMALL], "MAX_COST_PER_RUN": 20})
        again = runtime.run({"TARGETS": [SMALL], "MAX_COST_PER_RUN": 20})
    # Then the same run proves it on ml.g5.2xlarge, as the next attempt, within the budget
    assert outcome.status == "SUCCEEDED", outcome.cause
    first, second = outcome.summary["proves"]
    assert (first["instance_type"], first["status"], first["failure_category"]) == (
        "ml.g5.xlarge",
        "failed",
        "capacity",
    )
    assert "trying ml.g5.2xlarge next in this run" in " ".join(first["notes"])
    assert (second["instance_type"], second["status"], second["substitute_of"]) == (
        "ml.g5.2xlarge",
        "completed",
        "ml.g5.xlarge",
    )
    assert (first["attempt"], second["attempt"]) == (1, 2)
    assert outcome.summary["actual_cost_usd"] <= 20
    rows = rows_for(seeded, outcome.execution_name, "instance_type, status, attempt")
    assert {(r["instance_type"], r["status"], r["attempt"]) for r in rows} == {
        ("ml.g5.xlarge", "failed", 1),
        ("ml.g5.2xlarge", "completed", 2),
    }
    # And a later run of the config counts on from there
    assert [p["attempt"] for p in again.summary["planned"]] == [3]


def test_no_substitute_when_the_budget_cannot_hold_it(seeded):
    # Given no capacity for ml.g5.xlarge and a budget that holds one prove on it, not a second on a larger size
    faults = parse_faults([{"match": {"instance_type": "ml.g5.xlarge"}, "stage": "deploy", "error": NO_CAPACITY}])
    with LocalRuntime(seeded, faults=faults) as runtime:
        planned = runtime.run({"TARGETS": [SMALL], "MAX_COST_PER_RUN": 50, "DRY_RUN": True}).summary["planned"]
        budget = planned[0]["reserved_usd"]  # exactly one prove on ml.g5.xlarge
        outcome = runtime.run({"TARGETS": [SMALL], "MAX_COST_PER_RUN": budget})
    # Then the stock-out is recorded, no substitute is tried, and the prove says why
    [only] = outcome.summary["proves"]
    assert only["failure_category"] == "capacity"
    assert any("MAX_COST_PER_RUN left" in note for note in only["notes"]), only["notes"]
    assert outcome.summary["actual_cost_usd"] <= budget


@pytest.mark.parametrize("budget", [0.5, 1.2, 3.05, 4.4, 7.0])
def test_a_runs_spend_stays_within_its_budget(seeded, budget):
    # Given a run with stock-outs and slow benchmarks injected, at a sweep of small budgets
    faults = parse_faults(
        [
            {"match": {"instance_type": "ml.g5.xlarge"}, "stage": "deploy", "error": NO_CAPACITY, "times": 2},
            {"match": {"model_family": "llama3"}, "stage": "deploy", "error": HEALTH_TIMEOUT},
        ]
    )
    with LocalRuntime(seeded, faults=faults) as runtime:
        outcome = runtime.run({"MAX_PROVES_PER_RUN": 6, "MAX_COST_PER_RUN": budget, "PARALLEL_LANES": 2})
        spent, reserved = runtime.services.ledger.totals(outcome.execution_name)
    # Then what was spent never exceeds MAX_COST_PER_RUN, and nothing stays reserved
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.summary["actual_cost_usd"] <= budget
    assert spent <= budget + 1e-6 and abs(reserved) < 1e-6


def test_a_dry_run_without_json_shows_the_plan_and_why_the_instance(tmp_path):
    # Given the guide's pre-staging example (no instance type) and the capacity one over the default budget
    targets = _targets_file(tmp_path, "json", "list")
    # When a person dry-runs it at the default $50
    result = CliRunner().invoke(
        app, ["run", "--dry-run", "--targets", str(targets), "--warehouse", str(tmp_path / "w")], catch_exceptions=False
    )
    # Then the plan table lists the prove it would run, why that instance, and what it left out and why
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Plan (dry run): 1 proves" in out and "gemma-4-31B-it" in out
    assert "cheapest feasible instance for google/gemma-4-31B-it" in out
    assert "over_budget 1" in out and "MAX_COST_PER_RUN $50.00" in out
