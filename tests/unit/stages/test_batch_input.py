"""stages/batch_input.py: a batch-transform prove whose benchmark records cannot fit the context is refused."""

from pathprover.catalog import default_catalog
from pathprover.core.runconfig import BenchmarkWorkload
from pathprover.core.targets import ValidationTarget, run_config_of
from pathprover.stages.batch_input import batch_input_problem

CATALOG = default_catalog()


def batch_run(**fields):
    target = ValidationTarget(
        model_name="Qwen/Qwen3-0.6B", instance_type="ml.g5.xlarge", deployment_target="batch-transform", **fields
    )
    return run_config_of(target, CATALOG)


def test_a_batch_benchmark_that_fits_the_context_is_fine():
    assert batch_input_problem(batch_run(), CATALOG) is None


def test_records_longer_than_the_engines_context_setting_are_refused_naming_both_counts():
    # Given a batch prove whose engine context is set below the benchmark's input + output tokens
    run = batch_run(serving_params={"max_model_len": 64})
    need = run.benchmark.input_tokens + run.benchmark.output_tokens
    assert need > 64
    # When checked / Then the reason names what each record needs and where the context came from
    reason = batch_input_problem(run, CATALOG) or ""
    assert f"needs {need} tokens" in reason and "serving_params.max_model_len is 64" in reason


def test_records_longer_than_the_models_context_length_are_refused():
    context = CATALOG.model("Qwen/Qwen3-0.6B").context_length
    run = batch_run(benchmark=BenchmarkWorkload(input_tokens=context, output_tokens=16))
    assert "Qwen/Qwen3-0.6B's context length" in (batch_input_problem(run, CATALOG) or "")


def test_other_targets_and_runs_without_a_benchmark_are_not_checked():
    realtime = run_config_of(
        ValidationTarget(
            model_name="Qwen/Qwen3-0.6B", instance_type="ml.g5.xlarge", serving_params={"max_model_len": 64}
        ),
        CATALOG,
    )
    assert batch_input_problem(realtime, CATALOG) is None
    no_benchmark = batch_run(serving_params={"max_model_len": 64}, stages=("generate", "build", "deploy", "test"))
    assert batch_input_problem(no_benchmark, CATALOG) is None
