"""Where the brain's sizing rule and the simulated fleet's memory truth disagree, over the whole catalog.

Every model x instance type x quantization x tp_degree (tp within the instance and dividing the
heads, as the brain requires), for every deployment config whose engine runs that quantization on
that accelerator: the brain's ``estimate_fit`` against :func:`pathprover.adapters.local.truth.
container_start` with the container's default environment (no ``--max-model-len``: the serving
templates pass none unless a target sets it).

    .venv/bin/python -m tests.integration.memory_margin            # the table docs/simulation.md quotes
    .venv/bin/python -m tests.integration.memory_margin --max-model-len 4096 --json

This module is the only place that imports both sides; the fleet never imports the brain.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pathprover.adapters.local.truth import SimulationFacts, container_start, load_facts
from pathprover.brain.sizing import estimate_fit, heads_divisible
from pathprover.catalog import Catalog, default_catalog


@dataclass
class Margin:
    """Counts of cells by agreement, overall and per engine."""

    cells: int = 0
    agree_fit: int = 0
    agree_no_fit: int = 0
    brain_optimistic: int = 0
    """The brain says it fits; the container fails at start (the simulated fleet fails the deploy)."""
    brain_pessimistic: int = 0
    """The brain says it does not fit; the container would start (the brain never tries it)."""
    optimistic_by_outcome: Counter[str] = field(default_factory=Counter)
    by_engine: dict[str, Counter[str]] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def disagree(self) -> int:
        return self.brain_optimistic + self.brain_pessimistic

    def share(self, count: int) -> float:
        return count / self.cells if self.cells else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cells": self.cells,
            "agree_fit": self.agree_fit,
            "agree_no_fit": self.agree_no_fit,
            "brain_optimistic": self.brain_optimistic,
            "brain_pessimistic": self.brain_pessimistic,
            "disagree_share": round(self.share(self.disagree), 4),
            "optimistic_by_outcome": dict(self.optimistic_by_outcome.most_common()),
            "by_engine": {engine: dict(counts) for engine, counts in sorted(self.by_engine.items())},
            "examples": self.examples,
        }


def measure(
    catalog: Catalog | None = None,
    facts: SimulationFacts | None = None,
    *,
    max_model_len: int | None = None,
    examples: int = 3,
) -> Margin:
    """Compare both sides on every cell; ``max_model_len`` sets the engines' context flag (None: defaults)."""
    catalog = catalog or default_catalog()
    facts = facts or load_facts(catalog)
    margin = Margin()
    quantizations = [str(q) for q in catalog.search_space.values["quantization"]]
    tps = [int(t) for t in catalog.search_space.values["tp_degree"]]
    for model in catalog.models.values():
        for instance in catalog.instances.values():
            for quantization in quantizations:
                for tp in tps:
                    if tp > instance.max_tp_degree or not heads_divisible(model, tp):
                        continue
                    brain_fits = estimate_fit(catalog, model, quantization, instance, tp).fits
                    for config in catalog.deployment_configs.values():
                        rule = config.quantization_rule(quantization)
                        if instance.accelerator_kind not in config.accelerator_kinds or rule is None:
                            continue
                        if not rule.runs_on(instance.accelerator_kind, instance.compute_capability):
                            continue
                        env: dict[str, str] = {}
                        if max_model_len is not None:
                            env = {
                                "SM_VLLM_MAX_MODEL_LEN": str(max_model_len),
                                "SM_SGLANG_CONTEXT_LENGTH": str(max_model_len),
                                "SM_TRTLLM_MAX_SEQ_LEN": str(max_model_len),
                            }
                        truth = container_start(
                            model,
                            instance,
                            engine=config.engine,
                            quantization=quantization,
                            tp=tp,
                            env=env,
                            facts=facts,
                        )
                        _count(
                            margin,
                            config.engine,
                            brain_fits,
                            truth.starts,
                            truth.outcome,
                            examples,
                            f"{model.name} on {instance.name} {quantization} tp{tp} {config.engine}",
                        )
    return margin


def _count(
    margin: Margin, engine: str, brain_fits: bool, starts: bool, outcome: str, examples: int, label: str
) -> None:
    margin.cells += 1
    counts = margin.by_engine.setdefault(engine, Counter())
    counts["cells"] += 1
    if brain_fits and starts:
        margin.agree_fit += 1
        return
    if not brain_fits and not starts:
        margin.agree_no_fit += 1
        return
    key = "brain_optimistic" if brain_fits else "brain_pessimistic"
    counts[key] += 1
    if brain_fits:
        margin.brain_optimistic += 1
        margin.optimistic_by_outcome[outcome] += 1
    else:
        margin.brain_pessimistic += 1
    bucket = margin.examples.setdefault(f"{key}:{outcome}", [])
    if len(bucket) < examples:
        bucket.append(label)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-model-len", type=int, default=None, help="pass this context length to every engine")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    margin = measure(max_model_len=args.max_model_len)
    if args.json:
        print(json.dumps(margin.as_dict(), indent=2))
        return 0
    print(
        f"cells {margin.cells}: agree {margin.agree_fit} fit + {margin.agree_no_fit} no fit; "
        f"brain optimistic {margin.brain_optimistic} ({margin.share(margin.brain_optimistic):.1%}), "
        f"brain pessimistic {margin.brain_pessimistic} ({margin.share(margin.brain_pessimistic):.1%})"
    )
    for outcome, count in margin.optimistic_by_outcome.most_common():
        print(f"  optimistic, container fails with {outcome}: {count}")
    for engine, counts in sorted(margin.by_engine.items()):
        print(f"  {engine}: {dict(counts)}")
    for key, labels in sorted(margin.examples.items()):
        print(f"  e.g. {key}: {'; '.join(labels)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
