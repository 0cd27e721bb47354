"""A realistic starter table of proven CI rows, so a new user sees gaps, plans and substitutions.

Deterministic: the same rows (and record ids) every time, timestamps relative
to `now`, so seeding twice adds nothing. One `benchmark_results` row per run,
with its concurrency levels in `benchmark_levels`; the ids are those the
older layout (a row per level) reads as, so seeding a warehouse seeded before
adds nothing either.

The rows are synthetic (metrics drawn from a seeded random generator, not measured), so they carry
`simulated = true`, like every row the local runtime writes.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from pathprover.core.dimensions import ConfigVector, config_id_of
from pathprover.core.records import BenchmarkRecord, LevelRecord, headline, level_records, record_id_of

# (deployment_config, model_family, instance_family, quantization, tp, target, model, instance, days_ago)
_COMPLETED: list[tuple[str, str, str, str, int, str, str, str, float]] = [
    # The guide's substitution example: vLLM async is the most recent, then SGLang realtime, then vLLM realtime.
    (
        "transformers-vllm",
        "qwen3",
        "g5",
        "none",
        1,
        "realtime-inference",
        "Qwen/Qwen3-8B",
        "ml.g5.xlarge",
        20,
    ),
    (
        "transformers-sglang",
        "qwen3",
        "g5",
        "none",
        1,
        "realtime-inference",
        "Qwen/Qwen3-8B",
        "ml.g5.xlarge",
        9,
    ),
    ("transformers-vllm", "qwen3", "g5", "none", 1, "async-inference", "Qwen/Qwen3-8B", "ml.g5.xlarge", 3),
    (
        "transformers-vllm",
        "qwen3",
        "g5",
        "awq",
        1,
        "realtime-inference",
        "Qwen/Qwen3-14B",
        "ml.g5.xlarge",
        15,
    ),
    (
        "transformers-vllm",
        "qwen3",
        "g6e",
        "fp8",
        1,
        "realtime-inference",
        "Qwen/Qwen3-32B",
        "ml.g6e.xlarge",
        6,
    ),
    (
        "transformers-vllm",
        "qwen3",
        "g5",
        "none",
        4,
        "realtime-inference",
        "Qwen/Qwen3-32B",
        "ml.g5.12xlarge",
        12,
    ),
    (
        "transformers-vllm",
        "llama3",
        "g5",
        "none",
        1,
        "realtime-inference",
        "meta-llama/Llama-3.1-8B-Instruct",
        "ml.g5.2xlarge",
        25,
    ),
    (
        "transformers-vllm",
        "llama3",
        "g6e",
        "none",
        4,
        "realtime-inference",
        "meta-llama/Llama-3.1-70B-Instruct",
        "ml.g6e.12xlarge",
        11,
    ),
    (
        "transformers-vllm",
        "llama3",
        "p4d",
        "none",
        8,
        "realtime-inference",
        "meta-llama/Llama-3.1-70B-Instruct",
        "ml.p4d.24xlarge",
        30,
    ),
    (
        "tensorrt-llm",
        "llama3",
        "g6e",
        "fp8",
        1,
        "realtime-inference",
        "meta-llama/Llama-3.1-8B-Instruct",
        "ml.g6e.xlarge",
        8,
    ),
    (
        "transformers-sglang",
        "llama3",
        "g5",
        "none",
        1,
        "async-inference",
        "meta-llama/Llama-3.1-8B-Instruct",
        "ml.g5.2xlarge",
        5,
    ),
    (
        "transformers-vllm",
        "deepseek-r1",
        "g5",
        "none",
        1,
        "realtime-inference",
        "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        "ml.g5.2xlarge",
        14,
    ),
    (
        "transformers-vllm",
        "deepseek-r1",
        "g6e",
        "none",
        4,
        "realtime-inference",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
        "ml.g6e.12xlarge",
        4,
    ),
    (
        "transformers-vllm",
        "mistral",
        "g5",
        "none",
        1,
        "realtime-inference",
        "mistralai/Mistral-7B-Instruct-v0.3",
        "ml.g5.xlarge",
        18,
    ),
    (
        "http-flask",
        "mistral",
        "g5",
        "none",
        1,
        "batch-transform",
        "mistralai/Mistral-7B-Instruct-v0.3",
        "ml.g5.2xlarge",
        22,
    ),
    (
        "transformers-vllm",
        "gemma",
        "g6",
        "none",
        1,
        "realtime-inference",
        "google/gemma-3-4b-it",
        "ml.g6.xlarge",
        7,
    ),
    (
        "transformers-vllm",
        "gpt-oss",
        "p5",
        "none",
        1,
        "realtime-inference",
        "openai/gpt-oss-120b",
        "ml.p5.48xlarge",
        10,
    ),
]

_UNFEASIBLE: list[tuple[str, str, str, str, int, str, str, str, float, str, str]] = [
    (
        "transformers-vllm",
        "llama3",
        "g5",
        "none",
        2,
        "realtime-inference",
        "meta-llama/Llama-3.1-70B-Instruct",
        "ml.g5.12xlarge",
        16,
        "oom",
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.75 GiB. GPU 0 has a total capacity of "
        "22.06 GiB of which 1.02 GiB is free.",
    ),
]

_CONCURRENCY = (1, 4, 8)


def _metrics(rng: random.Random, params_b: float, concurrency: int, price: float) -> dict[str, Any]:
    ttft = 40 + params_b * 6 + concurrency * rng.uniform(4, 9)
    itl = 8 + params_b * 0.9 + concurrency * rng.uniform(0.3, 0.8)
    output_tokens = 128
    e2e = ttft + itl * (output_tokens - 1)
    rps = concurrency / (e2e / 1000)
    tps = rps * output_tokens
    return {
        "input_tokens_mean": 512.0,
        "output_tokens_mean": float(output_tokens),
        "ttft_avg_ms": round(ttft * 1.05, 2),
        "ttft_p50_ms": round(ttft, 2),
        "ttft_p90_ms": round(ttft * 1.3, 2),
        "ttft_p99_ms": round(ttft * 1.6, 2),
        "itl_avg_ms": round(itl * 1.02, 3),
        "itl_p50_ms": round(itl, 3),
        "itl_p90_ms": round(itl * 1.15, 3),
        "itl_p99_ms": round(itl * 1.4, 3),
        "tpot_avg_ms": round(itl * 1.02, 3),
        "tpot_p50_ms": round(itl, 3),
        "tpot_p90_ms": round(itl * 1.12, 3),
        "tpot_p99_ms": round(itl * 1.3, 3),
        "e2e_latency_avg_ms": round(e2e * 1.03, 1),
        "e2e_latency_p50_ms": round(e2e, 1),
        "e2e_latency_p90_ms": round(e2e * 1.2, 1),
        "e2e_latency_p99_ms": round(e2e * 1.4, 1),
        "request_throughput_rps": round(rps, 3),
        "output_token_throughput_tps": round(tps, 1),
        "error_rate": 0.0,
        "cost_per_1m_tokens": round(price / (tps * 3600) * 1e6, 2),
    }


def seed_records(
    now: datetime, prices: dict[str, float], params: dict[str, float]
) -> tuple[list[BenchmarkRecord], list[LevelRecord]]:
    """CI rows: one per proven config with its levels, plus recorded failures."""
    rng = random.Random(20261123)
    rows: list[BenchmarkRecord] = []
    levels: list[LevelRecord] = []
    for n, (dc, mf, inf, q, tp, tgt, model, instance, days) in enumerate(_COMPLETED):
        vector = ConfigVector(
            deployment_config=dc,
            model_family=mf,
            instance_family=inf,
            quantization=q,
            tp_degree=tp,
            deployment_target=tgt,
        )
        cid = config_id_of(vector.as_dict())
        execution = f"seed-ci-{n:03d}"
        row = BenchmarkRecord(
            record_id=record_id_of(execution, cid, 1),
            config_id=cid,
            run_type="ci",
            status="completed",
            run_timestamp=now - timedelta(days=days),
            **vector.as_dict(),
            model_name=model,
            instance_type=instance,
            region="us-east-1",
            execution_id=execution,
            attempt=1,
            duration_seconds=round(rng.uniform(1500, 3600), 1),
            simulated=True,
        )
        run_levels = level_records(
            row,
            [
                {"concurrency": c, **_metrics(rng, params.get(model, 8.0), c, prices.get(instance, 1.5))}
                for c in _CONCURRENCY
            ],
        )
        rows.append(row.model_copy(update=headline(run_levels)))
        levels += run_levels
    for n, (dc, mf, inf, q, tp, tgt, model, instance, days, category, reason) in enumerate(_UNFEASIBLE):
        vector = ConfigVector(
            deployment_config=dc,
            model_family=mf,
            instance_family=inf,
            quantization=q,
            tp_degree=tp,
            deployment_target=tgt,
        )
        cid = config_id_of(vector.as_dict())
        execution = f"seed-ci-fail-{n:03d}"
        rows.append(
            BenchmarkRecord(
                record_id=record_id_of(execution, cid, 1),
                config_id=cid,
                run_type="ci",
                status="unfeasible",
                run_timestamp=now - timedelta(days=days),
                **vector.as_dict(),
                model_name=model,
                instance_type=instance,
                region="us-east-1",
                execution_id=execution,
                attempt=1,
                failure_category=category,
                failure_retryable=False,
                failure_stage="deploy",
                failure_reason=reason,
                simulated=True,
            )
        )
    return rows, levels
