"""Failure classification: the rule table for the sure cases, a learned model for the rest.

:func:`classify` redacts a failure message (a bounded window of it, when it is
very long), splits it into lines, runs *every* rule of
:mod:`pathprover.classifier.rules` on *every* line, and keeps the strongest
match (highest priority; a match on an INFO/DEBUG/WARNING line counts a
quarter; ties go to the earlier line, then to the earlier rule).

* A match at or above :data:`SURE_SCORE` that names a cause decides: ``rule``.
* Otherwise the learned fallback (:mod:`pathprover.classifier.model`) reads the
  whole message; when its probability reaches :data:`MODEL_MIN_CONFIDENCE` it
  decides: ``model``.
* A rule that reports only a symptom (:data:`SYMPTOM_RULES`: a failed health check, a command
  that exited non-zero, a named Python exception) decides on an error line, but gives way to a model
  sure enough (0.6 for a health check, 0.8 for the others) of another category: cause beats symptom.
* A weaker match (a generic named exception, a crash with no cause, a generic "not supported") does
  not decide before the model: it answers only when the model is unsure.
* Otherwise a weak rule match decides. With none, a message that says anything of a failure is a
  code bug when the model finds that likelier than "no cause named" (``model.v<N>.best_guess``,
  recorded ``failed``, never ``unfeasible``); otherwise it is ``unknown`` (retryable once).

The scope (who is at fault) is judged separately, from the text and from where
the failure happened (:mod:`pathprover.classifier.scope`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from pathprover.classifier import model as learned
from pathprover.classifier.redact import redact
from pathprover.classifier.rules import (
    CATEGORY_HINTS,
    CODE_WEAK,
    FAILURE_SIGNAL,
    HEDGE,
    LINE_SPLIT,
    RETRYABLE,
    RULES,
    STAGE_ALIASES,
    STAGE_RULES,
    STAGES,
    TRANSIENT,
    WEAK_LINE,
    WEAK_LINE_DIVISOR,
    Rule,
)
from pathprover.classifier.scope import FailureOrigin, account_action, judge_scope, normalise_origin
from pathprover.core.records import FailureCategory, FailureScope, Status, status_of_failure

EVIDENCE_MAX_CHARS: Final[int] = 300
UNKNOWN_RULE_ID: Final[str] = "unknown.no_match"
"""No rule matched and the model was not confident enough."""
EMPTY_RULE_ID: Final[str] = "unknown.empty"
MODEL_RULE_ID: Final[str] = f"model.v{learned.MODEL_VERSION}"
BEST_GUESS_RULE_ID: Final[str] = f"{MODEL_RULE_ID}.best_guess"
"""No rule matched and the model was unsure: of the two residual answers, ``code_bug`` was the likelier."""

SURE_SCORE: Final[int] = 41
"""A rule match this strong that names a cause decides without the model. Above the weak bands (a generic
named exception, 30; a crash with no cause, 35; a generic "not supported", 40): on fresh waves the model
read those better than the weak rules did (revision 8, see docs/classifier.md; cross-validation on the
train split had chosen 30, where the rules had been revised on every item)."""
CAUSE_ON_WEAK_LINE: Final[int] = 55
"""A rule this strong (a stock-out or throttling and up: not a timeout, not a generic "not supported")
found on an INFO/DEBUG/WARNING line still beats a generic failed command or named exception
(the weak code_bug band) on an error line: cause beats symptom across log levels."""
MODEL_MIN_CONFIDENCE: Final[float] = 0.4
"""Below this probability the model does not decide (chosen by cross-validation)."""
MODEL_OVERRIDES_UNKNOWN: Final[float] = 0.9
"""A rule that found a crash with no cause (``unknown``) gives way only to a model this sure of a cause."""

SYMPTOM_RULES: Final[Mapping[str, float]] = MappingProxyType(
    {"timeout.health_check": 0.6, "code.command_failed": 0.8, "code.python_exception": 0.8}
)
"""Rules that report what failed rather than why (the container never passed its health check, a command
exited non-zero, a Python exception was raised), each with the probability a model needs to be of another
category to decide instead: out of fold, such a model was right more often than these rules when the two
disagreed. A failed command and a named exception ask for more (0.8): the model over-reads their
wording (``returned a non-zero code`` is mostly exit 137 in the corpus; ``KeyError: 'text'`` looks like a
loader's unknown model type) (chosen by cross-validation). On an error line a symptom rule decides like a
sure one even below :data:`SURE_SCORE` (a bare failed command is in the weak band): on fresh waves it was
right more often than a model less sure than that."""
NO_CAUSE_MAY_OVERRIDE: Final[frozenset[str]] = frozenset({"timeout.health_check", "code.command_failed"})
"""The symptom rules a model sure of ``unknown`` may override: a failed health check or a runner that "exited
with status 2" with nothing else said are cause-less either way (the policy's "a runner that died naming no
cause"). A named exception with its message is not: a ``KeyError`` in the serving code behind an HTTP 500
stays the code's, however much "InternalServerError" around it sounds like a crash with no cause."""
BEST_GUESS_MIN: Final[float] = 0.2
"""With no rule and an unsure model, a guess is made only if some named category is at least this likely
(and the message says anything of a failure). The guess is between the two residual answers, ``code_bug``
and ``unknown``, by the model's odds between them: on five fresh waves (26-30) the messages that reached
this step were labelled code bug 59 % of the time, unknown 33 %, and the model's top named category was
right on only 35 % of them (revision 13, see docs/classifier.md)."""

MAX_MESSAGE_CHARS: Final[int] = 64_000
"""A longer message is judged from its head and tail (where the error is), after redaction."""
_HEAD_CHARS: Final[int] = 16_000
_CONTROL: Final[re.Pattern[str]] = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")
_TYPOGRAPHIC: Final[dict[int, str]] = {0x2019: "'", 0x2018: "'", 0x201C: '"', 0x201D: '"'}
"""Curly quotes as plain ones: AWS writes "isn’t supported", the rules spell "isn't"."""

DecidedBy = Literal["rule", "model", "none"]

_LIST_INTRO: Final[re.Pattern[str]] = re.compile(
    r"\b(?:include[sd]?|such as|e\.g\.|causes?|reasons?)\s*$", re.IGNORECASE
)

# An enumerated list item: "(1) ...", "1) ...", "1. ...".
_ENUMERATED: Final[re.Pattern[str]] = re.compile(r"\s*\(?\d{1,2}[).]\s")

_LINE_RULES: Final[tuple[Rule, ...]] = tuple(rule for rule in RULES if not rule.multiline)
_MULTILINE_RULES: Final[tuple[Rule, ...]] = tuple(rule for rule in RULES if rule.multiline)


class Classification(BaseModel):
    """The verdict on one failure message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: FailureCategory
    retryable: bool
    stage: str | None = Field(description="The given stage, else one inferred from the text, else None.")
    evidence: str = Field(max_length=EVIDENCE_MAX_CHARS, description="The redacted line that decided it.")
    hint: str = Field(description="One-line remediation hint.")
    rule: str = Field(description="Id of the rule that decided it (model.v1 when the model did).")
    decided_by: DecidedBy = Field(description="rule | model | none (nothing matched, the model was unsure)")
    confidence: float = Field(
        ge=0.0, le=1.0, description="1.0 for a sure rule; else the model's probability for the category"
    )
    failure_scope: FailureScope = Field(description="config | account | harness: who is at fault")
    scope_rule: str = Field(description="Id of the scope pattern (or origin) that decided the scope.")
    action: str = Field(default="", description="For account and harness failures: what a person must change.")
    status: Status = Field(description="the row a prove failing so is recorded as: unfeasible only for the config's")

    @property
    def is_sure(self) -> bool:
        """False for the model's low-confidence best guess: it names a category, but may not make a config
        `unfeasible` for good (the prove is recorded `failed`)."""
        return self.rule != BEST_GUESS_RULE_ID


def _split_lines(text: str) -> list[str]:
    return [line.strip() for line in LINE_SPLIT.split(text) if line.strip()]


def bounded(text: str) -> str:
    """The part of a message that is judged: all of it, or its head and tail when very long; redacted
    whole first, so no window can cut a secret into pieces that no longer look like one."""
    text = redact(_CONTROL.sub(" ", redact(text.encode("utf-8", errors="replace").decode("utf-8"))))
    text = text.translate(_TYPOGRAPHIC)
    if len(text) > MAX_MESSAGE_CHARS:
        head = text[:_HEAD_CHARS]
        tail = text[-(MAX_MESSAGE_CHARS - _HEAD_CHARS) :]
        # Cut at line breaks, so no secret is split in two and half of it left unrecognised.
        head = head[: head.rfind("\n")] if "\n" in head else head
        tail = tail[tail.find("\n") + 1 :] if "\n" in tail else tail
        text = head + "\n[...]\n" + tail
    return text


def _trim(line: str) -> str:
    line = " ".join(line.split())
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


def _best_match(lines: list[str]) -> tuple[Rule, str, int, float] | None:
    """The strongest unhedged match: (rule, deciding line, offset of the match in that line, score)."""
    best: tuple[float, Rule, str, int] | None = None
    # The strongest cause found only on an INFO/DEBUG/WARNING line (see CAUSE_ON_WEAK_LINE).
    weak_cause: tuple[float, Rule, str, int] | None = None
    for line in lines:
        weak_line = WEAK_LINE.search(line) is not None
        for rule in _LINE_RULES:
            # A guess ("may be caused by the OOM killer") is not evidence: skip hedged matches.
            match = next((m for m in rule.pattern.finditer(line) if not _hedged(line, m)), None)
            if match is None:
                continue
            score = rule.priority / WEAK_LINE_DIVISOR if weak_line else rule.priority
            if best is None or score > best[0]:
                best = (score, rule, line, match.start())
            if weak_line and rule.priority >= CAUSE_ON_WEAK_LINE and (weak_cause is None or score > weak_cause[0]):
                weak_cause = (score, rule, line, match.start())
    if best is not None and weak_cause is not None and best[1].priority == CODE_WEAK:
        # Cause beats symptom across log levels: "Insufficient CPU capacity" or "no space left on
        # device" logged at WARNING/INFO explains the "exited with code 1" or the generic exception
        # that follows it; it decides as if it had been logged on the error line.
        best = (float(weak_cause[1].priority), weak_cause[1], weak_cause[2], weak_cause[3])
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
        score = rule.priority / WEAK_LINE_DIVISOR if weak_line else rule.priority
        if best is None or score > best[0]:
            line_start = joined.rfind("\n", 0, match.start()) + 1
            best = (score, rule, " ".join(lines[first : last + 1]), match.start() - line_start)
    if best is None:
        return None
    return best[1], best[2], best[3], best[0]


def _decides(rule: Rule, score: float, sure_score: float) -> bool:
    """A match strong enough to decide before the model: a cause at ``sure_score``, or a symptom rule
    matched on an error line (which then gives way only to a model sure of another cause)."""
    return score >= sure_score or (rule.id in SYMPTOM_RULES and score >= rule.priority)


def classify(
    text: str,
    stage: str | None = None,
    origin: FailureOrigin | None = None,
    *,
    fallback: learned.LinearModel | None = None,
    sure_score: float = SURE_SCORE,
    min_confidence: float = MODEL_MIN_CONFIDENCE,
    overrides_unknown: float = MODEL_OVERRIDES_UNKNOWN,
    overrides_symptom: float | None = None,
    best_guess: float = BEST_GUESS_MIN,
) -> Classification:
    """Classify a failure message (a log excerpt, an API error, a traceback…).

    ``stage`` is the stage that failed, if the caller knows it; otherwise one is
    inferred from the text. ``origin`` says where the failure was seen (see
    :data:`~pathprover.classifier.scope.FailureOrigin`) and informs the scope.
    Raises ``ValueError`` for an unknown stage name. ``fallback`` and the
    thresholds exist for evaluation (cross-validation; a threshold above 1.0
    turns its step off); production uses the shipped model and the chosen
    thresholds.
    """
    given_stage = normalise_stage(stage)
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    judged = bounded(text)
    lines = _split_lines(judged)
    if not lines or not any(character.isalnum() for character in judged):
        # Nothing a person could read (empty, whitespace, control characters, binary garbage).
        return _verdict("unknown", EMPTY_RULE_ID, "none", 0.0, "", "", CATEGORY_HINTS["unknown"], given_stage, origin)
    found = _best_match(lines)
    fallback = fallback or learned.shipped()
    if found is not None and _decides(found[0], found[3], sure_score):
        rule, line, match_start, _score = found
        needed = SYMPTOM_RULES.get(rule.id, 2.0) if overrides_symptom is None else overrides_symptom
        if rule.id in SYMPTOM_RULES and needed <= 1.0:
            # Cause beats symptom: a model sure of another category explains the failed check or command.
            probabilities = fallback.probabilities(judged)
            category, confidence = max(probabilities.items(), key=lambda item: item[1])
            overrides = category != "unknown" or rule.id in NO_CAUSE_MAY_OVERRIDE
            if category != rule.category and confidence >= needed and overrides:
                line = lines[fallback.strongest_line(lines, category)]
                cause: FailureCategory = category  # type: ignore[assignment]  # the model's classes are the categories
                return _verdict(cause, MODEL_RULE_ID, "model", confidence, judged, line, None, given_stage, origin)
        raw = _evidence_window(line, match_start)
        return _verdict(rule.category, rule.id, "rule", 1.0, judged, raw, rule.hint, given_stage, origin)
    probabilities = fallback.probabilities(judged)
    category, confidence = max(probabilities.items(), key=lambda item: item[1])
    crash_without_cause = found is not None and found[0].category == "unknown" and found[3] >= TRANSIENT
    if confidence >= (overrides_unknown if crash_without_cause else min_confidence):
        line = lines[fallback.strongest_line(lines, category)]
        decided: FailureCategory = category  # type: ignore[assignment]  # the model's classes are the categories
        return _verdict(decided, MODEL_RULE_ID, "model", confidence, judged, line, None, given_stage, origin)
    if found is not None:
        rule, line, match_start, _score = found
        raw = _evidence_window(line, match_start)
        return _verdict(
            rule.category, rule.id, "rule", probabilities[rule.category], judged, raw, rule.hint, given_stage, origin
        )
    named = {name: p for name, p in probabilities.items() if name != "unknown"}
    if (
        max(named.values()) >= best_guess
        and probabilities["code_bug"] >= probabilities["unknown"]
        and FAILURE_SIGNAL.search(judged)
    ):
        # Nothing matched and the model is unsure, but the message says something failed: a failure no rule
        # explains is a code bug more often than not (see BEST_GUESS_MIN), when the model agrees it is likelier
        # than a failure that names no cause.
        line = lines[fallback.strongest_line(lines, "code_bug")]
        return _verdict(
            "code_bug", BEST_GUESS_RULE_ID, "model", probabilities["code_bug"], judged, line, None, given_stage, origin
        )
    return _verdict(
        "unknown", UNKNOWN_RULE_ID, "none", probabilities["unknown"], judged, lines[-1], None, given_stage, origin
    )


def _verdict(
    category: FailureCategory,
    rule_id: str,
    decided_by: DecidedBy,
    confidence: float,
    judged: str,
    raw_evidence: str,
    hint: str | None,
    given_stage: str | None,
    origin: FailureOrigin | None,
) -> Classification:
    scope = judge_scope(judged, category, origin, rule_id)
    if decided_by == "none" and scope.line:
        raw_evidence = scope.line  # no cause found: the line that says whose failure it is explains most
    return Classification(
        category=category,
        retryable=RETRYABLE[category],
        stage=given_stage if given_stage is not None else infer_stage(judged, raw_evidence),
        evidence=_trim(raw_evidence),
        hint=hint or CATEGORY_HINTS[category],
        rule=rule_id,
        decided_by=decided_by,
        confidence=round(min(1.0, max(0.0, confidence)), 4),
        failure_scope=scope.scope,
        scope_rule=scope.rule,
        action=account_action(judged) if scope.scope == "account" else scope.action,
        status=status_of_failure(RETRYABLE[category], scope.scope, sure=rule_id != BEST_GUESS_RULE_ID),
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
    for key in ("stage", "origin"):
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"line {number}: '{key}' must be a string or null")
    return obj


def classify_lines(
    lines: Iterable[str], stage: str | None = None, origin: FailureOrigin | None = None
) -> Iterator[dict[str, Any]]:
    """Classify JSON Lines objects ``{"id", "text", "stage"?, "origin"?}``.

    Yields ``{"id", "category", "retryable", "stage", "failure_scope", "decided_by",
    "confidence", "rule"}`` per non-blank line; a line's own ``stage``/``origin``
    beat the defaults given here. A malformed line raises ``ValueError`` whose
    message starts with ``line <n>:`` (1-based).
    """
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        obj = _parse_line(number, raw)
        try:
            result = classify(obj["text"], obj.get("stage") or stage, normalise_origin(obj.get("origin")) or origin)
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from exc
        yield {
            "id": str(obj["id"]),
            "category": result.category,
            "retryable": result.retryable,
            "stage": result.stage,
            "failure_scope": result.failure_scope,
            "decided_by": result.decided_by,
            "confidence": result.confidence,
            "rule": result.rule,
        }
