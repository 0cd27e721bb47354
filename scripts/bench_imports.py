"""Benchmark the Lambda handlers' cold import: fresh-process wall time above a bare interpreter start.

For each handler module, the median wall time of N fresh `python -c "import <module>"` processes minus
the median of N `python -c pass` (measured interleaved, in one run). Beside it, for honesty, the same for
the modules the handler's first call loads (the workflow: planning for the brain, the lifecycle for the
prove steps), which a cold start pays on its first invocation instead of at import. Results go to stdout
(copy into docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = {
    "brain handler": "pathprover.handlers.brain",
    "prove (lifecycle) handler": "pathprover.handlers.prove",
}
FIRST_CALL = {
    "brain handler": "pathprover.handlers.brain, pathprover.services, pathprover.workflow.planning",
    "prove (lifecycle) handler": "pathprover.handlers.prove, pathprover.services, pathprover.workflow.tasks",
}


def wall(code: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lambdas")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    codes = {"bare": "pass"}
    codes |= {name: f"import {module}" for name, module in HANDLERS.items()}
    codes |= {f"{name} + first call's modules": f"import {modules}" for name, modules in FIRST_CALL.items()}
    times: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(args.repeat):  # interleaved: a busy moment hits every figure alike
        for name, code in codes.items():
            times[name].append(wall(code))
    bare = statistics.median(times["bare"])
    print(f"handler cold import, wall time, median of {args.repeat} fresh processes")
    print(f"  python -c pass                                          {bare * 1000:7.1f} ms")
    for name in codes:
        if name == "bare":
            continue
        median = statistics.median(times[name])
        print(f"  {name:<55} {median * 1000:7.1f} ms  ({(median - bare) * 1000:+7.1f} ms above bare)")


if __name__ == "__main__":
    main()
