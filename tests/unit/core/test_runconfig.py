"""core/runconfig.py: the run config's pinned hash, serving_params refused before rendering, the guide's ACCOUNT
placeholder, and adapter URIs."""

import pytest

from pathprover.core.dimensions import ConfigVector
from pathprover.core.runconfig import (
    RunConfig,
    check_adapter_uri,
    has_account_placeholder,
    resolve_account,
    validate_serving_params,
)
from tests.unit.conftest import run_for
from tests.unit.core.conftest import GUIDE_VECTOR

PLAN_ARN = "arn:aws:sagemaker:us-east-2:222233334444:training-plan/tp-b200"


def test_run_config_hash_is_pinned_and_covers_nested_fields():
    # Given a concrete run config
    run = RunConfig(vector=ConfigVector(**GUIDE_VECTOR), model_name="Qwen/Qwen3-8B", instance_type="ml.g5.xlarge")
    # Then its hash is pinned
    assert run.run_config_hash == "a640648061dbe3ce"
    # And a nested field changes it (the prior art's hash dropped nested objects)
    tuned = run.model_copy(update={"serving_params": {"max_model_len": 32768}})
    assert tuned.run_config_hash != run.run_config_hash
    other_arn = RunConfig(
        vector=ConfigVector(**GUIDE_VECTOR),
        model_name="Qwen/Qwen3-8B",
        instance_type="ml.g5.xlarge",
        infra_params={"capacity_reservation_arn": "arn:aws:sagemaker:us-east-2:123456789012:training-plan/tp-1"},
    )
    assert other_arn.run_config_hash != run.run_config_hash


@pytest.mark.parametrize(
    "params",
    [{"Max_model_len": 1}, {"max-model-len": 1}, {"x; rm -rf /": 1}, {"ok": "a\nb"}, {"ok": [1, 2]}],
)
def test_unsafe_serving_params_are_refused(params):
    with pytest.raises(ValueError, match="serving_params"):
        validate_serving_params(params)


def test_unknown_run_config_field_is_refused():
    with pytest.raises(ValueError, match="extra"):
        RunConfig(
            vector=ConfigVector(**GUIDE_VECTOR),
            model_name="Qwen/Qwen3-8B",
            instance_type="ml.g5.xlarge",
            servng_params={},
        )


def test_account_is_resolved_to_the_deploying_account_or_refused():
    guide = "arn:aws:sagemaker:us-east-2:ACCOUNT:training-plan/tp-XXX"
    assert resolve_account(guide, "111111111111") == "arn:aws:sagemaker:us-east-2:111111111111:training-plan/tp-XXX"
    assert resolve_account(PLAN_ARN, None) == PLAN_ARN  # a real id is left alone
    with pytest.raises(ValueError, match=r"literal ACCOUNT.*PATHPROVER_ACCOUNT_ID"):
        resolve_account(guide, None)
    with pytest.raises(ValueError):
        resolve_account(guide, "ACCOUNT")


def test_only_the_literal_account_field_is_a_placeholder():
    assert has_account_placeholder("arn:aws:sagemaker:us-east-2:ACCOUNT:training-plan/tp-XXX")
    assert not has_account_placeholder("arn:aws:sagemaker:us-east-2:111111111111:training-plan/ACCOUNT")
    assert not has_account_placeholder(None)


@pytest.mark.parametrize("uri", ["s3://bucket/adapters/run-1/model.tar.gz", "s3://bucket/adapters/run-1/"])
def test_an_adapter_uri_is_an_s3_archive_or_folder(uri):
    assert check_adapter_uri(uri) == uri


@pytest.mark.parametrize("uri", ["https://bucket/a.tar.gz", "s3://bucket/adapters/run-1", "/local/adapter/"])
def test_other_adapter_uris_are_refused_naming_what_is_wanted(uri):
    with pytest.raises(ValueError, match="adapter_s3_uri must be an s3://bucket/key URI"):
        check_adapter_uri(uri)


def test_a_runconfig_never_drops_an_adapter_stage_silently():
    run = run_for()
    with pytest.raises(ValueError, match="no adapter to serve"):
        RunConfig.model_validate({**run.model_dump(), "stages": [*run.stages, "adapter"]})
