"""core/dimensions.py: ConfigVector, config_id, normalising values, distance."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathprover.core.dimensions import (
    DIMENSIONS,
    ConfigVector,
    DimensionValueError,
    config_id_of,
    normalise_value,
)
from tests.unit.core.conftest import GUIDE_VECTOR


def test_config_id_is_pinned():
    # Given the vector of the guide's proven #1 / When hashed / Then the id never changes across releases
    assert config_id_of(GUIDE_VECTOR) == "a85629ebfe1da8c1"


def test_config_id_normalises_types_and_aliases():
    # Given the same config written the ways people and other tools write it
    variants = [
        {**GUIDE_VECTOR, "tp_degree": "1"},
        {**GUIDE_VECTOR, "quantization": "fp16"},
        {**GUIDE_VECTOR, "deployment_config": "vllm", "deployment_target": "async"},
        {**GUIDE_VECTOR, "instance_family": "ML.G5", "model_family": " Qwen3 "},
    ]
    # Then every variant has the same id
    assert {config_id_of(v) for v in variants} == {"a85629ebfe1da8c1"}


def test_config_id_covers_every_dimension():
    # Given configs that differ in exactly one dimension (the prior art dropped quantization and tp_degree)
    base = config_id_of(GUIDE_VECTOR)
    changed = {
        "deployment_config": "transformers-sglang",
        "model_family": "llama3",
        "instance_family": "g6e",
        "quantization": "fp8",
        "tp_degree": 2,
        "deployment_target": "realtime-inference",
    }
    # Then each has its own id
    ids = {config_id_of({**GUIDE_VECTOR, d: v}) for d, v in changed.items()}
    assert len(ids) == len(DIMENSIONS) and base not in ids


@pytest.mark.parametrize("bad", [0, -1, "two", 1.5, True, None])
def test_bad_tp_degree_is_rejected(bad):
    with pytest.raises(DimensionValueError):
        normalise_value("tp_degree", bad)


def test_unknown_dimension_is_rejected():
    with pytest.raises(DimensionValueError, match="unknown dimension"):
        normalise_value("gpu", "a10g")


@given(tp=st.integers(min_value=1, max_value=64), as_text=st.booleans())
def test_tp_degree_int_and_string_are_the_same(tp, as_text):
    assert config_id_of({**GUIDE_VECTOR, "tp_degree": str(tp) if as_text else tp}) == config_id_of(
        {**GUIDE_VECTOR, "tp_degree": tp}
    )


def test_distance_and_changed():
    a = ConfigVector(**GUIDE_VECTOR)
    b = ConfigVector(**{**GUIDE_VECTOR, "deployment_config": "sglang", "tp_degree": 2})
    assert a.distance(b) == 2
    assert a.changed(b) == ["deployment_config", "tp_degree"]
