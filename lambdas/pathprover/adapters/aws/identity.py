"""Who the deploying account is: STS GetCallerIdentity, asked once per process."""

from __future__ import annotations

from pathprover.adapters.aws.clients import AwsClients


class StsIdentity:
    """The account the Lambda role belongs to (the account the prover deploys into)."""

    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._account: str | None = None

    def account_id(self) -> str:
        if self._account is None:
            self._account = str(self._clients.get("sts").get_caller_identity()["Account"])
        return self._account
