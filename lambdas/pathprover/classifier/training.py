"""Training the learned fallback: multinomial logistic regression, full-batch Adam, pure numpy.

Deterministic (no random initialisation, no shuffling): the same corpus gives
the same weights, so the shipped file can be checked against a retrain. Used by
``scripts/train_classifier.py``; nothing here runs in a Lambda.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from pathprover.classifier import features
from pathprover.classifier.model import LinearModel
from pathprover.classifier.rules import CATEGORIES

CLASSES: Final[tuple[str, ...]] = CATEGORIES
SPLITS: Final[tuple[str, ...]] = ("train", "blind")


@dataclass(frozen=True)
class Hyper:
    """Training settings; the defaults were chosen by 5-fold cross-validation on the training split."""

    l2: float = 1e-4
    epochs: int = 400
    learning_rate: float = 0.05


@dataclass(frozen=True)
class CorpusItem:
    id: str
    text: str
    category: str
    retryable: bool
    stage: str | None
    source: str
    split: str


def load_corpus(path: str | Path) -> list[CorpusItem]:
    items = []
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        obj = json.loads(raw)
        try:
            items.append(CorpusItem(**{**obj, "split": obj.get("split", "train")}))
        except TypeError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
    return items


def corpus_hash(items: Sequence[CorpusItem]) -> str:
    """A digest of what the model was trained on (ids, texts, labels), recorded in the weights file."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(json.dumps([item.id, item.text, item.category], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()[:16]


@dataclass
class _Sparse:
    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int64]
    data: npt.NDArray[np.float32]
    rows: npt.NDArray[np.int64]

    @classmethod
    def of(cls, texts: Sequence[str]) -> _Sparse:
        parts = [features.featurise(text) for text in texts]
        lengths = np.array([len(p[0]) for p in parts], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        return cls(
            indptr=indptr,
            indices=np.concatenate([p[0] for p in parts]),
            data=np.concatenate([p[1] for p in parts]).astype(np.float32),
            rows=np.repeat(np.arange(len(parts)), lengths),
        )

    def dot(self, weights: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """X @ W.T for W of shape (classes, buckets)."""
        contributions = weights[:, self.indices].T * self.data[:, None]
        out: npt.NDArray[np.float32] = np.add.reduceat(contributions, self.indptr[:-1], axis=0)
        return out

    def grad(self, residual: npt.NDArray[np.float32], classes: int) -> npt.NDArray[np.float32]:
        """X.T @ residual, as (classes, buckets)."""
        per_entry = residual[self.rows] * self.data[:, None]
        return np.stack(
            [np.bincount(self.indices, weights=per_entry[:, k], minlength=features.DIMENSIONS) for k in range(classes)]
        ).astype(np.float32)


def train(texts: Sequence[str], labels: Sequence[str], hyper: Hyper | None = None) -> LinearModel:
    """Fit class-balanced multinomial logistic regression with L2, by full-batch Adam."""
    hyper = hyper or Hyper()
    if not texts or len(texts) != len(labels):
        raise ValueError("train needs as many labels as texts, and at least one")
    unknown = sorted(set(labels) - set(CLASSES))
    if unknown:
        raise ValueError(f"unknown labels: {unknown}")
    x = _Sparse.of(texts)
    k = len(CLASSES)
    y = np.array([CLASSES.index(label) for label in labels])
    onehot = np.eye(k, dtype=np.float32)[y]
    counts = np.bincount(y, minlength=k).astype(np.float32)
    class_weight = np.where(counts > 0, len(y) / (k * np.maximum(counts, 1)), 0.0).astype(np.float32)
    sample_weight = class_weight[y] / len(y)
    weights = np.zeros((k, features.DIMENSIONS), dtype=np.float32)
    bias = np.zeros(k, dtype=np.float32)
    # Adam's moments (float64 where numpy promotes them; the weights stay float32).
    m_w: npt.NDArray[Any] = np.zeros_like(weights)
    v_w: npt.NDArray[Any] = np.zeros_like(weights)
    m_b: npt.NDArray[Any] = np.zeros_like(bias)
    v_b: npt.NDArray[Any] = np.zeros_like(bias)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, hyper.epochs + 1):
        logits = x.dot(weights) + bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        residual = ((probs - onehot) * sample_weight[:, None]).astype(np.float32)
        g_w = x.grad(residual, k) + hyper.l2 * weights
        g_b = residual.sum(axis=0)
        m_w = beta1 * m_w + (1 - beta1) * g_w
        v_w = beta2 * v_w + (1 - beta2) * g_w * g_w
        m_b = beta1 * m_b + (1 - beta1) * g_b
        v_b = beta2 * v_b + (1 - beta2) * g_b * g_b
        correction1, correction2 = 1 - beta1**step, 1 - beta2**step
        weights -= (hyper.learning_rate * (m_w / correction1) / (np.sqrt(v_w / correction2) + eps)).astype(np.float32)
        bias -= (hyper.learning_rate * (m_b / correction1) / (np.sqrt(v_b / correction2) + eps)).astype(np.float32)
    meta: dict[str, Any] = {"hyper": hyper.__dict__, "items": len(texts)}
    return LinearModel(classes=CLASSES, weights=weights.astype(np.float32), bias=bias.astype(np.float32), meta=meta)


def folds(items: Sequence[CorpusItem], k: int = 5) -> list[tuple[list[int], list[int]]]:
    """Deterministic k folds, grouped by source URL so one thread never sits on both sides."""
    groups = [int(hashlib.sha256(item.source.encode()).hexdigest(), 16) % k for item in items]
    return [
        ([i for i, g in enumerate(groups) if g != fold], [i for i, g in enumerate(groups) if g == fold])
        for fold in range(k)
    ]


def confusion(labels: Sequence[str], answers: Sequence[str]) -> dict[str, dict[str, int]]:
    table = {c: dict.fromkeys(CLASSES, 0) for c in CLASSES}
    for label, answer in zip(labels, answers, strict=True):
        table[label][answer] += 1
    return table


def per_category(labels: Sequence[str], answers: Sequence[str]) -> list[dict[str, Any]]:
    """Precision and recall per category (None when a category never occurs / is never answered)."""
    rows = []
    for category in CLASSES:
        tp = sum(1 for lab, ans in zip(labels, answers, strict=True) if lab == category and ans == category)
        labelled = sum(1 for lab in labels if lab == category)
        answered = sum(1 for ans in answers if ans == category)
        rows.append(
            {
                "category": category,
                "items": labelled,
                "precision": tp / answered if answered else None,
                "recall": tp / labelled if labelled else None,
            }
        )
    return rows
