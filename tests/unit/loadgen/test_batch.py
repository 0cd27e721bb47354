"""What an async or batch benchmark can and cannot measure: whole answers, billed time, the plan's refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pathprover.adapters.local.artifacts import LocalArtifactStore
from pathprover.catalog import default_catalog
from pathprover.core.targets import ValidationTarget, to_run_config
from pathprover.loadgen.batch import BatchInputMismatch, analyse, batch_input, batch_workload
from pathprover.loadgen.job import BenchmarkJobError, run_benchmark_job
from pathprover.loadgen.runner import to_sample
from pathprover.loadgen.transports import Exchange, decode_whole
from pathprover.loadgen.workload import Workload
from pathprover.stages.batch_input import batch_input_problem
from pathprover.stages.lifecycle import stage_plan

WORKLOAD = batch_workload(Workload(seed=3, input_tokens=20, output_tokens=5, requests=4))
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _answer(tokens: int, text: str = " a b") -> bytes:
    return json.dumps({"choices": [{"text": text}], "usage": {"completion_tokens": tokens}}).encode()


def test_a_whole_answer_counts_its_tokens_from_usage_and_never_dates_a_first_token():
    assert decode_whole(_answer(7)).output_tokens == 7
    assert (
        decode_whole(json.dumps({"generated_text": "x", "details": {"generated_tokens": 3}}).encode()).output_tokens
        == 3
    )
    # an answer without a count is an error, not a guess from its words
    assert "completion token count" in (decode_whole(b'{"choices": [{"text": "a b c"}]}').error or "")
    assert decode_whole(b'{"error": {"message": "CUDA OOM"}}').error == "CUDA OOM"
    # an async exchange: ok, timed end to end, no TTFT / ITL / TPOT
    sample = to_sample(0, Exchange(1_000, 51_000_000, 200, [51_000_000], [_answer(5)], sent_ns=1_000, streamed=False))
    assert sample.ok and sample.output_tokens == 5 and sample.e2e_ms == pytest.approx(50.999)
    assert sample.ttft_ms is None and sample.itl_ms == [] and sample.tpot_ms is None


def test_a_batch_level_is_priced_from_the_jobs_billed_time_and_has_no_latency():
    # Given the workload's input and an output where the third record has no answer
    inputs = batch_input(WORKLOAD, "m")
    output = b"\n".join([_answer(5), _answer(5), b'{"error": "bad"}', _answer(5)]) + b"\n"
    # When a 100-second job on 2 instances at $3.60/h is analysed
    result = analyse(
        inputs,
        output,
        WORKLOAD,
        "m",
        started=START,
        ended=START + timedelta(seconds=100),
        instance_count=2,
        price_per_hour=3.6,
    )
    level = result.level
    # Then tokens/s and $/1M tokens come from the billed time x instances x price
    assert level.requests == 4 and level.errors == 1 and level.total_output_tokens == 15
    assert level.output_token_throughput_tps == pytest.approx(15 / 100)
    assert level.cost_per_1m_tokens == pytest.approx(100 * 2 * 3.6 / 3600 / 15 * 1e6)
    assert level.e2e_latency_p50_ms is None and level.ttft_p50_ms is None and level.duration_s == 100
    assert all(s.e2e_ms is None for s in result.samples)


def test_a_batch_input_that_is_not_the_workloads_is_refused():
    other = batch_input(batch_workload(Workload(seed=4, input_tokens=20, output_tokens=5, requests=4)), "m")
    with pytest.raises(BatchInputMismatch):
        analyse(
            other, b"", WORKLOAD, "m", started=START, ended=START + timedelta(1), instance_count=1, price_per_hour=1
        )


def test_the_batch_job_writes_the_same_metrics_manifest_and_samples_as_realtime(tmp_path: Path):
    # Given a finished transform job's input and output in the store
    store = LocalArtifactStore(tmp_path, s3_bucket="pp-bench")
    inputs = store.put_bytes("io/bt/input/benchmark.jsonl", batch_input(WORKLOAD, "m"))
    output = store.put_bytes("io/bt/output/benchmark.jsonl.out", b"\n".join([_answer(5)] * 4))
    env = {
        "BENCHMARK_MODE": "batch", "MODEL_NAME": "m", "RESULTS_URI": "s3://pp-bench/benchmarks/x/", "SEED": "3",
        "INPUT_TOKENS": "20", "OUTPUT_TOKENS": "5", "REQUESTS": "4", "CONCURRENCY": "1,4,8",
        "PRICE_PER_HOUR": "1.8", "BATCH_INPUT_URI": inputs, "TRANSFORM_OUTPUT_URI": output,
        "TRANSFORM_START": START.isoformat(), "TRANSFORM_END": (START + timedelta(seconds=40)).isoformat(),
    }  # fmt: skip
    # When the benchmark job runs in batch mode
    summary = run_benchmark_job(env, store)
    # Then metrics.json has one level (the job), with the mode, beside the manifest and the samples
    (level,) = summary["levels"]
    assert level["mode"] == "batch" and level["concurrency"] == 1 and level["output_token_throughput_tps"] == 0.5
    assert json.loads(store.get_bytes("s3://pp-bench/benchmarks/x/metrics.json"))["levels"] == summary["levels"]
    manifest = json.loads(store.get_bytes("s3://pp-bench/benchmarks/x/manifest.json"))
    assert manifest["run_config"]["billed_seconds"] == 40 and manifest["workload"]["streaming"] is False
    rows = duckdb.sql(
        f"SELECT ok, output_tokens, e2e_latency_ms FROM '{store.path_of('s3://pp-bench/benchmarks/x/samples.parquet')}'"
    )
    assert rows.fetchall() == [(True, 5, None)] * 4
    # And a job without its transform times is refused
    with pytest.raises(BenchmarkJobError, match="TRANSFORM_END"):
        run_benchmark_job({**env, "TRANSFORM_END": ""}, store)


def _run(target: str, **benchmark):
    target_model = ValidationTarget(
        model_name="Qwen/Qwen3-4B", instance_type="ml.g6.xlarge", deployment_target=target, benchmark=benchmark or None
    )
    return to_run_config(target_model, default_catalog())


@pytest.mark.parametrize("target", ["realtime-inference", "async-inference", "batch-transform"])
def test_every_target_is_benchmarked(target):
    plan = stage_plan(_run(target))
    assert plan.index("test") < plan.index("benchmark") < plan.index("register")


def test_a_batch_target_whose_records_cannot_fit_the_served_context_cannot_generate_its_input():
    catalog = default_catalog()
    assert batch_input_problem(_run("batch-transform"), catalog) is None
    too_long = _run("batch-transform", input_tokens=32000, output_tokens=1024)
    assert "33024 tokens" in (batch_input_problem(too_long, catalog) or "")
    # the same workload is no batch input problem for an endpoint (it streams request by request)
    assert batch_input_problem(_run("async-inference", input_tokens=32000, output_tokens=1024), catalog) is None


def test_an_async_job_refuses_an_input_prefix_outside_its_results_bucket(tmp_path: Path):
    store = LocalArtifactStore(tmp_path, s3_bucket="pp-bench")
    env = {
        "BENCHMARK_MODE": "async", "MODEL_NAME": "m", "RESULTS_URI": "s3://pp-bench/benchmarks/x/",
        "ENDPOINT_NAME": "pp-ep", "ASYNC_INPUT_URI": "s3://elsewhere/io/pp-ep/async-input/",
    }  # fmt: skip
    with pytest.raises(BenchmarkJobError, match="bucket of RESULTS_URI"):
        run_benchmark_job(env, store)
    with pytest.raises(BenchmarkJobError, match="BENCHMARK_MODE"):
        run_benchmark_job({**env, "BENCHMARK_MODE": "sync"}, store)
