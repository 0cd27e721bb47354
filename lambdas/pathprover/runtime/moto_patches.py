"""Every patch of moto internals the local runtime needs, in one place (moto is pinned in pyproject).

1. Lambda: moto has no hook to run a handler without Docker; `LambdaSimpleBackend.invoke`
   is replaced to call the real Python handler in-process. A handler exception becomes a
   real Lambda error (`x-amz-function-error: Unhandled`), so Retry and Catch see it.
2. Wait states and Retry backoff sleep on the runtime's virtual clock instead of the wall.
3. State entries are counted per prove (from the state's input), so the summary reports
   transitions the interpreter actually made.
4. StartExecution without a name gets a unique one (AWS generates a UUID; moto's server
   mode used the string "None", so every CLI-started run had the same execution id).

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
from typing import Any

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
)

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
    ) -> None:
        self.handlers = handlers
        self.sleep = sleep
        """Virtual sleep; receives the seconds and the input of the state that sleeps (to find its lane)."""
        self.on_invoke = on_invoke
        self.transitions: Counter[str] = Counter()
        self.invocations: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count_state(self, state_input: Any) -> None:
        if isinstance(state_input, dict) and isinstance(state_input.get("prove"), dict):
            key = _prove_key(state_input["prove"])
            if key:
                with self._lock:
                    self.transitions[key] += 1


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
def patched(dispatch: Dispatch) -> Iterator[Dispatch]:
    missing = check_patch_targets()
    if missing:
        raise RuntimeError("the installed moto lacks what the local runtime patches: " + ", ".join(missing))
    backend_cls = _attr(*PATCHED_NAMES[0][:2])
    wait_cls = _attr(*PATCHED_NAMES[1][:2])
    retrier_time = _attr(*PATCHED_NAMES[2][:2])
    state_cls = _attr(*PATCHED_NAMES[3][:2])
    sfn_cls = _attr(*PATCHED_NAMES[4][:2])
    saved = (
        backend_cls.invoke,
        wait_cls._wait_interval,
        retrier_time.sleep,
        state_cls._eval_body,
        sfn_cls.start_execution,
    )
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
        with suppress(Exception):
            dispatch.count_state(env.states.get_input())
        return original_eval_body(self, env)

    module_retrier = importlib.import_module(PATCHED_NAMES[2][0])
    backend_cls.invoke = invoke
    wait_cls._wait_interval = wait_interval
    setattr(module_retrier, "time", _VirtualTime())  # noqa: B010 - a module attribute mypy cannot see
    state_cls._eval_body = eval_body
    sfn_cls.start_execution = start_execution
    try:
        yield dispatch
    finally:
        backend_cls.invoke, wait_cls._wait_interval = saved[0], saved[1]
        setattr(module_retrier, "time", importlib.import_module("time"))  # noqa: B010
        state_cls._eval_body = saved[3]
        sfn_cls.start_execution = saved[4]
