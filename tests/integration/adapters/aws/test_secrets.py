"""SecretsManagerLookup: the token secret is checked without reading its value (botocore Stubber)."""

from __future__ import annotations

from pathprover.adapters.aws.secrets import SecretsManagerLookup
from tests.support.aws_stubs import stubbed_client as _clients


def test_the_token_secret_is_checked_without_reading_its_value():
    clients, stub = _clients("secretsmanager")
    stub.add_response("describe_secret", {"Name": "pathprover/huggingface-token"}, {"SecretId": "pathprover/hf"})
    stub.add_client_error("describe_secret", "ResourceNotFoundException", expected_params={"SecretId": "pathprover/hf"})
    stub.add_response(
        "describe_secret",
        {"Name": "pathprover/hf", "DeletedDate": "2026-12-01T00:00:00Z"},
        {"SecretId": "pathprover/hf"},
    )
    lookup = SecretsManagerLookup(clients)
    with stub:
        assert lookup.exists("pathprover/hf") is True
        assert lookup.exists("pathprover/hf") is False
        assert lookup.exists("pathprover/hf") is False  # scheduled for deletion: the stage job cannot read it
    stub.assert_no_pending_responses()
