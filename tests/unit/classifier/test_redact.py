"""Redaction cannot be bypassed: generated secrets at random positions, escaped, split and glued."""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathprover.classifier import classify
from pathprover.classifier.redact import MASK, redact
from tests.unit.classifier.conftest import AWS_SECRET, HF_TOKEN

ALNUM = string.ascii_letters + string.digits
SECRET_KEYS = [
    "HF_TOKEN",
    "HF_HUB_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "MY_API_TOKEN",
    "api_key",
    "api-key",
    "password",
    "passwd",
    "aws_secret_access_key",
    "SessionToken",
    "x-amz-security-token",
    "client_secret",
    "PRIVATE_KEY",
    "credentials",
]
FILLER = st.text(alphabet=string.ascii_letters + string.digits + " .:,;()[]{}<>-_/'\"\n\t=", max_size=200)


@st.composite
def hf_tokens(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=ALNUM, min_size=34, max_size=34))
    if not any(c.isupper() or c.isdigit() for c in body):
        body = "A" + body[1:]
    return "hf_" + body


@st.composite
def embedded(draw: st.DrawFn) -> tuple[str, list[str], str]:
    """A text with one secret in it, the pieces of the secret that must not survive, and the filler."""
    kind = draw(st.sampled_from(["hf", "hf_split", "hf_glued", "aws_id", "key_value", "key_quoted", "key_json"]))
    before, after = draw(FILLER), draw(FILLER)
    if kind.startswith("hf"):
        token = draw(hf_tokens())
        body = token[3:]
        if kind == "hf_split":
            cut = draw(st.integers(min_value=8, max_value=33))
            secret = token[: 3 + cut] + "\n" + token[3 + cut :]
            pieces = [body[:cut], body[cut:]] if len(body[cut:]) >= 6 else [body[:cut]]
        elif kind == "hf_glued":
            secret = draw(st.text(alphabet=string.ascii_letters, min_size=1, max_size=8)) + token
            pieces = [body]
        else:
            secret, pieces = token, [body]
        after = after if not after[:1].isalnum() else " " + after
        return before + secret + after, pieces, before + after
    if kind == "aws_id":
        key_id = "AKIA" + draw(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16, max_size=16))
        return f"{before} {key_id} {after}", [key_id], before + after
    key = draw(st.sampled_from(SECRET_KEYS))
    value = draw(st.text(alphabet=ALNUM + "!@#%^&*()+/-_", min_size=8, max_size=40))
    if kind == "key_value":
        sep = draw(st.sampled_from(["=", ": ", " = ", ":"]))
        return f"{before} {key}{sep}{value} {after}", [value], before + after
    if kind == "key_quoted":
        words = draw(st.lists(st.text(alphabet=ALNUM, min_size=3, max_size=10), min_size=2, max_size=4))
        phrase = " ".join(words)
        return f'{before} {key}: "{phrase}" {after}', [w for w in words if len(w) >= 6] or [phrase], before + after
    # a JSON document holding the key, then JSON-escaped again inside a log line
    doc = json.dumps({key: value, "note": "x"})
    return f"{before} {json.dumps(doc)} {after}", [value], before + after


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(embedded())
def test_no_piece_of_a_generated_secret_survives_redaction(case: tuple[str, list[str], str]) -> None:
    text, pieces, filler = case
    out = redact(text)
    for piece in pieces:
        assert piece not in out or piece in filler, (text, out)
    assert redact(out) == out


def test_a_token_near_the_error_phrase_leaves_nothing_in_the_evidence() -> None:
    # Given a long log whose token sits ~100 characters before the error phrase
    token = "hf_" + "Ab1" * 11 + "Z"
    text = (
        ("x" * 5000)
        + f"\nDownloading with HF_TOKEN={token} from the hub ...... then"
        + (" " * 60)
        + "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
        + ("y" * 5000)
    )
    # When it is classified (the window cut for evidence included)
    verdict = classify(text)
    # Then neither the evidence nor anything else the verdict carries holds a piece of the token
    dumped = json.dumps(verdict.model_dump(mode="json"))
    assert token[3:11] not in dumped and token[-8:] not in dumped
    assert verdict.category == "oom"


def test_names_that_only_look_like_secrets_are_kept() -> None:
    text = "INPUT_TOKENS=512 max_tokens: 16 hf_transfer hf_hub_download commit 0123456789abcdef0123456789abcdef01234567"
    assert redact(text) == text
    assert MASK not in redact("Tokenizer loaded; num_tokens=42")


def test_an_error_name_after_a_secret_name_is_not_taken_for_its_value() -> None:
    text = "Secrets Manager error for environment variable HF_TOKEN: ResourceNotFoundException: not found"
    assert redact(text) == text


def test_redact_masks_tokens_and_secrets_but_keeps_hashes() -> None:
    # Given text with an HF token, an access key id, a key=value secret, a bearer token and a git sha
    sha = "0123456789abcdef0123456789abcdef01234567"
    text = (
        f"token {HF_TOKEN} key AKIAIOSFODNN7EXAMPLE secret={AWS_SECRET} "
        f"Authorization: Bearer abcdefghijklmnop commit {sha} bare {AWS_SECRET}"
    )
    # When it is redacted
    out = redact(text)
    # Then every secret is masked, the commit sha survives, and redaction is idempotent
    assert HF_TOKEN not in out
    assert "AKIAIOSFODNN7EXAMPLE" not in out
    assert AWS_SECRET not in out
    assert "abcdefghijklmnop" not in out
    assert sha in out
    assert redact(out) == out


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=20, max_size=60))
def test_redact_never_leaves_an_hf_token(suffix: str) -> None:
    # Given any HF-token-shaped value embedded in a log line
    token = "hf_" + suffix
    # When the line is redacted
    # Then the token does not survive
    assert token not in redact(f"Downloading with {token} now")
