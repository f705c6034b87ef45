"""The Mistakes tab's explanation panel, as a user meets it: from the cursor moving to the
panel showing the heat map.

The real app (``FmnistApp``, 120x40, headless through ``App.run_test``, each frame encoded for
a 24-bit-colour terminal as the terminal driver would) with the real engine thread trains the
seed for one epoch on the whole Fashion-MNIST training split (or opens ``--run-dir``), then
the Mistakes tab shows; the panel is on (it is from 120 columns). Measured:

- first: from the first ``Highlighted`` (the gallery filled after the run) to the first frame
  with its heat map: loading what the explainer needs and the training images' features
  (once per run), then one explanation;
- per move: ``j`` pressed ``--moves`` times, each onto a test image not explained before,
  waiting for its heat map and 50 ms more (the engine idle again) before the next press;
  timed from the gallery's ``Highlighted`` to the first frame drawn with the new heat map,
  and from the key to the first frame with the cursor moved (the gallery stays responsive
  while the engine explains), with that frame's UI-thread CPU time (what our code costs, which
  the machine's other load does not inflate) and how many of those frames a full garbage
  collection overlapped (it stops every thread), and the collections while moving;
- tab switches with the panel showing: ``1`` then ``2`` ``--switches`` times, key to the
  first frame with the Mistakes pane on screen;
- what the grid's maps add to a run's end: :func:`core.explain.mistake_maps` for the run's
  model and evaluation, as ``core.session`` runs it after evaluating.

``uv run python -m bench.explain_panel [--run-dir RUN] [--moves 60] [--switches 20]
[--data-dir DIR] [--out FILE]``; the JSON goes to ``bench/results/explain-panel.json``.
Not part of ``python -m bench`` (which has no table for it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    GcPauses,
    code_version,
    find_data_dir,
    now_iso,
    progress,
    summarize,
)

RESULTS = ROOT / "bench" / "results"
SIZE = (120, 40)
GOAL_MS = 200


@dataclass(slots=True)
class Frame:
    end: float
    seconds: float
    cpu_seconds: float
    """The UI thread's CPU time in the frame: unlike wall time, not inflated when other threads
    or processes take the CPU (what is ours to make faster)."""
    cursor: int
    explained: int | None
    """The test index whose explanation the panel drew in this frame, if any."""
    mistakes_on_screen: bool


@dataclass(slots=True)
class Log:
    frames: list[Frame] = field(default_factory=list)
    highlighted: list[tuple[float, int]] = field(default_factory=list)
    app: Any = None
    displayed: bool = False
    gc: GcPauses = field(default_factory=GcPauses)

    def first_after(self, start: float, accept: Callable[[Frame], bool]) -> Frame | None:
        return next((f for f in self.frames if f.end > start and accept(f)), None)


@contextmanager
def instrumented(log: Log) -> Iterator[None]:
    """Time every screen update that produced a frame, note when the gallery's cursor moves;
    restore Textual and the app afterwards."""
    from textual.errors import NoWidget
    from textual.screen import Screen

    from tui.widgets.mistakes import MistakesView
    from tui.widgets.mistakes_detail import MistakesDetail

    original_update = Screen._on_timer_update
    original_post = MistakesView._post_highlighted

    def timed(self: Screen[Any]) -> None:
        log.displayed = False
        started, cpu_started = time.perf_counter(), time.thread_time()
        original_update(self)
        if not log.displayed or log.app is None:
            return
        end, cpu = time.perf_counter(), time.thread_time() - cpu_started
        app = log.app
        view = app.query_one(MistakesView)
        detail = app.query_one(MistakesDetail)
        subject = detail.subject
        drawn = (
            subject.explained.index
            if subject is not None and subject.explained is not None and detail.region.width
            else None
        )
        try:
            app.screen.find_widget(view)
            on_screen = True
        except NoWidget:
            on_screen = False
        log.frames.append(Frame(end, end - started, cpu, view.cursor, drawn, on_screen))

    def noted(self: MistakesView) -> None:
        example = self.highlighted
        if example is not None:
            log.highlighted.append((time.perf_counter(), example.index))
        original_post(self)

    Screen._on_timer_update = timed  # type: ignore[method-assign]
    MistakesView._post_highlighted = noted  # type: ignore[method-assign]
    log.gc.install()
    try:
        yield
    finally:
        log.gc.uninstall()
        Screen._on_timer_update = original_update  # type: ignore[method-assign]
        MistakesView._post_highlighted = original_post  # type: ignore[method-assign]


def make_app(log: Log, runs_dir: Path, data_dir: Path) -> Any:
    from rich.console import RenderableType
    from textual._compositor import CompositorUpdate
    from textual.screen import Screen

    from core.config import TrainConfig
    from tui.app import FmnistApp
    from tui.engine import TrainingEngine, default_loader

    class FrameTimedApp(FmnistApp):
        CSS_PATH = str(Path(sys.modules[FmnistApp.__module__].__file__ or "").parent / "app.tcss")

        def _display(self, screen: Screen[Any], renderable: RenderableType | None) -> None:
            super()._display(screen, renderable)
            if renderable is None or self._batch_count:
                return
            if self.is_headless and isinstance(renderable, CompositorUpdate):
                # What the terminal driver would do with the frame; headless mode skips it.
                renderable.render_segments(self.console)
            log.displayed = True

    data_config = TrainConfig(epochs=1, data_dir=str(data_dir))
    engine = TrainingEngine(
        dataset_loader=default_loader, runs_root=runs_dir, data_config=data_config
    )
    return FrameTimedApp(engine=engine, runs_dir=runs_dir, cursor_blink=False), data_config


POLL_S = 0.01
"""How often the benchmark looks for what it waits for. The times are the frames' own, so a
slower look costs no precision, while polling every 2 ms took the GIL and the event loop from
the app 500 times a second and slowed what it measured."""


async def until(predicate: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no {what} within {timeout:.0f} s")
        await asyncio.sleep(POLL_S)


async def measure(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    from core.requests import NewRun
    from core.runs.catalogue import load_run
    from tui.messages import Reported
    from tui.reports import RunLoaded
    from tui.widgets.mistakes import MistakesView

    log = Log()
    runs_dir = args.work_dir / "runs"
    app, data_config = make_app(log, runs_dir, data_dir)
    with instrumented(log):
        async with app.run_test(headless=True, size=SIZE) as pilot:
            log.app = app
            await until(lambda: app.state.data_description is not None, "data", 600)
            if args.run_dir is None:
                progress("training the seed for one epoch on the full training split")
                app._train_requested(NewRun(data_config))
                await until(lambda: app.state.training, "run start", 30)
                await until(
                    lambda: not app.state.training and app.state.shown is not None,
                    "the run's end",
                    3600,
                )
                run_dir = app.state.shown.run_dir if app.state.shown else None
                what = "trained in the app: seed, 1 epoch, the engine holds its model"
            else:
                run_dir = args.run_dir
                app.post_message(Reported(RunLoaded(load_run(run_dir))))
                await until(lambda: bool(app.state.shown and app.state.shown.saved), "run", 60)
                what = f"opened from disk: {run_dir}"
            view = app.query_one(MistakesView)
            # Opening a run shows the Train tab and focuses it after the next frame; a key
            # pressed before that focus is applied can be lost, and the Mistakes tab (and its
            # heat map) would never show.
            await app.main.focus_applied(10)
            await pilot.press("2")
            await until(lambda: app.main.active_tab == "mistakes", "the Mistakes tab", 30)
            await until(lambda: view.highlighted is not None, "a highlighted mistake", 30)

            def heat_map_of(index: int) -> Callable[[Frame], bool]:
                return lambda frame: frame.explained == index

            async def heat_map_after(start: float, index: int) -> Frame:
                await until(
                    lambda: log.first_after(start, heat_map_of(index)) is not None,
                    "heat map",
                    600,
                )
                frame = log.first_after(start, heat_map_of(index))
                assert frame is not None
                return frame

            first_at, first_index = log.highlighted[-1]
            first = await heat_map_after(first_at, first_index)
            first_s = first.end - first_at
            progress(f"first heat map {first_s:.2f} s after the cursor landed (features)")
            await pilot.pause(0.3)

            to_map, to_cursor, cursor_cpu, cursor_full_gc = [], [], [], 0
            moves_began = time.perf_counter()
            for move in range(args.moves):
                cursor = view.cursor
                noted = len(log.highlighted)
                key_at = time.perf_counter()
                await pilot.press("j")
                await until(lambda n=noted: len(log.highlighted) > n, "Highlighted", 10)
                moved_at, index = log.highlighted[-1]
                frame = await heat_map_after(moved_at, index)
                to_map.append((frame.end - moved_at) * 1000)
                moved = log.first_after(key_at, lambda f, c=cursor: f.cursor != c)  # type: ignore[misc]
                assert moved is not None
                to_cursor.append((moved.end - key_at) * 1000)
                cursor_cpu.append(moved.cpu_seconds * 1000)
                cursor_full_gc += log.gc.full_during(key_at, moved.end)
                await pilot.pause(0.05)
                if move % 10 == 9:
                    progress(f"{move + 1} moves: p50 {summarize(to_map)['p50']:.0f} ms")

            moves_ended = time.perf_counter()
            switches = []
            for _ in range(args.switches):
                await pilot.press("1")
                await pilot.pause(0.2)
                key_at = time.perf_counter()
                await pilot.press("2")
                await until(
                    lambda k=key_at: log.first_after(k, lambda f: f.mistakes_on_screen) is not None,
                    "the Mistakes pane",
                    10,
                )
                frame = log.first_after(key_at, lambda f: f.mistakes_on_screen)
                assert frame is not None
                switches.append((frame.end - key_at) * 1000)
                await pilot.pause(0.2)
            await pilot.press("q")
    assert run_dir is not None
    maps_s = grid_maps_seconds(run_dir)
    heat = summarize(to_map)
    return {
        "run": what,
        "run_dir": str(run_dir),
        "screen": f"{SIZE[0]}x{SIZE[1]}",
        "first_heat_map_s": first_s,
        "highlighted_to_heat_map_ms": heat,
        "key_to_cursor_frame_ms": summarize(to_cursor),
        "cursor_frame_ui_cpu_ms": summarize(cursor_cpu),
        "cursor_frames_with_a_full_gc": cursor_full_gc,
        "gc_while_moving": log.gc.summary(moves_began, moves_ended),
        "tab_switch_to_mistakes_ms": summarize(switches),
        "moves": len(to_map),
        "goal_ms": GOAL_MS,
        "goal_met": bool(heat["p99"] <= GOAL_MS),
        "grid_maps_at_run_end_s": maps_s,
    }


def grid_maps_seconds(run_dir: Path, repeats: int = 3) -> list[float]:
    """How long a run's end spends on the grid's maps, for this run's model and evaluation."""
    from core.explain import load_run_model, mistake_maps
    from core.runs.catalogue import load_run

    run = load_run(run_dir)
    assert run.evaluation is not None and run.test_images is not None
    model = load_run_model(run.model_path, run.config)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        mistake_maps(model, run.test_images, run.evaluation)
        seconds.append(time.perf_counter() - started)
    progress(f"grid maps at a run's end: {', '.join(f'{s:.2f}' for s in seconds)} s")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain_panel")
    parser.add_argument("--run-dir", type=Path)
    parser.add_argument("--moves", type=int, default=60)
    parser.add_argument("--switches", type=int, default=20)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/fmnist-bench-explain-panel"))
    parser.add_argument("--out", type=Path, default=RESULTS / "explain-panel.json")
    args = parser.parse_args(argv)
    data_dir = find_data_dir(args.data_dir)
    if data_dir is None:
        raise SystemExit("needs the real Fashion-MNIST (--data-dir DIR)")
    os.environ.setdefault("COLORTERM", "truecolor")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from bench.machine import describe_machine
    from core.backend import active_backend
    from core.files import write_json_file

    started = describe_machine()
    summary = asyncio.run(measure(args, data_dir))
    record = {
        "benchmark": "explain-panel",
        "date": now_iso(),
        "command": "uv run python -m bench.explain_panel " + " ".join(argv or sys.argv[1:]),
        "code": code_version(),
        "machine": started,
        "load_average_after": list(os.getloadavg()),
        "backend": active_backend(),
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_file(args.out, record)
    heat = summary["highlighted_to_heat_map_ms"]
    progress(
        f"highlighted to heat map: p50 {heat['p50']:.0f} ms, p99 {heat['p99']:.0f} ms over "
        f"{summary['moves']} moves; wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
