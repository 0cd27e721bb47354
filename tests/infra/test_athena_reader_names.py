"""The CLI's Athena reader names the stack, its outputs and the result prefix as the CDK app does."""

from __future__ import annotations

import infra.constants as C

from pathprover.adapters.aws import athena_reader


def test_the_reader_uses_the_stacks_own_names() -> None:
    assert athena_reader.DEFAULT_STACK == C.STACK_NAME
    assert athena_reader.OUTPUT_WORKGROUP == C.OUTPUT_ATHENA_WORKGROUP
    assert athena_reader.OUTPUT_RESULTS_BUCKET == C.OUTPUT_RESULTS_BUCKET
    assert athena_reader.ATHENA_RESULTS_PREFIX == C.ATHENA_RESULTS_PREFIX


def test_the_brains_lambda_asset_carries_pyathena_but_not_pyarrow() -> None:
    # pyarrow (and pandas) come from the AWS SDK for pandas layer; pyathena is in no layer
    assert "pyathena" in C.LAMBDA_REQUIREMENTS
    assert not any(r.startswith(("pyarrow", "pandas", "awswrangler", "pyathena[")) for r in C.LAMBDA_REQUIREMENTS)
