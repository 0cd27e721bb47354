"""The embedded default: `statemachines/path-prover.asl.json` executed offline.

moto's Step Functions interpreter runs the very file CDK deploys; every Lambda
task is dispatched in-process to the real handler; the handlers use the local
adapters (DuckDB/Parquet warehouse, simulated builder and GPU fleet, SQLite
ledger); Wait states advance a virtual clock per lane, so hours of cloud time
take seconds. The fleet is simulated, and the output says so.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from pathprover import deployment
from pathprover.adapters.local.account import DEFAULT_HF_TOKEN_SECRET, ESTABLISHED, AccountProfile, SimulatedIdentity
from pathprover.adapters.local.artifacts import LocalArtifactStore
from pathprover.adapters.local.builder import SimulatedBuilder
from pathprover.adapters.local.endpoint import SimulatedEndpointServer
from pathprover.adapters.local.faults import FaultPlan
from pathprover.adapters.local.fleet import SimulatedFleet
from pathprover.adapters.local.ledger import SqliteLedger
from pathprover.adapters.local.secrets import ProfileQuotas, ProfileSecrets
from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.catalog import Catalog, load_catalog
from pathprover.clock import SystemClock
from pathprover.core.dimensions import config_id_of
from pathprover.protocols import Services
from pathprover.runtime.moto_patches import Dispatch, ExecutionLimits, patched
from pathprover.services import use_services
from pathprover.settings import Settings
from pathprover.stages.specs import BuildJob

STATE_MACHINE_NAME: Final = deployment.STATE_MACHINE_NAME
ACCOUNT: Final = "111111111111"
"""The account of the guide's example ARN, so its start-execution command works unchanged."""
REGION: Final = "us-east-1"
LOCAL_BUCKET: Final = "pathprover-local"
ASL_FILE: Final = "path-prover.asl.json"
FUNCTIONS: Final[dict[str, tuple[str, str]]] = {
    # substitution -> (function name, "module:attribute"): the deployed functions (pathprover.deployment)
    spec.substitution: (spec.name, ":".join(spec.handler.rsplit(".", 1)))
    for spec in deployment.FUNCTIONS
}
SIMULATED_WORKLOAD_CAPS: Final = {"REQUESTS": 8, "INPUT_TOKENS": 128, "OUTPUT_TOKENS": 24}
"""Offline, each benchmark level sends at most this much (real HTTP, simulated latencies)."""
TASK_FUNCTION: ContextVar[str | None] = ContextVar("pathprover_task_function", default=None)
"""The state machine's Lambda function running in this context (None outside a Task: the plan's CLI,
the stopped-execution clean-up, a test's checks), so test doubles can act on the workflow's calls only."""
AdapterWrap = Callable[[str, Any], Any]
"""(role, adapter) -> the adapter the handlers get; roles: store, builder, fleet, artifacts, ledger."""
_LOCAL_ENV: Final = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "MOTO_ALLOW_NONEXISTENT_REGION": "true",
    "MOTO_ACCOUNT_ID": ACCOUNT,
}


def asl_path() -> Path:
    """The one ASL file: in the repo, or the copy shipped as package data."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "_statemachines" / ASL_FILE, here.parents[3] / "statemachines" / ASL_FILE):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"cannot find {ASL_FILE}")


class LaneClock:
    """Virtual time with one timeline per lane, all from a common start.

    moto may run a lane's states and its Lambda calls on different threads, so the
    timeline is chosen by the lane named in the state's input: the Wait patch passes
    it to :meth:`sleep_for`, and the handler dispatch makes it current with
    :meth:`activate` before a handler runs.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.start = (start or datetime.now(UTC)).astimezone(UTC)
        self._offsets: dict[str, float] = {}
        self._current = threading.local()
        self._lock = threading.Lock()

    @staticmethod
    def key_of(state: Any) -> str:
        if isinstance(state, dict) and "lane" in state:
            return f"{state.get('execution_id')}/{state.get('lane')}"
        return "-"

    def activate(self, state: Any) -> None:
        self._current.key = self.key_of(state)

    def _key(self) -> str:
        return str(getattr(self._current, "key", "-"))

    def now(self) -> datetime:
        key = self._key()
        with self._lock:
            if key == "-":
                # Outside any lane (the plan, the summary): the latest time any lane has reached.
                return self.start + timedelta(seconds=max(self._offsets.values(), default=0.0))
            return self.start + timedelta(seconds=self._offsets.get(key, 0.0))

    def sleep_for(self, seconds: float, state: Any) -> None:
        key = self.key_of(state) if state is not None else self._key()
        with self._lock:
            self._offsets[key] = self._offsets.get(key, 0.0) + max(0.0, float(seconds))

    def sleep(self, seconds: float) -> None:
        self.sleep_for(seconds, None)

    advance = sleep

    def elapsed_of(self, execution_name: str) -> float:
        """Virtual seconds one execution has run: its furthest lane."""
        prefix = f"{execution_name}/"
        with self._lock:
            return max((v for k, v in self._offsets.items() if k.startswith(prefix)), default=0.0)

    @property
    def furthest_seconds(self) -> float:
        with self._lock:
            return max(self._offsets.values(), default=0.0)


@dataclass
class Progress:
    """What the runtime reports while it runs (per lane: config, stage, virtual time)."""

    callback: Callable[[dict[str, Any]], None] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if self.callback is not None:
            self.callback(event)


@dataclass
class RunOutcome:
    execution_arn: str
    execution_name: str
    status: str
    summary: dict[str, Any] | None
    error: str | None
    cause: str | None
    real_seconds: float
    virtual_seconds: float
    warehouse: str
    transitions: dict[str, int]
    max_state_bytes: int = 0
    """The largest state data the interpreter saw (Step Functions' limit: 262,144)."""
    history_events: int = 0
    """Events in the execution's history (Step Functions' limit: 25,000)."""
    limit_exceeded: str | None = None
    """The hard limit that ended the execution, if one did."""
    cleanup: dict[str, Any] | None = None
    """What the stopped-execution clean-up released after a FAILED or TIMED_OUT end (as on AWS)."""


class LocalRuntime:
    """Sets up the local adapters and moto, deploys the state machine, runs executions."""

    def __init__(
        self,
        warehouse: Path,
        *,
        faults: FaultPlan | None = None,
        catalog: Catalog | None = None,
        settings: Settings | None = None,
        progress: Callable[[dict[str, Any]], None] | None = None,
        server_port: int | None = None,
        account: AccountProfile = ESTABLISHED,
        wrap_adapters: AdapterWrap | None = None,
    ) -> None:
        base = settings or Settings.from_env()
        self.settings = base.model_copy(
            update={
                "warehouse": Path(warehouse),
                "runtime": "local",
                "artifact_bucket": LOCAL_BUCKET,
                "region": REGION,
                "hf_token_secret": base.hf_token_secret or DEFAULT_HF_TOKEN_SECRET,
                "runner_source_s3_uri": f"s3://{LOCAL_BUCKET}/{RUNNER_SOURCE_KEY}",
            }
        )
        self.account = account
        self.catalog = catalog or load_catalog(self.settings.catalog_dir)
        self.faults = faults or FaultPlan()
        self.progress = Progress(progress)
        self.root = Path(warehouse)
        self.clock = LaneClock()
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self._patch: Any = None
        self.dispatch: Dispatch | None = None
        self.state_machine_arn = ""
        self.last_summary: dict[str, Any] | None = None
        self.current_execution_arn: str | None = None
        self.stop_reports: dict[str, Any] = {}
        self._stop_causes: dict[str, str] = {}
        self.server_port = server_port
        self._server: Any = None
        self.wrap_adapters = wrap_adapters
        """Fault injection (tests/support/faulty.py): wraps each adapter the handlers use; the runtime's own
        `fleet`, `builder` and `artifacts` attributes stay the real ones."""

    # ------------------------------------------------------------------ setup
    def __enter__(self) -> LocalRuntime:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        import logging

        # moto logs every failed state (our failure path is routine) at ERROR with a repr of its internals.
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        # A handler error becomes a Lambda error the state machine handles; the summary reports it.
        logging.getLogger("aws_lambda_powertools").setLevel(logging.CRITICAL)
        for key, value in _LOCAL_ENV.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self.root.mkdir(parents=True, exist_ok=True)
        state_dir = runtime_state_dir(self.root)
        self.artifacts = LocalArtifactStore(state_dir / "artifacts", s3_bucket=LOCAL_BUCKET)
        self.server = SimulatedEndpointServer()
        self.fleet = SimulatedFleet(
            self.clock,
            self.catalog,
            self.faults,
            self.server,
            artifacts=self.artifacts,
            account=self.account,
            account_id=ACCOUNT,
        )
        # A check waits (real time) for the benchmark runner once the job's virtual time is up, so the
        # real load generator's seconds do not turn into dozens of extra polls.
        self.builder = SimulatedBuilder(
            self.clock,
            self.catalog,
            self.faults,
            self.artifacts,
            job_runner=self._run_benchmark,
            runner_poll_s=120.0,
            account=self.account,
            runner_image_uri=self.settings.runner_image_uri,
        )
        self.artifacts.put_bytes(RUNNER_SOURCE_KEY, _runner_source())
        store = LocalWarehouse(self.root)
        self.state_dir = state_dir
        self.clock.start = max(self.clock.start, _latest_record(store), _virtual_high_water(state_dir))
        wrap = self.wrap_adapters or (lambda _role, adapter: adapter)
        self.services = Services(
            settings=self.settings,
            catalog=self.catalog,
            store=wrap("store", store),
            builder=wrap("builder", self.builder),
            fleet=wrap("fleet", self.fleet),
            artifacts=wrap("artifacts", self.artifacts),
            ledger=wrap("ledger", SqliteLedger(state_dir / "ledger.sqlite")),
            clock=self.clock,
            wall_clock=SystemClock(),
            simulated=True,
            secrets=ProfileSecrets(self.account),
            quotas=ProfileQuotas(self.account),
            identity=SimulatedIdentity(ACCOUNT),
        )
        use_services(self.services)
        handlers = {name: self._wrap(name, _load(target)) for name, target in FUNCTIONS.values()}
        self.limits = ExecutionLimits(
            timeout_seconds=json.loads(asl_path().read_text()).get("TimeoutSeconds"),
            elapsed=self.clock.elapsed_of,
        )
        self.dispatch = Dispatch(
            handlers, self.clock.sleep_for, on_invoke=self.clock.activate, limits=self.limits, on_stop=self._stopped
        )
        self._patch = patched(self.dispatch)
        self._patch.__enter__()
        if self.server_port is None:
            from moto import mock_aws

            self._mock = mock_aws(
                config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
            )
            self._mock.start()
        else:
            self._start_server(self.server_port)
        self.state_machine_arn = self._deploy()

    def _start_server(self, port: int) -> None:
        """moto's server mode: a Step Functions (and Lambda, IAM) endpoint the AWS CLI and SDKs can use."""
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        # moto's process-wide defaults: restored in close(), so later mock_aws() users get moto's own.
        self._saved_moto_config = {k: default_user_config.get(k) for k in ("stepfunctions", "lambda")}
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        default_user_config["lambda"] = {"use_docker": False}
        self._saved_env["MOTO_PORT"] = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(port)  # the interpreter calls Lambda through this endpoint
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()

    @property
    def endpoint_url(self) -> str | None:
        return None if self.server_port is None else f"http://127.0.0.1:{self.server_port}"

    def _client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)

    def close(self) -> None:
        state_dir = getattr(self, "state_dir", None)
        if state_dir is not None:
            _save_virtual_high_water(state_dir, self.clock.start + timedelta(seconds=self.clock.furthest_seconds))
        if self._server is not None:
            self._server.stop()
            self._server = None
            from moto.core.config import default_user_config

            for key, value in getattr(self, "_saved_moto_config", {}).items():
                if value is None:
                    default_user_config.pop(key, None)  # type: ignore[misc]
                else:
                    default_user_config[key] = value  # type: ignore[literal-required]
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._patch is not None:
            self._patch.__exit__(None, None, None)
            self._patch = None
        for closer in (getattr(self, "builder", None), getattr(self, "fleet", None), getattr(self, "server", None)):
            close = getattr(closer, "close", None)
            if close is not None:
                close()
        use_services(None)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _deploy(self) -> str:
        iam = self._client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = iam.create_role(RoleName="pathprover-local", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        lam = self._client("lambda")
        arns = {}
        for substitution, (name, target) in FUNCTIONS.items():
            arns[substitution] = lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler=target.replace(":", "."),
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
                Timeout=900,
            )["FunctionArn"]
        definition = asl_path().read_text()
        for key, value in arns.items():
            definition = definition.replace("${" + key + "}", value)
        sfn = self._client("stepfunctions")
        return str(
            sfn.create_state_machine(name=STATE_MACHINE_NAME, definition=definition, roleArn=role)["stateMachineArn"]
        )

    def _wrap(self, name: str, handler: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any], Any], Any]:
        def call(event: dict[str, Any], context: Any) -> Any:
            token = TASK_FUNCTION.set(name)
            try:
                result = handler(event, context)
            finally:
                TASK_FUNCTION.reset(token)
            if name == "pathprover-summary":
                self.last_summary = result
            if isinstance(result, dict) and "lane" in result:
                prove = result.get("prove") or {}
                run = prove.get("run") or {}
                done = result.get("done") or []
                # Settle and Drop both file the prove in flight (the last of `done`) and load the next one.
                last = done[-1] if done and name in ("pathprover-settle", "pathprover-drop") else {}
                self.progress.emit(
                    {
                        "step": name.removeprefix("pathprover-"),
                        "lane": result.get("lane"),
                        "status": result.get("status"),
                        "stage": prove.get("current"),
                        "config": run.get("vector") or {},
                        "config_id": config_id_of(run["vector"]) if run.get("vector") else None,
                        "model": run.get("model_name"),
                        "instance": run.get("instance_type"),
                        "attempt": prove.get("attempt"),
                        "started": prove.get("started_at"),
                        "reserved_usd": prove.get("reserved_usd"),
                        "virtual": self.clock.now().isoformat(),
                        "settled": last,
                        "lane_done": len(done),
                        "lane_total": result.get("queue_total"),
                        "lane_spent_usd": round(sum(float(d.get("actual_cost_usd") or 0.0) for d in done), 4),
                        "max_cost_usd": result.get("max_cost_usd"),
                    }
                )
            elif name == "pathprover-brain" and isinstance(result, dict):
                self.progress.emit(
                    {
                        "step": "plan",
                        "execution_id": result.get("execution_id"),
                        "dry_run": result.get("dry_run"),
                        "selected": result.get("selected", []),
                        "excluded_total": result.get("excluded_total", 0),
                        "excluded_counts": result.get("excluded_counts") or {},
                        "max_cost_usd": result.get("max_cost_usd"),
                        "max_proves": result.get("max_proves"),
                        "lanes": len(result.get("lanes") or []),
                        "nothing_planned_reason": result.get("nothing_planned_reason"),
                    }
                )
            return result

        return call

    def _run_benchmark(self, job: BuildJob) -> dict[str, Any]:
        """The real load generator against the simulated endpoint, with a workload shortened for speed."""
        from pathprover.loadgen.job import run_benchmark_job

        env = dict(job.env)
        # A batch job sends nothing (its transform ran on the virtual clock): its workload is kept whole, as
        # the input the lifecycle generated from it must match.
        for key, cap in SIMULATED_WORKLOAD_CAPS.items():
            if key in env and env.get("BENCHMARK_MODE") != "batch":
                env[key] = str(min(int(env[key]), cap))
        return run_benchmark_job(env, self.artifacts)

    # ------------------------------------------------------------------ run
    def start(self, payload: dict[str, Any], name: str | None = None) -> str:
        sfn = self._client("stepfunctions")
        name = name or f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        return str(
            sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload))[
                "executionArn"
            ]
        )

    def wait(self, execution_arn: str, timeout_s: float = 900.0) -> dict[str, Any]:
        sfn = self._client("stepfunctions")
        deadline = time.monotonic() + timeout_s
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return dict(described)
            if time.monotonic() > deadline:
                sfn.stop_execution(
                    executionArn=execution_arn,
                    error="LocalTimeout",
                    cause=f"the local run took more than {timeout_s:.0f} s of real time",
                )
                raise TimeoutError(f"the local run took more than {timeout_s:.0f} s of real time")
            time.sleep(0.02)

    def stop_and_clean(self, execution_arn: str, cause: str = "stopped by the operator") -> Any:
        """StopExecution, then release at once everything the execution held (workflow/stopped.py): its
        resources, builds, leases and reservations, with one `harness` row per prove in flight."""
        sfn = self._client("stepfunctions")
        name = execution_arn.rsplit(":", 1)[-1]
        self._stop_causes[name] = cause
        if sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING":
            sfn.stop_execution(executionArn=execution_arn, error="Stopped", cause=cause)  # runs _stopped
        return self.stop_reports.get(name) or self._stopped(execution_arn)

    def _stopped(self, execution_arn: str) -> Any:
        """After any StopExecution (the runtime's, or `aws stepfunctions stop-execution` against `serve`)."""
        from pathprover.workflow.stopped import clean_up_stopped

        name = execution_arn.rsplit(":", 1)[-1]
        time.sleep(0.3)  # a task already running finishes its call; after it nothing else starts
        cause = self._stop_causes.get(name, "stopped by the operator")
        report = clean_up_stopped(name, self.services, f"the execution was {cause}")
        self.stop_reports[name] = report
        if self.server_port is not None:
            for line in report.lines():
                print(line, file=sys.stderr, flush=True)
        return report

    def run(self, payload: dict[str, Any], timeout_s: float = 900.0) -> RunOutcome:
        started = time.monotonic()
        self.last_summary = None
        arn = self.start(payload)
        self.current_execution_arn = arn
        described = self.wait(arn, timeout_s)
        cleanup = self._ended(arn, str(described["status"]))
        summary = json.loads(described["output"]) if described.get("output") else self.last_summary
        if summary and summary.get("summary_uri"):
            # The execution output is the compact summary; the whole one is in the store.
            uri = str(summary["summary_uri"])
            summary = {**json.loads(self.artifacts.get_bytes(uri)), "summary_uri": uri}
        transitions = dict(self.dispatch.transitions) if self.dispatch else {}
        name = arn.rsplit(":", 1)[-1]
        usage = {
            "max_state_bytes": int(self.limits.state_bytes.get(name, 0)),
            "history_events": int(self.limits.history_events.get(name, 0)),
        }
        if summary is not None:
            # The interpreter's own measure replaces the summary's estimate (kept beside it for comparison).
            for key, value in usage.items():
                summary[f"{key}_estimated"] = summary.get(key)
                summary[key] = value
        if summary and summary.get("proves"):
            for prove in summary["proves"]:
                measured = transitions.get(f"{name}/{prove['config_id']}")
                if measured is not None:
                    prove["transitions_computed"] = prove["transitions"]
                    prove["transitions"] = measured
        return RunOutcome(
            execution_arn=arn,
            execution_name=name,
            status=str(described["status"]),
            summary=summary,
            error=described.get("error"),
            cause=described.get("cause"),
            real_seconds=round(time.monotonic() - started, 2),
            virtual_seconds=round(self.clock.furthest_seconds, 1),
            warehouse=str(self.root),
            transitions=transitions,
            limit_exceeded=self.limits.failures.get(name),
            cleanup=cleanup,
            **usage,
        )

    def _ended(self, execution_arn: str, status: str) -> dict[str, Any] | None:
        """What the EventBridge rule does on AWS when an execution ends FAILED or TIMED_OUT: the same
        handler releases what it still holds (ABORTED is handled at the stop itself)."""
        if status not in ("FAILED", "TIMED_OUT"):
            return None
        from pathprover.handlers.stopped import CleanupIncomplete, execution_ended_event, handler
        from pathprover.runtime.moto_patches import LambdaContext

        event = execution_ended_event(execution_arn, status, self.clock.now().isoformat())
        try:
            result: dict[str, Any] = handler(event, LambdaContext("pathprover-stopped-cleanup"))
        except CleanupIncomplete as exc:
            return {"execution_id": execution_arn.rsplit(":", 1)[-1], "status": status, "errors": [str(exc)]}
        return result


RUNNER_SOURCE_KEY: Final = "runner/source.zip"
RUNTIME_STATE_DIR: Final = "_runtime"
"""The local runtime's own state inside the warehouse folder: the artifact store (bundles, benchmark samples,
summaries, the simulated S3 objects) and the ledger. Its leading underscore makes table readers skip it, as
Hive and Athena skip `_` and `.` names."""


def runtime_state_dir(warehouse: Path) -> Path:
    """``<warehouse>/_runtime``. A warehouse of an earlier version kept this state in a sibling folder,
    ``<warehouse>-runtime``: it is moved inside once (and said so on stderr); if it cannot be moved (say,
    another file system), the old folder is used where it is; if both exist, the inside one is used and
    stderr names the old one."""
    root = Path(warehouse)
    inside = root / RUNTIME_STATE_DIR
    old = root.parent / (root.name + "-runtime")
    if old.is_dir() and not inside.exists():
        try:
            root.mkdir(parents=True, exist_ok=True)
            os.rename(old, inside)
        except OSError as exc:
            print(
                f"pathprover: using the runtime state at {old} (could not move it to {inside}: {exc})", file=sys.stderr
            )
            return old
        print(f"pathprover: moved the runtime state from {old} into the warehouse: {inside}", file=sys.stderr)
    elif old.is_dir():
        print(f"pathprover: {old} is an older runtime state folder, no longer used (now {inside})", file=sys.stderr)
    return inside


def _runner_source() -> bytes:
    """The runner image's build source, as the stack ships it: the benchmark Dockerfile (the simulated
    CodeBuild does not build it, but the lifecycle hands CodeBuild a real bundle)."""
    from pathprover.generate.bundle import Bundle, bundle_zip

    template = asl_path().parents[1] / "containers" / "benchmark" / "Dockerfile.j2"
    if not template.is_file():
        template = Path(__file__).resolve().parents[1] / "_containers" / "benchmark" / "Dockerfile.j2"
    return bundle_zip(Bundle(files={"benchmark/Dockerfile.j2": template.read_bytes()}))


VIRTUAL_CLOCK_FILE: Final = "virtual_clock.json"


def _virtual_high_water(state_dir: Path) -> datetime:
    """The furthest virtual time earlier runs on this warehouse reached (their leases and reservations in
    the ledger expire on the virtual clock, so it must not run backwards from one run to the next)."""
    try:
        return datetime.fromisoformat(json.loads((state_dir / VIRTUAL_CLOCK_FILE).read_text())["reached"])
    except (OSError, ValueError, KeyError, TypeError):
        return datetime.min.replace(tzinfo=UTC)


def _save_virtual_high_water(state_dir: Path, reached: datetime) -> None:
    """Keep the later of the saved and ``reached`` (atomically: several runs may share a warehouse)."""
    if reached <= _virtual_high_water(state_dir) or not state_dir.is_dir():
        return
    temp = state_dir / f".{VIRTUAL_CLOCK_FILE}.{os.getpid()}.tmp"
    temp.write_text(json.dumps({"reached": reached.astimezone(UTC).isoformat()}))
    os.replace(temp, state_dir / VIRTUAL_CLOCK_FILE)


def _latest_record(store: LocalWarehouse) -> datetime:
    """After the latest row, if that is ahead of the wall clock: a warehouse written before rows carried
    wall-clock time holds rows stamped in virtual time (hours ahead), and leases taken then expire on it.
    Rows written now carry wall-clock time, so the saved high-water mark (:func:`_virtual_high_water`)
    keeps the virtual clock moving forward from run to run.
    """
    if not store.exists():
        return datetime.min.replace(tzinfo=UTC)
    rows = store.query("SELECT MAX(run_timestamp) FROM mlcc_ci.benchmark_results").rows
    latest = rows[0][0] if rows else None
    if not isinstance(latest, datetime):
        return datetime.min.replace(tzinfo=UTC)
    return latest.replace(tzinfo=UTC) if latest.tzinfo is None else latest


def _load(target: str) -> Callable[[dict[str, Any], Any], Any]:
    module_name, attribute = target.split(":")
    import importlib

    return getattr(importlib.import_module(module_name), attribute)
