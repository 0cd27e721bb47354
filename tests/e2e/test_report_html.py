"""`pathprover report html`: the page's figures agree with `report coverage`, and it renders in a real browser.

The browser test opens the written index.html in Debian's Chromium, headless, offline (the page's CSP
forbids any network request), and reads the DOM after the scripts ran: the charts drew, the
simulated banner is there, the drill-down of the cell named in the URL shows its configs, and the
browser logged no console message at all (a script error, a CSP violation or a console.error would).
`make test` installs chromium when it is missing (Makefile target `browser`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pathprover.adapters.local.warehouse import LocalWarehouse
from pathprover.cli.app import app
from pathprover.core.dimensions import config_id_of
from pathprover.core.records import BenchmarkRecord, headline, level_records, record_id_of
from pathprover.reporting.html import DATA_ELEMENT_ID

pytestmark = pytest.mark.xdist_group("report_html")  # one worker builds the module's warehouse once

LOCAL_RUN = "run-20261206T120000-abc123"
AWS_RUN = "pp-scheduled-2026-12-06"


def _record(execution: str, status: str, when: datetime, **extra: object) -> BenchmarkRecord:
    dims = {
        "deployment_config": "transformers-vllm",
        "model_family": "qwen3",
        "instance_family": "g6e",
        "quantization": "none",
        "tp_degree": 1,
        "deployment_target": "realtime-inference",
        **{k: v for k, v in extra.items() if k in ("model_family", "instance_family", "quantization")},
    }
    rest = {k: v for k, v in extra.items() if k not in dims}
    cid = config_id_of(dims)
    return BenchmarkRecord(
        record_id=record_id_of(execution, cid, 1),
        config_id=cid,
        run_type="path_prove",
        status=status,
        run_timestamp=when,
        execution_id=execution,
        attempt=1,
        **dims,
        **rest,
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's starter table, plus a local run (a proven config with levels, an account failure and a
    harness failure without artifacts) and one row measured on AWS."""
    root = tmp_path_factory.mktemp("report") / "warehouse"
    result = CliRunner().invoke(app, ["seed", "--warehouse", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    now = datetime.now(UTC) - timedelta(hours=1)
    proven = _record(
        LOCAL_RUN,
        "completed",
        now,
        model_name="Qwen/Qwen3-8B",
        instance_type="ml.g6e.xlarge",
        artifacts_uri=f"s3://pathprover-local/benchmarks/{LOCAL_RUN}/x",
        simulated=True,
    )
    levels = level_records(
        proven,
        [
            {
                "concurrency": c,
                "output_token_throughput_tps": 40.0 * c,
                "ttft_p50_ms": 200.0 + 30 * c,
                "tpot_p50_ms": 20.0 + c,
                "cost_per_1m_tokens": 50.0 / c,
            }
            for c in (1, 4, 16)
        ],
    )
    proven = proven.model_copy(update=headline(levels))
    account = _record(
        LOCAL_RUN,
        "failed",
        now,
        instance_family="g5",
        model_name="Qwen/Qwen3-8B",
        instance_type="ml.g5.xlarge",
        failure_category="service_limitation",
        failure_scope="account",
        failure_stage="deploy",
        failure_reason="limit is 0",
        simulated=True,
    )
    harness = _record(
        LOCAL_RUN,
        "failed",
        now,
        quantization="awq",
        failure_category="code_bug",
        failure_scope="harness",
        failure_stage="build",
        simulated=True,
    )
    measured = _record(
        AWS_RUN,
        "failed",
        now,
        model_family="llama3",
        instance_family="g5",
        failure_category="capacity",
        failure_scope="config",
        artifacts_uri="s3://my-results/benchmarks/x",
        simulated=False,
    )
    LocalWarehouse(root).append([proven, account, harness, measured], levels)
    return root


@pytest.fixture(scope="module")
def report(warehouse: Path) -> Path:
    out = warehouse.parent / "report"
    result = CliRunner().invoke(
        app, ["report", "html", "--out", str(out), "--warehouse", str(warehouse)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return out / "index.html"


def _embedded(page: Path) -> dict:
    match = re.search(
        rf'<script type="application/json" id="{DATA_ELEMENT_ID}">(.*?)</script>', page.read_text(), re.DOTALL
    )
    assert match, "the page embeds its data"
    return json.loads(match.group(1))


def test_counts_agree_with_report_coverage(warehouse: Path, report: Path) -> None:
    data = _embedded(report)
    result = CliRunner().invoke(app, ["report", "coverage", "--json", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    coverage = json.loads(result.stdout)
    printed = {(row[0], row[1]): row[2] for row in coverage["rows"]}
    shown = {
        (c["model_family"], c["instance_family"]): c["completed_rows"]
        for c in data["cells"].values()
        if c["completed_rows"]
    }
    assert shown == printed
    assert data["totals"]["completed_rows"] == sum(printed.values())
    # The shade's numerator: distinct proven configs, never more than the cell's feasible configs.
    for cell in data["cells"].values():
        assert 0 <= cell["proven"] <= cell["feasible"] <= cell["space"]
        assert cell["proven"] <= cell["completed_rows"]
    qwen_g6e = data["cells"]["qwen3|g6e"]
    assert qwen_g6e["proven"] >= 1 and qwen_g6e["fraction"] == qwen_g6e["proven"] / qwen_g6e["feasible"]
    # p6-b200 is capacity-only: no feasible config without a training plan, drawn hatched.
    assert data["cells"]["qwen3|p6-b200"]["feasible"] == 0
    assert 'class="cell impossible' in report.read_text()


def test_simulated_rows_are_marked_by_the_column(report: Path) -> None:
    data = _embedded(report)
    sim = data["simulated"]
    assert sim["column"] is True
    # Every row but the one measured on AWS: the seed's and the local run's (its failures have no artifacts).
    assert sim["total"] - sim["rows"] == 1
    rows = [r for c in data["cells"].values() for cfg in c["configs"] for r in cfg["rows"]]
    assert {r["execution_id"] for r in rows if not r["simulated"]} == {AWS_RUN}


def test_failures_by_category_and_scope(report: Path) -> None:
    failures = _embedded(report)["failures"]
    scopes = {s["scope"]: s["total"] for s in failures["by_scope"]}
    assert scopes["account"] == 1 and scopes["harness"] == 1
    assert scopes["config"] >= 2  # the AWS capacity failure and the seed's unfeasible rows (no scope: config)
    categories = {c["category"]: c["scopes"] for c in failures["by_category"]}
    assert categories["service_limitation"] == {"account": 1}


def test_pareto_points_per_config_and_level(report: Path) -> None:
    pareto = {m["model"]: m["points"] for m in _embedded(report)["pareto"]}
    ours = [p for p in pareto["Qwen/Qwen3-8B"] if p["label"].startswith("ml.g6e.xlarge")]
    assert [p["concurrency"] for p in ours] == [1, 4, 16]
    one = ours[0]
    assert one["tok_per_gpu_hour"] == pytest.approx(40.0 * 3600)  # one GPU on a g6e.xlarge
    assert one["tok_per_usd"] == pytest.approx(1e6 / 50.0)
    assert one["tps_per_user"] == pytest.approx(1000 / 21.0, rel=1e-3)


def test_the_page_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed: run `make browser` (apt-get install chromium)")
    data = _embedded(report)
    url = report.resolve().as_uri() + "#cell=qwen3%7Cg6e"
    run = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], "the page logged to the console:\n" + "\n".join(console)
    dom = run.stdout
    assert 'data-rendered="ok"' in dom, "the report's script did not finish"
    assert 'id="simulated-banner"' in dom
    # Pareto charts: one figure per model, a frontier each, a circle per point with both axes' values.
    drawable = [m for m in data["pareto"] if any(p["tps_per_user"] and p["tok_per_gpu_hour"] for p in m["points"])]
    assert dom.count('<figure class="pareto"') == len(data["pareto"])
    assert dom.count('class="frontier"') >= len(drawable) > 0
    points = sum(1 for m in data["pareto"] for p in m["points"] if p["tps_per_user"] and p["tok_per_gpu_hour"])
    assert len(re.findall(r'<circle class="pt', dom)) == points
    # Failure charts: bars for each category and scope.
    failure_bars = sum(len(c["scopes"]) for c in data["failures"]["by_category"]) + sum(
        len(s["statuses"]) for s in data["failures"]["by_scope"]
    )
    assert len(re.findall(r'<rect class="bar"', dom)) == failure_bars
    # The drill-down of the cell in the URL: its configs and their rows.
    drill = dom[dom.index('id="drilldown"') :]
    assert "qwen3 on g6e" in drill
    for config in data["cells"]["qwen3|g6e"]["configs"]:
        assert config["config_id"] in drill


def test_report_coverage_html_writes_the_same_report(warehouse: Path, tmp_path: Path) -> None:
    page = tmp_path / "coverage.html"
    result = CliRunner().invoke(app, ["report", "coverage", "--warehouse", str(warehouse), "--html", str(page)])
    assert result.exit_code == 0, result.output
    data = _embedded(page)
    assert data["title"] == "Path Prover report" and data["pareto"] and data["failures"]["total"]
