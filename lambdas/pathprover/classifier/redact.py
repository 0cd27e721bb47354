"""Redaction of secrets from failure text before it is stored or shown.

Failure messages end up in the results table (``failure_reason``) and in logs,
so anything that looks like a credential is replaced by ``***REDACTED***``:

* Hugging Face tokens (``hf_`` followed by 20 or more letters and digits);
* AWS access key ids (``AKIA…``/``ASIA…``);
* values of secret-looking keys (``aws_secret_access_key=…``, ``"SessionToken": "…"``,
  ``HF_TOKEN=…``, ``password: …``, ``Authorization: Bearer …``);
* free-standing 40-character AWS-secret-looking strings (mixed case and digits,
  not plain hex, so git commit hashes survive).
"""

from __future__ import annotations

import re
from typing import Final

MASK: Final[str] = "***REDACTED***"

_HF_TOKEN: Final[re.Pattern[str]] = re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{20,}")
_AWS_KEY_ID: Final[re.Pattern[str]] = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AROA|AIDA|ANPA)[A-Z0-9]{16}(?![A-Z0-9])")
_SECRET_KEY_VALUE: Final[re.Pattern[str]] = re.compile(
    r"(?P<key>\b(?:aws_secret_access_key|secret_access_key|secretaccesskey|aws_session_token"
    r"|session_?token|x-amz-security-token|hf_token|hugging_?face_hub_token|hf_api_token"
    r"|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|password|passwd|secret|token)\b"
    r"[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s\"',;}]{4,})",
    re.IGNORECASE,
)
_BEARER: Final[re.Pattern[str]] = re.compile(r"\b(?P<key>Bearer\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
_FORTY: Final[re.Pattern[str]] = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def _looks_like_aws_secret(candidate: str) -> bool:
    has_upper = any(c.isupper() for c in candidate)
    has_lower = any(c.islower() for c in candidate)
    has_digit = any(c.isdigit() for c in candidate)
    return has_upper and has_lower and has_digit


def redact(text: str) -> str:
    """Return ``text`` with every secret-looking value replaced by ``***REDACTED***``.

    Idempotent: ``redact(redact(x)) == redact(x)``.
    """
    text = _HF_TOKEN.sub("hf_" + MASK, text)
    text = _AWS_KEY_ID.sub(MASK, text)
    text = _BEARER.sub(lambda m: m.group("key") + MASK, text)
    text = _SECRET_KEY_VALUE.sub(
        lambda m: m.group(0) if m.group("value").startswith(MASK) else m.group("key") + MASK, text
    )
    return _FORTY.sub(lambda m: MASK if _looks_like_aws_secret(m.group(0)) else m.group(0), text)
