"""Lazy boto3 clients: nothing is imported or built until an adapter first needs a client.

Every client uses botocore's adaptive retry mode (client-side rate limiting plus
retries of throttling and transient errors). Tests inject stubbed clients with
:meth:`AwsClients.set`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

DEFAULT_MAX_ATTEMPTS: Final = 8
# sagemaker-runtime: the test stage polls readiness itself, so an invoke fails fast.
_PER_SERVICE: Final[dict[str, dict[str, Any]]] = {
    "sagemaker-runtime": {"max_attempts": 2, "read_timeout": 90},
    "athena": {"max_attempts": 10},
}
THROTTLING_CODES: Final = frozenset({"ThrottlingException", "TooManyRequestsException"})

T = TypeVar("T")


class AwsClients:
    """Builds one client per service on first use and keeps it."""

    def __init__(
        self,
        region: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        session: Any = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        self.region = region
        self.max_attempts = max_attempts
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._session = session
        self._clients: dict[str, Any] = {}
        self._shared: dict[str, Any] = {}

    @property
    def session(self) -> Any:
        """The boto3 Session (created on first use); awswrangler takes it as ``boto3_session``."""
        if self._session is None:
            import boto3

            self._session = boto3.session.Session(region_name=self.region)
        return self._session

    def config(self, service: str) -> Any:
        from botocore.config import Config

        options = _PER_SERVICE.get(service, {})
        return Config(
            region_name=self.region,
            retries={"mode": "adaptive", "max_attempts": int(options.get("max_attempts", self.max_attempts))},
            connect_timeout=self.connect_timeout,
            read_timeout=float(options.get("read_timeout", self.read_timeout)),
            user_agent_extra="path-prover",
        )

    def get(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            client = self.session.client(service, config=self.config(service))
            self._clients[service] = client
        return client

    def shared(self, key: str, build: Callable[[], T]) -> T:
        """An object built once per AwsClients from its session (pyathena's connection), like the clients."""
        if key not in self._shared:
            self._shared[key] = build()
        return self._shared[key]

    def set(self, service: str, client: Any) -> None:
        """Use this client for ``service`` (tests: a client wrapped in a botocore Stubber)."""
        self._clients[service] = client

    def __call__(self, service: str) -> Any:
        return self.get(service)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        message = response.get("Error", {}).get("Message")
        if message:
            return str(message)
    return str(exc)


def is_client_error(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError)


def call_with_throttle_retry(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn``; retry it (bounded, exponential back-off with jitter) on throttling only.

    botocore's adaptive mode already retries throttling; this second, bounded
    layer covers create calls where giving up would strand a half-built prove.
    """
    from botocore.exceptions import ClientError

    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except ClientError as exc:
            if error_code(exc) not in THROTTLING_CODES or attempt == attempts:
                raise
            delay = min(max_delay, base_delay * 2 ** (attempt - 1))
            sleep(delay * (0.5 + random.random() / 2))
    raise AssertionError("unreachable")  # pragma: no cover
