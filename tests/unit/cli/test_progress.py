"""What `pathprover run` and `loadgen` show while they work (cli/progress.py), from the runtime's events;
and why a plan that selects nothing says so (brain/plan.py nothing_planned_reason)."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from pathprover.brain.plan import nothing_planned_reason
from pathprover.cli.progress import LoadgenProgress, RunProgress, simulated_span
from pathprover.loadgen.metrics import aggregate

VECTOR = {
    "model_family": "qwen3",
    "instance_family": "g5",
    "deployment_config": "vllm",
    "quantization": "fp16",
    "tp_degree": 1,
    "deployment_target": "realtime-inference",
}
START = "2026-11-23T12:00:00+00:00"


def console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=200, color_system=None), buffer


def plan_event(proves: int = 2, lanes: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "step": "plan",
        "selected": [{"reserved_usd": 1.25}] * proves,
        "excluded_total": 7,
        "max_cost_usd": 50.0,
        "lanes": lanes,
        **extra,
    }


def lane_event(step: str, lane: int, config_id: str | None, *, at: str = START, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "step": step,
        "lane": lane,
        "status": "next",
        "stage": None,
        "config": VECTOR if config_id else {},
        "config_id": config_id,
        "model": "Qwen/Qwen3-8B" if config_id else None,
        "instance": "ml.g5.xlarge" if config_id else None,
        "attempt": 1,
        "started": START if config_id else None,
        "reserved_usd": 1.25 if config_id else 0.0,
        "virtual": at,
        "settled": {},
        "lane_done": 0,
        "lane_total": 1,
        "lane_spent_usd": 0.0,
        "max_cost_usd": 50.0,
    }
    event.update(extra)
    return event


def one_prove(config_id: str, lane: int = 0) -> list[dict[str, Any]]:
    """The events of one prove as the runtime emits them: begin, a dozen polls and advances, settle."""
    events = [lane_event("begin", lane, config_id)]
    for minute, (stage, status) in enumerate(
        [("build", "polling")] * 4 + [(None, "next"), ("deploy", "polling")] * 3 + [("benchmark", "polling")] * 3
    ):
        step = "check" if status == "polling" else "advance"
        at = f"2026-11-23T12:{10 + minute * 2:02d}:00+00:00"
        events.append(lane_event(step, lane, config_id, at=at, stage=stage, status=status))
    settled = {"config_id": config_id, "status": "completed", "actual_cost_usd": 0.83}
    events.append(
        lane_event(
            "settle", lane, None, at="2026-11-23T13:02:00+00:00", settled=settled, lane_done=1, lane_spent_usd=0.83
        )
    )
    return events


def test_simulated_span_is_labelled():
    assert simulated_span(3720) == "1h 02m simulated"
    assert simulated_span(0) == "0h 00m simulated"


def test_off_a_terminal_a_prove_is_two_lines_not_one_per_poll():
    # Given a display on a console that is not a terminal (CI, a pipe)
    con, buffer = console(terminal=False)
    progress = RunProgress(con)
    assert not progress.live

    # When the runtime reports the plan and two proves of 14 events each, in two lanes
    with progress:
        progress.phase("planning")
        progress(plan_event())
        for event in one_prove("aaaa000000000001", lane=0) + one_prove("bbbb000000000002", lane=1):
            progress(event)

    # Then there is one line for the phase, one for the plan, and one per start and settle: 2 per prove
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2 + 2 * 2, lines
    assert lines[0] == "planning ..."
    assert lines[1].startswith("planned 2 proves in 2 lanes, reserving $2.50 of $50.00")
    starts = [line for line in lines if " start " in line]
    settles = [line for line in lines if " completed " in line]
    assert len(starts) == 2 and len(settles) == 2
    assert starts[0] == (
        "[lane 0] start aaaa000000000001 Qwen/Qwen3-8B on ml.g5.xlarge, vllm fp16 tp1 realtime-inference (prove 1 of 2)"
    )
    # And a settled prove says its outcome, its simulated time (labelled), its cost and the run's totals
    assert settles[-1] == (
        "[lane 1] completed bbbb000000000002 (Qwen/Qwen3-8B on ml.g5.xlarge) after 1h 02m simulated, $0.83; "
        "2/2 done, $1.66 spent of $50.00"
    )
    # And no trace line of the polls
    assert "check" not in buffer.getvalue() and "advance" not in buffer.getvalue()


def test_verbose_prints_the_transition_trace_with_simulated_clock_times():
    # Given a verbose display
    con, buffer = console(terminal=False)
    progress = RunProgress(con, verbose=True)

    # When one prove runs
    progress(plan_event(proves=1, lanes=1))
    for event in one_prove("aaaa000000000001"):
        progress(event)

    # Then every task is a line (a repeated poll once), its clock time labelled simulated
    lines = buffer.getvalue().splitlines()
    trace = [line for line in lines if line.startswith("[lane 0 · simulated ")]
    assert len(trace) >= 10, lines
    assert any("build: polling" in line for line in trace) and any("advance: next" in line for line in trace)
    assert trace[-1].endswith("aaaa000000000001 completed")


def test_the_live_view_has_a_line_per_lane_with_simulated_time_and_dollars_of_the_ceiling():
    # Given a display on a terminal
    con, _ = console(terminal=True)
    progress = RunProgress(con, clock=lambda: 0.0)
    assert progress.live

    # When the plan is in, lane 0 is deploying for 41 simulated minutes and lane 1 has settled its prove
    progress(plan_event())
    progress(lane_event("begin", 0, "aaaa000000000001"))
    progress(
        lane_event("check", 0, "aaaa000000000001", at="2026-11-23T12:41:00+00:00", stage="deploy", status="polling")
    )
    for event in one_prove("bbbb000000000002", lane=1):
        progress(event)
    rendered, out = console(terminal=True)
    rendered.print(progress.render())
    text = out.getvalue()

    # Then a run line says done/total and $ spent of the ceiling, and the run is marked simulated
    lines = text.splitlines()
    assert lines[0].startswith("run 1/2 proves done (1 completed) · $0.83 spent of $50.00 ceiling")
    assert "fleet SIMULATED" in lines[0]
    # And each lane has one line: lane 0 its prove, stage, simulated time and reservation; lane 1 idle
    lane0 = next(line for line in lines if "lane 0" in line)
    assert "deploy (waiting)" in lane0 and "0h 41m simulated" in lane0
    assert "$0.00 spent, $1.25 reserved" in lane0 and "aaaa000000000001 Qwen3-8B · ml.g5.xlarge" in lane0
    lane1 = next(line for line in lines if "lane 1" in line)
    assert "idle" in lane1 and "$0.83 spent" in lane1 and "1/1 done" in lane1
    assert len(lines) == 3


def test_the_live_view_says_what_it_does_before_the_plan():
    # Given a terminal display that has not seen the plan yet
    con, _ = console(terminal=True)
    progress = RunProgress(con, clock=lambda: 0.0)

    # When the runtime is starting
    progress.phase("starting the local runtime")
    rendered, out = console(terminal=True)
    rendered.print(progress.render())

    # Then the view says so (not a silent screen)
    assert "starting the local runtime ..." in out.getvalue()


def test_a_plan_with_nothing_in_it_says_why():
    # Given a display off a terminal
    con, buffer = console(terminal=False)
    progress = RunProgress(con)

    # When the plan selected nothing, for a reason
    progress(plan_event(proves=0, lanes=0, nothing_planned_reason="nothing fits: cheapest reservation $1.25 > $0.50"))

    # Then the line says the reason
    assert buffer.getvalue().strip() == "planned nothing: nothing fits: cheapest reservation $1.25 > $0.50"


def test_loadgen_progress_is_one_line_per_level_start_and_end_off_a_terminal():
    # Given a loadgen display off a terminal, and one measured level
    con, buffer = console(terminal=False)
    progress = LoadgenProgress(con, clock=lambda: 0.0)
    level = aggregate([], concurrency=4, price_per_hour=1.0)

    # When two levels run, with a progress event per request
    with progress:
        for index, concurrency in ((1, 1), (2, 4)):
            where = {"index": index, "levels": 2, "concurrency": concurrency}
            progress({"event": "level_start", **where, "requests": 8})
            progress({"event": "measuring", **where})
            for done in range(1, 9):
                progress({"event": "request_done", **where, "done": done})
            progress({"event": "level_done", **where, "level": level, "wall_s": 1.5})

    # Then each level has a start line and an end line, and the requests are not one line each
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 4, lines
    assert lines[0] == "level 1 of 2 (concurrency 1): 8 requests, warming up ... (0.0 s elapsed)"
    assert lines[3].startswith("level 2 of 2 (concurrency 4) done: 0 requests, 0 errors in 1.5 s")


def test_loadgen_progress_on_a_terminal_shows_a_bar_per_level():
    # Given a loadgen display on a terminal
    con, buffer = console(terminal=True)
    progress = LoadgenProgress(con)
    assert progress.live

    # When a level is half measured
    with progress:
        where = {"index": 1, "levels": 3, "concurrency": 8}
        progress({"event": "level_start", **where, "requests": 64})
        progress({"event": "measuring", **where})
        progress({"event": "request_done", **where, "done": 32})

    # Then its bar says which level of how many and the requests done
    assert "level 1 of 3 · c=8" in buffer.getvalue() and "32/64 req" in buffer.getvalue()


# --------------------------------------------------------------------------- nothing planned: why
def reason(**overrides: Any) -> str:
    given: dict[str, Any] = {
        "max_proves": 10,
        "max_cost_usd": 0.5,
        "excluded_counts": {},
        "example_reasons": {},
        "cheapest_over_budget_usd": None,
        "gaps_total": 100,
    }
    return nothing_planned_reason(**{**given, **overrides})


def test_nothing_fits_names_the_cheapest_reservation_and_the_budget():
    assert reason(excluded_counts={"over_budget": 90, "infeasible": 10}, cheapest_over_budget_usd=1.25) == (
        "nothing fits: cheapest reservation $1.25 > $0.50 (MAX_COST_PER_RUN; $1.25 would plan one)"
    )


def test_max_proves_zero_is_said_first():
    said = reason(max_proves=0, excluded_counts={"limit_reached": 90})
    assert said == "MAX_PROVES_PER_RUN is 0: nothing may be proved"


def test_no_gaps_left():
    assert reason(gaps_total=0).startswith("no gaps left")


def test_every_gap_unfeasible_by_rule_gives_an_example():
    said = reason(
        excluded_counts={"infeasible": 5, "recorded_unfeasible": 2},
        example_reasons={"infeasible": "tp_degree 8 > 1 GPU on ml.g5.xlarge"},
    )
    assert said == (
        "every gap is unfeasible by rule: infeasible 5 (e.g. tp_degree 8 > 1 GPU on ml.g5.xlarge); "
        "recorded_unfeasible 2"
    )


def test_targets_left_out_for_other_reasons_are_named():
    said = reason(gaps_total=None, excluded_counts={"duplicate": 1, "account_quota": 1})
    assert said == "every target was left out: account_quota 1; duplicate 1"
