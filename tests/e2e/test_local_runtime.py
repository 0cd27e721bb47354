"""The local runtime end to end: the ASL file on moto's interpreter, the real handlers, the simulated fleet."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pathprover.adapters.local.faults import parse_faults
from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.catalog import load_catalog
from pathprover.reports import REPORTS
from pathprover.runtime.local import LocalRuntime
from tests.e2e.conftest import rows_for

REPO = Path(__file__).resolve().parents[2]

OOM = (
    "The primary container for production variant AllTraffic did not pass the ping health check. CloudWatch: "
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
    "22.06 GiB of which 1.02 GiB is free."
)
CAPACITY = (
    "An error occurred (InsufficientCapacityError) when calling the CreateEndpoint operation: We currently do not "
    "have sufficient capacity for ml.g5.xlarge in the region you requested."
)
BUG = "Traceback (most recent call last):\n  File \"/opt/serve.py\", line 88, in invocations\nKeyError: 'prompt'"
TIMEOUT = "benchmark exceeded its timeout: the load generator did not finish within 40 minutes (Build timed out)"
LORA = "ValueError: LoRA is not supported for model architecture MistralForCausalLM: target modules not found"


def target(model: str, instance: str, **extra):
    return {"model_name": model, "instance_type": instance, "tp_degree": 1, **extra}


def test_a_coverage_run_proves_records_and_leaves_nothing_alive(seeded):
    # Given the starter table / When a run proves 3 gaps in 2 lanes
    with LocalRuntime(seeded) as runtime:
        outcome = runtime.run({"MAX_PROVES_PER_RUN": 3, "MAX_COST_PER_RUN": 25, "PARALLEL_LANES": 2})
        alive = runtime.fleet.alive({})
    summary = outcome.summary
    # Then all three are proved, within budget, with nothing left alive
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert len(summary["proved"]) == 3 and not summary["errors"]
    assert summary["leaked_resources"] == [] and alive == []
    assert summary["actual_cost_usd"] <= 25 and summary["simulated"] is True
    # And each proved config has one completed path_prove row, its three levels in benchmark_levels
    rows = rows_for(seeded, outcome.execution_name)
    assert sorted(r["config_id"] for r in rows) == sorted(summary["proved"])
    assert [r["levels_benchmarked"] for r in rows] == [3, 3, 3]
    warehouse = LocalWarehouse(seeded)
    levels = warehouse.query(
        "SELECT l.concurrency FROM mlcc_ci.benchmark_levels l JOIN mlcc_ci.benchmark_results r "
        f"USING (record_id) WHERE r.execution_id = '{outcome.execution_name}'"
    )
    assert sorted(row[0] for row in levels.rows) == [1, 1, 1, 4, 4, 4, 8, 8, 8]
    # And the guide's queries count the three proves and their configs, not their levels
    recent = warehouse.query(REPORTS["recent"])
    assert {r[4] for r in recent.rows} == {"completed"} and len(recent.rows) == 3
    assert {r[0] for r in recent.rows} == set(summary["proved"])
    before = 17  # the starter table's proven configs, one CI row each
    assert sum(r[2] for r in warehouse.query(REPORTS["coverage"]).rows) == before + 3
    for prove in summary["proves"]:
        assert prove["transitions"] == prove["transitions_computed"], "measured transitions match the model"
        assert not prove["tuned"] and "tune" not in {s["stage"] for s in prove["stages"]}


def test_injected_faults_give_one_record_each_with_the_right_category(seeded, tmp_path):
    # Given five explicit targets and real error texts injected at deploy, test, benchmark and tune
    targets = [
        target("Qwen/Qwen3-0.6B", "ml.g5.xlarge"),
        target("meta-llama/Llama-3.2-1B-Instruct", "ml.g5.xlarge"),
        target("google/gemma-3-1b-it", "ml.g5.xlarge"),
        target("Qwen/Qwen3-1.7B", "ml.g5.xlarge", deployment_config="transformers-sglang"),
        target(
            "mistralai/Mistral-7B-Instruct-v0.3",
            "ml.g5.2xlarge",
            stages=["generate", "build", "deploy", "test", "tune", "benchmark", "clean"],
        ),
    ]
    faults = parse_faults(
        [
            {
                "match": {"model_family": "qwen3", "deployment_config": "transformers-vllm"},
                "stage": "deploy",
                "error": OOM,
            },
            {"match": {"model_family": "llama3"}, "stage": "deploy", "error": CAPACITY},
            {"match": {"model_family": "gemma"}, "stage": "test", "error": BUG},
            {
                "match": {"model_family": "qwen3", "deployment_config": "transformers-sglang"},
                "stage": "benchmark",
                "error": TIMEOUT,
            },
            {"match": {"model_family": "mistral"}, "stage": "tune", "error": LORA},
        ],
        "faults",
    )
    # When they are proved
    with LocalRuntime(seeded, faults=faults) as runtime:
        outcome = runtime.run({"TARGETS": targets, "MAX_COST_PER_RUN": 200, "PARALLEL_LANES": 3})
        alive = runtime.fleet.alive({})
    summary = outcome.summary
    assert outcome.status == "SUCCEEDED", outcome.cause
    expected = {
        "qwen3/transformers-vllm": ("unfeasible", "oom", "deploy"),
        "llama3/transformers-vllm": ("failed", "capacity", "deploy"),
        "gemma/transformers-vllm": ("unfeasible", "code_bug", "test"),
        "qwen3/transformers-sglang": ("failed", "timeout", "benchmark"),
        "mistral/transformers-vllm": ("unfeasible", "model_incompatibility", "tune"),
    }
    got = {f"{p['dimensions']['model_family']}/{p['dimensions']['deployment_config']}": p for p in summary["proves"]}
    rows = rows_for(seeded, outcome.execution_name)
    for key, (status, category, stage) in expected.items():
        prove = got[key]
        assert (prove["status"], prove["failure_category"], prove["failure_stage"]) == (status, category, stage), key
        # Then exactly one record per failing prove, with the same verdict
        mine = [r for r in rows if r["config_id"] == prove["config_id"]]
        # (a stock-out is tried once more on the next size of the family: a record for each instance tried)
        assert len(mine) == (2 if category == "capacity" else 1), key
        assert (mine[0]["status"], mine[0]["failure_category"], mine[0]["failure_stage"]) == (status, category, stage)
        assert mine[0]["failure_reason"]
    assert got["mistral/transformers-vllm"]["tuned"] is True
    # And nothing is left alive: endpoints, models, configs and jobs were all cleaned
    assert summary["leaked_resources"] == [] and alive == []


def test_budget_is_never_exceeded_under_lanes(seeded):
    # Given a small budget and three lanes competing for it
    with LocalRuntime(seeded) as runtime:
        outcome = runtime.run({"MAX_PROVES_PER_RUN": 10, "MAX_COST_PER_RUN": 4, "PARALLEL_LANES": 3})
        spent, reserved = runtime.services.ledger.totals(outcome.execution_name)
    summary = outcome.summary
    # Then actual spend (and anything still reserved) stays within MAX_COST_PER_RUN
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert summary["actual_cost_usd"] <= 4 and spent + reserved <= 4 + 1e-6 and reserved == 0
    assert sum(p["estimated_cost_usd"] for p in summary["proves"] if p["status"] != "skipped") <= 4


def test_an_invalid_input_fails_in_the_first_state_and_creates_nothing(seeded):
    with LocalRuntime(seeded) as runtime:
        outcome = runtime.run({"MAX_PROVES_PER_RUN": "lots", "MAX_COSTS": 5})
        alive = runtime.fleet.alive({})
    assert outcome.status == "FAILED"
    assert "MAX_PROVES_PER_RUN" in (outcome.cause or "") and "MAX_COSTS" in (outcome.cause or "")
    assert rows_for(seeded, outcome.execution_name) == [] and alive == []


def test_dry_run_only_plans(seeded):
    with LocalRuntime(seeded) as runtime:
        outcome = runtime.run({"MAX_PROVES_PER_RUN": 4, "DRY_RUN": True})
    assert outcome.status == "SUCCEEDED"
    assert len(outcome.summary["planned"]) == 4 and outcome.summary["proves"] == []
    assert rows_for(seeded, outcome.execution_name) == []


def test_keep_on_failure_keeps_resources_and_says_so(seeded):
    faults = parse_faults([{"match": {"model_family": "gemma"}, "stage": "test", "error": BUG}], "faults")
    with LocalRuntime(seeded, faults=faults) as runtime:
        outcome = runtime.run({"TARGETS": [target("google/gemma-3-1b-it", "ml.g5.xlarge")], "KEEP_ON_FAILURE": True})
        alive = runtime.fleet.alive({})
    prove = outcome.summary["proves"][0]
    assert prove["status"] == "unfeasible" and prove["kept_resources"]
    assert alive, "resources were kept for post-mortem"
    row = rows_for(seeded, outcome.execution_name)[0]
    assert "post-mortem" in (row["notes"] or "")


def test_an_inference_prove_stays_within_60_transitions(tmp_path, seeded):
    # Given a catalog whose timings are 12 min build, 10 min deploy, 20 min benchmark
    catalog_dir = tmp_path / "catalog"
    catalog_dir.mkdir()
    for source in (REPO / "catalog").glob("*.yaml"):
        data = yaml.safe_load(source.read_text())
        if source.name == "search_space.yaml":
            timing = data["timing"]
            for stage, minutes in (("build", 12), ("deploy", 10), ("benchmark", 20)):
                timing[f"{stage}_minutes_base"] = minutes
                timing[f"{stage}_minutes_per_10b_params"] = 0
        (catalog_dir / source.name).write_text(yaml.safe_dump(data, sort_keys=False))
    catalog = load_catalog(catalog_dir)
    # When one inference prove runs
    with LocalRuntime(seeded, catalog=catalog) as runtime:
        outcome = runtime.run({"TARGETS": [target("Qwen/Qwen3-0.6B", "ml.g5.xlarge")]})
    prove = outcome.summary["proves"][0]
    # Then it takes no more than 60 state transitions, as counted by the interpreter
    assert prove["status"] == "completed"
    assert prove["transitions"] <= 60, prove
    assert prove["transitions"] == prove["transitions_computed"]


def test_two_runs_at_once_never_prove_one_config_twice(seeded):
    # Given two `pathprover run` processes started together on the same warehouse (same plan)
    command = [
        str(Path(sys.executable).with_name("pathprover")),
        "run",
        "--warehouse",
        str(seeded),
        "--max-proves",
        "4",
        "--max-cost",
        "50",
        "--lanes",
        "2",
        "--json",
    ]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out))
    # Then no config is proved by both, and the table has each proved config from one execution only
    proved = [set(r["proved"]) for r in results]
    assert not proved[0] & proved[1]
    assert proved[0] | proved[1]
    table = LocalWarehouse(seeded).query(
        "SELECT config_id, COUNT(DISTINCT execution_id) FROM mlcc_ci.benchmark_results "
        "WHERE run_type = 'path_prove' AND status = 'completed' "
        "GROUP BY config_id HAVING COUNT(DISTINCT execution_id) > 1"
    )
    assert table.rows == []
    skipped = {s for r in results for s in r["skipped"]}
    assert skipped, "the second run saw the configs the first had taken"


@pytest.mark.parametrize("bad", ["stage: deploy\n", "- match: {gpu: a10g}\n  stage: deploy\n  error: x\n"])
def test_bad_fault_files_are_refused_by_the_cli(seeded, tmp_path, bad):
    path = tmp_path / "faults.yaml"
    path.write_text(bad)
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("pathprover")), "run", "--warehouse", str(seeded), "--faults", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "faults.yaml" in proc.stderr


def test_a_lane_whose_settle_fails_does_not_stop_the_others(seeded, monkeypatch):
    # Given a ledger whose settle fails (not transiently) for the first prove that settles
    from pathprover.adapters.local.ledger import SqliteLedger

    original = SqliteLedger.settle
    calls = {"n": 0}

    def flaky(self, execution_id, config_id, actual_usd):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("ledger unreachable")
        return original(self, execution_id, config_id, actual_usd)

    monkeypatch.setattr(SqliteLedger, "settle", flaky)
    with LocalRuntime(seeded) as runtime:
        outcome = runtime.run({"MAX_PROVES_PER_RUN": 4, "MAX_COST_PER_RUN": 40, "PARALLEL_LANES": 2})
        alive = runtime.fleet.alive({})
    summary = outcome.summary
    # Then the run reports the error, but every other prove finished and nothing is left alive
    assert outcome.status == "FAILED" and summary["has_errors"]
    statuses = sorted(p["status"] for p in summary["proves"])
    assert statuses == ["completed", "completed", "completed", "error"]
    assert alive == [] and summary["leaked_resources"] == []


def test_duplicate_targets_are_proved_once_and_odd_execution_names_work(seeded):
    targets = [target("Qwen/Qwen3-8B", "ml.g5.2xlarge"), target("Qwen/Qwen3-14B", "ml.g5.2xlarge")]
    with LocalRuntime(seeded) as runtime:
        arn = runtime.start({"TARGETS": targets}, name="nightly-o'brien")
        described = runtime.wait(arn)
    summary = json.loads(described["output"])
    assert described["status"] == "SUCCEEDED"
    assert len(summary["proves"]) == 1 and summary["excluded_counts"] == {"duplicate": 1}


def test_a_clean_up_error_after_the_record_is_reported_not_recorded(seeded):
    faults = parse_faults(
        [{"match": {"model_family": "gemma"}, "stage": "clean", "error": "ThrottlingException"}], "faults"
    )
    with LocalRuntime(seeded, faults=faults) as runtime:
        outcome = runtime.run({"TARGETS": [target("google/gemma-3-1b-it", "ml.g5.xlarge")]})
    prove = outcome.summary["proves"][0]
    assert prove["status"] == "completed"
    assert outcome.status == "FAILED" and outcome.summary["leaked_resources"], "the leak is reported"
    rows = rows_for(seeded, outcome.execution_name)
    assert {r["status"] for r in rows} == {"completed"} and len(rows) == 1
