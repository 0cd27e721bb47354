"""core/schema.py: the one definition of both tables, and docs/schema.md generated from it."""

from pathlib import Path

from pathprover.core import schema


def test_schema_has_the_columns_the_guide_and_issue_need():
    cols = {c.name: c for c in schema.columns()}
    needed = [
        "config_id",
        "run_type",
        "status",
        "run_timestamp",
        "deployment_config",
        "model_family",
        "instance_family",
        "quantization",
        "tp_degree",
        "deployment_target",
        "model_name",
        "instance_type",
        "region",
        "failure_reason",
        "failure_category",
        "failure_stage",
        "failure_retryable",
        "execution_id",
        "attempt",
        "estimated_cost_usd",
        "actual_cost_usd",
        "duration_seconds",
        "levels_benchmarked",
        "latency_concurrency",
        "ttft_p50_ms",
        "ttft_p99_ms",
        "itl_p50_ms",
        "itl_p99_ms",
        "e2e_latency_p99_ms",
        "peak_concurrency",
        "peak_request_throughput_rps",
        "peak_output_token_throughput_tps",
        "error_rate",
        "cost_per_1m_tokens",
        "artifacts_uri",
        "serving_params",
    ]
    assert not [n for n in needed if n not in cols]
    assert cols["tp_degree"].type == "int"
    assert cols["run_timestamp"].type == "timestamp"
    assert cols["failure_retryable"].type == "boolean"
    assert "concurrency" not in cols, "a row is an attempt; its levels are in benchmark_levels"


def test_levels_schema_is_keyed_by_record_id_and_concurrency():
    cols = {c.name: c for c in schema.level_columns()}
    assert [c.name for c in schema.level_columns()][:4] == ["record_id", "config_id", "run_timestamp", "concurrency"]
    assert cols["record_id"].required and cols["concurrency"].type == "int"
    for name in ("ttft_p50_ms", "tpot_p99_ms", "e2e_latency_p90_ms", "output_token_throughput_tps", "error_rate"):
        assert cols[name].type == "double", name


def test_schema_doc_is_in_sync():
    # Given docs/schema.md / Then it embeds the table generated from the one definition
    doc = (Path(__file__).resolve().parents[3] / "docs" / "schema.md").read_text()
    assert schema.markdown_table() in doc
    assert schema.markdown_table(schema.LEVELS) in doc


def test_every_column_maps_to_duckdb_and_glue_and_the_partition_is_separate():
    # Given both tables / Then no column is defined twice and each has a DuckDB and a Glue type
    for table in schema.TABLES:
        names = [c.name for c in table.columns]
        assert len(names) == len(set(names)), table.name
        assert all(c.duckdb_type and c.glue_type for c in table.columns)
        assert table.qualified.endswith(f".{table.name}")
    # And the partition column dt is not a data column, but the Markdown table lists it
    [dt] = schema.partition_keys()
    assert dt.name == "dt" and dt.name not in schema.column_names()
    assert "| `dt` | string | yes |" in schema.markdown_table()
