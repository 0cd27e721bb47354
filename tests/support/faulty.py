"""Fault injection for the local runtime: one adapter method fails the way an AWS call fails.

A :class:`FaultyAdapters` is passed to ``LocalRuntime(wrap_adapters=...)``; it wraps every adapter the
handlers use and, for one ``(role, method)`` and from its N-th call, injects one fault kind:

- ``api_error``: a non-transient botocore ``ClientError`` (``ValidationException``), as a refused call;
- ``throttle_once``: ``ThrottlingException`` on the N-th call, then the real call succeeds;
- ``throttle_always``: ``ThrottlingException`` on every call from the N-th on;
- ``crash``: a Python exception from inside the handler (a bug, ``RuntimeError``);
- ``timeout_after``: the real call runs (its side effect exists), then the Lambda is "timed out"
  (``Sandbox.Timedout``): the caller never sees the result.

Faults fire only inside the state machine's Lambda tasks (``runtime.local.TASK_FUNCTION``): the
stopped-execution clean-up that runs after the execution ended, and the test's own checks, see the
real adapters. A finite outage ends with the execution; the clean-up is a separate invocation later.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Any, Final

from botocore.exceptions import ClientError

from pathprover.runtime.local import TASK_FUNCTION

KINDS: Final = ("api_error", "throttle_once", "throttle_always", "crash", "timeout_after")


class SandboxTimedout(Exception):
    """What Step Functions sees when a Lambda runs out of time (error `Sandbox.Timedout`): not retried."""


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)


@dataclass
class FaultyAdapters:
    role: str
    method: str
    kind: str
    nth: int = 1
    """The call (1-based, counted inside the workflow's tasks) the fault first hits."""
    only_in: str | None = None
    """Only calls made by this Lambda function (e.g. 'pathprover-clean'); None: any task."""
    calls: int = 0
    fired: int = 0
    seen: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """Every adapter call made inside a task: (function, role, method) -> count (to enumerate the matrix)."""
    leased: set[str] = field(default_factory=set)
    """Config ids whose lease a task took (the real call returned True): each is a prove attempt."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")

    def __call__(self, role: str, adapter: Any) -> Any:
        return _Wrapped(self, role, adapter)

    def intercept(self, role: str, method: str, call: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        function = TASK_FUNCTION.get()
        if function is None:
            return call(*args, **kwargs)
        with self._lock:
            key = (function, role, method)
            self.seen[key] = self.seen.get(key, 0) + 1
            hit = role == self.role and method == self.method and self.only_in in (None, function)
            if hit:
                self.calls += 1
                n = self.calls
                fire = n == self.nth or (self.kind == "throttle_always" and n > self.nth)
                if fire:
                    self.fired += 1
            else:
                fire = False
        if not fire:
            return self._noted(role, method, call(*args, **kwargs), args)
        operation = f"{role}.{method}"
        if self.kind == "api_error":
            raise _client_error("ValidationException", operation)
        if self.kind in ("throttle_once", "throttle_always"):
            raise _client_error("ThrottlingException", operation)
        if self.kind == "crash":
            raise RuntimeError(f"injected crash in {operation}")
        self._noted(role, method, call(*args, **kwargs), args)
        raise SandboxTimedout(f"Task timed out after the call {operation} returned (injected)")

    def _noted(self, role: str, method: str, result: Any, args: tuple[Any, ...]) -> Any:
        if role == "ledger" and method == "acquire_lease" and result is True:
            with self._lock:
                self.leased.add(str(args[0]))
        return result


class _Wrapped:
    """Delegates everything to the adapter; methods go through :meth:`FaultyAdapters.intercept`."""

    def __init__(self, faults: FaultyAdapters, role: str, adapter: Any) -> None:
        self._faults = faults
        self._role = role
        self._adapter = adapter

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._adapter, name)
        if name.startswith("_") or not callable(value):
            return value

        @functools.wraps(value)
        def method(*args: Any, **kwargs: Any) -> Any:
            return self._faults.intercept(self._role, name, value, args, kwargs)

        return method
