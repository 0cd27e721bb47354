"""Failure classifier: one message in, one category (and whether to retry) out.

>>> from pathprover.classifier import classify
>>> classify("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB").category
'oom'
"""

from pathprover.classifier.classify import (
    EVIDENCE_MAX_CHARS,
    Classification,
    classify,
    classify_lines,
    infer_stage,
    normalise_stage,
)
from pathprover.classifier.redact import redact
from pathprover.classifier.rules import CATEGORIES, RETRYABLE, RULES, STAGES, FailureCategory, Rule

__all__ = [
    "CATEGORIES",
    "EVIDENCE_MAX_CHARS",
    "RETRYABLE",
    "RULES",
    "STAGES",
    "Classification",
    "FailureCategory",
    "Rule",
    "classify",
    "classify_lines",
    "infer_stage",
    "normalise_stage",
    "redact",
]
