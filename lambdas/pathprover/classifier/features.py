"""Text features of the learned fallback: hashed word and character n-grams, pure Python + numpy.

One definition, used by the training script and at inference, so the two can
never featurise a message differently. A message becomes a sparse vector of
``DIMENSIONS`` hashed buckets (CRC-32, stable across processes and Python
versions, unlike ``hash()``):

* word unigrams and bigrams of the lower-cased text, numbers of more than three
  digits folded to ``0000`` (exit codes 137, HTTP 429/504 survive as themselves);
* the parts of CamelCase and snake_case identifiers as words of their own
  (``InsufficientInstanceCapacity`` also gives ``insufficient``, ``capacity``);
* character 3- to 5-grams inside each word, so an unseen inflection or a new
  exception name still shares most of its features with known ones.

Values are ``log(1 + count)``, L2-normalised. The last ``KEY_LINES`` lines that
say anything of a failure (``rules.FAILURE_SIGNAL``) are featurised a second
time, as features of their own (``k:`` prefix, normalised apart and weighted
``KEY_WEIGHT``): the words of the error line itself then count for more than the
same words in a stack frame or a start-up banner (feature version 3; measured
leave-one-wave-out on waves 18 to 29, model alone, 80.0 % -> 81.0 %). Very long
messages are featurised from a bounded window (the head and the tail, where the error usually is), and
log lines at INFO/DEBUG/WARNING level are left out when the message has any
other line: the rules demote them for the same reason (they describe, they do
not fail), and the model must not change its answer because of start-up chatter.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections import Counter
from typing import Final

import numpy as np
import numpy.typing as npt

from pathprover.classifier.rules import FAILURE_SIGNAL, LINE_SPLIT, WEAK_LINE

FEATURE_VERSION: Final[int] = 3
DIMENSIONS: Final[int] = 1 << 15
HEAD_CHARS: Final[int] = 2_000
TAIL_CHARS: Final[int] = 6_000
CHAR_NGRAMS: Final[tuple[int, ...]] = (3, 4, 5)
KEY_LINES: Final[int] = 3
KEY_WEIGHT: Final[float] = 1.0

_TOKEN: Final[re.Pattern[str]] = re.compile(r"[A-Za-z][A-Za-z0-9_]*|\d+")
_CAMEL: Final[re.Pattern[str]] = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_TIMESTAMPISH: Final[re.Pattern[str]] = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?Z?\b")
_HEXISH: Final[re.Pattern[str]] = re.compile(r"\b(?:0x)?[0-9a-f]{12,}\b", re.IGNORECASE)


def window(text: str) -> str:
    """The part of a message that is featurised: head and tail, without INFO/DEBUG/WARNING lines."""
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        text = text[:HEAD_CHARS] + "\n" + text[-TAIL_CHARS:]
    lines = [line for line in LINE_SPLIT.split(text) if line.strip()]
    errors = [line for line in lines if not WEAK_LINE.search(line)]
    return "\n".join(errors or lines)


def tokens(text: str) -> list[str]:
    """Lower-cased words; long numbers folded; identifiers also split into their parts."""
    return _words(window(text))


def key_lines(text: str) -> str:
    """The last ``KEY_LINES`` lines of the window that say anything of a failure (the error itself)."""
    lines = [line for line in LINE_SPLIT.split(window(text)) if line.strip()]
    failing = [line for line in lines if FAILURE_SIGNAL.search(line)]
    return "\n".join((failing or lines)[-KEY_LINES:])


def _words(text: str) -> list[str]:
    text = _HEXISH.sub(" hexid ", _TIMESTAMPISH.sub(" ", text))
    out: list[str] = []
    for raw in _TOKEN.findall(text):
        if raw.isdigit():
            out.append(raw if len(raw) <= 3 else "0000")
            continue
        word = raw.lower()
        out.append(word)
        parts = [p.lower() for chunk in raw.split("_") for p in _CAMEL.findall(chunk)]
        if len(parts) > 1:
            out.extend(p for p in parts if len(p) > 1 and not p.isdigit())
    return out


def _bucket(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & (DIMENSIONS - 1)


def _counts(words: list[str], prefix: str) -> Counter[int]:
    counts: Counter[int] = Counter()
    for word in words:
        counts[_bucket(prefix + "w:" + word)] += 1
        padded = f"<{word}>"
        if len(word) > 2:
            for n in CHAR_NGRAMS:
                for i in range(len(padded) - n + 1):
                    counts[_bucket(prefix + "c:" + padded[i : i + n])] += 1
    for first, second in itertools.pairwise(words):
        counts[_bucket(f"{prefix}b:{first} {second}")] += 1
    return counts


def _normalised(counts: Counter[int], weight: float) -> dict[int, float]:
    values = {bucket: math.log1p(count) for bucket, count in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values()))
    return {bucket: weight * v / norm for bucket, v in values.items()} if norm > 0 else {}


def featurise(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The sparse feature vector of one message: (bucket indices, values).

    The whole window's features, L2-normalised, plus the key lines' features, normalised apart and
    weighted ``KEY_WEIGHT`` (a bucket both hash to gets the sum).
    """
    merged = _normalised(_counts(tokens(text), ""), 1.0)
    if KEY_WEIGHT > 0:
        for bucket, value in _normalised(_counts(_words(key_lines(text)), "k:"), KEY_WEIGHT).items():
            merged[bucket] = merged.get(bucket, 0.0) + value
    if not merged:
        merged = {_bucket("empty:"): 1.0}
    indices = np.fromiter(merged.keys(), dtype=np.int64, count=len(merged))
    values = np.fromiter(merged.values(), dtype=np.float32, count=len(merged))
    return indices, values
