"""Each epoch's point is drawn at its epoch and its value, in the terminal and in a screenshot.

The app runs with a scripted engine that ends each epoch only when the test says, so the run
can be resized, or have a dialog open, across an epoch's end; and one that starts as a
resumed run, whose history arrives with its first event. The points are read back from the
rendered strips (:mod:`chart_reading`) and from the SVG a screenshot saves.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
from collections.abc import Callable
from typing import Any

from chart_reading import TRAIN, VALIDATION, assert_drawn_where_they_are, read_chart
from helpers import ask_to_train, charts_redrawn, wait_for
from textual.pilot import Pilot
from tui_fakes import (
    BATCHES,
    FAKE_DEVICE,
    FAKE_RUN_ID,
    FAKE_SOURCE,
    SEED_SUMMARY,
    ScriptedEngine,
    fake_metrics,
    missing_runs_dir,
)

from core.config import TrainConfig
from core.events import BatchProgress, EpochEnded, TrainingFinished, TrainingStarted
from tui.app import FmnistApp
from tui.reports import Report
from tui.screens.help import HelpScreen
from tui.widgets.charts import MetricChart


class SteppedEngine(ScriptedEngine):
    """The scripted engine, an epoch at a time: each epoch reports its progress, then waits
    for :meth:`end_epochs` before it ends. With ``resume_from``, the run starts as a saved run
    resumed after that many epochs would (they come with its first event)."""

    def __init__(self, *, resume_from: int = 0) -> None:
        super().__init__()
        self.resume_from = resume_from
        self._ends = threading.Semaphore(0)

    def end_epochs(self, count: int = 1) -> None:
        for _ in range(count):
            self._ends.release()

    def _run(self, config: TrainConfig, epochs: int, post: Callable[[Report], None]) -> None:
        initial = self.resume_from
        final = initial + epochs
        history = [fake_metrics(epoch) for epoch in range(1, initial + 1)]
        post(
            TrainingStarted(
                run_id=FAKE_RUN_ID,
                config=config,
                summary=SEED_SUMMARY,
                device=FAKE_DEVICE,
                data_source=FAKE_SOURCE,
                train_samples=400,
                val_samples=100,
                batches_per_epoch=BATCHES,
                initial_epoch=initial,
                final_epoch=final,
                history=tuple(history),
            )
        )
        for epoch in range(initial + 1, final + 1):
            metrics = fake_metrics(epoch)
            for batch in range(2, BATCHES + 1, 2):
                lag = 1 - batch / BATCHES
                post(
                    BatchProgress(
                        FAKE_RUN_ID,
                        epoch,
                        batch,
                        BATCHES,
                        loss=metrics.loss + 0.3 * lag,
                        accuracy=metrics.accuracy - 0.1 * lag,
                        samples_per_second=1600.0,
                    )
                )
            while not self._ends.acquire(timeout=0.05):
                if self.shutting_down:
                    return
            history.append(metrics)
            self.epochs_done = epoch
            post(EpochEnded(FAKE_RUN_ID, metrics, final))
        post(TrainingFinished(FAKE_RUN_ID, tuple(history), 2.0 * epochs))
        self._evaluate(history, post)


def app_with(engine: ScriptedEngine) -> FmnistApp:
    return FmnistApp(engine=engine, runs_dir=missing_runs_dir(), cursor_blink=False)


async def start(pilot: Pilot[Any], epochs: int) -> None:
    """Through the Train dialog, as a user would; returns once the run has started."""
    app: Any = pilot.app
    await ask_to_train(pilot, epochs)
    await wait_for(pilot, lambda: app.state.live is not None, "the run to start")


async def epochs_shown(pilot: Pilot[Any], count: int) -> None:
    charts = list(pilot.app.query(MetricChart))
    await wait_for(
        pilot,
        lambda: all(len(c.validation_points) == count for c in charts),
        f"{count} epochs on the charts",
    )
    await charts_redrawn(pilot)


def check_every_chart(app: FmnistApp) -> None:
    for chart in app.query(MetricChart):
        assert_drawn_where_they_are(chart)


def test_points_sit_at_their_epochs_after_resizes() -> None:
    engine = SteppedEngine()

    async def scenario() -> None:
        app = app_with(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await start(pilot, 8)
            engine.end_epochs(3)
            await epochs_shown(pilot, 3)
            check_every_chart(app)
            for size in ((100, 30), (80, 24), (120, 40)):
                await pilot.resize_terminal(*size)
                await pilot.pause()
                await charts_redrawn(pilot)
                check_every_chart(app)
            engine.end_epochs(5)
            await epochs_shown(pilot, 8)
            check_every_chart(app)

    asyncio.run(scenario())


def test_an_epoch_that_ends_under_a_dialog_is_drawn_at_its_epoch() -> None:
    engine = SteppedEngine()

    async def scenario() -> None:
        app = app_with(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await start(pilot, 8)
            engine.end_epochs(3)
            await epochs_shown(pilot, 3)
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
            engine.end_epochs(1)
            await epochs_shown(pilot, 4)  # drawn on the chart timer, under the dialog
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), "no help")
            await charts_redrawn(pilot)
            check_every_chart(app)

    asyncio.run(scenario())


def test_a_resumed_run_draws_its_history_and_new_epochs_at_their_epochs() -> None:
    engine = SteppedEngine(resume_from=3)

    async def scenario() -> None:
        app = app_with(engine)
        async with app.run_test(size=(100, 30)) as pilot:
            await start(pilot, 5)
            await epochs_shown(pilot, 3)
            check_every_chart(app)
            engine.end_epochs(5)
            await epochs_shown(pilot, 8)
            check_every_chart(app)

    asyncio.run(scenario())


_TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+"[^>]*>([^<]*)</text>'
)


def test_a_screenshot_draws_each_point_at_its_own_cell() -> None:
    """An SVG screenshot draws each run of equally styled cells as one ``<text>`` at its first
    cell; viewers that ignore ``textLength`` (librsvg's ``rsvg-convert``) draw braille in a
    font whose advance is not one cell, so a point inside a run drifts from its epoch (4
    read as 3.6). Each point starts a ``<text>`` of its own, at the column the terminal
    draws it in."""
    engine = SteppedEngine()

    async def scenario() -> tuple[str, dict[str, list[tuple[int, int]]]]:
        app = app_with(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await start(pilot, 8)
            engine.end_epochs(8)
            await epochs_shown(pilot, 8)
            columns: dict[str, list[tuple[int, int]]] = {}
            for chart in app.query(MetricChart):
                drawn = read_chart(chart)
                for marker in (TRAIN, VALIDATION):
                    columns.setdefault(marker, []).extend(
                        (chart.region.x + column, chart.region.y + row)
                        for column, row in drawn.markers(marker)
                    )
            return app.export_screenshot(), columns

    svg, columns = asyncio.run(scenario())
    char_width = 12.2  # Rich's export: a 20 px font, 0.61 of it per cell
    starts: set[int] = set()
    for x, text in _TEXT.findall(svg):
        text = html.unescape(text)
        column = round(float(x) / char_width)
        for index, character in enumerate(text):
            if character in TRAIN + VALIDATION:
                assert index == 0, f"{character} inside the run {text!r} at column {column}"
                starts.add(column)
    drawn_columns = {column for points in columns.values() for column, _ in points}
    assert len(columns[VALIDATION]) >= 16, columns
    assert drawn_columns <= starts, (drawn_columns - starts, starts)
