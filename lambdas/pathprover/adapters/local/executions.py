"""ExecutionLookup offline: over a callable or a mapping (tests), or over moto's Step Functions.

* ``LocalExecutions(lambda name: "RUNNING")`` or ``LocalExecutions({"run-1": "SUCCEEDED"})``:
  the status comes from the callable / mapping (a name it does not know is ``None``);
* ``LocalExecutions(boto3.client("stepfunctions"), state_machine_arn=arn)`` inside moto
  (the local runtime): the AWS adapter's own logic over that client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pathprover.adapters.aws.clients import AwsClients
from pathprover.adapters.aws.executions import StepFunctionsExecutions


class LocalExecutions:
    """:class:`~pathprover.protocols.ExecutionLookup` without AWS."""

    def __init__(
        self,
        source: Callable[[str], str | None] | Mapping[str, str] | Any,
        *,
        state_machine_arn: str | None = None,
    ) -> None:
        self._lookup: Callable[[str], str | None]
        if hasattr(source, "describe_execution"):
            if not state_machine_arn:
                raise ValueError("a Step Functions client needs the state_machine_arn its executions belong to")
            clients = AwsClients()
            clients.set("stepfunctions", source)
            self._lookup = StepFunctionsExecutions(clients, state_machine_arn, sleep=lambda _s: None).status
        elif isinstance(source, Mapping):
            statuses = dict(source)
            self._lookup = statuses.get
        elif callable(source):
            self._lookup = source
        else:
            raise TypeError(f"LocalExecutions needs a callable, a mapping or a stepfunctions client, not {source!r}")

    def status(self, execution_name: str) -> str | None:
        return self._lookup(execution_name)
