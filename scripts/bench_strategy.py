"""Benchmark the brain's plan against a naive one on the simulated world: $ per resolved gap.

For each seed, a fresh warehouse holds the starter table (`pathprover seed`) with a seeded quarter of its
proven rows left out, so each seed has its own gaps. Three runs of the real local runtime (the ASL file
under moto, the real handlers, the simulated fleet whose truth comes from catalog/simulation.yaml, never from
the brain's sizing), each on its own copy of that warehouse, within the guide's default budget (10 proves,
$50, 4 lanes):

* feasibility-aware: the workflow plans from the gaps (brain/plan.py make_plan), as `pathprover run` does;
* naive (issue 13's baseline): the same gaps by proven neighbours alone, no feasibility, each gap's model
  and instance type a member of its family drawn at random with the scenario's seed (brain/naive.py
  Choice.RANDOM), given as TARGETS, as `pathprover run --targets` does; the workflow applies the same
  budget rule;
* naive-plainest (an ablation): the same order, each gap made into the family's smallest model on its
  cheapest type with enough accelerators (Choice.PLAINEST): this borrows the brain's sizing idea (the
  smallest model is the likeliest to fit) and cost awareness, so it is not "no feasibility".

Then a first run (an empty table): the feasibility-aware and plainest plans once each (the simulated world
has no randomness of its own), the random naive plan once per seed.

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
from pathprover.brain.naive import Choice, naive_targets
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


PLANS = ("feasibility-aware", "naive", "naive-plainest")
"""The brain's plan; issue 13's naive plan (a random member of each family, seeded); the plainest-request
ablation (smallest model, cheapest type: it borrows the brain's sizing idea)."""


def naive_payload(root: Path, catalog: Catalog, budget: dict[str, Any], choice: Choice, seed: int) -> dict[str, Any]:
    """The naive plan over the gaps of the warehouse at ``root``, given as TARGETS within ``budget``."""
    search = search_gaps(read_history(LocalWarehouse(root)), catalog, _now())
    rng = random.Random(seed)
    targets = list(naive_targets(search, catalog, CANDIDATES, requestable(catalog), choice=choice, rng=rng))
    return {
        **budget,
        "TARGETS": [t.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for t in targets],
    }


def describe(label: str, r: dict[str, Any]) -> str:
    return (
        f"{label}: {r['status']}, {r['proves']} proves, {r['resolved']} resolved, "
        f"${r['cost']:.2f} ({r['real_s']:.0f} s real) {dict(sorted(r['outcomes'].items()))}"
    )


def summarise(results: dict[str, list[dict[str, Any]]]) -> None:
    """Medians (min-max) per plan, and the feasibility-aware plan's ratio to each naive one."""
    med = statistics.median
    figures = {}
    for name, rows in results.items():
        per = [r["per_resolved"] for r in rows]
        figures[name] = med(per)
        spread = f" (min {min(per):.2f}, max {max(per):.2f})" if len(rows) > 1 else ""
        print(
            f"  {name:>17}: $ per resolved gap {'median ' if len(rows) > 1 else ''}{figures[name]:.2f}{spread}; "
            f"resolved gaps per run {'median ' if len(rows) > 1 else ''}{med(r['resolved'] for r in rows):g} "
            f"(min {min(r['resolved'] for r in rows)}, max {max(r['resolved'] for r in rows)}); "
            f"cost per run {'median ' if len(rows) > 1 else ''}${med(r['cost'] for r in rows):.2f}"
        )
    for name in PLANS[1:]:
        ratio = figures["feasibility-aware"] / figures[name]
        print(f"  ratio feasibility-aware / {name} ($ per resolved gap): {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    catalog = default_catalog()
    budget = {
        "MAX_PROVES_PER_RUN": DEFAULT_MAX_PROVES,
        "MAX_COST_PER_RUN": DEFAULT_MAX_COST_USD,
        "PARALLEL_LANES": LANES,
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in PLANS}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.seeds + 1):
            roots = {name: Path(tmp) / f"s{seed}-{name}" for name in PLANS}
            for root in roots.values():
                seed_warehouse(root, seed, catalog)
            results["feasibility-aware"].append(run(roots["feasibility-aware"], budget))
            # The naive plan's draw follows the scenario's seed, so its median over seeds is one too.
            results["naive"].append(
                run(roots["naive"], naive_payload(roots["naive"], catalog, budget, Choice.RANDOM, seed))
            )
            results["naive-plainest"].append(
                run(
                    roots["naive-plainest"],
                    naive_payload(roots["naive-plainest"], catalog, budget, Choice.PLAINEST, seed),
                )
            )
            brain = results["feasibility-aware"][-1]["configs"]
            shared = {name: len(results[name][-1]["configs"] & brain) for name in PLANS[1:]}
            print(f"seed {seed}: configs shared with the feasibility-aware plan: {shared}", flush=True)
            for name, rows in results.items():
                print(describe(f"seed {seed} {name:>17}", rows[-1]), flush=True)
        # A first run (an empty table, right after deploying): the brain plans from the catalog; by neighbour
        # count alone every cell ties at 0, so the naive plans take the catalog's cells in order. The simulated
        # world has no randomness of its own, so the brain's and the plainest plan's one run each is the
        # figure; the random naive plan is drawn once per seed (medians).
        first: dict[str, list[dict[str, Any]]] = {name: [] for name in PLANS}
        first["feasibility-aware"].append(run(Path(tmp) / "first-brain", budget))
        print(describe(f"first run {'feasibility-aware':>17}", first["feasibility-aware"][-1]), flush=True)
        root = Path(tmp) / "first-plainest"
        first["naive-plainest"].append(run(root, naive_payload(root, catalog, budget, Choice.PLAINEST, 0)))
        print(describe(f"first run {'naive-plainest':>17}", first["naive-plainest"][-1]), flush=True)
        for seed in range(1, args.seeds + 1):
            root = Path(tmp) / f"first-naive-s{seed}"
            first["naive"].append(run(root, naive_payload(root, catalog, budget, Choice.RANDOM, seed)))
            print(describe(f"first run seed {seed} {'naive':>5}", first["naive"][-1]), flush=True)
    print(
        f"\nstrategy comparison, {args.seeds} seeds, budget {DEFAULT_MAX_PROVES} proves / ${DEFAULT_MAX_COST_USD:.0f}:"
    )
    print("starter table, a seeded quarter of its proven rows left out (medians over seeds):")
    summarise(results)
    print("first run (empty table; feasibility-aware and naive-plainest one run each, naive medians over seeds):")
    summarise(first)
    print(f"  total {time.perf_counter() - started:.0f} s")


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


if __name__ == "__main__":
    main()
