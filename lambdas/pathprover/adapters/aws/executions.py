"""ExecutionLookup on AWS Step Functions: the status of one of this state machine's executions.

The janitor knows an execution by the ``pathprover:execution`` tag, the execution *name*
(``$$.Execution.Name``) as :func:`~pathprover.stages.naming.tag_value` wrote it. The ARN is
``arn:<partition>:states:<region>:<account>:execution:<state machine name>:<execution name>``,
built from the state machine ARN in the settings, and asked with DescribeExecution;
ExecutionDoesNotExist is ``None``.

A tag value is not always the name itself: characters a tag refuses (``!'()`` and a few
more that Step Functions allows in names) were written as ``_``. So when a tagged name
that contains ``_`` does not exist, the state machine's RUNNING executions are listed
once (ListExecutions) and matched on their tag spelling, so a running execution is never
taken for a missing one. A tag that is already an execution ARN is described as is.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Any, Final

from pathprover.adapters.aws.clients import AwsClients, call_with_throttle_retry, error_code
from pathprover.stages.naming import tag_value

_STATE_MACHINE_ARN: Final = re.compile(r"^arn:(?P<partition>aws[a-z-]*):states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$")
_NOT_FOUND_CODES: Final = frozenset({"ExecutionDoesNotExist"})
_MAX_PAGES: Final = 50
RUNNING_LIST_TTL_S: Final = 60.0
"""The RUNNING listing is reused this long (one sweep), never across hourly invocations of a warm Lambda."""


def execution_arn(state_machine_arn: str, execution_name: str) -> str:
    """``...:stateMachine:<sm>`` + name -> ``...:execution:<sm>:<name>``; an execution ARN is returned as is."""
    if execution_name.startswith("arn:") and ":execution:" in execution_name:
        return execution_name
    if not _STATE_MACHINE_ARN.match(state_machine_arn):
        raise ValueError(f"not a Step Functions state machine ARN: {state_machine_arn!r}")
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + execution_name


class StepFunctionsExecutions:
    """:class:`~pathprover.protocols.ExecutionLookup` over DescribeExecution (and ListExecutions, see above)."""

    def __init__(
        self,
        clients: AwsClients,
        state_machine_arn: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        throttle_attempts: int = 5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not _STATE_MACHINE_ARN.match(state_machine_arn):
            raise ValueError(f"not a Step Functions state machine ARN: {state_machine_arn!r}")
        self.clients = clients
        self.state_machine_arn = state_machine_arn
        self.sleep = sleep
        self.throttle_attempts = throttle_attempts
        self.monotonic = monotonic
        self._running_tags: tuple[float, frozenset[str]] | None = None

    @property
    def _sfn(self) -> Any:
        return self.clients.get("stepfunctions")

    def _retry(self, fn: Callable[[], Any]) -> Any:
        return call_with_throttle_retry(fn, attempts=self.throttle_attempts, sleep=self.sleep)

    def status(self, execution_name: str) -> str | None:
        arn = execution_arn(self.state_machine_arn, execution_name)
        try:
            response = self._retry(functools.partial(self._sfn.describe_execution, executionArn=arn))
        except Exception as exc:
            if error_code(exc) not in _NOT_FOUND_CODES:
                raise
            if "_" in execution_name and execution_name in self._running():
                return "RUNNING"
            return None
        return str(response["status"])

    def _running(self) -> frozenset[str]:
        """Tag spellings of the state machine's RUNNING executions (listed at most once a minute)."""
        now = self.monotonic()
        if self._running_tags is None or now - self._running_tags[0] > RUNNING_LIST_TTL_S:
            names: set[str] = set()
            token: str | None = None
            for _ in range(_MAX_PAGES):
                args: dict[str, Any] = {
                    "stateMachineArn": self.state_machine_arn,
                    "statusFilter": "RUNNING",
                    "maxResults": 1000,
                }
                if token:
                    args["nextToken"] = token
                response = self._retry(functools.partial(self._sfn.list_executions, **args))
                names.update(tag_value(str(e["name"])) for e in response.get("executions") or [])
                token = response.get("nextToken")
                if not token:
                    break
            self._running_tags = (now, frozenset(names))
        return self._running_tags[1]
