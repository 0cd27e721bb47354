"""Secrets Manager, as far as the plan needs it: does the Hugging Face token secret exist?"""

from __future__ import annotations

from pathprover.adapters.aws.clients import AwsClients, error_code


class SecretsManagerLookup:
    """DescribeSecret (metadata only): the brain never holds a token's value."""

    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    def exists(self, secret_id: str) -> bool:
        try:
            described = self._clients("secretsmanager").describe_secret(SecretId=secret_id)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise
        # A secret scheduled for deletion cannot be read by the stage job.
        return not described.get("DeletedDate")
