"""Benchmark the brain at scale: `pathprover gaps` on 100,000 rows over a 1,000,000-cell space.

Interleaved with it, a fresh process that reads the same Parquet in DuckDB and runs the brain's two
aggregate queries (the floor the command is compared with). Beside them, the straightforward cells x rows
ranking (brain/reference.py) and the fast search on the same smaller table, so the ratio is measured in
one run.
Figures are medians of repeated runs; results go to stdout (copy into
docs/performance.md).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pathprover.brain.gaps import search_gaps
from pathprover.brain.history import read_history
from pathprover.brain.reference import naive_ranking
from pathprover.catalog import default_catalog

VALUES = {
    "deployment_config": ["transformers-vllm", "transformers-sglang", "tensorrt-llm", "http-flask"]
    + [f"engine-{i}" for i in range(6)],
    "model_family": ["qwen3", "llama3", "deepseek-r1", "mistral", "gemma", "gpt-oss"]
    + [f"family-{i}" for i in range(4)],
    "instance_family": ["g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "inf2", "g4dn", "x9"],
    "quantization": ["none", "fp8", "awq", "gptq"] + [f"q{i}" for i in range(6)],
    "tp_degree": list(range(1, 11)),
    "deployment_target": ["realtime-inference", "async-inference", "batch-transform"] + [f"t{i}" for i in range(7)],
}


def make_table(path: Path, rows: int, values: dict[str, list], seed: int = 7) -> None:
    """Random rows over the space, ~90 % completed, every value seen in some completed row."""

    def pick(name: str, salt: int) -> str:
        items = values[name]
        literal = "[" + ", ".join(str(v) if name == "tp_degree" else f"'{v}'" for v in items) + "]"
        return f"{literal}[1 + (hash(i * {salt} + {seed}) % {len(items)})::INTEGER] AS {name}"

    cols = ", ".join(pick(n, k) for k, n in enumerate(values, start=3))
    duckdb.sql(
        f"COPY (SELECT {cols}, CASE WHEN i < 100 OR hash(i + 99) % 10 < 9 THEN 'completed' ELSE 'failed' END AS status,"
        " 'ci' AS run_type, CASE WHEN hash(i + 99) % 10 < 9 THEN NULL ELSE 'capacity' END AS failure_category,"
        " TIMESTAMP '2026-11-01' + to_seconds(i) AS run_timestamp "
        f"FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet)"
    )


DUCKDB_BASELINE = """
import sys

import duckdb

con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute("CREATE SCHEMA mlcc_ci")
source = f"read_parquet({sys.argv[1]!r})"
present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
missing = {"failure_scope": "VARCHAR", "failure_reason": "VARCHAR", "tuned": "BOOLEAN"}
extra = "".join(f", CAST(NULL AS {t}) AS {c}" for c, t in missing.items() if c not in present)
con.execute(f"CREATE VIEW mlcc_ci.benchmark_results AS SELECT *{extra} FROM {source}")
for sql in sys.argv[2:]:
    con.execute(sql).fetchall()
"""
"""A fresh process that reads the same Parquet and runs the brain's two aggregate queries in DuckDB, fetching
every result row: what the brain's read would cost with nothing around it."""


def time_gaps_and_duckdb(table: Path, repeats: int) -> tuple[list[float], list[float]]:
    """`pathprover gaps` and the DuckDB baseline, interleaved in one run (a busy moment hits both alike)."""
    from pathprover.brain.history import COMPLETED_SQL, OUTCOMES_SQL

    gaps_times, duck_times = [], []
    exe = Path(sys.executable).with_name("pathprover")
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(
            [str(exe), "gaps", "--table", str(table), "--json", "--limit", "20"],
            capture_output=True,
            text=True,
            check=True,
        )
        gaps_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", DUCKDB_BASELINE, str(table), COMPLETED_SQL, OUTCOMES_SQL],
            capture_output=True,
            check=True,
        )
        duck_times.append(time.perf_counter() - start)
    payload = json.loads(proc.stdout)
    print(
        f"  gaps total {payload['total']:,} of {payload['space_size']:,} cells; feasible {payload['feasible_total']:,}"
    )
    return gaps_times, duck_times


def main() -> None:
    catalog = default_catalog()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.parquet"
        make_table(big, 100_000, VALUES)
        print("pathprover gaps --table <100,000 rows, 1,000,000 cells> --json (wall time of the whole command)")
        big_times, duck_times = time_gaps_and_duckdb(big, 7)
        gaps_median, duck_median = statistics.median(big_times), statistics.median(duck_times)
        print(
            f"  median {gaps_median:.2f} s over {len(big_times)} runs "
            f"(min {min(big_times):.2f}, max {max(big_times):.2f})"
        )
        print(
            f"  DuckDB alone (fresh process, same Parquet, the brain's two aggregate queries fetched): median "
            f"{duck_median:.2f} s (min {min(duck_times):.2f}, max {max(duck_times):.2f})"
        )
        print(f"  ratio gaps / DuckDB alone: {gaps_median / duck_median:.2f}x")

        small_values = {k: v[:4] if k != "deployment_target" else v[:3] for k, v in VALUES.items()}
        small_values["tp_degree"] = [1, 2, 4, 8]
        small = Path(tmp) / "small.parquet"
        make_table(small, 400, small_values)
        from pathprover.adapters.local.warehouse import LocalWarehouse

        history = read_history(LocalWarehouse(Path(tmp), table=small))
        fast, slow = [], []
        for _ in range(5):
            start = time.perf_counter()
            search = search_gaps(history, catalog, now)
            search.top()
            fast.append(time.perf_counter() - start)
        for _ in range(3):
            start = time.perf_counter()
            naive_ranking(history, catalog, now)
            slow.append(time.perf_counter() - start)
        cells = search.space_size
        completed = len(history.completed())
        print(f"\nSame ranking on a smaller table ({cells:,} cells x {completed} completed configs):")
        print(f"  fast search (brain/gaps.py)       median {statistics.median(fast) * 1000:.1f} ms")
        print(f"  cells x rows (brain/reference.py) median {statistics.median(slow) * 1000:.1f} ms")
        print(f"  ratio {statistics.median(slow) / statistics.median(fast):.0f}x")
        per_pair = statistics.median(slow) / (cells * completed)
        print(
            f"  cells x rows at full scale would take about {per_pair * 1e6 * 1e5 / 3600:.0f} h "
            f"({per_pair * 1e9:.0f} ns per cell-row pair x 10^11 pairs)"
        )


if __name__ == "__main__":
    main()
