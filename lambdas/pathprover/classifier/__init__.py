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
from pathprover.classifier.rules import CATEGORIES, RETRYABLE, RULES, STAGES, Rule
from pathprover.classifier.scope import ORIGINS, FailureOrigin, judge_scope, normalise_origin
from pathprover.core.records import FailureCategory, FailureScope

__all__ = [
    "CATEGORIES",
    "EVIDENCE_MAX_CHARS",
    "ORIGINS",
    "RETRYABLE",
    "RULES",
    "STAGES",
    "Classification",
    "FailureCategory",
    "FailureOrigin",
    "FailureScope",
    "Rule",
    "classify",
    "classify_lines",
    "infer_stage",
    "judge_scope",
    "normalise_origin",
    "normalise_stage",
    "redact",
]
