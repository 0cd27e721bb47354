"""build_aws_services: the AWS adapters wired from the Lambda's settings."""

from __future__ import annotations

from pathprover.adapters.aws.factory import build_aws_services
from pathprover.adapters.aws.results import (
    AthenaResultsStore,
)
from pathprover.catalog import default_catalog
from pathprover.settings import Settings


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


def test_an_existing_tables_location_is_where_rows_are_written():
    base = {"runtime": "aws", "results_bucket": "results", "ledger_table": "ledger"}
    default = build_aws_services(Settings(**base), default_catalog())
    assert default.store.table_s3_uri == "s3://results/mlcc_ci/benchmark_results/"  # type: ignore[attr-defined]
    existing = build_aws_services(Settings(**base, table_location="s3://x/y"), default_catalog())
    assert existing.store.table_s3_uri == "s3://x/y/"  # type: ignore[attr-defined]
