"""Ctrl-C in the middle of `pathprover run` releases what the execution held, and says so."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _run(warehouse: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(BIN / "pathprover"),
            "run",
            "--warehouse",
            str(warehouse),
            "--max-proves",
            "6",
            "--max-cost",
            "100",
            "--lanes",
            "3",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A background process may inherit an ignored SIGINT; a person's terminal delivers it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_ctrl_c_releases_everything_and_the_next_run_proves_its_plan(seeded):
    # Given a run in the middle of its proves (an endpoint is deploying)
    first = _run(seeded, "-v")  # the trace names each stage as it polls
    assert first.stderr is not None
    started = time.monotonic()
    seen = []
    while time.monotonic() - started < 120:
        line = first.stderr.readline()
        seen.append(line)
        if "deploy: polling" in line or not line:
            break
    # When the operator presses Ctrl-C
    first.send_signal(signal.SIGINT)
    _, rest = first.communicate(timeout=120)
    output = "".join(seen) + rest
    # Then it stops, says what it released, and exits 130
    assert first.returncode == 130, output[-2000:]
    assert "cleaned up" in output and "leases released:" in output
    released = next(line for line in output.splitlines() if "leases released:" in line)
    assert "none" not in released
    # And the next run proves its plan: nothing skipped for a lease the interrupted run held
    second = _run(seeded, "--json")
    out, err = second.communicate(timeout=600)
    summary = json.loads(out)
    assert summary["status"] == "SUCCEEDED", err[-2000:]
    assert not [p for p in summary["proves"] if "lease" in str(p.get("skip_reason") or "")]
    assert summary["fleet_alive_after_run"] == []


def test_stop_execution_against_the_local_endpoint_cleans_up_that_execution(seeded):
    import socket

    import boto3

    from pathprover.runtime.local import LocalRuntime

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Given `pathprover serve` (in process) running a prove that has an endpoint up
    with LocalRuntime(seeded, server_port=port) as runtime:
        sfn = boto3.client("stepfunctions", region_name="us-east-1", endpoint_url=runtime.endpoint_url)
        arn = sfn.start_execution(
            stateMachineArn=runtime.state_machine_arn,
            input=json.dumps({"MAX_PROVES_PER_RUN": 3, "MAX_COST_PER_RUN": 100, "PARALLEL_LANES": 3}),
        )["executionArn"]
        deadline = time.monotonic() + 120
        while not runtime.fleet.inventory():
            assert time.monotonic() < deadline, "no endpoint was created"
            time.sleep(0.05)
        # When an operator stops the execution (`aws stepfunctions stop-execution`)
        sfn.stop_execution(executionArn=arn, cause="operator")
        name = arn.rsplit(":", 1)[-1]
        report = runtime.stop_reports[name]
        # Then what it held is released at once, and each prove in flight has one harness row
        assert runtime.services.ledger.in_flight(name) == {}
        assert not [r for r in runtime.fleet.inventory() if r.execution == name]
        assert report.leases_released and report.recorded
        rows = runtime.services.store.query(
            "SELECT failure_scope FROM mlcc_ci.benchmark_results "
            f"WHERE execution_id = '{name}' AND status <> 'completed'"
        ).rows
        assert rows and {r[0] for r in rows} == {"harness"}
