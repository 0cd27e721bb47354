"""Who is at fault, end to end: account and harness failures are recorded `failed`, never `unfeasible`."""

import json

from typer.testing import CliRunner

from pathprover.adapters.local.faults import parse_faults
from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.brain.feasibility import ACCOUNT_COOLDOWN, history_verdict
from pathprover.brain.history import read_history
from pathprover.cli.app import app
from pathprover.core.dimensions import DIMENSIONS
from pathprover.runtime.local import LocalRuntime
from tests.e2e.conftest import rows_for

QUOTA = (
    "An error occurred (ResourceLimitExceeded) when calling the CreateEndpoint operation: The account-level "
    "service limit 'ml.g5.xlarge for endpoint usage' is 0 Instances, with current utilization of 0 Instances and "
    "a request delta of 1 Instances. Please use AWS Service Quotas to request an increase for this quota. If AWS "
    "Service Quotas is not available, contact AWS support to request an increase for this quota."
)
ACCESS_DENIED = (
    "An error occurred (AccessDeniedException) when calling the CreateEndpoint operation: User: "
    "arn:aws:sts::111122223333:assumed-role/pathprover-advance/pathprover-advance is not authorized to perform: "
    "sagemaker:CreateEndpoint on resource: arn:aws:sagemaker:us-east-1:111122223333:endpoint/pp-1 because no "
    "identity-based policy allows the sagemaker:CreateEndpoint action"
)
SCP_DENY = (
    "An error occurred (AccessDeniedException) when calling the CreateEndpointConfig operation: User: "
    "arn:aws:sts::111122223333:assumed-role/pathprover-advance/pathprover-advance is not authorized to perform: "
    "sagemaker:CreateEndpointConfig on resource: arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/pp-1 "
    "with an explicit deny in a service control policy"
)
MISSING_RUNNER = (
    "Phase PROVISIONING FAILED: CLIENT_ERROR: CannotPullContainerError: Error response from daemon: manifest for "
    "111122223333.dkr.ecr.us-east-1.amazonaws.com/pathprover-benchmark:runner not found: manifest unknown: "
    "Requested image not found"
)
GONE = (
    "Endpoint arn:aws:sagemaker:us-east-1:111122223333:endpoint/pp-1 no longer exists: it was deleted while "
    "the prove was waiting for it"
)
HUB_401 = (
    "The primary container for production variant AllTraffic did not pass the ping health check.\n"
    "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: "
    "https://huggingface.co/meta-llama/Llama-3.2-3B-Instruct/resolve/main/config.json"
)
UNSUPPORTED = (
    "An error occurred (ValidationException) when calling the CreateEndpointConfig operation: The instance type "
    "ml.g5.xlarge is not supported for asynchronous inference in this region."
)
OOM = (
    "The primary container for production variant AllTraffic did not pass the ping health check. "
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
    "22.06 GiB of which 1.02 GiB is free."
)

# model -> (target overrides, stage, text, status, scope); the overrides keep the seven configs distinct
CASES = {
    "Qwen/Qwen3-0.6B": ({}, "deploy", QUOTA, "failed", "account"),
    "Qwen/Qwen3-1.7B": ({"deployment_config": "transformers-sglang"}, "deploy", ACCESS_DENIED, "failed", "account"),
    "Qwen/Qwen3-4B": ({"instance_type": "ml.g6.xlarge"}, "deploy", SCP_DENY, "failed", "account"),
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": ({}, "benchmark", MISSING_RUNNER, "failed", "harness"),
    "google/gemma-3-1b-it": ({}, "deploy", GONE, "failed", "harness"),
    "google/gemma-3-4b-it": ({"deployment_target": "async-inference"}, "deploy", UNSUPPORTED, "unfeasible", "config"),
    "meta-llama/Llama-3.2-1B-Instruct": ({}, "deploy", OOM, "unfeasible", "config"),
    "meta-llama/Llama-3.2-3B-Instruct": ({"instance_type": "ml.g6.xlarge"}, "deploy", HUB_401, "failed", "account"),
}


def _targets(cases: dict) -> list[dict]:
    return [{"model_name": m, "instance_type": "ml.g5.xlarge", "tp_degree": 1, **case[0]} for m, case in cases.items()]


def _faults(cases: dict):
    return parse_faults(
        [{"match": {"model_name": m}, "stage": case[1], "error": case[2]} for m, case in cases.items()], "faults"
    )


def test_account_and_harness_failures_are_failed_and_config_failures_unfeasible(seeded):
    # Given eight explicit targets, each failing with a real error text whose fault is the account's,
    # the harness's or the configuration's
    # When they are proved
    with LocalRuntime(seeded, faults=_faults(CASES)) as runtime:
        outcome = runtime.run({"TARGETS": _targets(CASES), "MAX_COST_PER_RUN": 200, "PARALLEL_LANES": 3})
        alive = runtime.fleet.alive({})
    summary = outcome.summary
    rows = rows_for(
        seeded, outcome.execution_name, "model_name, status, failure_category, failure_scope, failure_reason"
    )
    # Then each prove wrote exactly one row, with the status and scope of who is at fault
    assert sorted(r["model_name"] for r in rows) == sorted(CASES)
    for row in rows:
        _, _, _, status, scope = CASES[row["model_name"]]
        assert (row["status"], row["failure_scope"]) == (status, scope), row
        assert row["failure_reason"]
    # And no account or harness failure is unfeasible
    assert all(r["status"] == "failed" for r in rows if r["failure_scope"] != "config")
    # And the run summary names the limit to raise and the permission to grant...
    actions = " ".join(summary["account_actions"])
    assert "ml.g5.xlarge for endpoint usage" in actions
    assert "sagemaker:CreateEndpoint" in actions and "sagemaker:CreateEndpointConfig" in actions
    # ...reports the harness failures as errors, so the execution fails (and its alarm fires)...
    assert outcome.status == "FAILED"
    assert any("harness failure" in e and "manifest unknown" in e for e in summary["errors"])
    assert any("harness failure" in e and "no longer exists" in e for e in summary["errors"])
    # ...and leaves nothing alive
    assert summary["leaked_resources"] == [] and alive == []


def test_the_brain_holds_back_account_failures_and_ignores_harness_failures(seeded):
    # Given a quota failure and a harness failure recorded for two explicit targets
    # (configs the starter table has not proven, so they are gaps the planner would otherwise pick)
    gap = {"deployment_config": "transformers-sglang", "deployment_target": "async-inference"}
    cases = {m: (gap, *CASES[m][1:]) for m in ("Qwen/Qwen3-0.6B", "google/gemma-3-1b-it")}
    with LocalRuntime(seeded, faults=_faults(cases)) as runtime:
        outcome = runtime.run({"TARGETS": _targets(cases), "MAX_COST_PER_RUN": 100})
        now = runtime.services.clock.now()
    keys = {p["model_name"]: tuple(p["dimensions"][d] for d in DIMENSIONS) for p in outcome.summary["proves"]}
    # When the brain reads the table
    history = read_history(LocalWarehouse(seeded))
    quota, gone = history.configs[keys["Qwen/Qwen3-0.6B"]], history.configs[keys["google/gemma-3-1b-it"]]
    # Then the account failure holds its config back for the cooldown, naming the limit...
    verdict = history_verdict(quota, now)
    assert verdict is not None and verdict.kind == "account_cooldown"
    assert "ml.g5.xlarge for endpoint usage" in verdict.reason
    assert history_verdict(quota, now + ACCOUNT_COOLDOWN) is None
    # ...and the harness failure counts for nothing: no failure, no cooldown, no retry budget used
    assert history_verdict(gone, now) is None and gone.failures == {} and gone.attempts == 0
    # And the gap search the planner uses agrees: the quota's config is held back, the other is a gap
    ids = {p["model_name"]: p["config_id"] for p in outcome.summary["proves"]}
    result = CliRunner().invoke(app, ["gaps", "--warehouse", str(seeded), "--limit", "100000", "--json"])
    gaps = {g["config_id"]: g for g in json.loads(result.stdout)["gaps"]}
    assert gaps[ids["Qwen/Qwen3-0.6B"]]["kind"] == "account_cooldown"
    assert gaps[ids["google/gemma-3-1b-it"]]["feasible"] is True
