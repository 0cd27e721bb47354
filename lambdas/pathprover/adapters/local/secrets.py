"""The simulated account's Secrets Manager: which secret ids exist (no values are ever held)."""

from __future__ import annotations

from pathprover.adapters.local.account import AccountProfile


class ProfileSecrets:
    def __init__(self, account: AccountProfile) -> None:
        self.account = account

    def exists(self, secret_id: str) -> bool:
        return self.account.has_secret(secret_id)


class ProfileQuotas:
    """The simulated account's endpoint quotas (transform job quotas are not simulated: unknown)."""

    def __init__(self, account: AccountProfile) -> None:
        self.account = account

    def instance_quota(self, instance_type: str, usage: str) -> int | None:
        return self.account.endpoint_quota(instance_type) if usage == "endpoint usage" else None
