"""pathprover/settings.py: Settings from PATHPROVER_* variables, validated; nothing else reads the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pathprover.settings import Settings, job_environment


def test_from_env_reads_the_prefixed_variables_and_ignores_empty_ones() -> None:
    # Given a Lambda's environment
    env = {
        "PATHPROVER_RUNTIME": "aws",
        "PATHPROVER_WAREHOUSE": "/tmp/wh",
        "PATHPROVER_KEEP_ON_FAILURE": "true",
        "PATHPROVER_LEDGER_TABLE": "ledger",
        "PATHPROVER_ATHENA_WORKGROUP": "",  # set but empty: the default stays
        "UNRELATED": "x",
    }
    # When settings are built from it
    settings = Settings.from_env(env)
    # Then each field is parsed to its type, and an empty variable is as if unset
    assert settings.runtime == "aws" and settings.warehouse == Path("/tmp/wh")
    assert settings.keep_on_failure is True and settings.ledger_table == "ledger"
    assert settings.athena_workgroup is None


def test_the_region_comes_from_aws_region_unless_pathprover_region_is_set() -> None:
    assert Settings.from_env({}).region == "us-east-1"
    assert Settings.from_env({"AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-west-1"
    assert Settings.from_env({"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-west-2"
    assert Settings.from_env({"AWS_REGION": "eu-west-2", "PATHPROVER_REGION": "ap-south-1"}).region == "ap-south-1"


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("PATHPROVER_RUNTIME", "gcp", "runtime"),
        ("PATHPROVER_ACCOUNT_ID", "12345", "account_id"),
        ("PATHPROVER_STACK", "1-starts-with-a-digit", "stack"),
        ("PATHPROVER_KEEP_ON_FAILURE", "maybe", "keep_on_failure"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field(variable: str, value: str, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings.from_env({variable: value})


def test_settings_are_frozen_and_refuse_unknown_fields() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        Settings(regoin="eu-west-1")  # type: ignore[call-arg]


def test_job_environment_is_a_copy_of_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHPROVER_TEST_MARKER", "1")
    env = job_environment()
    assert env["PATHPROVER_TEST_MARKER"] == "1"
    env["PATHPROVER_TEST_MARKER"] = "2"  # the job's copy, not the process's
    assert job_environment()["PATHPROVER_TEST_MARKER"] == "1"
