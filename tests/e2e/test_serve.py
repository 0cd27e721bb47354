"""`pathprover serve`: the guide's start-execution command works unchanged with the real AWS CLI."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
GUIDE_ARN = "arn:aws:states:us-east-1:111111111111:stateMachine:mlcc-path-prover"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def aws(*args: str, env: dict) -> dict:
    proc = subprocess.run([str(BIN / "aws"), *args], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_guides_command_runs_against_the_local_endpoint(seeded):
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "pathprover"), "serve", "--port", str(port), "--warehouse", str(seeded)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Given the local runtime serving the state machine
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            lines.append(line)
            if line.startswith("state machine:"):
                break
        assert lines[-1].strip() == f"state machine: {GUIDE_ARN}", "".join(lines)
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        url = f"http://127.0.0.1:{port}"
        # When the guide's command is run (plus --endpoint-url)
        started = aws(
            "stepfunctions",
            "start-execution",
            "--endpoint-url",
            url,
            "--state-machine-arn",
            GUIDE_ARN,
            "--input",
            '{"MAX_PROVES_PER_RUN": 5, "MAX_COST_PER_RUN": 25}',
            env=env,
        )
        arn = started["executionArn"]
        assert not arn.endswith(":None")
        described = {}
        while time.monotonic() < deadline + 120:
            described = aws(
                "stepfunctions", "describe-execution", "--endpoint-url", url, "--execution-arn", arn, env=env
            )
            if described["status"] != "RUNNING":
                break
            time.sleep(0.5)
        # Then describe-execution shows the status and the summary as its output
        assert described["status"] == "SUCCEEDED", described
        summary = json.loads(described["output"])
        assert len(summary["proved"]) == 5 and summary["leaked_resources"] == []
        assert summary["actual_cost_usd"] <= 25 and summary["simulated"] is True
    finally:
        server.terminate()
        server.wait(timeout=30)
