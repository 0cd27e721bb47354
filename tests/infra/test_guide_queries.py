"""The operations guide's three Athena queries are valid against the Glue table the stack creates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk", reason="the CDK app needs the infra extra: pip install -e '.[infra]'")

from pathprover.core.dimensions import ConfigVector
from pathprover.core.records import ProveContext, completed_records
from tests.infra.conftest import Synth

DEPLOY_DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
GUIDE_QUERIES = {
    "path_prove runs": """SELECT config_id, model_family, instance_family, deployment_config, status
FROM mlcc_ci.benchmark_results
WHERE run_type = 'path_prove'
ORDER BY run_timestamp DESC
LIMIT 20;""",
    "unfeasible configs": """SELECT config_id, model_family, instance_family, deployment_config, failure_reason
FROM mlcc_ci.benchmark_results
WHERE status = 'unfeasible'
ORDER BY run_timestamp DESC;""",
    "coverage summary": """SELECT model_family, instance_family, COUNT(*) as proven_count
FROM mlcc_ci.benchmark_results
WHERE status = 'completed'
GROUP BY model_family, instance_family
ORDER BY proven_count DESC;""",
}
GUIDE_COLUMNS = {
    "config_id",
    "model_family",
    "instance_family",
    "deployment_config",
    "status",
    "run_type",
    "run_timestamp",
    "failure_reason",
}
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}


def glue_columns(synth: Synth) -> dict[str, str]:
    (table,) = [
        t
        for t in synth.resources("AWS::Glue::Table").values()
        if t["Properties"]["TableInput"]["Name"] == "benchmark_results"
    ]
    table_input = table["Properties"]["TableInput"]
    columns = [*table_input["StorageDescriptor"]["Columns"], *table_input["PartitionKeys"]]
    return {c["Name"]: c["Type"] for c in columns}


def test_the_table_has_every_column_the_guide_queries_use(full: Synth) -> None:
    columns = glue_columns(full)
    assert columns.keys() >= GUIDE_COLUMNS
    assert columns["run_timestamp"] == "timestamp"
    used = {w for sql in GUIDE_QUERIES.values() for w in re.findall(r"[a-z_]+", sql)}
    assert used >= GUIDE_COLUMNS


@pytest.mark.parametrize("name", sorted(GUIDE_QUERIES))
def test_the_guide_query_runs_against_the_deployed_table_definition(full: Synth, name: str) -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA mlcc_ci")
    definition = ", ".join(f'"{n}" {DUCKDB_TYPES[t]}' for n, t in glue_columns(full).items())
    con.execute(f"CREATE TABLE mlcc_ci.benchmark_results ({definition})")
    con.execute(
        "INSERT INTO mlcc_ci.benchmark_results (config_id, run_type, status, model_family, instance_family, "
        "deployment_config, run_timestamp, failure_reason, dt) VALUES "
        "('a', 'path_prove', 'completed', 'qwen3', 'g5', 'transformers-vllm', "
        "TIMESTAMP '2025-01-01', NULL, '2025-01-01'),"
        "('b', 'path_prove', 'unfeasible', 'qwen3', 'g6e', 'transformers-vllm', "
        "TIMESTAMP '2025-01-02', 'oom', '2025-01-02')"
    )
    rows = con.execute(GUIDE_QUERIES[name]).fetchall()
    assert rows


def test_docs_deploy_shows_the_guides_queries() -> None:
    text = DEPLOY_DOC.read_text()
    for sql in GUIDE_QUERIES.values():
        assert sql in text


def test_after_n_proves_the_guides_queries_count_n_proves_on_the_deployed_definition(full: Synth) -> None:
    # Given the Glue definition of both tables and what the writer registers for N = 4 proves
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA mlcc_ci")
    columns = glue_columns(full)
    con.execute(
        f"CREATE TABLE mlcc_ci.benchmark_results ({', '.join(f'{n} {DUCKDB_TYPES[t]}' for n, t in columns.items())})"
    )
    now = datetime(2026, 11, 23, tzinfo=UTC)
    families = ["qwen3", "llama3", "mistral", "gemma"]
    for i, family in enumerate(families):
        vector = ConfigVector(deployment_config="vllm", model_family=family, instance_family="g5")
        ctx = ProveContext(vector=vector, execution_id="run-1")
        row, levels = completed_records(ctx, now - timedelta(minutes=i), [{"concurrency": c} for c in (1, 4, 8)])
        values = {**row.model_dump(), "dt": row.partition}
        con.execute(
            f"INSERT INTO mlcc_ci.benchmark_results ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            [values[n] for n in columns],
        )
        assert len(levels) == 3
    # When the guide's queries run
    recent = con.execute(GUIDE_QUERIES["path_prove runs"]).fetchall()
    coverage = con.execute(GUIDE_QUERIES["coverage summary"]).fetchall()
    # Then they count four proves of four configs, each proven once
    assert len(recent) == 4 and len({r[0] for r in recent}) == 4
    assert sorted(coverage) == sorted((f, "g5", 1) for f in families)
