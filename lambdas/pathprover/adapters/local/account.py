"""The simulated AWS account the local runtime proves in: what exists in it, and its limits.

`ESTABLISHED` is an account that has run Path Prover before (runner image built, token
secret present, endpoint quotas raised). `fresh_account()` is the stack right after
`cdk deploy` in a new account: the runner image is not built yet, the token secret is
present (the guide's prerequisite), and the endpoint quotas are a new account's defaults
(see :data:`NEW_ACCOUNT_ENDPOINT_QUOTAS` for their sources and which are assumptions).
The empty table is the warehouse's business, not the profile's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

DEFAULT_HF_TOKEN_SECRET: Final = "pathprover/huggingface-token"
"""The guide's secret name (the stack's default for `-c PathProverHfTokenSecret`)."""

NEW_ACCOUNT_ENDPOINT_QUOTAS: Final[Mapping[str, int]] = MappingProxyType({})
"""'<instance type> for endpoint usage' on a new account, by instance type (filled from sourced facts)."""
NEW_ACCOUNT_DEFAULT_ENDPOINT_QUOTA: Final[int | None] = None
"""The quota of an instance type missing from the table (None: not limited by the simulation)."""


@dataclass(frozen=True)
class AccountProfile:
    """What the simulated account holds and allows."""

    name: str
    secrets: frozenset[str] = frozenset({DEFAULT_HF_TOKEN_SECRET})
    """Secrets Manager ids that exist (the Hugging Face token's, usually)."""
    runner_image_built: bool = True
    """Whether the benchmark runner image is in ECR already (not yet, right after the first deploy)."""
    endpoint_quotas: Mapping[str, int] = field(default_factory=dict)
    """Instances of a type the account may run for endpoint usage at once; missing: `default_endpoint_quota`."""
    default_endpoint_quota: int | None = None
    """None: a type missing from `endpoint_quotas` is not limited."""

    def endpoint_quota(self, instance_type: str) -> int | None:
        return self.endpoint_quotas.get(instance_type, self.default_endpoint_quota)

    def has_secret(self, secret_id: str) -> bool:
        return secret_id in self.secrets


ESTABLISHED: Final = AccountProfile(name="established")


def fresh_account(*, token_secret: bool = True) -> AccountProfile:
    """The account right after the first `cdk deploy`."""
    return AccountProfile(
        name="fresh",
        secrets=frozenset({DEFAULT_HF_TOKEN_SECRET}) if token_secret else frozenset(),
        runner_image_built=False,
        endpoint_quotas=dict(NEW_ACCOUNT_ENDPOINT_QUOTAS),
        default_endpoint_quota=NEW_ACCOUNT_DEFAULT_ENDPOINT_QUOTA,
    )
