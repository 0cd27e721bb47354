"""Supervised LoRA fine-tuning for the tune stage (SageMaker Hugging Face training container, script mode).

SageMaker runs this file as ``python train.py --max_steps 50 --lora_rank 8 ...`` after extracting the
source tarball (``sagemaker_submit_directory``) into /opt/ml/code and installing requirements.txt. It:

* reads the base model from the ``model`` channel (weights Path Prover staged to S3, always so for a
  gated model: the Hugging Face token never reaches the job) or else downloads ``--model_id`` from the Hub;
* trains a PEFT LoRA adapter (all linear layers, rank ``--lora_rank``) on the instruction/response pairs of
  the ``train`` channel (or the bundled data/train.jsonl), with a fixed seed and ``--max_steps`` steps,
  loss on the response tokens only;
* writes the adapter (adapter_config.json + adapter_model.safetensors) to /opt/ml/model, which SageMaker
  uploads as model.tar.gz (the job's ModelArtifacts.S3ModelArtifacts), and a summary next to it.

Heavy imports (torch, transformers, peft) happen inside :func:`train`, so the argument handling can be
tested where torch is not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLED_DATA = HERE / "data" / "train.jsonl"
SUMMARY_FILE = "pathprover-training.json"


def _flag(value: str) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def parse_args(argv: list[str] | None = None, env: dict[str, str] | None = None) -> argparse.Namespace:
    """Hyperparameters (SageMaker passes each as ``--name value``; dashes and underscores both accepted)."""
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])

    def add(name: str, **kwargs: object) -> None:
        parser.add_argument(f"--{name}", f"--{name.replace('_', '-')}", dest=name, **kwargs)  # type: ignore[arg-type]

    add("model_id", required=True, help="Hugging Face model id (the base model)")
    add("technique", default="sft-lora", choices=["sft-lora"])
    add("max_steps", type=int, default=50)
    add("lora_rank", type=int, default=8)
    add("lora_alpha", type=int, default=None, help="default: 2 x lora_rank")
    add("lora_dropout", type=float, default=0.05)
    add("learning_rate", type=float, default=2e-4)
    add("per_device_train_batch_size", type=int, default=4)
    add("gradient_accumulation_steps", type=int, default=1)
    add("max_seq_length", type=int, default=512)
    add("seed", type=int, default=42)
    add("gradient_checkpointing", type=_flag, default=True)
    add("train_file", default=None, help="default: the train channel's train.jsonl, else the bundled data")
    add("model_dir", default=env.get("SM_MODEL_DIR", "/opt/ml/model"))
    add("model_channel", default=env.get("SM_CHANNEL_MODEL"))
    add("train_channel", default=env.get("SM_CHANNEL_TRAIN"))
    args = parser.parse_args(argv)
    if args.max_steps < 1:
        parser.error("--max_steps must be at least 1")
    if not 1 <= args.lora_rank <= 256:
        parser.error("--lora_rank must be in [1, 256]")
    if args.per_device_train_batch_size < 1 or args.max_seq_length < 16:
        parser.error("--per_device_train_batch_size must be >= 1 and --max_seq_length >= 16")
    if args.lora_alpha is None:
        args.lora_alpha = 2 * args.lora_rank
    return args


def model_source(args: argparse.Namespace) -> str:
    """Staged weights (the ``model`` channel with a config.json) win over a Hub download."""
    channel = args.model_channel
    if channel and (Path(channel) / "config.json").is_file():
        return channel
    if channel:
        raise SystemExit(f"train.py: the model channel {channel} has no config.json: the staged weights are missing")
    return str(args.model_id)


def train_file(args: argparse.Namespace) -> Path:
    if args.train_file:
        return Path(args.train_file)
    if args.train_channel:
        candidate = Path(args.train_channel) / "train.jsonl"
        if candidate.is_file():
            return candidate
    return BUNDLED_DATA


def load_pairs(path: Path) -> list[dict[str, str]]:
    """Instruction/response pairs, one JSON object per line; a malformed line stops the job with its number."""
    pairs = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            if not isinstance(item, dict) or not item.get("instruction") or not item.get("response"):
                raise SystemExit(f"train.py: {path}:{number}: expected {{'instruction': ..., 'response': ...}}")
            pairs.append({"instruction": str(item["instruction"]), "response": str(item["response"])})
    if not pairs:
        raise SystemExit(f"train.py: {path} holds no training pairs")
    return pairs


def train(args: argparse.Namespace) -> dict[str, object]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments, set_seed

    set_seed(args.seed)
    source = model_source(args)
    pairs = load_pairs(train_file(args))
    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    dtype = torch.bfloat16 if bf16 else torch.float16
    model = AutoModelForCausalLM.from_pretrained(source, torch_dtype=dtype, device_map="auto")
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    config = LoraConfig(
        r=args.lora_rank,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, config)

    def encode(pair: dict[str, str]) -> dict[str, list[int]]:
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": pair["instruction"]}], tokenize=False, add_generation_prompt=True
        )
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(pair["response"] + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        ids = (prompt_ids + answer_ids)[: args.max_seq_length]
        labels = ([-100] * len(prompt_ids) + answer_ids)[: args.max_seq_length]  # loss on the response only
        return {"input_ids": ids, "labels": labels}

    examples = [encode(pair) for pair in pairs]

    def collate(batch: list[dict[str, list[int]]]) -> dict[str, object]:
        width = max(len(item["input_ids"]) for item in batch)
        pad = tokenizer.pad_token_id
        return {
            "input_ids": torch.tensor([i["input_ids"] + [pad] * (width - len(i["input_ids"])) for i in batch]),
            "labels": torch.tensor([i["labels"] + [-100] * (width - len(i["labels"])) for i in batch]),
            "attention_mask": torch.tensor(
                [[1] * len(i["input_ids"]) + [0] * (width - len(i["input_ids"])) for i in batch]
            ),
        }

    training_args = TrainingArguments(
        output_dir="/tmp/pathprover-checkpoints",
        max_steps=args.max_steps,
        per_device_train_batch_size=args.per_device_train_batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        learning_rate=args.learning_rate,
        lr_scheduler_type="cosine",
        warmup_ratio=0.05,
        logging_steps=max(1, args.max_steps // 10),
        save_strategy="no",
        report_to=[],
        seed=args.seed,
        data_seed=args.seed,
        bf16=bf16,
        fp16=not bf16,
        remove_unused_columns=False,
    )
    trainer = Trainer(model=model, args=training_args, train_dataset=examples, data_collator=collate)
    result = trainer.train()
    out = Path(args.model_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)  # adapter_config.json + adapter_model.safetensors
    tokenizer.save_pretrained(str(out))
    summary = {
        "model_id": args.model_id,
        "model_source": "s3" if source != args.model_id else "hub",
        "pairs": len(pairs),
        "max_steps": args.max_steps,
        "lora_rank": args.lora_rank,
        "seed": args.seed,
        "train_loss": float(result.training_loss),
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    summary = train(args)
    print(json.dumps({"pathprover_training": summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
