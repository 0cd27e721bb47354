"""The learned fallback: a multinomial logistic regression over hashed n-grams, pure numpy at inference.

The rule table decides the sure cases; this model answers the rest. Its weights
are a versioned file shipped with the package (``data/fallback-v<N>.npz``),
trained by ``scripts/train_classifier.py`` from the training split of the
sourced corpus (``tests/data/classifier_corpus.jsonl``); the file records the
corpus hash and the feature version it was trained with, and loading refuses
weights made for another feature version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

import numpy as np
import numpy.typing as npt

from pathprover.classifier import features

MODEL_VERSION: Final[int] = 1
WEIGHTS_FILE: Final[str] = f"fallback-v{MODEL_VERSION}.npz"


class ModelFileError(RuntimeError):
    """The shipped weights are missing or were made for other features."""


@dataclass(frozen=True)
class LinearModel:
    """Weights (classes x buckets), biases and the class names, in one immutable bundle."""

    classes: tuple[str, ...]
    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]
    meta: dict[str, object]

    def logits(self, text: str) -> npt.NDArray[np.float32]:
        indices, values = features.featurise(text)
        return (self.weights[:, indices] @ values + self.bias).astype(np.float32)

    def probabilities(self, text: str) -> dict[str, float]:
        return dict(zip(self.classes, softmax(self.logits(text)).tolist(), strict=True))

    def predict(self, text: str) -> tuple[str, float]:
        """The most likely category and its probability."""
        probs = softmax(self.logits(text))
        best = int(np.argmax(probs))
        return self.classes[best], float(probs[best])

    def strongest_line(self, lines: list[str], category: str) -> int:
        """Index of the line that argues most for ``category`` (the evidence the model points at)."""
        row = self.classes.index(category)
        scores = [float(self.weights[row, features.featurise(line)[0]].sum()) for line in lines]
        return int(np.argmax(scores)) if scores else 0


def softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = np.exp(logits - np.max(logits))
    return (shifted / shifted.sum()).astype(np.float32)


def save(
    path: str,
    classes: tuple[str, ...],
    weights: npt.NDArray[np.floating],
    bias: npt.NDArray[np.floating],
    meta: dict[str, object],
) -> None:
    """Write the weights as float16 (the model is small and the precision is plenty), with metadata."""
    meta = {
        **meta,
        "feature_version": features.FEATURE_VERSION,
        "dimensions": features.DIMENSIONS,
        "model_version": MODEL_VERSION,
        "classes": list(classes),
    }
    with open(path, "wb") as handle:
        np.savez_compressed(
            handle,
            weights=weights.astype(np.float16),
            bias=bias.astype(np.float32),
            meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8),
        )


def load_file(path: str) -> LinearModel:
    with np.load(path) as data:
        meta = json.loads(bytes(data["meta"]).decode("utf-8"))
        weights = data["weights"].astype(np.float32)
        bias = data["bias"].astype(np.float32)
    if meta.get("feature_version") != features.FEATURE_VERSION or meta.get("dimensions") != features.DIMENSIONS:
        raise ModelFileError(
            f"{path}: weights made for feature version {meta.get('feature_version')} x {meta.get('dimensions')}, "
            f"this code featurises with version {features.FEATURE_VERSION} x {features.DIMENSIONS}: retrain"
        )
    classes = tuple(str(c) for c in meta["classes"])
    if weights.shape != (len(classes), features.DIMENSIONS) or bias.shape != (len(classes),):
        raise ModelFileError(f"{path}: weights of shape {weights.shape} do not match {len(classes)} classes")
    return LinearModel(classes=classes, weights=weights, bias=bias, meta=meta)


@cache
def shipped() -> LinearModel:
    """The model shipped with the package, loaded once per process (lazily: not at import)."""
    ref = resources.files("pathprover.classifier").joinpath("data", WEIGHTS_FILE)
    with resources.as_file(ref) as path:
        if not path.is_file():
            raise ModelFileError(f"the classifier weights {WEIGHTS_FILE} are missing: run scripts/train_classifier.py")
        return load_file(str(path))
