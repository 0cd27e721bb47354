"""The local warehouse: atomic, idempotent appends; Athena SQL on DuckDB; foreign tables."""

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathprover.adapters.local.warehouse import LocalWarehouse, WarehouseError
from pathprover.brain.history import read_history
from pathprover.brain.nearest import nearest
from pathprover.core.dimensions import ConfigVector
from pathprover.core.records import ProveContext, completed_records, failure_record
from pathprover.reports import REPORTS
from tests.support.old_layout import OldTable

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def prove(execution="e1", family="qwen3", when=NOW):
    """A completed prove: its row and its three levels."""
    vector = ConfigVector(deployment_config="vllm", model_family=family, instance_family="g5")
    ctx = ProveContext(vector=vector, execution_id=execution, model_name="Qwen/Qwen3-0.6B")
    levels = [{"concurrency": c, "ttft_p50_ms": 40.0 + c, "output_token_throughput_tps": 90.0 * c} for c in (1, 4, 8)]
    return completed_records(ctx, when, levels)


def proves(*args):
    """Several proves as (rows, levels) for one append."""
    built = [prove(*a) if isinstance(a, tuple) else prove(a) for a in args]
    return [row for row, _ in built], [lvl for _, levels in built for lvl in levels]


def test_append_is_idempotent_by_record_id_in_both_tables(tmp_path):
    # Given a warehouse with one prove written
    store = LocalWarehouse(tmp_path)
    row, levels = prove()
    first = store.append([row], levels)
    # When the same prove is written again (a retried register stage)
    second = store.append([row], levels)
    # Then nothing is duplicated, in either table
    assert (first.written, first.levels_written) == (1, 3)
    assert (second.written, second.skipped_duplicates, second.levels_written, second.levels_skipped_duplicates) == (
        0,
        1,
        0,
        3,
    )
    assert store.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_results").rows == [[1]]
    assert store.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_levels").rows == [[3]]


def test_a_register_interrupted_after_the_levels_completes_without_duplicates(tmp_path):
    # Given a register that wrote the levels and died before the row
    store = LocalWarehouse(tmp_path)
    row, levels = prove()
    store.append([], levels)
    assert store.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_results").rows == [[0]]
    # When it is retried
    again = store.append([row], levels)
    # Then the row is written and the levels are not written twice
    assert (again.written, again.levels_written, again.levels_skipped_duplicates) == (1, 0, 3)
    joined = store.query(
        "SELECT r.record_id, COUNT(*) FROM mlcc_ci.benchmark_results r "
        "JOIN mlcc_ci.benchmark_levels l ON l.record_id = r.record_id AND l.dt = r.dt GROUP BY 1"
    )
    assert joined.rows == [[row.record_id, 3]]


def test_layout_is_hive_partitioned_and_temp_files_are_invisible(tmp_path):
    store = LocalWarehouse(tmp_path)
    store.append(*proves(("e1", "qwen3", NOW), ("e2", "qwen3", NOW - timedelta(days=1))))
    parts = sorted(p.parent.name for p in store.files())
    assert parts == ["dt=2026-11-22", "dt=2026-11-23"]
    assert sorted({p.parent.name for p in store.level_files()}) == parts
    # Given a half-written file left by a crash
    (store.table_dir / "dt=2026-11-23" / ".part-x.123.parquet.tmp").write_bytes(b"PAR1 half")
    # Then readers never see it
    assert store.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_results").rows == [[2]]


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_the_guides_queries_run_verbatim(tmp_path, name):
    store = LocalWarehouse(tmp_path)
    vector = ConfigVector(deployment_config="vllm", model_family="llama3", instance_family="g5", tp_degree=2)
    ctx = ProveContext(vector=vector, execution_id="e9")
    row, levels = prove()
    store.append(
        [row, failure_record(ctx, NOW, category="oom", retryable=False, reason="CUDA out of memory", stage="deploy")],
        levels,
    )
    result = store.query(REPORTS[name])
    assert result.rows, name
    if name == "unfeasible":
        assert result.rows[0][-1] == "CUDA out of memory"
    if name == "coverage":
        assert result.rows == [["qwen3", "g5", 1]]


def test_the_guides_queries_count_proves_and_configs_not_levels(tmp_path):
    # Given N = 5 proves of distinct configs, three levels each, and one failed prove
    store = LocalWarehouse(tmp_path)
    families = ["qwen3", "llama3", "mistral", "gemma", "deepseek-r1"]
    store.append(*proves(*[(f"e{i}", f, NOW - timedelta(minutes=i)) for i, f in enumerate(families)]))
    vector = ConfigVector(deployment_config="vllm", model_family="qwen3", instance_family="g6e")
    failed = ProveContext(vector=vector, execution_id="e9")
    store.append(
        [failure_record(failed, NOW, category="capacity", retryable=True, reason="no capacity", stage="deploy")]
    )
    # When the guide's recent-runs query runs
    recent = store.query(REPORTS["recent"]).rows
    # Then it lists the six attempts, each config once
    assert len(recent) == 6 and len({r[0] for r in recent}) == 6
    # And coverage counts each proven config once
    coverage = store.query(REPORTS["coverage"]).rows
    assert sorted((r[0], r[2]) for r in coverage) == sorted((f, 1) for f in families)


def test_trino_only_functions_are_transpiled(tmp_path):
    store = LocalWarehouse(tmp_path)
    store.append(*proves("e1", "e2", "e3"))
    result = store.query(
        "SELECT approx_percentile(ttft_p50_ms, 0.5) AS p, "
        "COUNT_IF(run_timestamp > date_add('day', -30, from_iso8601_timestamp('2026-11-23T00:00:00Z'))) AS n "
        "FROM mlcc_ci.benchmark_results WHERE regexp_like(model_name, 'Qwen3')"
    )
    assert result.columns == ["p", "n"]
    assert result.rows[0][1] == 3


def test_a_table_written_by_another_tool_with_some_columns(tmp_path):
    # Given a CI table with no status, run_type or config_id columns and tp_degree as text
    path = tmp_path / "ci.parquet"
    duckdb.sql(
        "COPY (SELECT 'transformers-vllm' AS deployment_config, 'qwen3' AS model_family, 'g5' AS instance_family,"
        " 'fp16' AS quantization, '1' AS tp_degree, 'realtime-inference' AS deployment_target,"
        " TIMESTAMP '2026-11-01 10:00:00' AS run_timestamp, 55.5 AS ttft_p50_ms) "
        f"TO '{path}' (FORMAT parquet)"
    )
    store = LocalWarehouse(tmp_path / "unused", table=path)
    # Then it reads with the full schema: missing status means completed, missing run_type means ci
    result = store.query(
        "SELECT status, run_type, tp_degree, ttft_p50_ms, failure_reason FROM mlcc_ci.benchmark_results"
    )
    assert result.rows == [["completed", "ci", 1, 55.5, None]]
    assert store.problems() == []


def test_malformed_rows_are_reported_with_the_row(tmp_path):
    path = tmp_path / "bad.parquet"
    duckdb.sql(
        "COPY (SELECT 'transformers-vllm' AS deployment_config, 'qwen3' AS model_family, 'g5' AS instance_family,"
        " 'none' AS quantization, 'two' AS tp_degree, 'realtime-inference' AS deployment_target,"
        " 'finished' AS status, 'ci' AS run_type) "
        f"TO '{path}' (FORMAT parquet)"
    )
    problems = LocalWarehouse(tmp_path, table=path).problems()
    assert any("status must be one of" in p and "finished" in p and "bad.parquet" in p for p in problems)
    assert any("tp_degree must be a positive integer" in p for p in problems)


def test_missing_table_path_is_a_clear_error(tmp_path):
    with pytest.raises(WarehouseError, match="no table at"):
        LocalWarehouse(tmp_path, table=tmp_path / "nope.parquet").exists()


def test_read_only_table_refuses_writes(tmp_path):
    path = tmp_path / "t.parquet"
    LocalWarehouse(tmp_path / "w").append(*proves("e1"))
    with pytest.raises(WarehouseError, match="read-only"):
        LocalWarehouse(tmp_path, table=path).append(*proves("e1"))


def _writer(root: str, execution: str) -> None:
    LocalWarehouse(Path(root)).append(*proves(execution, "shared"))


def test_concurrent_writers_never_duplicate(tmp_path):
    # Given two processes that both write their own rows and the same shared rows
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), f"writer-{i}")) for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    # Then the shared rows are written once
    store = LocalWarehouse(tmp_path)
    assert store.query("SELECT COUNT(*), COUNT(DISTINCT record_id) FROM mlcc_ci.benchmark_results").rows == [[3, 3]]
    assert store.query("SELECT COUNT(*), COUNT(DISTINCT record_id) FROM mlcc_ci.benchmark_levels").rows == [[9, 3]]


def test_a_table_written_before_failure_scope_reads_its_failures_as_the_configs(tmp_path):
    # Given a Parquet table from before the failure_scope column: a capacity failure ten minutes ago
    from datetime import UTC, datetime, timedelta

    from pathprover.brain.feasibility import CAPACITY_COOLDOWN, history_verdict
    from pathprover.brain.history import read_history

    now = datetime.now(UTC).replace(microsecond=0)
    path = tmp_path / "old.parquet"
    duckdb.sql(
        "COPY (SELECT 'transformers-vllm' AS deployment_config, 'qwen3' AS model_family, 'g5' AS instance_family, "
        "'none' AS quantization, 1 AS tp_degree, 'realtime-inference' AS deployment_target, 'failed' AS status, "
        f"TIMESTAMP '{(now - timedelta(minutes=10)):%Y-%m-%d %H:%M:%S}' AS run_timestamp, "
        "'capacity' AS failure_category, 'InsufficientInstanceCapacity' AS failure_reason) "
        f"TO '{path}' (FORMAT PARQUET)"
    )
    # When the brain reads it with its own query (which names failure_scope)
    entry = next(iter(read_history(LocalWarehouse(tmp_path / "wh", table=path)).configs.values()))
    # Then it reads as a config failure with the capacity cooldown
    verdict = history_verdict(entry, now)
    assert verdict is not None and verdict.kind == "cooldown"
    assert history_verdict(entry, now + CAPACITY_COOLDOWN) is None


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM read_text('/etc/passwd')", "refused: this SQL may read only"),
        ("SELECT * FROM read_csv('/etc/hosts')", "refused: this SQL may read only"),
        ("COPY (SELECT 1) TO '/tmp/pathprover-leak.csv'", "not COPY"),
        ("ATTACH '/tmp/pathprover-leak.db' AS x", "only a query|cannot parse"),
        ("INSTALL httpfs", "only a query"),
        ("SET enable_external_access = true", "not SET"),
        ("CREATE TABLE t AS SELECT 1", "not CREATE"),
        ("DELETE FROM mlcc_ci.benchmark_results", "not DELETE"),
        ("SELECT 1; SELECT 2", "exactly one SQL statement"),
    ],
)
def test_sql_a_person_types_may_only_read_the_table(tmp_path, sql, message):
    # Given a seeded warehouse
    store = LocalWarehouse(tmp_path / "wh")
    store.append(*proves("e1"))
    # When untrusted SQL tries to read or write anything else, it is refused, saying why
    with pytest.raises(WarehouseError, match=message):
        store.query(sql, untrusted=True)
    assert not Path("/tmp/pathprover-leak.csv").exists() and not Path("/tmp/pathprover-leak.db").exists()
    # And reading the table still works, CTEs and set operations included
    assert store.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_results", untrusted=True).rows[0][0] >= 1
    both = "WITH a AS (SELECT config_id FROM mlcc_ci.benchmark_results) SELECT * FROM a UNION SELECT 'x'"
    assert store.query(both, untrusted=True).rows
    assert store.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_levels", untrusted=True).rows == [[3]]


FOREIGN_OPTIONAL = ["failure_category", "failure_reason", "failure_scope", "run_timestamp", "status"]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    dropped=st.sets(st.sampled_from(FOREIGN_OPTIONAL)),
    statuses=st.lists(st.sampled_from(["completed", "failed", "unfeasible", None]), min_size=1, max_size=6),
    nulls=st.sets(st.sampled_from(["failure_category", "failure_reason", "failure_scope", "run_timestamp"])),
    string_times=st.booleans(),
)
def test_a_foreign_table_with_any_subset_of_columns_works_with_the_brain(
    tmp_path_factory, dropped, statuses, nulls, string_times
):
    from pathprover.brain.history import HistoryError, read_history

    # Given a Parquet table from elsewhere: some columns missing, NULLs, timestamps as strings
    folder = tmp_path_factory.mktemp("foreign")
    columns = {
        "deployment_config": "'vllm'",
        "model_family": "'qwen3'",
        "instance_family": "'g5'",
        "quantization": "'none'",
        "tp_degree": "1",
        "deployment_target": "'realtime-inference'",
        "model_name": "'Qwen/Qwen3-8B'",
        "instance_type": "'ml.g5.xlarge'",
        "failure_category": "NULL" if "failure_category" in nulls else "'timeout'",
        "failure_reason": "NULL" if "failure_reason" in nulls else "'boom'",
        "failure_scope": "NULL" if "failure_scope" in nulls else "'config'",
        "run_timestamp": "NULL"
        if "run_timestamp" in nulls
        else ("'2026-11-01T10:00:00Z'" if string_times else "TIMESTAMP '2026-11-01 10:00:00'"),
    }
    selects = []
    for i, status in enumerate(statuses):
        values = {**columns, "status": "NULL" if status is None else f"'{status}'"}
        values["instance_family"] = f"'{['g5', 'g6', 'g6e'][i % 3]}'"
        kept = {k: v for k, v in values.items() if k not in dropped}
        selects.append("SELECT " + ", ".join(f"{v} AS {k}" for k, v in kept.items()))
    duckdb.connect().execute(f"COPY ({' UNION ALL '.join(selects)}) TO '{folder / 't.parquet'}' (FORMAT PARQUET)")
    # When the brain reads it: it works, or names the problem (never a crash)
    try:
        history = read_history(LocalWarehouse(tmp_path_factory.mktemp("wh"), table=folder / "t.parquet"))
    except HistoryError as exc:
        assert str(exc)
        return
    assert history.total_rows >= 0


def test_failed_rows_without_a_failure_category_column_work_with_nearest_gaps_and_plan(tmp_path):
    from typer.testing import CliRunner

    from pathprover.cli.app import app

    # Given a table whose failed and unfeasible rows have no failure_category column
    table = tmp_path / "foreign.parquet"
    duckdb.connect().execute(
        "COPY (SELECT * FROM (VALUES "
        "('vllm','qwen3','g5','none',1,'realtime-inference','completed', TIMESTAMP '2026-11-01 10:00:00'),"
        "('vllm','qwen3','g6','none',1,'realtime-inference','failed', TIMESTAMP '2026-11-02 10:00:00'),"
        "('sglang','qwen3','g5','none',1,'realtime-inference','unfeasible', TIMESTAMP '2026-11-03 10:00:00')"
        ") t(deployment_config, model_family, instance_family, quantization, tp_degree, deployment_target, status,"
        f" run_timestamp)) TO '{table}' (FORMAT PARQUET)"
    )
    runner = CliRunner()
    for args in (
        ["gaps", "--catalog", "--limit", "3"],
        ["plan", "--max-proves", "2"],
        [
            "nearest",
            "--deployment-config",
            "vllm",
            "--model-family",
            "qwen3",
            "--instance-family",
            "g6e",
            "--quantization",
            "none",
            "--tp-degree",
            "1",
            "--deployment-target",
            "realtime-inference",
        ],
    ):
        result = runner.invoke(app, [*args, "--table", str(table)])
        # Then each works (missing columns read as NULL, as the docs promise)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output


# --------------------------------------------------------------------------- tables of the older layout


OLD_LEVELS = [
    {
        "concurrency": 1,
        "ttft_p50_ms": 41.0,
        "ttft_p99_ms": 60.0,
        "output_token_throughput_tps": 90.0,
        "error_rate": 0.0,
    },
    {"concurrency": 4, "ttft_p50_ms": 55.0, "output_token_throughput_tps": 320.0, "cost_per_1m_tokens": 0.9},
    {"concurrency": 8, "ttft_p50_ms": 90.0, "output_token_throughput_tps": 300.0, "error_rate": 0.01},
]


def old_table(tmp_path):
    """An older-layout table: two proven configs (three level rows each), one unfeasible, one failed."""
    qwen = ConfigVector(deployment_config="vllm", model_family="qwen3", instance_family="g5")
    qwen_async = qwen.model_copy(update={"deployment_target": "async-inference"})
    llama = ConfigVector(deployment_config="vllm", model_family="llama3", instance_family="g5")
    table = OldTable()
    table.completed(qwen, NOW - timedelta(days=3), OLD_LEVELS, execution_id="old-1", model_name="Qwen/Qwen3-8B")
    table.completed(llama, NOW - timedelta(days=2), OLD_LEVELS, execution_id="old-2")
    table.failed(qwen_async, NOW - timedelta(days=1), status="unfeasible", category="oom", reason="CUDA OOM")
    table.failed(
        llama.model_copy(update={"tp_degree": 2}), NOW, status="failed", category="capacity", reason="no capacity"
    )
    table.write(tmp_path)
    return qwen, llama


def test_an_old_layout_table_reads_as_one_row_per_attempt_with_the_same_headline(tmp_path):
    # Given a table of the older layout (a row per level)
    qwen, _ = old_table(tmp_path)
    store = LocalWarehouse(tmp_path)
    # When it is read through the view
    rows = store.query(
        "SELECT config_id, status, record_id, levels_benchmarked, latency_concurrency, ttft_p50_ms, ttft_p99_ms, "
        "peak_concurrency, peak_output_token_throughput_tps, cost_per_1m_tokens, error_rate, model_name "
        "FROM mlcc_ci.benchmark_results ORDER BY run_timestamp"
    ).rows
    # Then each attempt is one row, and the guide's queries count attempts and configs
    assert [r[1] for r in rows] == ["completed", "completed", "unfeasible", "failed"]
    assert len(store.query(REPORTS["recent"]).rows) == 4
    assert sorted(r[2] for r in store.query(REPORTS["coverage"]).rows) == [1, 1]
    # And the headline is the one the new writer computes from the same levels, under the id it would give
    expected, _ = completed_records(ProveContext(vector=qwen, execution_id="old-1"), NOW, OLD_LEVELS)
    first = dict(
        zip(
            [
                "config_id",
                "status",
                "record_id",
                "levels_benchmarked",
                "latency_concurrency",
                "ttft_p50_ms",
                "ttft_p99_ms",
                "peak_concurrency",
                "peak_output_token_throughput_tps",
                "cost_per_1m_tokens",
                "error_rate",
                "model_name",
            ],
            rows[0],
            strict=True,
        )
    )
    for name, value in first.items():
        if name not in ("status", "model_name"):
            assert value == getattr(expected, name), name
    assert first["model_name"] == "Qwen/Qwen3-8B"
    assert (first["peak_concurrency"], first["ttft_p50_ms"], first["error_rate"]) == (4, 41.0, 0.01)


def test_an_old_layout_tables_levels_read_under_the_attempts_record_id(tmp_path):
    qwen, _ = old_table(tmp_path)
    store = LocalWarehouse(tmp_path)
    levels = store.query(
        "SELECT r.config_id, l.concurrency, l.ttft_p50_ms FROM mlcc_ci.benchmark_results r "
        "JOIN mlcc_ci.benchmark_levels l ON l.record_id = r.record_id AND l.dt = r.dt "
        f"WHERE r.config_id = '{qwen.config_id}' ORDER BY l.concurrency"
    ).rows
    assert levels == [[qwen.config_id, 1, 41.0], [qwen.config_id, 4, 55.0], [qwen.config_id, 8, 90.0]]
    # And the same through --table (an export of the older table, read-only)
    exported = LocalWarehouse(tmp_path / "unused", table=tmp_path / "mlcc_ci" / "benchmark_results")
    assert exported.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_levels").rows == [[6]]
    assert exported.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_results").rows == [[4]]


def test_registering_an_old_layout_attempt_again_adds_nothing(tmp_path):
    # Given an older-layout table and a new-layout register of the same attempt (a seed run again)
    qwen, _ = old_table(tmp_path)
    store = LocalWarehouse(tmp_path)
    row, levels = completed_records(ProveContext(vector=qwen, execution_id="old-1"), NOW, OLD_LEVELS)
    # When it is appended
    result = store.append([row], levels)
    # Then both tables already hold it
    assert (result.written, result.levels_written) == (0, 0)
    assert store.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_results").rows == [[4]]


def test_old_and_new_layout_files_in_one_table_read_together(tmp_path):
    # Given an older-layout table to which the new writer appended one prove
    old_table(tmp_path)
    store = LocalWarehouse(tmp_path)
    store.append(*proves("new-1"))
    # Then the views hold both, each attempt once
    assert store.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_results").rows == [[5]]
    assert store.query("SELECT COUNT(*), COUNT(DISTINCT record_id) FROM mlcc_ci.benchmark_levels").rows == [[9, 3]]
    assert store.problems() == []


def test_the_brain_reads_an_old_layout_table_as_the_new_one(tmp_path):
    # Given the same history in both layouts
    qwen, llama = old_table(tmp_path / "old")
    new = LocalWarehouse(tmp_path / "new")
    for vector, execution, days in ((qwen, "old-1", 3), (llama, "old-2", 2)):
        ctx = ProveContext(vector=vector, execution_id=execution)
        row, levels = completed_records(ctx, NOW - timedelta(days=days), OLD_LEVELS)
        new.append([row], levels)
    for vector, status, category, reason, days in (
        (qwen.model_copy(update={"deployment_target": "async-inference"}), "unfeasible", "oom", "CUDA OOM", 1),
        (llama.model_copy(update={"tp_degree": 2}), "failed", "capacity", "no capacity", 0),
    ):
        ctx = ProveContext(vector=vector, execution_id="old-exec")
        new.append(
            [
                failure_record(
                    ctx,
                    NOW - timedelta(days=days),
                    category=category,
                    retryable=status == "failed",
                    reason=reason,
                    stage="deploy",
                )
            ]
        )
    old_history = read_history(LocalWarehouse(tmp_path / "old"))
    new_history = read_history(new)
    # Then the brain sees the same configs, statuses, attempts, times and row counts (one per attempt)
    assert old_history.configs.keys() == new_history.configs.keys()
    assert old_history.total_rows == new_history.total_rows == 4
    for key, entry in old_history.configs.items():
        other = new_history.configs[key]
        assert (
            entry.completed,
            entry.completed_rows,
            entry.completed_at,
            entry.unfeasible_reason,
            entry.failures,
            entry.attempts,
        ) == (
            other.completed,
            other.completed_rows,
            other.completed_at,
            other.unfeasible_reason,
            other.failures,
            other.attempts,
        ), key
    # And the nearest substitutions are the same, each proven config once
    requested = qwen.model_copy(update={"deployment_config": "transformers-sglang"})
    old_nearest, new_nearest = nearest(old_history, requested), nearest(new_history, requested)
    assert old_nearest.as_dict() == new_nearest.as_dict()
    assert [s.distance for s in old_nearest.substitutions] == [1]


def test_table_pointing_at_an_export_of_both_tables_reads_each_as_its_own(tmp_path):
    # Given a warehouse with two proves, read through --table at its database folder (an S3 export of mlcc_ci/)
    LocalWarehouse(tmp_path).append(*proves("e1", "e2"))
    exported = LocalWarehouse(tmp_path / "unused", table=tmp_path / "mlcc_ci")
    # Then the level files are the levels table, not rows of the results table
    assert exported.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_results").rows == [[2]]
    assert exported.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_levels").rows == [[6]]
    assert exported.problems() == []
    # And a file inside the results folder alone reads with no levels
    only = LocalWarehouse(tmp_path / "unused", table=tmp_path / "mlcc_ci" / "benchmark_results")
    assert only.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_levels").rows == [[0]]


def test_rows_written_before_the_simulated_column_read_as_not_simulated(tmp_path):
    # Given a table file from before the simulated column, and one row the new writer appended beside it
    old = tmp_path / "mlcc_ci" / "benchmark_results" / "dt=2026-11-01"
    old.mkdir(parents=True)
    duckdb.sql(
        "COPY (SELECT 'old-1' AS record_id, 'c1' AS config_id, 'ci' AS run_type, 'completed' AS status, "
        "'transformers-vllm' AS deployment_config, 'qwen3' AS model_family, "
        "'g5' AS instance_family, 'none' AS quantization, 1 AS tp_degree, 'realtime-inference' AS deployment_target, "
        "TIMESTAMP '2026-11-01 10:00:00' AS run_timestamp) "
        f"TO '{old / 'part-old.parquet'}' (FORMAT parquet)"
    )
    store = LocalWarehouse(tmp_path)
    only_old = store.query("SELECT record_id, simulated FROM mlcc_ci.benchmark_results").rows
    row, levels = prove("new-1")
    store.append([row.model_copy(update={"simulated": True})], levels)
    # When the table is read, alone and with the new row
    both = store.query("SELECT record_id, simulated FROM mlcc_ci.benchmark_results ORDER BY record_id").rows
    # Then the old row reads as not simulated (false, not NULL) and the new one as written
    assert only_old == [["old-1", False]]
    assert dict(map(tuple, both)) == {"old-1": False, row.record_id: True}
    assert store.problems() == []


def test_parquet_files_under_underscore_or_dot_folders_are_not_table_files(tmp_path):
    # Given a table given by --table as a whole folder that also holds the local runtime's state
    store = LocalWarehouse(tmp_path / "wh")
    store.append(*proves("e1"))
    samples = tmp_path / "wh" / "_runtime" / "artifacts" / "benchmarks" / "e1"
    samples.mkdir(parents=True)
    duckdb.sql(f"COPY (SELECT 1 AS request, 2.5 AS ttft_ms) TO '{samples / 'samples.parquet'}' (FORMAT parquet)")
    # When it is read as a table (or as the warehouse)
    as_table = LocalWarehouse(tmp_path / "unused", table=tmp_path / "wh")
    # Then only the tables' files are read: the samples are not rows
    assert as_table.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_results").rows == [[1]]
    assert store.query("SELECT COUNT(*) FROM mlcc_ci.benchmark_results").rows == [[1]]
    assert all("_runtime" not in str(f) for f in as_table.files() + as_table.level_files())


def test_the_brains_columnar_read_equals_the_transpiled_row_read(tmp_path):
    # Given a table with values that normalise alike (fp16/none, '2'/2), failures beside proofs, a NULL time
    from pathprover.brain.history import COMPLETED_SQL, OUTCOMES_SQL, build_history, read_history

    path = tmp_path / "mixed.parquet"
    duckdb.sql(
        "COPY (SELECT ['transformers-vllm', 'tensorrt-llm'][1 + i % 2] AS deployment_config, "
        "['qwen3', 'llama3', 'mistral'][1 + i % 3] AS model_family, 'g5' AS instance_family, "
        "['none', 'fp16', 'fp8'][1 + i % 3] AS quantization, CAST(['1', '2', '2'][1 + i % 3] AS VARCHAR) AS tp_degree, "
        "'realtime-inference' AS deployment_target, "
        "['completed', 'completed', 'failed', 'unfeasible'][1 + i % 4] AS status, "
        "CASE WHEN i = 5 THEN NULL ELSE TIMESTAMP '2026-11-01' + to_seconds(i * 60) END AS run_timestamp, "
        "['timeout', 'capacity', NULL][1 + i % 3] AS failure_category, 'reason ' || i AS failure_reason "
        "FROM range(60) t(i)) "
        f"TO '{path}' (FORMAT PARQUET)"
    )
    store = LocalWarehouse(tmp_path / "wh", table=path)
    # When read through the columnar path (portable SQL, arrays) and through query() rows (transpiled)
    fast = read_history(store)
    slow = build_history(store.query(COMPLETED_SQL).rows, store.query(OUTCOMES_SQL).rows)
    # Then both hold the same configs, figures and times
    assert fast.configs == slow.configs and fast.total_rows == slow.total_rows == 60
