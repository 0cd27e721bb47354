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

# Sources (all secondary: no AWS page listing the defaults was found in the stored corpus):
#   [AUDIT] a public "GPU Quota Audit" (Service Quotas GetServiceQuota, us-east-1, 2026-08-17) of an
#           account that had raised only ml.g6e.xlarge/2xlarge (both were 1 before the request):
#           g5.xlarge 4, g5.2xlarge 2, g5.4xlarge 2, g5.12xlarge 1, g6.xlarge/2xlarge/4xlarge/12xlarge 1,
#           g6e.4/8/12/16xlarge 1, g6e.24xlarge 0, g6e.48xlarge 0, p4d.24xlarge 0, p4de.24xlarge 0,
#           p5.48xlarge 0. The account's age is not stated: these are that account's values.
#   [ZERO]  public error texts "The account-level service limit '<type> for endpoint usage' is 0
#           Instances" from fresh set-ups: ml.g5.48xlarge, ml.g6.48xlarge, ml.p4d.24xlarge,
#           ml.g4dn.xlarge (also ml.g5.xlarge and ml.g5.4xlarge on some accounts, which AUDIT
#           contradicts: quotas differ between accounts; AUDIT is used where both exist).
#   assumption: no source; the value follows the nearest sourced size of the family (docs/simulation.md).
NEW_ACCOUNT_ENDPOINT_QUOTAS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "ml.g4dn.xlarge": 0,  # ZERO
        "ml.g4dn.12xlarge": 0,  # assumption (g4dn.xlarge is 0)
        "ml.g5.xlarge": 4,  # AUDIT
        "ml.g5.2xlarge": 2,  # AUDIT
        "ml.g5.4xlarge": 2,  # AUDIT
        "ml.g5.8xlarge": 1,  # assumption (between g5.4xlarge 2 and g5.12xlarge 1)
        "ml.g5.12xlarge": 1,  # AUDIT
        "ml.g5.16xlarge": 1,  # assumption (as g5.12xlarge)
        "ml.g5.24xlarge": 0,  # assumption (as g6e.24xlarge, AUDIT)
        "ml.g5.48xlarge": 0,  # ZERO
        "ml.g6.xlarge": 1,  # AUDIT
        "ml.g6.2xlarge": 1,  # AUDIT
        "ml.g6.4xlarge": 1,  # AUDIT
        "ml.g6.8xlarge": 1,  # assumption (as g6.4xlarge and g6.12xlarge)
        "ml.g6.12xlarge": 1,  # AUDIT
        "ml.g6.16xlarge": 1,  # assumption (as g6.12xlarge)
        "ml.g6.24xlarge": 0,  # assumption (as g6e.24xlarge, AUDIT)
        "ml.g6.48xlarge": 0,  # ZERO
        "ml.g6e.xlarge": 1,  # AUDIT (the value before that account's increase)
        "ml.g6e.2xlarge": 1,  # AUDIT (the value before that account's increase)
        "ml.g6e.4xlarge": 1,  # AUDIT
        "ml.g6e.8xlarge": 1,  # AUDIT
        "ml.g6e.12xlarge": 1,  # AUDIT
        "ml.g6e.16xlarge": 1,  # AUDIT
        "ml.g6e.24xlarge": 0,  # AUDIT
        "ml.g6e.48xlarge": 0,  # AUDIT
        "ml.p4d.24xlarge": 0,  # AUDIT, ZERO
        "ml.p4de.24xlarge": 0,  # AUDIT
        "ml.p5.48xlarge": 0,  # AUDIT
        "ml.p5e.48xlarge": 0,  # assumption (as p5.48xlarge)
        "ml.p5en.48xlarge": 0,  # assumption (as p5.48xlarge)
        "ml.p6-b200.48xlarge": 0,  # assumption (as p5.48xlarge; capacity-only: runs on a training plan)
        "ml.inf2.xlarge": 1,  # assumption (no source for inf2; small sizes usable like g6.xlarge)
        "ml.inf2.8xlarge": 1,  # assumption
        "ml.inf2.24xlarge": 0,  # assumption (large sizes 0, like the GPU families)
        "ml.inf2.48xlarge": 0,  # assumption
    }
)
"""'<instance type> for endpoint usage' on a new account, by instance type; sources in the comments above."""
NEW_ACCOUNT_DEFAULT_ENDPOINT_QUOTA: Final[int | None] = 0
"""The quota of an instance type missing from the table: 0 (assumption: an unknown type is not granted)."""


@dataclass(frozen=True)
class SimulatedIdentity:
    """The simulated account's id (the local runtime's, so the guide's ARNs work unchanged)."""

    account: str

    def account_id(self) -> str:
        return self.account


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
