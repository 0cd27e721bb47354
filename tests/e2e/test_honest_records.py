"""What a local run leaves behind says what it is: simulated rows on wall-clock time, file:// URIs of real
files, its state inside the warehouse folder; and the README's example paths work from any directory."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from typer.testing import CliRunner

from pathprover.cli.app import app
from pathprover.runtime.local import LocalRuntime, runtime_state_dir
from tests.e2e.conftest import rows_for

TARGET = {"model_name": "Qwen/Qwen3-0.6B", "instance_type": "ml.g5.xlarge", "tp_degree": 1}


def _path(uri: str) -> Path:
    parts = urlsplit(uri)
    assert parts.scheme == "file" and parts.netloc == "", uri
    path = Path(unquote(parts.path))
    assert path.is_absolute(), uri
    return path


def test_a_local_runs_rows_are_simulated_on_wall_clock_time_with_file_uris_and_state_inside(seeded):
    # Given the starter table
    # When a local run proves one target
    started = datetime.now(UTC)
    with LocalRuntime(seeded) as runtime:
        outcome = runtime.run({"TARGETS": [TARGET], "MAX_COST_PER_RUN": 25})
    finished = datetime.now(UTC)
    assert outcome.status == "SUCCEEDED", outcome.cause
    rows = rows_for(
        seeded, outcome.execution_name, "status, simulated, run_timestamp, dt, duration_seconds, artifacts_uri"
    )
    assert [r["status"] for r in rows] == ["completed"]
    row = rows[0]
    # Then its row is marked simulated...
    assert row["simulated"] is True
    # ...stamped with the wall clock (within a minute), in today's partition, not hours ahead in simulated time
    stamped = row["run_timestamp"].replace(tzinfo=UTC)
    assert started - timedelta(minutes=1) <= stamped <= finished + timedelta(minutes=1)
    assert row["dt"] == stamped.strftime("%Y-%m-%d")
    # ...while its duration is the simulated one (minutes of deploy and benchmark, not the run's real seconds)
    assert row["duration_seconds"] > (finished - started).total_seconds()
    assert outcome.virtual_seconds >= row["duration_seconds"]
    # And its artifacts URI is an absolute file:// URI of the real folder of samples and metrics
    assert row["artifacts_uri"].startswith("file:///")
    results = _path(row["artifacts_uri"])
    assert results.is_dir() and (results / "metrics.json").is_file() and (results / "samples.parquet").is_file()
    # And so are the run summary's and the stored plan's
    assert _path(outcome.summary["summary_uri"]).is_file() and _path(outcome.summary["plan_uri"]).is_file()
    assert "pathprover-local" not in json.dumps(outcome.summary)
    # And the runtime's state (artifact store, ledger) is inside the warehouse folder, no sibling beside it
    state = seeded / "_runtime"
    assert (state / "ledger.sqlite").is_file() and results.is_relative_to(state / "artifacts")
    assert not (seeded.parent / f"{seeded.name}-runtime").exists()
    # And the seed's synthetic rows are marked simulated too
    seeds = rows_for(seeded, "seed-ci-000", "simulated")
    assert seeds == [{"simulated": True}]


def test_an_older_sibling_state_folder_is_moved_inside_the_warehouse(tmp_path, capsys):
    # Given a warehouse of an earlier version, whose runtime state is the sibling folder <warehouse>-runtime
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    old = tmp_path / "warehouse-runtime"
    (old / "artifacts").mkdir(parents=True)
    (old / "ledger.sqlite").write_bytes(b"ledger")
    # When the runtime finds its state folder
    state = runtime_state_dir(warehouse)
    # Then the old folder was moved inside the warehouse, contents and all, and it said so
    assert state == warehouse / "_runtime"
    assert (state / "ledger.sqlite").read_bytes() == b"ledger" and (state / "artifacts").is_dir()
    assert not old.exists()
    assert "moved the runtime state" in capsys.readouterr().err
    # And asking again changes nothing
    assert runtime_state_dir(warehouse) == state


def test_the_readmes_example_paths_work_from_another_directory(tmp_path, monkeypatch):
    # Given a working directory outside the repo, with no examples/ folder
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    # When the README's render command runs there with its relative example path
    rendered = runner.invoke(
        app, ["render", "--config", "examples/qwen3-32b.json", "--out", "bundle", "--json"], catch_exceptions=False
    )
    # Then the shipped example is read and the bundle written
    assert rendered.exit_code == 0, rendered.output
    assert any((tmp_path / "bundle").iterdir())
    # And the README's run command plans the shipped targets with the shipped faults (a dry run)
    planned = runner.invoke(
        app,
        [
            "run",
            "--targets",
            "examples/targets.yaml",
            "--faults",
            "examples/faults.yaml",
            "--dry-run",
            "--json",
            "--warehouse",
            str(tmp_path / "wh"),
        ],
        catch_exceptions=False,
    )
    assert planned.exit_code == 0, planned.output
    assert len(json.loads(planned.stdout)["planned"]) == 3
    # And `pathprover examples` names the shipped folder, which holds the README's examples
    listed = json.loads(runner.invoke(app, ["examples", "--json"], catch_exceptions=False).stdout)
    assert {"targets.yaml", "faults.yaml", "qwen3-32b.json"} <= set(listed["files"])
    assert (Path(listed["examples_dir"]) / "targets.yaml").is_file()
    # And a file that does exist in the working directory wins over the shipped one
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "qwen3-32b.json").write_text("[]")
    mine = runner.invoke(app, ["render", "--config", "examples/qwen3-32b.json", "--out", "b2"])
    assert mine.exit_code == 2


def test_the_wheel_ships_the_examples_where_the_resolver_looks():
    # Given the package's build configuration
    import tomllib

    from pathprover import examples

    config = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    force_include = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    # Then the repo's examples/ goes into the wheel as pathprover/_examples, the folder the resolver reads first
    assert force_include["examples"] == "pathprover/_examples"
    assert Path(examples.__file__).parent.name == "pathprover"


def test_the_virtual_clock_never_runs_backwards_from_one_run_to_the_next(tmp_path):
    # Given a run whose lanes went two simulated hours ahead of the wall clock
    warehouse = tmp_path / "warehouse"
    with LocalRuntime(warehouse) as first:
        first.clock.sleep_for(7200, {"execution_id": "e1", "lane": 0})
        reached = first.clock.start + timedelta(seconds=first.clock.furthest_seconds)
    # When the next run opens the same warehouse (its rows carry wall-clock time, so they cannot tell)
    with LocalRuntime(warehouse) as second:
        # Then its virtual clock starts where the first one got to (leases in the ledger expire on it)
        assert second.clock.start >= reached
    assert (warehouse / "_runtime" / "virtual_clock.json").is_file()
