#!/usr/bin/env bash
# The main job on the embedded default (no AWS account): the state machine on moto's interpreter with the
# real handlers, a local Parquet warehouse queried with DuckDB, and a simulated GPU fleet.
set -euo pipefail
cd "$(dirname "$0")/.."
pp=".venv/bin/pathprover"
export PATHPROVER_WAREHOUSE="${PATHPROVER_WAREHOUSE:-.pathprover/warehouse}"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }

step "Seed a starter table of proven CI rows" "pathprover seed"
$pp seed

step "Coverage gaps, most proven neighbours first" "pathprover gaps --limit 10"
$pp gaps --limit 10

step "The plan within the guide's default budget" "pathprover plan --max-proves 10 --max-cost 50"
$pp plan --max-proves 10 --max-cost 50

step "A full coverage run: the state machine proves the plan on the simulated fleet, 4 lanes, with two injected faults" \
  "pathprover run --max-proves 10 --max-cost 50 --lanes 4 --faults examples/faults.yaml"
$pp run --max-proves 10 --max-cost 50 --lanes 4 --faults examples/faults.yaml

step "The guide's substitution example" \
  "pathprover nearest --deployment-config sglang --deployment-target async-inference --model-name Qwen/Qwen3-8B --instance-type ml.g5.xlarge --quantization fp16 --tp-degree 1"
$pp nearest --deployment-config sglang --deployment-target async-inference --model-name Qwen/Qwen3-8B \
  --instance-type ml.g5.xlarge --quantization fp16 --tp-degree 1

step "Classify a failure" "pathprover classify '...health check... torch.OutOfMemoryError: CUDA out of memory...'"
$pp classify "The primary container for production variant AllTraffic did not pass the ping health check. \
CloudWatch: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB" --stage deploy

step "Classify an account failure: recorded failed (never unfeasible), with the quota to raise" \
  "pathprover classify --stage deploy --origin api '...(ResourceLimitExceeded)... service limit ... is 0 Instances'"
$pp classify "An error occurred (ResourceLimitExceeded) when calling the CreateEndpoint operation: The account-level \
service limit 'ml.g5.xlarge for endpoint usage' is 0 Instances, with current utilization of 0 Instances and a request \
delta of 1 Instances." --stage deploy --origin api

step "Report: coverage summary (the guide's query)" "pathprover report coverage"
$pp report coverage
step "Report: unfeasible configs (the guide's query)" "pathprover report unfeasible"
$pp report unfeasible
step "Report: recent path_prove runs (the guide's query)" "pathprover report recent"
$pp report recent

report_dir="$(dirname "$PATHPROVER_WAREHOUSE")/report"
step "Report: the HTML report (coverage heatmap, Pareto charts, failures, drill-down; works offline)" \
  "pathprover report html --out $report_dir"
$pp report html --out "$report_dir"

printf '\nThe table is Parquet under %s; query it with `pathprover sql "<Athena SQL>"`.\n' "$PATHPROVER_WAREHOUSE"
