"""Benchmark the brain's plan against a naive one on the simulated world: $ per resolved gap.

For each seed, a fresh warehouse holds the starter table (`pathprover seed`) with a seeded quarter of its
proven rows left out, so each seed has its own gaps. Two runs of the real local runtime (the ASL file under
moto, the real handlers, the simulated fleet whose truth comes from catalog/simulation.yaml, never from the
brain's sizing), each on its own copy of that warehouse, within the guide's default budget (10 proves,
$50, 4 lanes):

* feasibility-aware: the workflow plans from the gaps (brain/plan.py make_plan), as `pathprover run` does;
* naive: the same gaps by proven neighbours alone, no feasibility (brain/naive.py), given as TARGETS, as
  `pathprover run --targets` does; the workflow applies the same budget rule.

A gap is resolved when its prove completed, or when it was recorded unfeasible for a reason of the config
(failure_scope config). Reports $ per resolved gap (actual cost of the run / resolved gaps) and resolved
gaps per run, medians over the seeds; results go to stdout (copy into docs/performance.md).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pathprover.adapters.local.account import ESTABLISHED
from pathprover.adapters.local.faults import FaultPlan
from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.brain.gaps import search_gaps
from pathprover.brain.history import read_history
from pathprover.brain.naive import naive_targets
from pathprover.catalog import Catalog, CatalogError, default_catalog
from pathprover.core.limits import DEFAULT_MAX_COST_USD, DEFAULT_MAX_PROVES
from pathprover.core.targets import TargetError, ValidationTarget, to_run_config
from pathprover.runtime.local import LocalRuntime
from pathprover.seed import seed_records
from pathprover.stages.batch_input import batch_input_problem

LANES = 4
LEAVE_OUT = 0.25
"""Share of the starter table's proven rows each seed leaves out."""
CANDIDATES = 40
"""Naive requests handed to the workflow; its budget rule takes the first that fit (10 proves, $50)."""


def seed_warehouse(root: Path, seed: int, catalog: Catalog) -> None:
    from datetime import UTC, datetime

    prices = {name: i.price_per_hour_usd for name, i in catalog.instances.items()}
    params = {name: m.total_params_b for name, m in catalog.models.items()}
    records, levels = seed_records(datetime.now(UTC), prices, params)
    proven = sorted(r.record_id for r in records if r.status == "completed")
    left_out = set(random.Random(seed).sample(proven, k=round(len(proven) * LEAVE_OUT)))
    kept = [r for r in records if r.record_id not in left_out]
    LocalWarehouse(root).append(kept, [lv for lv in levels if lv.record_id not in left_out])


def requestable(catalog: Catalog) -> Any:
    """What the API accepts as a target at all (the request's own checks, not feasibility)."""

    def accepted(target: ValidationTarget) -> bool:
        try:
            return batch_input_problem(to_run_config(target, catalog), catalog) is None
        except (TargetError, CatalogError, ValueError):
            return False

    return accepted


def run(root: Path, payload: dict[str, Any]) -> dict[str, Any]:
    with LocalRuntime(root, faults=FaultPlan(), account=ESTABLISHED) as runtime:
        outcome = runtime.run(payload)
    summary = outcome.summary or {}
    proves = summary.get("proves") or []
    resolved = [
        p
        for p in proves
        if p["status"] == "completed"
        or (p["status"] == "unfeasible" and (p.get("failure_scope") or "config") == "config")
    ]
    cost = float(summary.get("actual_cost_usd") or 0.0)
    return {
        "status": outcome.status,
        "proves": len(proves),
        "resolved": len(resolved),
        "cost": cost,
        "per_resolved": cost / len(resolved) if resolved else float("inf"),
        "outcomes": Counter(
            p["status"] + (f"/{p['failure_category']}" if p.get("failure_category") else "") for p in proves
        ),
        "real_s": outcome.real_seconds,
        "configs": {p["config_id"] for p in proves},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    catalog = default_catalog()
    budget = {
        "MAX_PROVES_PER_RUN": DEFAULT_MAX_PROVES,
        "MAX_COST_PER_RUN": DEFAULT_MAX_COST_USD,
        "PARALLEL_LANES": LANES,
    }
    results: dict[str, list[dict[str, Any]]] = {"feasibility-aware": [], "naive": []}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.seeds + 1):
            brain_root, naive_root = Path(tmp) / f"s{seed}-brain", Path(tmp) / f"s{seed}-naive"
            seed_warehouse(brain_root, seed, catalog)
            seed_warehouse(naive_root, seed, catalog)
            results["feasibility-aware"].append(run(brain_root, budget))
            search = search_gaps(read_history(LocalWarehouse(naive_root)), catalog, _now())
            targets = list(naive_targets(search, catalog, CANDIDATES, requestable(catalog)))
            payload = {
                **budget,
                "TARGETS": [t.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for t in targets],
            }
            results["naive"].append(run(naive_root, payload))
            shared = len(results["naive"][-1]["configs"] & results["feasibility-aware"][-1]["configs"])
            print(f"seed {seed}: the two plans share {shared} of their configs", flush=True)
            for name, rows in results.items():
                r = rows[-1]
                print(
                    f"seed {seed} {name:>17}: {r['status']}, {r['proves']} proves, {r['resolved']} resolved, "
                    f"${r['cost']:.2f} ({r['real_s']:.0f} s real) {dict(sorted(r['outcomes'].items()))}",
                    flush=True,
                )
        # A first run (an empty table, right after deploying): the brain plans from the catalog; by neighbour
        # count alone every cell ties at 0, so the naive plan takes the catalog's cells in order. The simulated
        # world has no randomness of its own, so one run per plan is the figure.
        brain_root, naive_root = Path(tmp) / "first-brain", Path(tmp) / "first-naive"
        first = {"feasibility-aware": run(brain_root, budget)}
        search = search_gaps(read_history(LocalWarehouse(naive_root)), catalog, _now())
        targets = list(naive_targets(search, catalog, CANDIDATES, requestable(catalog)))
        first["naive"] = run(
            naive_root,
            {
                **budget,
                "TARGETS": [t.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for t in targets],
            },
        )
        for name, r in first.items():
            print(
                f"first run {name:>17}: {r['status']}, {r['proves']} proves, {r['resolved']} resolved, "
                f"${r['cost']:.2f} ({r['real_s']:.0f} s real) {dict(sorted(r['outcomes'].items()))}",
                flush=True,
            )
    med = statistics.median
    print(
        f"\nstrategy comparison, {args.seeds} seeds, budget {DEFAULT_MAX_PROVES} proves / ${DEFAULT_MAX_COST_USD:.0f}:"
    )
    figures = {}
    for name, rows in results.items():
        figures[name] = med(r["per_resolved"] for r in rows)
        print(
            f"  {name:>17}: $ per resolved gap median {figures[name]:.2f} "
            f"(min {min(r['per_resolved'] for r in rows):.2f}, max {max(r['per_resolved'] for r in rows):.2f}); "
            f"resolved gaps per run median {med(r['resolved'] for r in rows):g}; "
            f"cost per run median ${med(r['cost'] for r in rows):.2f}"
        )
    print(
        f"  ratio feasibility-aware / naive ($ per resolved gap): {figures['feasibility-aware'] / figures['naive']:.2f}"
    )
    print("first run (empty table, one run each):")
    for name, r in first.items():
        print(
            f"  {name:>17}: $ per resolved gap {r['per_resolved']:.2f}; resolved {r['resolved']}; cost ${r['cost']:.2f}"
        )
    ratio = first["feasibility-aware"]["per_resolved"] / first["naive"]["per_resolved"]
    print(f"  ratio feasibility-aware / naive ($ per resolved gap): {ratio:.2f}")
    print(f"  total {time.perf_counter() - started:.0f} s")


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


if __name__ == "__main__":
    main()
