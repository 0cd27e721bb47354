"""build_aws_services: the AWS adapters wired from the Lambda's settings."""

from __future__ import annotations

from pathprover.adapters.aws.results import (
    AthenaResultsStore,
)


def test_the_aws_factory_writes_the_levels_where_the_stack_says() -> None:
    from pathprover.adapters.aws.factory import build_aws_services
    from pathprover.catalog import load_catalog
    from pathprover.settings import Settings

    settings = Settings.from_env(
        {
            "PATHPROVER_RESULTS_BUCKET": "existing-bucket",
            "PATHPROVER_TABLE_LOCATION": "s3://existing-bucket/some/prefix/",
            "PATHPROVER_LEVELS_LOCATION": "s3://stack-bucket/mlcc_ci/benchmark_levels/",
            "PATHPROVER_LEDGER_TABLE": "ledger",
        }
    )
    store = build_aws_services(settings, load_catalog()).store
    assert isinstance(store, AthenaResultsStore)
    assert (store.table_s3_uri, store.levels_s3_uri) == (
        "s3://existing-bucket/some/prefix/",
        "s3://stack-bucket/mlcc_ci/benchmark_levels/",
    )
    assert (store.table, store.levels_table) == ("benchmark_results", "benchmark_levels")
