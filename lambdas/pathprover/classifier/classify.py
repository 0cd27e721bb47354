"""Failure classification: judge the whole message, let the cause beat the symptom.

:func:`classify` splits a failure message into lines, runs *every* rule of
:mod:`pathprover.classifier.rules` on *every* line, and keeps the strongest
match (highest priority; a match on an INFO/DEBUG/WARNING line counts a
quarter). Ties go to the earlier line, then to the earlier rule, so the result
is deterministic. No match at all gives ``unknown``, which is retryable once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from pathprover.classifier.redact import redact
from pathprover.classifier.rules import (
    CATEGORY_HINTS,
    HEDGE,
    RETRYABLE,
    RULES,
    STAGE_ALIASES,
    STAGE_RULES,
    STAGES,
    WEAK_LINE,
    WEAK_LINE_DIVISOR,
    FailureCategory,
    Rule,
)

EVIDENCE_MAX_CHARS: Final[int] = 300
UNKNOWN_RULE_ID: Final[str] = "unknown.no_match"

_LIST_INTRO: Final[re.Pattern[str]] = re.compile(
    r"\b(?:include[sd]?|such as|e\.g\.|causes?|reasons?)\s*$", re.IGNORECASE
)

# An enumerated list item: "(1) ...", "1) ...", "1. ...".
_ENUMERATED: Final[re.Pattern[str]] = re.compile(r"\s*\(?\d{1,2}[).]\s")

_LINE_RULES: Final[tuple[Rule, ...]] = tuple(rule for rule in RULES if not rule.multiline)
_MULTILINE_RULES: Final[tuple[Rule, ...]] = tuple(rule for rule in RULES if rule.multiline)

# Real newlines, and the escaped ones of a JSON-encoded cause (Step Functions, Lambda).
_LINE_SPLIT: Final[re.Pattern[str]] = re.compile(r"\r\n|\r|\n|\\r\\n|\\n")


class Classification(BaseModel):
    """The verdict on one failure message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: FailureCategory
    retryable: bool
    stage: str | None = Field(description="The given stage, else one inferred from the text, else None.")
    evidence: str = Field(max_length=EVIDENCE_MAX_CHARS, description="The redacted line that decided it.")
    hint: str = Field(description="One-line remediation hint.")
    rule: str = Field(description="Id of the rule that decided it.")


def _split_lines(text: str) -> list[str]:
    return [line.strip() for line in _LINE_SPLIT.split(text) if line.strip()]


def _trim(line: str) -> str:
    line = redact(" ".join(line.split()))
    if len(line) <= EVIDENCE_MAX_CHARS:
        return line
    return line[: EVIDENCE_MAX_CHARS - 1] + "…"


def _evidence_window(line: str, match_start: int) -> str:
    """The deciding line; a long one is cut to a window around the match."""
    if len(line) <= EVIDENCE_MAX_CHARS:
        return line
    start = max(0, match_start - 100)
    return line[start:]


def normalise_stage(stage: str | None) -> str | None:
    """Validate a stage name; accepts a few aliases (``pre-staging`` → ``stage``)."""
    if stage is None:
        return None
    key = stage.strip().lower()
    if key == "":
        return None
    key = STAGE_ALIASES.get(key, key)
    if key not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    return key


def infer_stage(text: str, evidence: str = "") -> str | None:
    """Infer the stage from the deciding line first, then from the whole text."""
    for haystack in (evidence, text):
        if not haystack:
            continue
        for stage, pattern in STAGE_RULES:
            if pattern.search(haystack):
                return stage
    return None


def _hedged(line: str, match: re.Match[str]) -> bool:
    """True when the match follows a hedge ("may", "if", "common causes include") in its clause."""
    before = line[max(0, match.start() - 160) : match.start()]
    clause_start = max(before.rfind(sep) for sep in (". ", "; ", ": ", "\t"))
    if clause_start >= 0 and (
        (before[clause_start] == ":" and _LIST_INTRO.search(before[:clause_start]))
        or (before[clause_start] == "." and _ENUMERATED.match(before[clause_start + 1 :]))
    ):
        # "Some common causes include: (1) ... the OOM killer", "There are some potential root
        # causes. (1) The process is killed by the OOM killer" - the hedge introduces a list.
        clause_start = max(before.rfind(sep, 0, clause_start) for sep in (". ", "; ", "\t"))
    return HEDGE.search(before[clause_start + 1 :]) is not None


def _best_match(lines: list[str]) -> tuple[Rule, str, int] | None:
    """The strongest unhedged match: (rule, deciding line, offset of the match in that line)."""
    best: tuple[int, Rule, str, int] | None = None
    for line in lines:
        weak_line = WEAK_LINE.search(line) is not None
        for rule in _LINE_RULES:
            # A guess ("may be caused by the OOM killer") is not evidence: skip hedged matches.
            match = next((m for m in rule.pattern.finditer(line) if not _hedged(line, m)), None)
            if match is None:
                continue
            score = rule.priority // WEAK_LINE_DIVISOR if weak_line else rule.priority
            if best is None or score > best[0]:
                best = (score, rule, line, match.start())
    # Records a log viewer splits over several lines (one Lambda REPORT field per line) are
    # matched on the joined message; the deciding "line" is then the lines the match spans.
    joined = "\n".join(lines)
    for rule in _MULTILINE_RULES:
        match = next((m for m in rule.pattern.finditer(joined) if not _hedged(joined, m)), None)
        if match is None:
            continue
        first = joined.count("\n", 0, match.start())
        last = joined.count("\n", 0, match.end())
        weak_line = WEAK_LINE.search(lines[first]) is not None
        score = rule.priority // WEAK_LINE_DIVISOR if weak_line else rule.priority
        if best is None or score > best[0]:
            line_start = joined.rfind("\n", 0, match.start()) + 1
            best = (score, rule, " ".join(lines[first : last + 1]), match.start() - line_start)
    if best is None:
        return None
    return best[1], best[2], best[3]


def classify(text: str, stage: str | None = None) -> Classification:
    """Classify a failure message (a log excerpt, an API error, a traceback…).

    ``stage`` is the stage that failed, if the caller knows it; otherwise one is
    inferred from the text. Raises ``ValueError`` for an unknown stage name.
    """
    given_stage = normalise_stage(stage)
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    lines = _split_lines(text)
    found = _best_match(lines)
    if found is None:
        category: FailureCategory = "unknown"
        evidence = _trim(lines[-1]) if lines else ""
        hint = CATEGORY_HINTS["unknown"]
        rule_id = UNKNOWN_RULE_ID
        raw_evidence = lines[-1] if lines else ""
    else:
        rule, line, match_start = found
        category = rule.category
        raw_evidence = _evidence_window(line, match_start)
        evidence = _trim(raw_evidence)
        hint = rule.hint or CATEGORY_HINTS[category]
        rule_id = rule.id
    return Classification(
        category=category,
        retryable=RETRYABLE[category],
        stage=given_stage if given_stage is not None else infer_stage(text, raw_evidence),
        evidence=evidence,
        hint=hint,
        rule=rule_id,
    )


def _parse_line(number: int, raw: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {number}: not valid JSON ({exc.msg})") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"line {number}: expected a JSON object, got {type(obj).__name__}")
    if "id" not in obj or isinstance(obj["id"], bool) or not isinstance(obj["id"], str | int):
        raise ValueError(f"line {number}: 'id' is missing or not a string")
    if not isinstance(obj.get("text"), str):
        raise ValueError(f"line {number}: 'text' is missing or not a string")
    stage = obj.get("stage")
    if stage is not None and not isinstance(stage, str):
        raise ValueError(f"line {number}: 'stage' must be a string or null")
    return obj


def classify_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Classify JSON Lines objects ``{"id", "text", "stage"?}``.

    Yields ``{"id", "category", "retryable", "stage"}`` per non-blank line. A
    malformed line raises ``ValueError`` whose message starts with
    ``line <n>:`` (1-based).
    """
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        obj = _parse_line(number, raw)
        try:
            result = classify(obj["text"], obj.get("stage"))
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from exc
        yield {
            "id": str(obj["id"]),
            "category": result.category,
            "retryable": result.retryable,
            "stage": result.stage,
        }
