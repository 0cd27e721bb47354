"""runtime/local.py's parts that need no state machine: the per-lane virtual clock, where the runtime keeps
its state in a warehouse, and the virtual clock's high-water mark between runs. (The runtime running the
state machine end to end is tests/e2e/test_local_runtime.py.)"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pathprover.runtime.local import (
    VIRTUAL_CLOCK_FILE,
    LaneClock,
    _save_virtual_high_water,
    _virtual_high_water,
    asl_path,
    runtime_state_dir,
)

START = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
LANE_0 = {"execution_id": "run-1", "lane": 0}
LANE_1 = {"execution_id": "run-1", "lane": 1}


def test_each_lane_waits_on_its_own_timeline() -> None:
    # Given two lanes of one execution
    clock = LaneClock(START)
    # When lane 0 waits an hour and lane 1 ten minutes
    clock.sleep_for(3600, LANE_0)
    clock.sleep_for(600, LANE_1)
    # Then a handler of each lane sees its own time, and outside a lane it is the furthest one
    clock.activate(LANE_0)
    assert clock.now() == START + timedelta(hours=1)
    clock.activate(LANE_1)
    assert clock.now() == START + timedelta(minutes=10)
    clock.activate({"execution_id": "run-1"})  # the plan or the summary: no lane
    assert clock.now() == START + timedelta(hours=1)
    assert clock.elapsed_of("run-1") == clock.furthest_seconds == 3600
    assert clock.elapsed_of("run-2") == 0.0


def test_the_current_lane_is_per_thread_and_time_never_runs_backwards() -> None:
    clock = LaneClock(START)
    clock.activate(LANE_0)
    seen: list[datetime] = []

    def other_thread() -> None:  # moto runs Lambda calls on other threads: none is current there yet
        clock.sleep(120)
        seen.append(clock.now())

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert clock.now() == START  # lane 0 did not move
    assert seen == [START + timedelta(minutes=2)]
    clock.sleep(-50)  # a negative wait is no wait
    assert clock.now() == START


def test_the_state_lives_inside_the_warehouse_and_an_old_sibling_is_moved_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a warehouse of an earlier version, its runtime state in a sibling folder
    warehouse = tmp_path / "wh"
    old = tmp_path / "wh-runtime"
    (old / "artifacts").mkdir(parents=True)
    # When the runtime finds its state folder
    inside = runtime_state_dir(warehouse)
    # Then the old folder was moved inside, once, and stderr says so
    assert inside == warehouse / "_runtime" and (inside / "artifacts").is_dir() and not old.exists()
    assert "moved the runtime state" in capsys.readouterr().err
    assert runtime_state_dir(warehouse) == inside and capsys.readouterr().err == ""


def test_with_both_folders_the_inside_one_is_used_and_the_old_one_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = tmp_path / "wh"
    (warehouse / "_runtime").mkdir(parents=True)
    (tmp_path / "wh-runtime").mkdir()
    assert runtime_state_dir(warehouse) == warehouse / "_runtime"
    assert "no longer used" in capsys.readouterr().err


def test_the_virtual_high_water_mark_only_moves_forward(tmp_path: Path) -> None:
    # Given no run yet: the earliest time
    assert _virtual_high_water(tmp_path) == datetime.min.replace(tzinfo=UTC)
    # When a run reaches a time, Then it is kept; an earlier one never replaces it
    _save_virtual_high_water(tmp_path, START + timedelta(hours=5))
    _save_virtual_high_water(tmp_path, START)
    assert _virtual_high_water(tmp_path) == START + timedelta(hours=5)
    # And a damaged file reads as no mark at all, not an error
    (tmp_path / VIRTUAL_CLOCK_FILE).write_text("{not json")
    assert _virtual_high_water(tmp_path) == datetime.min.replace(tzinfo=UTC)
    # A state folder that does not exist is not created
    _save_virtual_high_water(tmp_path / "missing", START)
    assert not (tmp_path / "missing").exists()


def test_the_asl_file_is_found() -> None:
    assert asl_path().name == "path-prover.asl.json" and asl_path().is_file()
