"""What `pathprover run` and `pathprover loadgen` print while they work, off a terminal (as in CI): calm
lines on stderr, the trace only with --verbose, the plan table on --dry-run, why nothing was planned, and
stdout left to the summary or the one JSON object."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pathprover.cli.app import app
from pathprover.cli.run_cmd import _print_summary
from tests.integration.cli.conftest import sql

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("progress") / "warehouse"
    assert run("seed", "--warehouse", str(root)).exit_code == 0
    return root


def test_a_run_off_a_terminal_prints_a_line_when_a_prove_starts_and_one_when_it_settles(warehouse: Path):
    # Given a seeded table, and stderr that is not a terminal
    # When two proves run in two lanes
    result = run("run", "--warehouse", str(warehouse), "--max-proves", "2", "--lanes", "2")

    # Then stderr is short: the header, what it is doing before the plan, the plan, two lines per prove
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    starts = [line for line in lines if "] start " in line]
    settled = [line for line in lines if "] completed " in line or "] failed " in line or "] unfeasible " in line]
    assert len(starts) == 2 and len(settled) == 2, lines
    assert len(lines) <= 6 + 2 * 2, lines
    assert any(line.startswith("starting the local runtime") for line in lines)
    assert any(line.startswith("planning: ") for line in lines)
    assert any(line.startswith("planned 2 proves in 2 lanes") for line in lines)
    # And no per-poll trace, and every clock time is labelled simulated
    assert "check:" not in result.stderr and "advance:" not in result.stderr
    assert all("simulated" in line for line in settled)
    assert "2/2 done, $" in settled[-1] and settled[-1].endswith(" spent of $50.00")
    # And the summary is on stdout
    assert "Proves (simulated fleet)" in result.stdout


def test_verbose_restores_the_transition_trace(warehouse: Path):
    # When one prove runs with --verbose
    result = run("run", "--warehouse", str(warehouse), "--max-proves", "1", "-v")

    # Then each task is a line on stderr, its clock time labelled simulated
    assert result.exit_code == 0, result.output
    trace = [line for line in result.stderr.splitlines() if line.startswith("[lane 0 · simulated ")]
    assert len(trace) >= 8, result.stderr
    assert any("advance: next" in line for line in trace) and any(": polling" in line for line in trace)
    assert "state machine arn:aws:states:" in result.stderr


def test_a_dry_run_prints_the_plan_table(warehouse: Path):
    # When a dry run plans two proves
    result = run("run", "--warehouse", str(warehouse), "--max-proves", "2", "--dry-run", "--json")
    planned = json.loads(result.stdout)["planned"]
    text = run("run", "--warehouse", str(warehouse), "--max-proves", "2", "--dry-run")

    # Then the table lists them, and what they would reserve
    assert len(planned) == 2 and text.exit_code == 0
    assert "Plan (dry run): 2 proves" in text.stdout
    for prove in planned:
        assert prove["config_id"] in text.stdout
    assert "would reserve $" in text.stdout and "nothing planned" not in text.stdout


def test_a_budget_nothing_fits_in_says_the_cheapest_reservation(warehouse: Path):
    # When the budget is below any prove's reservation
    result = run("run", "--warehouse", str(warehouse), "--max-cost", "0.5")

    # Then the progress and the summary say so, with the cheapest reservation and the budget
    assert result.exit_code == 0, result.output
    assert "planned nothing: nothing fits: cheapest reservation $" in result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("nothing planned:"))
    assert line.startswith("nothing planned: nothing fits: cheapest reservation $") and "> $0.50" in line
    cheapest = float(line.split("cheapest reservation $", 1)[1].split(" ", 1)[0])
    assert cheapest > 0.5


def test_the_json_summary_carries_why_nothing_was_planned(warehouse: Path):
    # When no prove is allowed, and when a dry run's budget fits nothing
    none_allowed = run("run", "--warehouse", str(warehouse), "--max-proves", "0", "--json")
    dry = run("run", "--warehouse", str(warehouse), "--max-cost", "0.5", "--dry-run", "--json")
    dry_text = run("run", "--warehouse", str(warehouse), "--max-cost", "0.5", "--dry-run")

    # Then stdout is one JSON object each time, with the reason
    assert json.loads(none_allowed.stdout)["nothing_planned_reason"] == "MAX_PROVES_PER_RUN is 0: nothing may be proved"
    summary = json.loads(dry.stdout)
    assert summary["planned"] == [] and summary["nothing_planned_reason"].startswith("nothing fits: cheapest")
    # And the dry run's text shows the empty plan and says why
    assert "Plan (dry run): 0 proves" in dry_text.stdout
    assert f"nothing planned: {summary['nothing_planned_reason']}" in dry_text.stdout


def test_a_run_that_plans_something_has_no_reason(warehouse: Path):
    summary = json.loads(run("run", "--warehouse", str(warehouse), "--max-proves", "1", "--dry-run", "--json").stdout)
    assert summary["planned"] and summary["nothing_planned_reason"] is None


def _stream_server() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "support" / "stream_server.py"
    spec = importlib.util.spec_from_file_location("progress_stream_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_loadgen_reports_each_level_on_stderr_and_keeps_stdout_one_json_object(tmp_path: Path):
    # Given a streaming server
    with _stream_server().spawn_server(ttft_ms=5, itl_ms=1) as url:
        # When loadgen measures three concurrency levels with --json
        args = ["loadgen", "--url", url, "--model", "m", "-c", "1", "-c", "2", "-c", "4", "--requests", "6"]
        result = run(*args, "--output-tokens", "4", "--out", str(tmp_path / "lg"), "--json")

    # Then stdout is exactly one JSON object
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1
    assert [level["concurrency"] for level in json.loads(result.stdout)["levels"]] == [1, 2, 4]
    # And stderr has a line when each level starts and when it ends: level i of n, requests, elapsed
    lines = result.stderr.splitlines()
    assert len(lines) == 6, lines
    assert lines[0].startswith("level 1 of 3 (concurrency 1): 6 requests, warming up ...")
    assert lines[5].startswith("level 3 of 3 (concurrency 4) done: 6 requests, 0 errors in ")
    assert all("s elapsed)" in line for line in lines)


def test_the_live_view_follows_a_real_run(warehouse: Path):
    import io

    from rich.console import Console

    from pathprover.cli.progress import RunProgress
    from pathprover.runtime.local import LocalRuntime

    # Given the live view on a (forced) terminal, fed by the local runtime's own events
    screen = Console(file=io.StringIO(), force_terminal=True, width=240, color_system=None)
    progress = RunProgress(screen)
    frames: list[str] = []

    def watch(event: dict) -> None:
        progress(event)
        shot = Console(file=io.StringIO(), force_terminal=True, width=240, color_system=None)
        shot.print(progress.render())
        frames.append(shot.file.getvalue())  # type: ignore[attr-defined]

    # When two proves run in two lanes
    with progress, LocalRuntime(warehouse, progress=watch) as runtime:
        outcome = runtime.run({"MAX_PROVES_PER_RUN": 2, "PARALLEL_LANES": 2, "MAX_COST_PER_RUN": 20.0})
    assert outcome.status == "SUCCEEDED"

    # Then while they ran, each lane had a line with its prove, stage, simulated time and $ of the ceiling
    busy = [f for f in frames if f.count(" reserved") == 2]
    assert busy, frames[-3:]
    assert any("deploy" in f and "simulated" in f for f in busy)
    assert all("spent of $20.00 ceiling" in f for f in busy)
    # And at the end every lane is idle and the run line counts both proves done
    assert frames[-1].startswith("run 2/2 proves done") and frames[-1].count("idle") == 2


def test_run_refuses_a_bad_input_in_one_line(warehouse):
    result = runner.invoke(app, ["run", "--warehouse", str(warehouse), "--max-proves", "5000"])
    assert result.exit_code == 2 and "MAX_PROVES_PER_RUN" in result.output and "Traceback" not in result.output


def test_targets_without_deploy_and_test_are_refused(warehouse, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("- model_name: Qwen/Qwen3-8B\n  instance_type: ml.g5.2xlarge\n  stages: [generate]\n")
    result = runner.invoke(app, ["run", "--warehouse", str(warehouse), "--targets", str(path)])
    assert result.exit_code == 2 and "stages must include" in result.output


# --------------------------------------------------------------------------- run summary
def test_the_run_json_carries_each_proves_metrics_as_its_row_holds_them(run_warehouse, run_summary):
    # Given a run of three proves on the simulated fleet
    proves = run_summary["proves"]
    assert proves and any(p["status"] == "completed" for p in proves)
    # Then each completed prove carries the headline metrics of its row, the others none
    rows = {
        (r["config_id"], r["attempt"]): r
        for r in sql(
            run_warehouse,
            f"SELECT * FROM mlcc_ci.benchmark_results WHERE execution_id = '{run_summary['execution_id']}'",
        )
    }
    for p in proves:
        if p["status"] != "completed":
            assert p["metrics"] is None
            continue
        row = rows[(p["config_id"], p["attempt"])]
        for key in (
            "ttft_p50_ms",
            "ttft_p99_ms",
            "itl_p50_ms",
            "peak_output_token_throughput_tps",
            "cost_per_1m_tokens",
        ):
            assert p["metrics"][key] == row[key], key
        assert p["metrics"]["cost_per_1m_tokens"] > 0


def test_the_human_run_summary_ends_on_the_metrics_table(run_summary):
    # Given the run's summary, printed as a person sees it
    buffer = io.StringIO()
    _print_summary(Console(file=buffer, width=250), run_summary)
    text = buffer.getvalue()
    # Then it ends on a table of the metrics per prove, one line per prove with its cost per 1M tokens
    table = text[text.index("Metrics per prove") :]
    for header in ("TTFT p50 ms", "TTFT p99 ms", "ITL p50 ms", "peak tok/s", "$ / 1M tok", "status", "scope"):
        assert header in table
    for p in run_summary["proves"]:
        line = next(line for line in table.splitlines() if p["config_id"] in line)
        if p["metrics"]:
            cost = p["metrics"]["cost_per_1m_tokens"]
            assert (f"{cost:,.2f}" if cost >= 0.1 else f"{cost:.3f}") in line
        assert p["status"] in line
