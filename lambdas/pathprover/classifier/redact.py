"""Redaction of secrets from failure text before it is stored or shown.

Failure messages end up in the results table (``failure_reason``), the execution
state (the Step Functions history) and logs, so anything that looks like a
credential is replaced by ``***REDACTED***`` — always on the whole text, before any
window is cut from it (a window cut first can leave half a token that no longer
looks like one):

* Hugging Face tokens: ``hf_`` and 8 or more letters/digits with a capital or a digit,
  wherever they are (glued to other letters too); a token cut by a line break is
  followed onto the next line up to its 34 characters;
* AWS access key ids (``AKIA…``/``ASIA…``…);
* values of secret-looking keys — any name ending in token, secret, password,
  passwd, api key, access key, private key or credential(s) (``HF_TOKEN=``,
  ``HF_HUB_TOKEN=``, ``MY_API_TOKEN=``, ``"SessionToken": "…"``, JSON-escaped
  ``\\"password\\": \\"…\\"``, quoted values with spaces);
* ``Authorization: Bearer …`` / ``Basic …``;
* free-standing 40-character AWS-secret-looking strings (mixed case and digits,
  not plain hex, so git commit hashes survive).
"""

from __future__ import annotations

import re
from typing import Final

MASK: Final[str] = "***REDACTED***"
HF_TOKEN_BODY: Final = 34
"""Characters after ``hf_`` in a Hugging Face user access token."""

_HF_TOKEN: Final[re.Pattern[str]] = re.compile(r"hf_(?P<body>[A-Za-z0-9]{8,})(?P<rest>\r?\n[A-Za-z0-9]+)?")
_AWS_KEY_ID: Final[re.Pattern[str]] = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AROA|AIDA|ANPA)[A-Z0-9]{16}(?![A-Z0-9])")
_SECRET_WORD: Final = (
    r"(?:token|secret|password|passwd|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?"
    r"|client[_-]?secret|session[_-]?token|security[_-]?token|auth)"
)
_KEY: Final = rf"(?<![A-Za-z0-9])[A-Za-z0-9_.-]*{_SECRET_WORD}"
"""A name ending in a secret word: `HF_TOKEN`, `HF_HUB_TOKEN`, `MY_API_TOKEN`, `aws_secret_access_key`,
`SessionToken`, `x-amz-security-token`. `INPUT_TOKENS` and `max_tokens` do not end in one."""
_QUOTED_VALUE: Final[re.Pattern[str]] = re.compile(
    rf"(?P<key>{_KEY}(?:\\?[\"'])?\s*[:=]\s*)(?P<q>\\?[\"'])(?P<value>(?:(?!(?P=q)).){{1,400}}?)(?P=q)",
    re.IGNORECASE,
)
_BARE_VALUE: Final[re.Pattern[str]] = re.compile(
    rf"(?P<key>{_KEY}(?:\\?[\"'])?\s*[:=]\s*)(?P<value>[^\s\"'\\,;}}\]]{{3,}})",
    re.IGNORECASE,
)
_AUTHORIZATION: Final[re.Pattern[str]] = re.compile(
    r"\b(?P<key>(?:Bearer|Basic)\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE
)
_FORTY: Final[re.Pattern[str]] = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def _looks_like_aws_secret(candidate: str) -> bool:
    has_upper = any(c.isupper() for c in candidate)
    has_lower = any(c.islower() for c in candidate)
    has_digit = any(c.isdigit() for c in candidate)
    return has_upper and has_lower and has_digit


def _hf_token(match: re.Match[str]) -> str:
    body, rest = match.group("body"), match.group("rest") or ""
    cut = bool(rest) and len(body) < HF_TOKEN_BODY
    # The part of the next line a token cut by a line break would continue with.
    tail = rest.lstrip("\r\n")[: HF_TOKEN_BODY - len(body)] if cut else ""
    if not any(c.isupper() or c.isdigit() for c in body + tail):
        return match.group(0)  # hf_transfer, hf_hub_download: names, not tokens
    if cut:
        # A token cut by a line break: its remaining characters are the start of the next line.
        newline = rest[: len(rest) - len(rest.lstrip("\r\n"))]
        continuation = rest[len(newline) :]
        missing = HF_TOKEN_BODY - len(body)
        return "hf_" + MASK + newline + ("" if len(continuation) <= missing else continuation[missing:])
    return "hf_" + MASK + rest


def _value(match: re.Match[str]) -> str:
    value = match.group("value")
    if value.startswith(MASK) or value.startswith("hf_" + MASK):
        return match.group(0)
    quote = match.groupdict().get("q") or ""
    if not quote and value.endswith(":"):
        return match.group(0)  # `HF_TOKEN: ResourceNotFoundException: ...`: a message, not a value
    return match.group("key") + quote + MASK + quote


def redact(text: str) -> str:
    """Return ``text`` with every secret-looking value replaced by ``***REDACTED***``.

    Idempotent: ``redact(redact(x)) == redact(x)``.
    """
    text = _HF_TOKEN.sub(_hf_token, text)
    text = _AWS_KEY_ID.sub(MASK, text)
    text = _AUTHORIZATION.sub(lambda m: m.group("key") + MASK, text)
    text = _QUOTED_VALUE.sub(_value, text)
    text = _BARE_VALUE.sub(_value, text)
    return _FORTY.sub(lambda m: MASK if _looks_like_aws_secret(m.group(0)) else m.group(0), text)
