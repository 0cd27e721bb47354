"""What `pathprover run` and `pathprover loadgen` show while they work, on stderr.

On a terminal, a live view: one line per lane of a run (its prove, stage, simulated time, $, done/total)
and a total line, redrawn in place; on `loadgen`, one progress bar per concurrency level. Elsewhere (CI
logs, pipes, tests), calm lines: one when a prove starts and one when it settles, never one per poll.
`--verbose` prints the run's whole transition trace instead.

The runtime calls a run's progress from its lanes' threads, so every update holds one lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

OUTCOME_STYLE = {"completed": "green", "failed": "yellow", "unfeasible": "red", "skipped": "dim", "error": "magenta"}
DIMENSION_ORDER = ("deployment_config", "quantization", "tp_degree", "deployment_target")


def simulated_span(seconds: float) -> str:
    """Simulated (virtual) time as hours and minutes: `1h 02m simulated`."""
    minutes = max(0, round(seconds / 60))
    return f"{minutes // 60}h {minutes % 60:02d}m simulated"


def _parse(stamp: Any) -> datetime | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(str(stamp))
    except ValueError:
        return None


def describe_config(vector: dict[str, Any]) -> str:
    """The four dimensions a model and an instance do not already say: `vllm fp16 tp1 realtime-inference`."""
    if not vector:
        return ""
    engine, quant, tp, target = (vector.get(key) for key in DIMENSION_ORDER)
    return f"{engine} {quant} tp{tp} {target}"


@dataclass
class LaneView:
    """What one lane is doing now (the prove in flight), and what it has done."""

    lane: int
    config_id: str | None = None
    model: str | None = None
    instance: str | None = None
    config: str = ""
    attempt: int = 1
    stage: str | None = None
    status: str = "idle"
    started: datetime | None = None
    now: datetime | None = None
    reserved_usd: float = 0.0
    done: int = 0
    total: int = 0
    spent_usd: float = 0.0

    @property
    def busy(self) -> bool:
        return self.config_id is not None

    @property
    def elapsed_s(self) -> float:
        if self.started is None or self.now is None:
            return 0.0
        return max(0.0, (self.now - self.started).total_seconds())

    def prove_label(self) -> str:
        again = f" (attempt {self.attempt})" if self.attempt > 1 else ""
        return f"{self.config_id} {self.model} on {self.instance}, {self.config}{again}"


class RunProgress:
    """The progress callback of `pathprover run` (``LocalRuntime(progress=...)``), and what it shows.

    ``live``: a live display (default: when ``console`` is a terminal and not ``verbose``);
    ``verbose``: the whole transition trace, one line per task (simulated clock times labelled so).
    """

    def __init__(
        self,
        console: Console,
        *,
        verbose: bool = False,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.verbose = verbose
        self.live = (console.is_terminal and not verbose) if live is None else live
        self._clock = clock
        self._started = clock()
        self._lock = threading.RLock()
        self._phase = "starting"
        self._lanes: dict[int, LaneView] = {}
        self._planned = 0
        self._max_cost = 0.0
        self._settled: dict[str, int] = {}
        self._spent = 0.0
        self._trace_last: dict[int, tuple[Any, ...]] = {}
        self._display: Live | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> RunProgress:
        if self.live and self._display is None:
            from rich.live import Live

            self._display = Live(
                get_renderable=self.render,
                console=self.console,
                refresh_per_second=4,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._display.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._display is not None:
            self._display.stop()
            self._display = None

    def _print(self, text: str, *, markup: bool = True) -> None:
        self.console.print(text, highlight=False, markup=markup, soft_wrap=not self.console.is_terminal)

    # ------------------------------------------------------------------ phases before the plan
    def phase(self, text: str) -> None:
        """Say what the run is doing before its first prove (loading, starting the runtime, planning)."""
        with self._lock:
            self._phase = text
            if not self.live:
                self._print(f"{text} ...", markup=False)

    # ------------------------------------------------------------------ the runtime's events
    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            if event.get("step") == "plan":
                self._on_plan(event)
                return
            if self.verbose:
                self._trace(event)
            self._on_lane(event)

    @property
    def done(self) -> int:
        return sum(self._settled.values())

    @property
    def total(self) -> int:
        """The proves planned; a capacity substitute added to a lane's queue counts too."""
        return max(self._planned, sum(v.total for v in self._lanes.values()))

    def _on_plan(self, event: dict[str, Any]) -> None:
        selected = event.get("selected") or []
        self._planned = len(selected)
        self._max_cost = float(event.get("max_cost_usd") or 0.0)
        lanes = int(event.get("lanes") or 0)
        for lane in range(lanes):
            self._lanes.setdefault(lane, LaneView(lane))
        left_out = int(event.get("excluded_total") or 0)
        reserved = sum(float(p.get("reserved_usd") or 0.0) for p in selected)
        if selected:
            where = "" if event.get("dry_run") else f" in {lanes} lane{'s' if lanes != 1 else ''}"
            text = (
                f"planned {len(selected)} prove{'s' if len(selected) != 1 else ''}{where}, reserving "
                f"${reserved:.2f} of ${self._max_cost:.2f} ({left_out:,} gaps left out)"
            )
        else:
            text = f"planned nothing: {event.get('nothing_planned_reason') or 'no gap or target fits'}"
        self._phase = "proving" if selected and not event.get("dry_run") else text
        from rich.markup import escape

        self._print(escape(text))

    def _on_lane(self, event: dict[str, Any]) -> None:
        index = int(event.get("lane") or 0)
        view = self._lanes.setdefault(index, LaneView(index))
        now = _parse(event.get("virtual"))
        settled = event.get("settled") or {}
        if settled:
            self._settle(view, settled, now)
        view.done = int(event.get("lane_done") or view.done)
        view.total = int(event.get("lane_total") or view.total)
        view.spent_usd = float(event.get("lane_spent_usd") or view.spent_usd)
        config_id = event.get("config_id")
        if config_id is None:  # the lane's queue is done
            view.config_id, view.stage, view.status = None, None, "idle"
            return
        attempt = int(event.get("attempt") or 1)
        if (config_id, attempt) != (view.config_id, view.attempt) or event.get("step") == "begin":
            starting = (config_id, attempt) != (view.config_id, view.attempt)
            view.config_id, view.attempt, view.stage = config_id, attempt, None
            view.model, view.instance = event.get("model"), event.get("instance")
            view.config = describe_config(event.get("config") or {})
            view.started = _parse(event.get("started")) or now
            if starting and not self.live and not self.verbose:
                from rich.markup import escape

                self._print(
                    f"\\[lane {index}] start {escape(view.prove_label())} "
                    f"(prove {self.done + self._in_flight()} of {self.total})"
                )
        view.started = _parse(event.get("started")) or view.started
        view.reserved_usd = float(event.get("reserved_usd") or 0.0)
        view.stage = event.get("stage") or view.stage or "begin"
        view.status = str(event.get("status") or "")
        view.now = now

    def _in_flight(self) -> int:
        return sum(1 for v in self._lanes.values() if v.busy)

    def _settle(self, view: LaneView, settled: dict[str, Any], now: datetime | None) -> None:
        from rich.markup import escape

        outcome = str(settled.get("status"))
        cost = float(settled.get("actual_cost_usd") or 0.0)
        self._settled[outcome] = self._settled.get(outcome, 0) + 1
        self._spent += cost
        if view.config_id == settled.get("config_id"):
            view.now = now or view.now
            label, elapsed = f"{view.config_id} ({view.model} on {view.instance})", view.elapsed_s
        else:  # a prove this display never saw begin (a substitute settled at once)
            label, elapsed = str(settled.get("config_id")), 0.0
        view.config_id, view.stage, view.status = None, None, "idle"
        if self.verbose:
            return  # the trace has printed it
        detail = settled.get("failure_category") or settled.get("skip_reason") or ""
        scope = settled.get("failure_scope")
        if detail and scope and scope != "config":
            detail = f"{detail} ({scope})"
        colour = OUTCOME_STYLE.get(outcome, "magenta")
        self._print(
            f"\\[lane {view.lane}] [{colour}]{outcome}[/{colour}] {escape(label)}"
            + (f": {escape(str(detail))}" if detail else "")
            + f" after {simulated_span(elapsed)}, ${cost:.2f}; {self.done}/{self.total} done, "
            f"${self._spent:.2f} spent of ${self._max_cost:.2f}"
        )

    def _trace(self, event: dict[str, Any]) -> None:
        """`--verbose`: one line per task, as the runtime saw it (a repeated poll once)."""
        from rich.markup import escape

        lane = int(event.get("lane") or 0)
        vector = event.get("config") or {}
        label = "/".join(
            str(vector.get(k))
            for k in (
                "model_family",
                "instance_family",
                "deployment_config",
                "quantization",
                "tp_degree",
                "deployment_target",
            )
        )
        key = (label, event.get("stage"), event.get("status"))
        if self._trace_last.get(lane) == key and event.get("step") == "check":
            return
        self._trace_last[lane] = key
        clock = str(event.get("virtual", ""))[11:19]
        settled = event.get("settled") or {}
        if settled:
            outcome = settled.get("status")
            colour = OUTCOME_STYLE.get(str(outcome), "magenta")
            detail = settled.get("failure_category") or settled.get("skip_reason") or ""
            self._print(
                f"\\[lane {lane} · simulated {clock}] {settled.get('config_id')} [{colour}]{outcome}[/{colour}]"
                + (f" {escape(str(detail))}" if detail else "")
            )
            return
        stage = event.get("stage") or event.get("step")
        self._print(f"\\[lane {lane} · simulated {clock}] {escape(label)}  {stage}: {event.get('status')}")

    # ------------------------------------------------------------------ the live view
    def render(self) -> RenderableType:
        """The live view: a total line, then one line per lane (its prove last, cut to the terminal's width)."""
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        with self._lock:
            real = self._clock() - self._started
            if not self._lanes:
                return Spinner("dots", text=Text(f"{self._phase} ... {real:.0f} s", style="bold"))
            outcomes = ", ".join(f"{n} {k}" for k, n in sorted(self._settled.items()))
            total = Text.assemble(
                ("run ", "bold"),
                f"{self.done}/{self.total} proves done" + (f" ({outcomes})" if outcomes else ""),
                f" · ${self._spent:.2f} spent of ${self._max_cost:.2f} ceiling",
                (f" · {real:.0f} s real", "dim"),
                (" · fleet SIMULATED", "yellow"),
                no_wrap=True,
                overflow="ellipsis",
            )
            grid = Table.grid(padding=(0, 1))
            # Fixed widths, so a lane's line does not jump as its stage and money change; the prove goes last
            # and is the part cut to the terminal's width.
            for width in (8, 1, 19, 17, 27, 9):
                grid.add_column(no_wrap=True, min_width=width)
            grid.add_column(no_wrap=False, overflow="ellipsis")
            for index in sorted(self._lanes):
                view = self._lanes[index]
                head = Text(f"  lane {index}", style="bold")
                done = Text(f"{view.done}/{view.total} done", style="dim")
                money = Text(f"${view.spent_usd:.2f} spent", style="dim")
                if not view.busy:
                    grid.add_row(
                        head,
                        Text(" "),
                        Text("idle" if view.done else "starting", style="dim"),
                        Text(""),
                        money,
                        done,
                        Text(""),
                    )
                    continue
                stage = f"{view.stage}" + (" (waiting)" if view.status == "polling" else "")
                label = Text(
                    f"{view.config_id} {str(view.model).rsplit('/', 1)[-1]} · {view.instance} · {view.config}"
                    + (f" · attempt {view.attempt}" if view.attempt > 1 else ""),
                    no_wrap=True,
                    overflow="ellipsis",
                )
                grid.add_row(
                    head,
                    Spinner("dots", style="cyan"),
                    Text(stage, style="cyan"),
                    Text(simulated_span(view.elapsed_s)),
                    Text(
                        f"${view.spent_usd:.2f} spent"
                        + (f", ${view.reserved_usd:.2f} reserved" if view.reserved_usd else ""),
                        style="dim",
                    ),
                    done,
                    label,
                )
            return Group(total, grid)


class LoadgenProgress:
    """The progress callback of `pathprover loadgen` (``run_loadgen(progress=...)``), on stderr.

    On a terminal, one bar per concurrency level (level i of n, requests done, elapsed); elsewhere one
    line when a level starts and one when it ends. Never anything on stdout (the JSON contract).
    """

    def __init__(
        self, console: Console, *, live: bool | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.console = console
        self.live = console.is_terminal if live is None else live
        self._clock = clock
        self._started = clock()
        self._bars: Any = None
        self._tasks: dict[int, Any] = {}

    def __enter__(self) -> LoadgenProgress:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
            from rich.table import Column

            self._bars = Progress(
                SpinnerColumn(finished_text="✓"),
                TextColumn("{task.description}", table_column=Column(no_wrap=True)),
                BarColumn(bar_width=12),
                MofNCompleteColumn(table_column=Column(no_wrap=True)),
                TextColumn("req · {task.elapsed:.1f} s ·", table_column=Column(no_wrap=True)),
                TextColumn("{task.fields[note]}", table_column=Column(no_wrap=False, overflow="ellipsis")),
                console=self.console,
                refresh_per_second=4,
            )
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        index, levels, concurrency = event.get("index"), event.get("levels"), event.get("concurrency")
        name = f"level {index} of {levels} (concurrency {concurrency})"
        if self._bars is not None:
            self._update_bars(kind, index, f"level {index} of {levels} · c={concurrency}", event)
            return
        elapsed = self._clock() - self._started
        if kind == "level_start":
            self._print(f"{name}: {event.get('requests')} requests, warming up ... ({elapsed:.1f} s elapsed)")
        elif kind == "level_done":
            self._print(f"{name} done: {self._result(event)} ({elapsed:.1f} s elapsed)")

    def _update_bars(self, kind: Any, index: Any, name: str, event: dict[str, Any]) -> None:
        bars = self._bars
        if kind == "level_start":
            self._tasks[index] = bars.add_task(name, total=event.get("requests"), note="warming up")
        elif index in self._tasks:
            task = self._tasks[index]
            if kind == "measuring":
                bars.update(task, note="measuring")
            elif kind == "request_done":
                bars.update(task, completed=event.get("done"))
            elif kind == "level_done":
                bars.update(task, note=self._result(event, short=True))
                bars.stop_task(task)

    @staticmethod
    def _result(event: dict[str, Any], *, short: bool = False) -> str:
        """A finished level in words: `64 requests, 0 errors in 3.2 s, TTFT p50 61.0 ms, 1,234 tokens/s`."""
        level = event.get("level")
        if level is None:
            return "done"
        ttft = getattr(level, "ttft_p50_ms", None)
        tps = getattr(level, "output_token_throughput_tps", None)
        parts = [] if short else [f"{level.requests} requests, {level.errors} errors in {event.get('wall_s', 0):.1f} s"]
        if ttft is not None:
            parts.append(f"TTFT p50 {ttft:,.1f} ms" if not short else f"TTFT {ttft:,.1f} ms")
        if tps is not None:
            parts.append(f"{tps:,.0f} tok/s" if short else f"{tps:,.0f} tokens/s")
        if short and level.errors:
            parts.append(f"{level.errors} errors")
        return ", ".join(parts)

    def _print(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False, soft_wrap=True)
