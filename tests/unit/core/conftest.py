"""What the core tests share: the guide's example vector."""

GUIDE_VECTOR = {
    "deployment_config": "transformers-vllm",
    "model_family": "qwen3",
    "instance_family": "g5",
    "quantization": "none",
    "tp_degree": 1,
    "deployment_target": "async-inference",
}
