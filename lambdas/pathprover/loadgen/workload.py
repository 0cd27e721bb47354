"""The deterministic benchmark workload: spec, prompt generation and hash.

Every request of a run is fixed by the spec alone: the same seed gives the same
prompts byte for byte on any machine and Python version, every prompt has
exactly ``input_tokens`` words and asks for exactly ``output_tokens`` tokens
(zero spread), sampling is greedy (temperature 0) and ``ignore_eos`` plus
``min_tokens`` (a vLLM extension; other servers ignore it) keep the model from
stopping early.

Token counts are approximate on the *input* side: no tokenizer can be
downloaded here, so a prompt of N "tokens" is N short, common, lowercase
English words, each preceded by a space. For BPE tokenizers of the GPT, Llama
and Mistral families such a word is almost always exactly one token, so the
real prompt length is within a few percent of N (plus the model's BOS token).
The *output* side is exact, as the server is told to produce exactly
``output_tokens`` tokens.
"""

from __future__ import annotations

import hashlib
import json
import random
from functools import cached_property
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_CONCURRENCY: Final[tuple[int, ...]] = (1, 4, 8)

# Short, common words that are single tokens in common BPE vocabularies (with a leading space).
_WORD_TEXT: Final = """
    the of and to in is was for on are with as at be by this had not but from or have an they
    which one you were her all she there would their we him been has when who will more no if
    out so said what up its about into than them can only other new some could time these two
    may then do first any my now such like our over man me even most made after also did many
    before must through back years where much your way well down should because each just those
    people how too little state good very make world still own see men work long get here between
    both life being under never day same another know while last might us great old year off come
    since against go came right used take three small place number part found sea air land water
    house home light line name word city tree road book food fire door night group game ship song
    star bird fish farm hand head eye face arm foot car boat sun moon rain snow wind cold warm hot
    red blue green black white gold stone wood glass paper metal salt milk bread tea cake apple
    river hill field rock sand lake park shop bank town king queen plan test data code rule list
    page card ball box bag cup pen key map art film show news team club cell form step path gate
    wall"""
WORDS: Final[tuple[str, ...]] = tuple(_WORD_TEXT.split())


MAX_CONCURRENCY: Final = 1024
"""The benchmark stage's bound on a level (as BenchmarkWorkload.concurrency_levels): one process, that many streams."""
MAX_LEVELS: Final = 16


class Workload(BaseModel):
    """What the load generator sends; hashed into ``workload_hash``.

    The target (URL, model, transport) and the price are *not* part of the
    workload: the same workload is replayed against different targets.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    input_tokens: int = Field(default=128, ge=1, le=32768)
    output_tokens: int = Field(default=128, ge=1, le=32768)
    input_tokens_spread: int = Field(default=0, ge=0, le=0, description="zero spread: fixed length")
    output_tokens_spread: int = Field(default=0, ge=0, le=0, description="zero spread: fixed length")
    temperature: float = Field(default=0.0, ge=0.0, le=0.0)
    requests: int = Field(default=64, ge=1, description="measured requests per concurrency level")
    warmup_requests_per_connection: int = Field(default=1, ge=1)
    concurrency: tuple[int, ...] = DEFAULT_CONCURRENCY
    streaming: bool = True
    ignore_eos: bool = True

    @field_validator("concurrency")
    @classmethod
    def _positive_levels(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(c < 1 or c > MAX_CONCURRENCY for c in value) or len(value) > MAX_LEVELS:
            raise ValueError(
                f"concurrency levels must be a non-empty list of at most {MAX_LEVELS} integers from 1 to "
                f"{MAX_CONCURRENCY}, got {list(value)}"
            )
        return value

    def canonical_json(self) -> str:
        return canonical_json(self.model_dump(mode="json"))

    @cached_property
    def hash(self) -> str:
        """sha256 (hex) of the canonical JSON of this spec."""
        return sha256_hex(self.canonical_json())

    def prompt(self, index: int, *, namespace: str = "measure") -> str:
        """The prompt of request ``index``; warm-up requests use ``namespace="warmup"``."""
        return make_prompt(self.seed, index, self.input_tokens, namespace=namespace)

    def request_body(self, model: str, index: int, *, namespace: str = "measure") -> dict[str, Any]:
        """An OpenAI ``/v1/completions`` request body for request ``index``."""
        body: dict[str, Any] = {
            "model": model,
            "prompt": self.prompt(index, namespace=namespace),
            "max_tokens": self.output_tokens,
            "min_tokens": self.output_tokens,
            "ignore_eos": self.ignore_eos,
            "temperature": self.temperature,
            "stream": self.streaming,
        }
        if self.streaming:
            body["stream_options"] = {"include_usage": True}
        return body

    def encoded_body(self, model: str, index: int, *, namespace: str = "measure") -> bytes:
        return json.dumps(self.request_body(model, index, namespace=namespace), separators=(",", ":")).encode("utf-8")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_prompt(seed: int, index: int, n_tokens: int, *, namespace: str = "measure") -> str:
    """``n_tokens`` words drawn from :data:`WORDS`, fixed by ``(seed, namespace, index)``.

    Each request gets a different prompt (so a prefix cache cannot turn the
    benchmark into a cache benchmark), yet the whole set is reproducible.
    ``random.Random`` seeded with a str hashes it with SHA-512, which is stable
    across Python versions and platforms, as is ``Random.choices``.
    """
    rng = random.Random(f"pathprover-loadgen:{seed}:{namespace}:{index}")
    return " ".join(rng.choices(WORDS, k=n_tokens))
