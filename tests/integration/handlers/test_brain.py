"""The brain Lambda handler over the local runtime's services."""

from __future__ import annotations

import pytest


def test_a_throttled_table_read_in_the_plan_is_retried_not_a_failed_plan(tmp_path):
    from pathprover.handlers.brain import handler
    from pathprover.runtime.local import LocalRuntime
    from pathprover.runtime.moto_patches import LambdaContext
    from pathprover.workflow.tasks import TransientError

    class Throttled(Exception):
        def __init__(self, message: str) -> None:
            super().__init__(message)
            self.response = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}

    class ThrottledStore:
        def query(self, sql: str) -> object:
            raise Throttled("An error occurred (ThrottlingException) when calling the StartQueryExecution operation")

    with LocalRuntime(tmp_path / "warehouse") as runtime:
        runtime.services.store = ThrottledStore()  # type: ignore[assignment]
        # When the plan's first table read is throttled, the Lambda raises TransientError (the ASL retries it)
        with pytest.raises(TransientError, match="ThrottlingException"):
            handler(
                {"input": {"MAX_PROVES_PER_RUN": 1}, "execution_id": "e-throttle"}, LambdaContext("pathprover-brain")
            )
