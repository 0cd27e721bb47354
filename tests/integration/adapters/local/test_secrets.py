"""The simulated account's Secrets Manager and Service Quotas: answered from its AccountProfile."""

from __future__ import annotations

from pathprover.adapters.local.account import DEFAULT_HF_TOKEN_SECRET, AccountProfile, fresh_account
from pathprover.adapters.local.secrets import ProfileQuotas, ProfileSecrets


def test_a_secret_exists_only_if_the_account_holds_it() -> None:
    # Given a fresh account with the token secret, and one without it
    with_token, without = ProfileSecrets(fresh_account()), ProfileSecrets(fresh_account(token_secret=False))
    # When the plan asks for the guide's token secret, Then only the first account has it
    assert with_token.exists(DEFAULT_HF_TOKEN_SECRET) is True
    assert without.exists(DEFAULT_HF_TOKEN_SECRET) is False
    # And a secret nobody created is missing everywhere
    assert with_token.exists("pathprover/some-other-token") is False


def test_endpoint_quotas_come_from_the_profile_and_transform_quotas_are_unknown() -> None:
    # Given an account with a quota for one type and a default of 0 for the rest
    quotas = ProfileQuotas(AccountProfile(name="t", endpoint_quotas={"ml.g5.xlarge": 3}, default_endpoint_quota=0))
    # When the plan asks, Then endpoint usage follows the profile
    assert quotas.instance_quota("ml.g5.xlarge", "endpoint usage") == 3
    assert quotas.instance_quota("ml.p5.48xlarge", "endpoint usage") == 0
    # And transform job usage is not simulated: unknown, never a made-up limit
    assert quotas.instance_quota("ml.g5.xlarge", "transform job usage") is None


def test_an_account_without_limits_answers_none_for_every_type() -> None:
    # Given the established account's profile (no quota table, no default)
    quotas = ProfileQuotas(AccountProfile(name="established"))
    # Then no type is limited
    assert quotas.instance_quota("ml.p4d.24xlarge", "endpoint usage") is None
