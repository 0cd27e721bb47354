"""The `pathprover` CLI end to end on a local warehouse: the interfaces the acceptance checks use."""

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pathprover.cli.app import app
from pathprover.reports import REPORTS

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wh")
    result = run("seed", "--warehouse", str(root), "--json")
    assert result.exit_code == 0, result.output
    seeded = json.loads(result.stdout)
    # One row per seeded run (17 proven configs, 1 unfeasible), their three levels each alongside
    assert (seeded["written"], seeded["levels_written"]) == (18, 51)
    return root


def test_seed_is_idempotent(warehouse):
    again = json.loads(run("seed", "--warehouse", str(warehouse), "--json").stdout)
    assert (again["written"], again["levels_written"], again["skipped_duplicates"]) == (0, 0, 18)


def test_gaps_json_interface(warehouse):
    payload = json.loads(run("gaps", "--warehouse", str(warehouse), "--json", "--limit", "5").stdout)
    assert payload["total"] > 0 and len(payload["gaps"]) == 5
    first = payload["gaps"][0]
    for key in (
        "config_id",
        "deployment_config",
        "model_family",
        "instance_family",
        "quantization",
        "tp_degree",
        "deployment_target",
        "neighbors",
        "feasible",
        "reason",
    ):
        assert key in first
    assert isinstance(first["tp_degree"], int) and isinstance(first["neighbors"], int)
    neighbours = [g["neighbors"] for g in payload["gaps"] if g["feasible"]]
    assert neighbours == sorted(neighbours, reverse=True)


def test_plan_json_interface_and_limits(warehouse):
    payload = json.loads(
        run("plan", "--warehouse", str(warehouse), "--max-proves", "3", "--max-cost", "5", "--json").stdout
    )
    assert len(payload["selected"]) <= 3 and payload["estimated_total_usd"] <= 5
    for s in payload["selected"]:
        for key in ("config_id", "model_name", "instance_type", "estimated_hours", "estimated_cost_usd", "tp_degree"):
            assert key in s
    assert payload["excluded"] and all(e["reason"] for e in payload["excluded"])
    assert len(payload["selected"]) + payload["excluded_total"] == payload["gaps_total"]


def test_nearest_gives_the_guides_order(warehouse):
    result = run(
        "nearest",
        "--warehouse",
        str(warehouse),
        "--json",
        "--deployment-config",
        "transformers-sglang",
        "--model-family",
        "qwen3",
        "--instance-family",
        "g5",
        "--quantization",
        "fp16",
        "--tp-degree",
        "1",
        "--deployment-target",
        "async-inference",
    )
    payload = json.loads(result.stdout)
    assert payload["message"] is None
    got = [(s["distance"], s["changed"]) for s in payload["substitutions"]]
    assert got == [
        (1, ["deployment_config"]),
        (1, ["deployment_target"]),
        (2, ["deployment_config", "deployment_target"]),
    ]
    assert set(payload["substitutions"][0]["config"]) >= {"config_id", "run_timestamp", "model_family"}


def test_nearest_with_model_and_instance_names(warehouse):
    payload = json.loads(
        run(
            "nearest",
            "--warehouse",
            str(warehouse),
            "--json",
            "--deployment-config",
            "sglang",
            "--model-name",
            "Qwen/Qwen3-8B",
            "--instance-type",
            "ml.g5.xlarge",
            "--deployment-target",
            "async-inference",
        ).stdout
    )
    assert payload["substitutions"][0]["changed"] == ["deployment_config"]


def test_nearest_no_coverage_message(warehouse, tmp_path):
    # Given a table with only qwen3 proofs
    (tmp_path / "t.parquet").unlink(missing_ok=True)
    duckdb.sql(
        "COPY (SELECT 'transformers-vllm' AS deployment_config, 'qwen3' AS model_family, 'g5' AS instance_family,"
        " 'none' AS quantization, 1 AS tp_degree, 'realtime-inference' AS deployment_target) "
        f"TO '{tmp_path / 't.parquet'}' (FORMAT parquet)"
    )
    payload = json.loads(
        run(
            "nearest",
            "--table",
            str(tmp_path / "t.parquet"),
            "--json",
            "--deployment-config",
            "vllm",
            "--model-family",
            "gemma",
            "--instance-family",
            "g6",
        ).stdout
    )
    assert payload["substitutions"] == []
    assert payload["message"] == "no coverage — nearest proven config is 2 dimensions away"


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_the_guides_queries_through_sql(warehouse, name):
    payload = json.loads(run("sql", "--warehouse", str(warehouse), "--json", REPORTS[name]).stdout)
    assert set(payload) == {"schema_version", "columns", "rows"}
    if name != "recent":
        assert payload["rows"]


def test_mark_unfeasible_then_gap_is_excluded(tmp_path):
    root = str(tmp_path)
    run("seed", "--warehouse", root)
    args = ["--deployment-config", "tensorrt-llm", "--model-family", "qwen3", "--instance-family", "g5"]
    result = run("mark-unfeasible", "--warehouse", root, *args, "--reason", "licence forbids", "--json")
    assert json.loads(result.stdout)["written"] == 1
    again = json.loads(
        run("mark-unfeasible", "--warehouse", root, *args, "--reason", "licence forbids", "--json").stdout
    )
    assert again["written"] == 0
    gaps = json.loads(run("gaps", "--warehouse", root, "--json", "--limit", "100000").stdout)["gaps"]
    marked = [
        g
        for g in gaps
        if (
            g["deployment_config"],
            g["model_family"],
            g["instance_family"],
            g["quantization"],
            g["tp_degree"],
            g["deployment_target"],
        )
        == ("tensorrt-llm", "qwen3", "g5", "none", 1, "realtime-inference")
    ]
    assert marked and not marked[0]["feasible"] and "licence forbids" in marked[0]["reason"]
    unfeasible = json.loads(run("report", "unfeasible", "--warehouse", root, "--json").stdout)
    assert any(r[-1] == "licence forbids" for r in unfeasible["rows"])


def test_classify_jsonl_on_stdin():
    lines = "\n".join(
        json.dumps(x)
        for x in [
            {"id": "a", "text": "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"},
            {"id": "b", "text": "An error occurred (InsufficientInstanceCapacity) when calling CreateEndpoint"},
        ]
    )
    result = run("classify", input=lines + "\n")
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(v["id"], v["category"], v["retryable"]) for v in verdicts] == [
        ("a", "oom", False),
        ("b", "capacity", True),
    ]
    assert all(set(v) >= {"id", "category", "retryable", "stage"} for v in verdicts)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gaps", "--table", "/nonexistent/x.parquet"], "no table at"),
        (
            [
                "nearest",
                "--deployment-config",
                "vllm",
                "--model-family",
                "qwen3",
                "--instance-family",
                "g5",
                "--tp-degree",
                "two",
            ],
            "tp_degree",
        ),
        (["sql", "SELEC nonsense FROM"], "error"),
        (
            [
                "mark-unfeasible",
                "--deployment-config",
                "vllm",
                "--model-family",
                "qwen9",
                "--instance-family",
                "g5",
                "--reason",
                "x",
            ],
            "unknown model_family 'qwen9'",
        ),
    ],
)
def test_errors_for_people_are_one_line_with_nonzero_exit(tmp_path, args, message):
    result = runner.invoke(app, [*args, "--warehouse", str(tmp_path / "empty")])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_malformed_row_is_reported_with_the_row(tmp_path):
    path = tmp_path / "bad.parquet"
    duckdb.sql(
        "COPY (SELECT 'transformers-vllm' AS deployment_config, 'qwen3' AS model_family, 'g5' AS instance_family,"
        " 'none' AS quantization, 1 AS tp_degree, 'realtime-inference' AS deployment_target, 'done' AS status) "
        f"TO '{path}' (FORMAT parquet)"
    )
    result = runner.invoke(app, ["gaps", "--table", str(path)])
    assert result.exit_code == 2
    assert "status must be one of" in result.output and "'done'" in result.output


def test_run_refuses_a_bad_input_in_one_line(warehouse):
    result = runner.invoke(app, ["run", "--warehouse", str(warehouse), "--max-proves", "5000"])
    assert result.exit_code == 2 and "MAX_PROVES_PER_RUN" in result.output and "Traceback" not in result.output


def test_targets_without_deploy_and_test_are_refused(warehouse, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("- model_name: Qwen/Qwen3-8B\n  instance_type: ml.g5.2xlarge\n  stages: [generate]\n")
    result = runner.invoke(app, ["run", "--warehouse", str(warehouse), "--targets", str(path)])
    assert result.exit_code == 2 and "stages must include" in result.output


def test_sql_on_a_missing_warehouse_says_so(tmp_path):
    result = runner.invoke(app, ["sql", "--warehouse", str(tmp_path / "nothing"), "SELECT 1"])
    assert result.exit_code == 2 and "the table is empty" in result.output


def test_classify_prints_the_scope_for_text_alone_and_with_a_stage():
    # Given an account quota, as text alone and with the stage it arose in
    quota = (
        "An error occurred (ResourceLimitExceeded) when calling the CreateEndpoint operation: The account-level "
        "service limit 'ml.g5.xlarge for endpoint usage' is 0 Instances"
    )
    # When it is classified, as JSON and as text
    alone = json.loads(run("classify", quota, "--json").stdout)
    staged = json.loads(run("classify", quota, "--stage", "deploy", "--origin", "api", "--json").stdout)
    text = run("classify", quota, "--stage", "deploy").stdout
    # Then the scope is in both, with the limit to raise
    assert alone["failure_scope"] == staged["failure_scope"] == "account"
    assert alone["category"] == "service_limitation" and staged["stage"] == "deploy"
    assert "ml.g5.xlarge for endpoint usage" in staged["action"]
    assert "scope:     account" in text and "action:" in text
    assert {"decided_by", "confidence", "rule"} <= set(alone)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["classify", ""], None, "the message is empty"),
        (["classify", "   "], None, "the message is empty"),
        (["classify", "x", "--stage", "bogus"], None, "unknown stage 'bogus'"),
        (["classify", "x", "--origin", "cloud"], None, "unknown origin 'cloud'"),
        (["classify"], '{"id": 1, "text": "ok"}\n{"id": 2}\n', "line 2: 'text' is missing"),
        (["classify"], '{"id": 1, "text": "ok"}\nnot json\n', "line 2: not valid JSON"),
        (["classify"], '{"id": 1, "text": "x", "stage": "nowhere"}\n', "line 1: unknown stage 'nowhere'"),
    ],
)
def test_classify_bad_input_is_one_clear_error(args, stdin, message):
    # Given bad input / When it is classified / Then one clear error line, exit 2, no traceback
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_classify_binary_and_huge_input_get_an_answer_or_a_clear_error():
    # Given binary garbage on stdin, and a 1 MB message with its cause at the end and a token at the start
    binary = runner.invoke(app, ["classify"], input=b"\xff\xfe\x00\x9c garbage\n")
    huge = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2" + " x" * 500_000 + "\ntorch.OutOfMemoryError: CUDA out of memory"
    answer = json.loads(run("classify", huge, "--json").stdout)
    garbage = json.loads(run("classify", "\x00\x01\udcff\x7f", "--json").stdout)
    # Then binary JSON Lines are refused naming the line, the huge message is judged from its tail,
    # redacted, and control characters get an answer
    assert binary.exit_code == 2 and "line 1: not UTF-8" in binary.output
    assert answer["category"] == "oom" and "A1b2C3d4" not in json.dumps(answer)
    assert garbage["category"] in ("unknown", "code_bug") and garbage["rule"]


def test_on_an_empty_warehouse_gaps_and_plan_start_from_the_catalog(tmp_path):
    # Given a warehouse with no rows (a first run) / When asking for the plan
    result = run("plan", "--max-proves", "5", "--max-cost", "25", "--warehouse", str(tmp_path / "empty"), "--json")
    # Then the brain plans from the catalog's search space instead of refusing
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert len(plan["selected"]) == 5
    assert len({(s["model_family"], s["instance_family"]) for s in plan["selected"]}) == 5
    assert plan["reserved_total_usd"] <= 25


def test_version_prints_the_installed_version_and_exits_0():
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"pathprover {version('pathprover')}"
