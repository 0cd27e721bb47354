"""`pathprover benchmark-job`: the benchmark stage's CodeBuild job entry point."""

from __future__ import annotations

from pathprover.cli.common import emit_json, fail


def benchmark_job() -> None:
    """The benchmark stage's job (CodeBuild): load the endpoint under test, write metrics to RESULTS_URI."""
    from pathprover.adapters.aws.clients import AwsClients
    from pathprover.adapters.aws.s3 import S3ArtifactStore
    from pathprover.loadgen.job import BenchmarkJobError, run_benchmark_job
    from pathprover.settings import Settings, job_environment
    from pathprover.stages.naming import parse_s3_uri

    env = job_environment()
    try:
        bucket, _ = parse_s3_uri(env.get("RESULTS_URI", ""))
        store = S3ArtifactStore(AwsClients(Settings.from_env().region), bucket, prefix="")
        summary = run_benchmark_job(env, store)
    except (BenchmarkJobError, ValueError) as exc:
        fail(f"benchmark job: {exc}")
    emit_json({"levels": len(summary["levels"]), "artifacts_uri": summary["artifacts_uri"]})
