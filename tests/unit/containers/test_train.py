"""containers/training/train.py, the training job's entry point: its hyperparameters and where it reads weights."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]


def train_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pp_train", REPO / "containers/training/train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_training_script_parses_its_hyperparameters_without_torch():
    # Given the entry point, imported where torch is not installed (heavy imports are deferred into train())
    train = train_module()
    # When SageMaker passes hyperparameters (underscores) or a person dashes
    args = train.parse_args(["--model_id", "Qwen/Qwen3-4B", "--max_steps", "7", "--lora-rank", "16"], env={})
    # Then they are read, with the defaults and the derived alpha
    assert (args.model_id, args.max_steps, args.lora_rank, args.lora_alpha, args.seed) == (
        "Qwen/Qwen3-4B",
        7,
        16,
        32,
        42,
    )
    assert args.model_dir == "/opt/ml/model" and args.gradient_checkpointing is True
    with pytest.raises(SystemExit):
        train.parse_args(["--model_id", "x/y", "--lora_rank", "0"], env={})
    with pytest.raises(SystemExit):
        train.parse_args(["--max_steps", "5"], env={})


def test_the_training_script_prefers_staged_weights_and_refuses_an_empty_channel(tmp_path):
    train = train_module()
    args = train.parse_args(["--model_id", "a/b"], env={"SM_CHANNEL_MODEL": str(tmp_path)})
    with pytest.raises(SystemExit, match=r"no config\.json"):
        train.model_source(args)
    (tmp_path / "config.json").write_text("{}")
    assert train.model_source(args) == str(tmp_path)
    assert train.model_source(train.parse_args(["--model_id", "a/b"], env={})) == "a/b"
    assert len(train.load_pairs(train.train_file(args))) >= 50
