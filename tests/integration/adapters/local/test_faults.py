"""Fault files: loaded, normalised, and refused with the entry and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from pathprover.adapters.local.faults import FaultFileError, job_context, load_faults
from pathprover.catalog import Catalog
from tests.support.simulated_fleet import (
    SMALL,
)

# --------------------------------------------------------------------------- fault files


def test_fault_file_loads_and_normalises(tmp_path: Path, catalog: Catalog) -> None:
    # Given a fault file using aliases
    path = tmp_path / "faults.yaml"
    path.write_text(
        "- match: {deployment_config: vllm, quantization: fp16, tp_degree: '2', instance_type: G5.XLARGE}\n"
        "  stage: deploy\n"
        "  error: boom\n"
        "  times: 2\n"
        "- {stage: pre-staging, error: slow hub}\n"
    )

    # When it is loaded
    plan = load_faults(path)

    # Then values are normalised and a matching job takes the fault twice
    fault = plan.remaining()[0][0]
    assert fault.match == {
        "deployment_config": "transformers-vllm",
        "quantization": "none",
        "tp_degree": 2,
        "instance_type": "ml.g5.xlarge",
    }
    context = job_context(
        catalog,
        {"MODEL_ID": SMALL, "SM_VLLM_TENSOR_PARALLEL_SIZE": "2"},
        instance_type="ml.g5.xlarge",
        target="realtime-inference",
    )
    assert context.vector["deployment_config"] == "transformers-vllm" and context.vector["tp_degree"] == 2
    assert [context.take(plan, "deploy") is not None for _ in range(3)] == [True, True, False]
    assert plan.take("stage", {}) == "slow hub" and plan.take("stage") == "slow hub"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("- {stage: deploy, error: x}\n- {stage: deploy, error: y, colour: red}\n", ["entry 1", "'colour'"]),
        ("- {match: {gpu: a10g}, stage: deploy, error: x}\n", ["entry 0", "'match.gpu'", "unknown key 'gpu'"]),
        (
            "- {match: {tp_degree: two}, stage: deploy, error: x}\n",
            ["entry 0", "'match.tp_degree'", "positive integer"],
        ),
        ("- {stage: launch, error: x}\n", ["entry 0", "'stage'", "launch"]),
        ("- {stage: deploy}\n", ["entry 0", "'error'"]),
        ("- {stage: deploy, error: x, fraction: 0.5}\n", ["entry 0", "'fraction'", "test faults only"]),
        ("stage: deploy\n", ["expected a list"]),
    ],
)
def test_fault_file_errors_name_the_entry_and_field(tmp_path: Path, content: str, expected: list[str]) -> None:
    # Given a fault file with one mistake
    path = tmp_path / "faults.yaml"
    path.write_text(content)

    # When it is loaded, then the error names the entry and the field
    with pytest.raises(FaultFileError) as caught:
        load_faults(path)
    for part in expected:
        assert part in str(caught.value)
