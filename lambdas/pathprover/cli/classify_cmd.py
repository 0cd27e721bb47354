"""`pathprover classify`: the failure classifier on one message or JSON Lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Annotated

import typer

from pathprover.cli.common import SCHEMA_VERSION, JsonOpt, emit_json, fail, json_line, out


def classify(
    text: Annotated[str | None, typer.Argument(help="A failure message; omit to read JSON Lines on stdin")] = None,
    stage: Annotated[str | None, typer.Option(help="The stage the failure arose in, if known")] = None,
    origin: Annotated[
        str | None, typer.Option(help="Where it was seen: job, api, harness or deadline (informs the scope)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Classify failure messages: one text, or JSON Lines {"id", "text", "stage"?, "origin"?} on stdin."""
    from pathprover.classifier import classify as run_classifier
    from pathprover.classifier import classify_lines, normalise_origin

    try:
        origin_name = normalise_origin(origin)
        if text is None:
            for verdict in classify_lines(_stdin_lines(), stage=stage, origin=origin_name):
                sys.stdout.write(json_line({"schema_version": SCHEMA_VERSION, **verdict}) + "\n")
            return
        if not text.strip():
            fail("the message is empty: give the failure text to classify (or JSON Lines on stdin)")
        result = run_classifier(text, stage=stage, origin=origin_name)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        emit_json(result.model_dump())
        return
    colour = "green" if result.retryable else "red"
    decided = (
        f"rule {result.rule}"
        if result.decided_by == "rule" and result.confidence >= 1.0
        else f"{result.decided_by} {result.rule} (confidence {result.confidence:.2f})"
    )
    out().print(f"category:  [bold]{result.category}[/bold]")
    out().print(f"retryable: [{colour}]{'yes' if result.retryable else 'no'}[/{colour}]")
    out().print(f"scope:     [bold]{result.failure_scope}[/bold] ({result.scope_rule})", highlight=False)
    out().print(f"recorded:  {result.status}", highlight=False)
    out().print(f"stage:     {result.stage or 'unknown'}")
    out().print(f"decided:   {decided}", highlight=False)
    out().print(f"evidence:  {result.evidence}", highlight=False)
    out().print(f"hint:      {result.hint}", highlight=False)
    if result.action:
        out().print(f"action:    {result.action}", highlight=False)


def _stdin_lines() -> Iterator[str]:
    """Standard input as text lines; a line that is not UTF-8 is an error naming it."""
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"line {number}: not UTF-8 text (JSON Lines must be UTF-8)") from None
