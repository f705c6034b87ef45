"""The Mistakes pane with 1,000 misclassified test images: time to open, time per frame.

The real app (``FmnistApp``, 120x40, headless through ``App.run_test``) with an engine that
never trains. Its Mistakes pane gets an evaluation in which exactly 1,000 of the real test
images are wrong: the images are Fashion-MNIST's own, the predictions are drawn at random
(seeded), because a benchmark of drawing needs a fixed count, not a particular model.

Measured:

- open: from ``MistakesPane.set_data`` (what the app calls when an evaluation arrives) to the
  first frame that drew images; and from pressing ``2`` on the Train tab, with the data set,
  to the first frame showing the pane;
- scroll: ``pagedown`` pressed until the cursor reaches the last of the 1,000, each press
  timed from the key to the first frame showing the new position;
- every frame: the UI thread's time for each screen update (layout, rendering of the visible
  lines, images included, and the encoding of the frame for a 24-bit-colour terminal, which
  headless mode would otherwise skip).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import GcPauses, Settings, progress, summarize, write_result

NAME = "mistakes"
SIZE = (120, 40)


@dataclass(frozen=True, slots=True)
class Plan:
    mistakes: int


FULL = Plan(mistakes=1000)
QUICK = Plan(mistakes=100)


@dataclass(slots=True)
class Frame:
    end: float
    seconds: float
    cpu_seconds: float
    """UI-thread CPU time of the frame: unlike wall time, not inflated when the machine's
    other work preempts us."""
    cursor: int
    scroll_y: float
    images_rendered: int


@dataclass(slots=True)
class FrameLog:
    frames: list[Frame] = field(default_factory=list)
    view: Any = None
    displayed: bool = False
    gc: GcPauses = field(default_factory=GcPauses)

    def first_after(self, start: float, accept: Callable[[Frame], bool]) -> Frame | None:
        return next((f for f in self.frames if f.end > start and accept(f)), None)


def test_images(settings: Settings) -> tuple[np.ndarray, np.ndarray, str]:
    """The real test images and labels, else synthetic ones (quick mode only)."""
    from core.data import load_raw, synthetic_raw

    if settings.data_dir is not None:
        raw = load_raw(settings.data_dir)
        return raw.x_test, raw.y_test, f"Fashion-MNIST test images ({settings.data_dir})"
    if not settings.quick:
        from bench.common import BenchError

        raise BenchError("the mistakes benchmark needs the real Fashion-MNIST test images")
    raw = synthetic_raw(train=10, test=1000, seed=0)
    return raw.x_test, raw.y_test, "synthetic shapes (no real data found)"


def _moved_from(cursor: int, frame: Frame) -> bool:
    return frame.cursor != cursor


def fake_evaluation(labels: np.ndarray, wrong: int, seed: int = 0) -> Any:
    """An evaluation of ``labels`` with exactly ``wrong`` mistakes at random positions."""
    from core.evaluation import evaluate_probabilities

    rng = np.random.default_rng(seed)
    count = labels.size
    predicted = labels.astype(np.int64).copy()
    chosen = rng.choice(count, size=min(wrong, count), replace=False)
    predicted[chosen] = (predicted[chosen] + rng.integers(1, 10, size=chosen.size)) % 10
    confidence = rng.uniform(0.35, 0.99, size=count)
    probabilities = np.full((count, 10), 0.0)
    probabilities += ((1.0 - confidence) / 9.0)[:, None]
    probabilities[np.arange(count), predicted] = confidence
    return evaluate_probabilities(probabilities, labels)


@contextmanager
def _timed_frames(log: FrameLog) -> Iterator[None]:
    """Time every screen update that produced a frame; restore Textual afterwards."""
    from textual.screen import Screen

    original = Screen._on_timer_update

    def timed(self: Screen[Any]) -> None:
        log.displayed = False
        started = time.perf_counter()
        cpu_started = time.thread_time()
        original(self)
        if log.displayed:
            end = time.perf_counter()
            view = log.view
            log.frames.append(
                Frame(
                    end,
                    end - started,
                    time.thread_time() - cpu_started,
                    view.cursor if view is not None else -1,
                    float(view.scroll_y) if view is not None else 0.0,
                    view.image_render_count if view is not None else 0,
                )
            )

    Screen._on_timer_update = timed  # type: ignore[method-assign]
    log.gc.install()
    try:
        yield
    finally:
        log.gc.uninstall()
        Screen._on_timer_update = original  # type: ignore[method-assign]


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _make_app(log: FrameLog, runs_dir: Path) -> Any:
    from rich.console import RenderableType
    from textual._compositor import CompositorUpdate
    from textual.screen import Screen

    from tui.app import FmnistApp
    from tui.engine import Engine, Post, Shutdown
    from tui.messages import Reported
    from tui.reports import EngineReady

    class IdleEngine(Engine):
        """Answers nothing: this benchmark never trains."""

        def serve(self, post: Post) -> None:
            post(Reported(EngineReady("benchmark engine (no training)")))
            while not isinstance(self.next_command(), Shutdown):
                pass

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

    return FrameTimedApp(engine=IdleEngine(), runs_dir=runs_dir, cursor_blink=False)


async def _measure(
    plan: Plan, images: np.ndarray, labels: np.ndarray, runs_dir: Path
) -> dict[str, Any]:
    from textual.errors import NoWidget

    from tui.widgets.mistakes import MistakesView
    from tui.widgets.mistakes_pane import MistakesPane

    log = FrameLog()
    evaluation = fake_evaluation(labels, plan.mistakes)
    app = _make_app(log, runs_dir)
    with _timed_frames(log):
        async with app.run_test(headless=True, size=SIZE) as pilot:
            await pilot.pause(0.3)
            view = app.query_one(MistakesView)
            pane = app.query_one(MistakesPane)
            log.view = view

            async def frame_after(start: float, accept: Callable[[Frame], bool]) -> Frame:
                deadline = time.perf_counter() + 10
                while (frame := log.first_after(start, accept)) is None:
                    if time.perf_counter() > deadline:
                        raise TimeoutError("no frame within 10 s")
                    await asyncio.sleep(0.001)
                return frame

            # Open, on the Mistakes tab: the data arrive.
            await pilot.press("2")
            await pilot.pause(0.2)
            started = time.perf_counter()
            pane.set_data(evaluation, images)
            frame = await frame_after(started, lambda f: f.images_rendered > 0)
            open_set_data = frame.end - started
            await pilot.pause(0.3)

            # Open, from the Train tab: the pane is filled already.
            await pilot.press("1")
            await pilot.pause(0.3)

            def pane_on_screen(_: Frame) -> bool:
                try:
                    app.screen.find_widget(view)
                except NoWidget:
                    return False
                return True

            started = time.perf_counter()
            await pilot.press("2")
            frame = await frame_after(started, pane_on_screen)
            open_tab = frame.end - started
            await pilot.pause(0.3)

            # Scroll: page down to the last mistake.
            scroll_start = len(log.frames)
            steps: list[float] = []
            total = len(view.examples)
            while view.cursor < total - 1 and len(steps) < total:
                before: int = view.cursor
                started = time.perf_counter()
                await pilot.press("pagedown")
                frame = await frame_after(started, partial(_moved_from, before))
                steps.append(frame.end - started)
                await pilot.pause()
            reached = view.cursor
            scroll_frames = log.frames[scroll_start:]
            scroll_began = scroll_frames[0].end - scroll_frames[0].seconds if scroll_frames else 0.0
            slow = [f for f in scroll_frames if f.seconds > 0.050]
            slow_with_gc = [f for f in slow if log.gc.full_during(f.end - f.seconds, f.end)]
            rendered = view.image_render_count
            await pilot.press("q")
    return {
        "mistakes": len(evaluation.mistakes()),
        "shown_per_page": view.columns,
        "open_set_data_ms": open_set_data * 1000,
        "open_tab_switch_ms": open_tab * 1000,
        "pagedown_key_to_frame_ms": summarize([s * 1000 for s in steps]),
        "scroll_frame_ms": summarize([f.seconds * 1000 for f in scroll_frames]),
        "scroll_frame_cpu_ms": summarize([f.cpu_seconds * 1000 for f in scroll_frames]),
        "all_frame_ms": summarize([f.seconds * 1000 for f in log.frames]),
        "pagedown_presses": len(steps),
        "reached_position": reached + 1,
        "images_rendered": rendered,
        "scroll_frames_over_50ms": len(slow),
        "scroll_frames_over_50ms_with_full_gc": len(slow_with_gc),
        "gc_while_scrolling": log.gc.summary(start=scroll_began),
    }


def run(settings: Settings) -> dict[str, Any]:
    plan = QUICK if settings.quick else FULL
    images, labels, data = test_images(settings)
    progress(f"{NAME}: opening and scrolling {plan.mistakes} mistakes at {SIZE[0]}x{SIZE[1]}")
    with _environment(COLORTERM="truecolor", TERM="xterm-256color"):
        results = asyncio.run(_measure(plan, images, labels, settings.work_dir / "runs"))
    payload = {
        "config": {
            "mistakes": plan.mistakes,
            "screen": f"{SIZE[0]}x{SIZE[1]}",
            "images": data,
            "predictions": "random (seeded), exactly this many wrong",
        },
        "summary": results,
    }
    write_result(settings, NAME, payload)
    return payload
