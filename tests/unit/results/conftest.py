"""What the results tests share: a config id and a benchmark_results row of it."""

from __future__ import annotations

CID = "0123456789abcdef"


def row(status: str, record: str, at: str, attempt: int = 1, **extra: object) -> dict[str, object]:
    return {
        "record_id": record,
        "config_id": CID,
        "run_type": "path_prove",
        "status": status,
        "run_timestamp": at,
        "deployment_config": "vllm",
        "model_family": "qwen3",
        "instance_family": "g5",
        "quantization": "fp16",
        "tp_degree": "1",
        "deployment_target": "realtime-inference",
        "model_name": "Qwen/Qwen3-8B",
        "instance_type": "ml.g5.xlarge",
        "attempt": attempt,
        "actual_cost_usd": 0.5,
        **extra,
    }
