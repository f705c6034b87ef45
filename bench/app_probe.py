"""The app as a user runs it, with instruments: the child process of the app benchmarks.

``python -m bench.app_probe --out FILE [app options] --status-fd N`` starts ``fmnist-tui``
through its own entry point (``tui.cli.main``: argument parsing, the real ``TrainingEngine``,
TensorFlow's output sent to a log file, the real terminal driver) on the terminal it was given,
a pseudo-terminal held by ``bench.pty_session``. The only change is a subclass of the app that
observes; it changes no behaviour:

- an event-loop lag probe: an asyncio task that asks to wake every 10 ms on a fixed schedule
  and records, for every scheduled tick, how late it was served (Textual's timers are such
  asyncio sleeps, so this is the delay any timer, key or message handler sees; a stall counts
  once for each tick it held up), split into the time before training and while training;
- frame timing: how long each screen update took on the UI thread (layout, render, and
  encoding for the terminal), from ``Screen._on_timer_update``;
- key-to-screen: for every tab switch, when the first frame that shows the new tab's pane was
  handed to the terminal writer (``App._display``, after checking the pane is in the frame's
  compositor map), and when the action ran;
- garbage-collector pauses while training, by generation (a full collection stops every
  thread, the UI's included);
- status lines on ``--status-fd`` so that the parent knows when to type (data ready, dialog
  drawn, training started and ended, idle).

At exit it writes a JSON summary to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

LAG_INTERVAL_S = 0.010


class Probe:
    """State shared by the instrumented app and the patched screen."""

    def __init__(self, status: TextIO | None, *, lag: bool = True) -> None:
        self.status = status
        self.lag = lag
        """Run the lag ticker (off where the probe must not add work, e.g. overhead runs)."""
        from bench.common import GcPauses

        self.gc = GcPauses()
        self.profiler: Any = None
        self.profile_path: Path | None = None
        self.gc_freeze = False
        self.phase = "starting"
        """starting → idle (data loaded) → training → after."""
        self.lags: dict[str, list[float]] = {"starting": [], "idle": [], "training": []}
        self.frames: dict[str, list[float]] = {"starting": [], "idle": [], "training": []}
        self.frames_cpu: dict[str, list[float]] = {"starting": [], "idle": [], "training": []}
        self.tabs: list[dict[str, Any]] = []
        self.tab_frame: dict[str, Any] | None = None
        """The tab switch whose frame is being drawn, to add that frame's cost to it."""
        self.last_action: tuple[str, float] | None = None
        self.drawn_tab: str | None = None
        self.dialog_reported = False
        self.displayed = False
        self.training_started: float | None = None
        self.training_ended: float | None = None
        self.ui_cpu_start = 0.0
        self.ui_cpu_training = 0.0
        self.process_cpu_start = 0.0
        self.process_cpu_training = 0.0
        self.output_frames_training = 0
        self.app: Any = None
        self._tabs: Any = None
        self.lag_task: asyncio.Task[None] | None = None

    def report(self, kind: str, **fields: Any) -> None:
        if self.status is None:
            return
        self.status.write(json.dumps({"kind": kind, "t": time.perf_counter(), **fields}) + "\n")
        self.status.flush()

    async def lag_ticker(self) -> None:
        """Ask to wake every 10 ms on a fixed schedule; record the lag of every scheduled tick.

        A stall of L ms makes every tick that fell inside it late, each by its own amount (L,
        L - 10, L - 20, ... ms): they are all recorded (see :func:`tick_lags`), so the
        percentiles weigh a stall by how long it lasted, not as one late wake-up.
        """
        next_tick = time.perf_counter() + LAG_INTERVAL_S
        while True:
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
            lags, next_tick = tick_lags(next_tick, time.perf_counter(), LAG_INTERVAL_S)
            samples = self.lags.get(self.phase)
            if samples is not None:
                samples.extend(lags)

    def start_training(self) -> None:
        if self.gc_freeze:
            import gc

            gc.freeze()
        if self.profile_path is not None:
            import cProfile

            self.profiler = cProfile.Profile()
            self.profiler.enable()
        self.phase = "training"
        self.training_started = time.perf_counter()
        self.ui_cpu_start = time.thread_time()
        self.process_cpu_start = time.process_time()
        self.report("training")

    def end_training(self) -> None:
        if self.phase != "training":
            return
        self.phase = "after"
        if self.profiler is not None and self.profile_path is not None:
            self.profiler.disable()
            self.profiler.dump_stats(self.profile_path)
        self.training_ended = time.perf_counter()
        self.ui_cpu_training = time.thread_time() - self.ui_cpu_start
        self.process_cpu_training = time.process_time() - self.process_cpu_start
        self.report("ended")

    def frame_shown(self, app: Any) -> None:
        """Called after every frame handed to the terminal; cheap unless a tab changed."""
        self.displayed = True
        if self.phase == "training":
            self.output_frames_training += 1
        screen = app.screen
        if isinstance(screen, _dialog_class()):
            if not self.dialog_reported:
                self.dialog_reported = True
                self.report("dialog")
            return
        self.dialog_reported = False
        if screen is not app.screen_stack[0]:
            return  # a dialog or the help screen: no tabs to see
        if self._tabs is None:
            self._tabs = app.query_one("#tabs")
        tabs = self._tabs
        active = tabs.active
        if not active or active == self.drawn_tab:
            return
        try:
            screen.find_widget(tabs.get_pane(active))
        except _no_widget():
            return
        now = time.perf_counter()
        previous, self.drawn_tab = self.drawn_tab, active
        if previous is None:
            return
        action_at = None
        if self.last_action is not None and self.last_action[0] == active:
            action_at = self.last_action[1]
        record = {"tab": active, "t": now, "action_t": action_at, "phase": self.phase}
        self.tabs.append(record)
        self.tab_frame = record
        self.report("tab", tab=active, frame_t=now, action_t=action_at)

    def summary(self) -> dict[str, Any]:
        from bench.common import summarize

        def ms(values: list[float]) -> dict[str, float | int]:
            return summarize([v * 1000 for v in values])

        app = self.app
        history: list[dict[str, Any]] = []
        run_dir = None
        test_accuracy = None
        if app is not None and app.state.live is not None:
            history = [m.to_dict() for m in app.state.live.history]
            run_dir = str(app.state.live.run_dir) if app.state.live.run_dir else None
            if app.state.live.evaluation is not None:
                test_accuracy = app.state.live.evaluation.test_accuracy
        training_s = (
            self.training_ended - self.training_started
            if self.training_started is not None and self.training_ended is not None
            else None
        )
        return {
            "lag_ms": {phase: ms(values) for phase, values in self.lags.items()},
            "frame_ms": {phase: ms(values) for phase, values in self.frames.items()},
            "frame_cpu_ms": {phase: ms(values) for phase, values in self.frames_cpu.items()},
            "frames_training": self.output_frames_training,
            "training_wall_s": training_s,
            "ui_thread_cpu_training_s": self.ui_cpu_training,
            "process_cpu_training_s": self.process_cpu_training,
            "gc_training": self.gc.summary(
                self.training_started or 0.0, self.training_ended or float("inf")
            ),
            "tabs": self.tabs,
            "history": history,
            "run_dir": run_dir,
            "test_accuracy": test_accuracy,
            "max_rss_self_mib": _max_rss_mib(),
        }


def tick_lags(due: float, now: float, interval: float) -> tuple[list[float], float]:
    """The lag of each tick of the schedule ``due, due + interval, ...`` that fell by ``now``.

    Returns those lags (``now`` minus the tick's time, one per tick, the oldest first) and the
    first tick still to come. This is the usual correction for event-loop lag (HdrHistogram's
    "expected interval"): a timer that only measured its own late wake-up would record one
    sample for a 300 ms stall where 30 ticks of 10 ms were kept waiting, and its p99 would
    read low exactly when the loop was blocked the longest.
    """
    lags: list[float] = []
    ticks = 0
    while due + ticks * interval <= now:
        lags.append(now - (due + ticks * interval))
        ticks += 1
    return lags, due + ticks * interval


def _dialog_class() -> type[Any]:
    from tui.screens.train_dialog import TrainDialog

    return TrainDialog


def _no_widget() -> type[Exception]:
    from textual.errors import NoWidget

    return NoWidget


def _max_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _patch_screen_timing(probe: Probe) -> None:
    """Time every screen update that ends in a frame (layout, render, terminal encoding)."""
    from textual.screen import Screen

    original: Callable[[Screen[Any]], None] = Screen._on_timer_update

    def timed(self: Screen[Any]) -> None:
        probe.displayed = False
        started = time.perf_counter()
        cpu_started = time.thread_time()
        original(self)
        if probe.displayed and probe.phase in probe.frames:
            seconds = time.perf_counter() - started
            cpu_seconds = time.thread_time() - cpu_started
            probe.frames[probe.phase].append(seconds)
            probe.frames_cpu[probe.phase].append(cpu_seconds)
            if probe.tab_frame is not None:
                probe.tab_frame.update(frame_ms=seconds * 1000, frame_cpu_ms=cpu_seconds * 1000)
                probe.tab_frame = None

    Screen._on_timer_update = timed  # type: ignore[method-assign]


def make_probe_app(probe: Probe) -> type[Any]:
    """A subclass of the real app that reports to ``probe`` and changes nothing else."""
    from rich.console import RenderableType
    from textual.screen import Screen

    from core.events import TrainingFailed, TrainingFinished, TrainingStarted, TrainingStopped
    from tui.app import FmnistApp
    from tui.messages import Reported
    from tui.reports import DataFailed, DataReady, EngineError, EngineIdle

    class ProbeApp(FmnistApp):
        # Textual reads CSS_PATH relative to the file that defines the class: point it back.
        CSS_PATH = str(Path(sys.modules[FmnistApp.__module__].__file__ or "").parent / "app.tcss")

        # Textual calls the handlers of every class in the MRO: these run beside the app's
        # own, which is why none of them calls super().
        def on_mount(self) -> None:
            probe.app = self
            if probe.lag:
                probe.lag_task = asyncio.get_running_loop().create_task(probe.lag_ticker())
            probe.report("mounted")

        def on_unmount(self) -> None:
            if probe.lag_task is not None:
                probe.lag_task.cancel()

        def on_reported(self, message: Reported) -> None:
            event = message.report
            if isinstance(event, DataReady):
                probe.phase = "idle"
                probe.report("ready", source=event.source, train=event.train)
            elif isinstance(event, DataFailed | EngineError):
                probe.report("failed", message=event.message)
            elif isinstance(event, TrainingStarted):
                probe.start_training()
            elif isinstance(event, TrainingFinished | TrainingStopped):
                probe.end_training()
            elif isinstance(event, TrainingFailed):
                probe.end_training()
                probe.report("failed", message=event.message)
            elif isinstance(event, EngineIdle):
                probe.report("idle", run_id=None if event.held is None else event.held.run_id)

        def action_show_tab(self, tab: str) -> None:
            probe.last_action = (tab, time.perf_counter())
            super().action_show_tab(tab)

        def _display(self, screen: Screen[Any], renderable: RenderableType | None) -> None:
            super()._display(screen, renderable)
            if renderable is not None and not self._batch_count:
                probe.frame_shown(self)

    return ProbeApp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.app_probe")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--status-fd", type=int)
    parser.add_argument("--model", default="seed")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--runs-dir", required=True)
    parser.add_argument("--limit-train")
    parser.add_argument("--limit-test")
    parser.add_argument("--no-lag", action="store_true", help="do not run the lag ticker")
    parser.add_argument(
        "--profile", type=Path, help="cProfile the UI thread while training, into this file"
    )
    parser.add_argument(
        "--switch-interval", type=float, help="an experiment: sys.setswitchinterval(S)"
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="an experiment: gc.freeze() when training starts (TensorFlow and the model are "
        "loaded by then), so full collections skip everything allocated before",
    )
    args = parser.parse_args(argv)

    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    status = os.fdopen(args.status_fd, "w", buffering=1) if args.status_fd is not None else None
    probe = Probe(status, lag=not args.no_lag)
    probe.profile_path = args.profile
    probe.gc_freeze = args.gc_freeze
    probe.gc.install()
    _patch_screen_timing(probe)

    import tui.app
    from tui.cli import main as cli_main

    tui.app.FmnistApp = make_probe_app(probe)  # type: ignore[misc]
    app_args = ["--model", args.model, "--data-dir", args.data_dir, "--runs-dir", args.runs_dir]
    if args.limit_train:
        app_args += ["--limit-train", args.limit_train]
    if args.limit_test:
        app_args += ["--limit-test", args.limit_test]
    code = cli_main(app_args)
    result = {"returncode": code, **probe.summary()}
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    probe.report("exited", code=code)
    # The engine thread has ended (the app waits for it); nothing else should keep us here.
    leftover = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if leftover:
        print(f"threads still alive at exit: {leftover}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
