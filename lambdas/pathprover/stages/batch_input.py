"""Whether a batch-transform prove can generate its benchmark input, decided before anything is created.

A batch benchmark sends the workload's requests as one JSON-lines file (:mod:`pathprover.loadgen.batch`).
Each record asks for ``input_tokens`` of prompt and exactly ``output_tokens`` of answer. If that does not
fit the context the engine will serve (the target's own context setting, else the model's context
length), no valid record can be generated: every record would be refused by the model server, the
transform job would fail, and the failure would read like the configuration's. So the plan refuses it.
"""

from __future__ import annotations

from pathprover.catalog import Catalog
from pathprover.core.runconfig import RunConfig


def batch_input_problem(run: RunConfig, catalog: Catalog) -> str | None:
    """Why this run's batch benchmark input cannot be generated, or None (also for other targets)."""
    from pathprover.generate.engines import engine_spec

    if run.vector.deployment_target != "batch-transform" or "benchmark" not in run.stages:
        return None
    model = catalog.model(run.model_name)
    engine = engine_spec(catalog.deployment_config(run.vector.deployment_config).engine)
    context, source = model.context_length, f"{run.model_name}'s context length"
    if engine.context_param and engine.context_param in run.serving_params:
        value = run.serving_params[engine.context_param]
        if isinstance(value, int) and not isinstance(value, bool):
            context, source = value, f"serving_params.{engine.context_param}"
    need = run.benchmark.input_tokens + run.benchmark.output_tokens
    if need <= context:
        return None
    return (
        f"batch-transform cannot generate its benchmark input: every record needs {need} tokens of context "
        f"(benchmark.input_tokens {run.benchmark.input_tokens} + output_tokens {run.benchmark.output_tokens}) "
        f"but {source} is {context}; lower the benchmark's token counts"
    )
