"""loadgen/workload.py: the pinned workload hash, deterministic prompts, request bodies, refused specs."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import ValidationError

from pathprover.loadgen import (
    Workload,
    make_prompt,
)

# ----------------------------------------------------------------------------- workload

# Pinned: the sha256 of the canonical JSON of the default workload spec. Changing a default,
# a field name or the canonical form changes it — on purpose, since stored results refer to it.
DEFAULT_WORKLOAD_HASH = "8ff4512f7b8666edd03d98bfc2ff8a63b633cd72a56ff8a74a341d8b522e642b"


def test_workload_hash_is_pinned_and_canonical() -> None:
    w = Workload()
    assert w.hash == DEFAULT_WORKLOAD_HASH
    canonical = json.dumps(w.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    assert w.hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert Workload(seed=1).hash != w.hash
    assert Workload(concurrency=(1, 4, 8)).hash == w.hash  # the default levels


def test_workload_prompts_are_deterministic_and_exact_length() -> None:
    w = Workload(seed=7, input_tokens=64)
    assert w.prompt(0) == Workload(seed=7, input_tokens=64).prompt(0)
    assert w.prompt(0) != w.prompt(1)
    assert w.prompt(0) != Workload(seed=8, input_tokens=64).prompt(0)
    assert w.prompt(0) != w.prompt(0, namespace="warmup")
    assert all(len(w.prompt(i).split()) == 64 for i in range(20))
    # pinned: the generator must not drift across Python versions or refactors
    assert make_prompt(0, 0, 8) == "off farm page news then some time our"


def test_workload_request_body() -> None:
    w = Workload(input_tokens=16, output_tokens=32)
    body = w.request_body("my-model", 3)
    assert body["model"] == "my-model"
    assert body["max_tokens"] == 32 and body["min_tokens"] == 32
    assert body["ignore_eos"] is True
    assert body["temperature"] == 0.0
    assert body["stream"] is True
    assert json.loads(w.encoded_body("my-model", 3)) == body


def test_workload_rejects_spread_and_bad_levels() -> None:
    with pytest.raises(ValidationError):
        Workload(input_tokens_spread=5)
    with pytest.raises(ValidationError):
        Workload(temperature=0.7)
    with pytest.raises(ValidationError):
        Workload(concurrency=(0,))
    with pytest.raises(ValidationError):
        Workload(concurrency=())
    with pytest.raises(ValidationError):
        Workload(unknown=1)  # type: ignore[call-arg]
