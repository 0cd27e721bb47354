"""Every patch of moto internals the local runtime needs, in one place (moto is pinned in pyproject).

1. Lambda: moto has no hook to run a handler without Docker; `LambdaSimpleBackend.invoke`
   is replaced to call the real Python handler in-process. A handler exception becomes a
   real Lambda error (`x-amz-function-error: Unhandled`), so Retry and Catch see it.
2. Wait states and Retry backoff sleep on the runtime's virtual clock instead of the wall.
3. State entries are counted per prove (from the state's input), so the summary reports
   transitions the interpreter actually made.
4. StopExecution runs the runtime's clean-up for that execution (``on_stop``; on AWS an
   EventBridge rule on the execution's ABORTED status runs the same clean-up). StartExecution without a
   name gets a unique one (AWS generates a UUID; moto's server mode used the string
   "None", so every CLI-started run had the same execution id).
5. Step Functions' hard limits, which moto does not enforce, are (see :class:`ExecutionLimits`):
   a state's data over 256 KB fails the execution with States.DataLimitExceeded; reaching
   25,000 history events fails it with States.Runtime ("The execution reached the maximum
   number of history events (25000).") — checked between states, so the failure event is
   at most the 25,000th (on AWS it is exactly it); and TimeoutSeconds is measured on the
   virtual clock (moto measures it in real seconds), ending the execution TIMED_OUT.
   Neither of the two errors can be caught by the definition's Catch, as on AWS.

`PATCHED_NAMES` lists what is replaced; a test asserts they all exist in the pinned moto.
"""

from __future__ import annotations

import importlib
import json
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Final

PATCHED_NAMES: tuple[tuple[str, str, str], ...] = (
    ("moto.awslambda_simple.models", "LambdaSimpleBackend", "invoke"),
    (
        "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function",
        "WaitFunction",
        "_wait_interval",
    ),
    ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "time", "sleep"),
    ("moto.stepfunctions.parser.asl.component.state.state", "CommonStateField", "_eval_body"),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend", "start_execution"),
    ("moto.stepfunctions.parser.asl.eval.event.event_manager", "EventManager", "add_event"),
    ("moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl", "ErrorEqualsDecl", "_eval_body"),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend", "stop_execution"),
)
UNCATCHABLE_BY_ALL: Final = frozenset({"States.DataLimitExceeded", "States.Runtime"})
"""AWS: "States.ALL ... can't catch the States.DataLimitExceeded terminal error type and runtime error
types" (moto lets States.ALL catch them)."""

MAX_STATE_BYTES: Final = 262_144
"""Step Functions: 256 KB of UTF-8 per state input, output or result (a hard quota)."""
MAX_HISTORY_EVENTS: Final = 25_000
"""Step Functions Standard: events in one execution's history (a hard quota)."""
HISTORY_LIMIT_CAUSE: Final = "The execution reached the maximum number of history events (25000)."
EVENTS_PER_STATE_MAX: Final = 7
"""The most events one state adds between two state boundaries (a Task with one retry), plus one for
the ExecutionFailed event."""


@dataclass
class ExecutionLimits:
    """The hard limits an execution runs under, and what it used (per execution name)."""

    timeout_seconds: float | None = None
    """The definition's TimeoutSeconds, compared with the execution's virtual elapsed time."""
    max_state_bytes: int = MAX_STATE_BYTES
    max_history_events: int = MAX_HISTORY_EVENTS
    elapsed: Callable[[str], float] | None = None
    """Virtual seconds an execution has run (the runtime's lane clock)."""
    state_bytes: Counter[str] = field(default_factory=Counter)
    """Largest state data seen, per execution."""
    history_events: Counter[str] = field(default_factory=Counter)
    """History events written, per execution."""
    failures: dict[str, str] = field(default_factory=dict)
    """Which limit ended an execution, per execution."""


HandlerFn = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The small context Powertools needs (it fails on None)."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = "local"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class Dispatch:
    """Function name -> handler, the virtual sleep, and per-prove state-entry counts."""

    def __init__(
        self,
        handlers: dict[str, HandlerFn],
        sleep: Callable[[float, Any], None],
        on_invoke: Callable[[Any], None] | None = None,
        limits: ExecutionLimits | None = None,
        on_stop: Callable[[str], None] | None = None,
    ) -> None:
        self.handlers = handlers
        self.sleep = sleep
        """Virtual sleep; receives the seconds and the input of the state that sleeps (to find its lane)."""
        self.on_invoke = on_invoke
        self.limits = limits or ExecutionLimits()
        self.on_stop = on_stop
        """Called with the execution ARN after StopExecution (the API's, the CLI's or the runtime's own)."""
        self._roots: dict[int, tuple[str, Any]] = {}
        self._early: Counter[int] = Counter()
        """Events written before the first state registered the execution (ExecutionStarted)."""
        """id(event manager) -> (execution name, root environment): the frames of a Map share both."""
        self.transitions: Counter[str] = Counter()
        self.invocations: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count_state(self, state_input: Any) -> None:
        if isinstance(state_input, dict) and isinstance(state_input.get("prove"), dict):
            key = _prove_key(state_input["prove"])
            if key:
                with self._lock:
                    self.transitions[key] += 1

    def root_of(self, env: Any) -> tuple[str, Any] | None:
        """The execution name and root environment of any frame (registered by the first root state)."""
        key = id(env.event_manager)
        with self._lock:
            found = self._roots.get(key)
            if found is None and not env.is_frame():
                name = str(env.states.context_object.context_object_data["Execution"]["Name"])
                found = self._roots[key] = (name, env)
                self.limits.history_events[name] += self._early.pop(key, 0)
            return found

    def fail(self, env: Any, error: str, cause: str) -> None:
        """End the whole execution (not the frame: a Catch cannot handle these)."""
        from moto.stepfunctions.parser.api import ExecutionFailedEventDetails

        found = self.root_of(env)
        details = ExecutionFailedEventDetails(error=error, cause=cause)
        if found is not None:
            self.limits.failures.setdefault(found[0], error)
            found[1].set_error(details)
        env.set_error(details)

    def check_limits(self, env: Any, state_name: str) -> bool:
        """Before a state runs: False when a limit ended the execution (the state must not run)."""
        found = self.root_of(env)
        if found is None:
            return True
        name, root = found
        if name in self.limits.failures:
            return False
        try:
            size = len(json.dumps(env.states.get_input(), separators=(",", ":")).encode("utf-8"))
        except (TypeError, ValueError):
            size = 0
        with self._lock:
            self.limits.state_bytes[name] = max(self.limits.state_bytes[name], size)
        if size > self.limits.max_state_bytes:
            self.fail(
                env,
                "States.DataLimitExceeded",
                f"The state/task '{state_name}' has an input with a size ({size} bytes) exceeding the maximum "
                f"number of bytes service limit ({self.limits.max_state_bytes}).",
            )
            return False
        # A state adds at most EVENTS_PER_STATE_MAX events: stop at the boundary before the one that
        # would cross the limit, so the failure event is at most the 25,000th (on AWS it is exactly it).
        if self.limits.history_events[name] + EVENTS_PER_STATE_MAX >= self.limits.max_history_events:
            self.fail(env, "States.Runtime", HISTORY_LIMIT_CAUSE)
            return False
        timeout = self.limits.timeout_seconds
        if timeout and self.limits.elapsed is not None and self.limits.elapsed(name) > timeout:
            self.limits.failures.setdefault(name, "States.Timeout")
            root.set_timed_out()
            env.set_timed_out()
            return False
        return True

    def count_event(self, manager: Any) -> None:
        """One more history event of the execution this event manager belongs to."""
        with self._lock:
            found = self._roots.get(id(manager))
            if found is None:
                self._early[id(manager)] += 1
            else:
                self.limits.history_events[found[0]] += 1


def _prove_key(prove: dict[str, Any]) -> str | None:
    execution = prove.get("execution_id")
    vector = (prove.get("run") or {}).get("vector")
    if not execution or not isinstance(vector, dict):
        return None
    from pathprover.core.dimensions import config_id_of

    return f"{execution}/{config_id_of(vector)}"


def _attr(module: str, owner: str) -> Any:
    return getattr(importlib.import_module(module), owner)


def check_patch_targets() -> list[str]:
    """Names this module patches that the installed moto lacks (empty when all are there)."""
    missing = []
    for module, owner, name in PATCHED_NAMES:
        try:
            if not hasattr(_attr(module, owner), name):
                missing.append(f"{module}.{owner}.{name}")
        except (ImportError, AttributeError):
            missing.append(f"{module}.{owner}.{name}")
    return missing


@contextmanager
def patched(dispatch: Dispatch) -> Iterator[Dispatch]:  # noqa: C901, PLR0915  installs every moto patch and restores each in the same place, so install and restore read line by line
    missing = check_patch_targets()
    if missing:
        raise RuntimeError("the installed moto lacks what the local runtime patches: " + ", ".join(missing))
    backend_cls = _attr(*PATCHED_NAMES[0][:2])
    wait_cls = _attr(*PATCHED_NAMES[1][:2])
    retrier_time = _attr(*PATCHED_NAMES[2][:2])
    state_cls = _attr(*PATCHED_NAMES[3][:2])
    sfn_cls = _attr(*PATCHED_NAMES[4][:2])
    events_cls = _attr(*PATCHED_NAMES[5][:2])
    equals_cls = _attr(*PATCHED_NAMES[6][:2])
    saved = (
        backend_cls.invoke,
        wait_cls._wait_interval,
        retrier_time.sleep,
        state_cls._eval_body,
        sfn_cls.start_execution,
        events_cls.add_event,
        equals_cls._eval_body,
    )
    original_add_event = events_cls.add_event
    had_stop = "stop_execution" in sfn_cls.__dict__
    original_stop = sfn_cls.stop_execution

    def stop_execution(self: Any, execution_arn: str, *args: Any, **kwargs: Any) -> Any:
        result = original_stop(self, execution_arn, *args, **kwargs)
        if dispatch.on_stop is not None:
            dispatch.on_stop(execution_arn)
        return result

    original_equals = equals_cls._eval_body

    def error_equals(self: Any, env: Any) -> None:
        error_name = env.stack[-1] if env.stack else None
        name = getattr(error_name, "error_name", None)
        if name in UNCATCHABLE_BY_ALL and not any(
            getattr(candidate, "error_name", None) == name for candidate in self.error_names
        ):
            env.stack.pop()
            env.stack.append(False)
            found = dispatch.root_of(env)
            if found is not None:
                dispatch.limits.failures.setdefault(found[0], str(name))
            return None
        return original_equals(self, env)

    def add_event(self: Any, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
        dispatch.count_event(self)
        return int(original_add_event(self, context, event_type, *args, **kwargs))

    original_start = sfn_cls.start_execution

    def start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        if not name:
            name = str(uuid.uuid4())
        return original_start(self, state_machine_arn, name, *args, **kwargs)

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> bytes:
        name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        handler = dispatch.handlers.get(name)
        if handler is None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": "ResourceNotFound", "errorMessage": f"no handler for {name}"}).encode()
        event = json.loads(body) if body else {}
        dispatch.invocations[name] += 1
        if dispatch.on_invoke is not None:
            dispatch.on_invoke(event)
        try:
            result = handler(event, LambdaContext(name))
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exception(exc)[-3:],
                }
            ).encode()
        return json.dumps(result, default=str).encode()

    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        if wait_seconds > 0:
            try:
                state_input = env.states.get_input()
            except Exception:
                state_input = None
            dispatch.sleep(float(wait_seconds), state_input)

    class _VirtualTime:
        def __getattr__(self, item: str) -> Any:
            import time as real_time

            return getattr(real_time, item)

        @staticmethod
        def sleep(seconds: float) -> None:
            dispatch.sleep(float(seconds), None)

    original_eval_body = state_cls._eval_body

    def eval_body(self: Any, env: Any) -> None:
        if not dispatch.check_limits(env, str(getattr(self, "name", "?"))):
            return None
        with suppress(Exception):
            dispatch.count_state(env.states.get_input())
        return original_eval_body(self, env)

    module_retrier = importlib.import_module(PATCHED_NAMES[2][0])
    backend_cls.invoke = invoke
    wait_cls._wait_interval = wait_interval
    setattr(module_retrier, "time", _VirtualTime())  # noqa: B010 - a module attribute mypy cannot see
    state_cls._eval_body = eval_body
    sfn_cls.start_execution = start_execution
    events_cls.add_event = add_event
    equals_cls._eval_body = error_equals
    sfn_cls.stop_execution = stop_execution
    try:
        yield dispatch
    finally:
        backend_cls.invoke, wait_cls._wait_interval = saved[0], saved[1]
        setattr(module_retrier, "time", importlib.import_module("time"))  # noqa: B010
        state_cls._eval_body = saved[3]
        sfn_cls.start_execution = saved[4]
        events_cls.add_event = saved[5]
        equals_cls._eval_body = saved[6]
        if had_stop:
            sfn_cls.stop_execution = original_stop
        else:
            del sfn_cls.stop_execution
