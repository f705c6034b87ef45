"""Snapshots of the app at 80x24 and 120x40, driven by the scripted engine (no TensorFlow).

Regenerate after a deliberate change of the look:
``uv run pytest tests/app/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from helpers import charts_redrawn, wait_for
from textual.pilot import Pilot
from textual.widgets import Input
from tui_fakes import ScriptedEngine, missing_runs_dir

from tui.app import FmnistApp
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen
from tui.screens.train_dialog import TrainDialog
from tui.widgets.charts import MetricChart
from tui.widgets.mistakes_detail import MistakesDetail
from tui.widgets.mistakes_pane import MistakesPane

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[Any]], Awaitable[None]]


def make_app(engine: ScriptedEngine | None = None) -> FmnistApp:
    return FmnistApp(
        engine=engine or ScriptedEngine(), runs_dir=missing_runs_dir(), cursor_blink=False
    )


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until the capped-rate redraw has drawn every chart's latest points (each chart is
    redrawn on a timer, not when its data change), then for the frame that shows them."""
    await charts_redrawn(pilot)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, FmnistApp)
    await wait_for(pilot, lambda: app.state.data_description is not None)


async def train(pilot: Pilot[Any], epochs: int) -> None:
    await ready(pilot)
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TrainDialog))
    pilot.app.screen.query_one("#epochs", Input).value = str(epochs)
    await pilot.press("enter")


def trained(epochs: int, *keys: str) -> RunBefore:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, FmnistApp)
        await train(pilot, epochs)
        await wait_for(pilot, lambda: not app.state.training and app.state.shown is not None)
        await pilot.press(*keys)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_ready(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_training_in_progress(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    engine = ScriptedEngine(hold_in_epoch=3)

    async def run_before(pilot: Pilot[Any]) -> None:
        await train(pilot, 5)
        await wait_for(pilot, engine.holding.is_set)
        charts = list(pilot.app.query(MetricChart))
        # The engine holds after posting epoch 3's progress: wait until the app has it.
        await wait_for(
            pilot,
            lambda: all(c.train_points and c.train_points[-1][0] > 2 for c in charts),
            "epoch 3's progress on the charts",
        )
        await settle(pilot)

    assert snap_compare(make_app(engine), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_finished(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=trained(4))


@pytest.mark.parametrize("size", SIZES)
def test_mistakes_tab(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await trained(2, "2")(pilot)
        # From 120 columns the detail panel shows: wait for the explanation it asked for.
        if pilot.app.query_one(MistakesPane).detail_visible:
            detail = pilot.app.query_one(MistakesDetail)
            await wait_for(
                pilot,
                lambda: detail.subject is not None and detail.subject.explained is not None,
                "the explanation",
            )
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_confusion_tab(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=trained(2, "3"))


def test_dialog_with_an_invalid_epoch_count(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TrainDialog))
        await pilot.press("ctrl+u", "1", "0", "0", "1")

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_dialog_offers_to_continue(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await trained(2)(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TrainDialog))

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_help(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_error_screen(snap_compare: SnapCompare) -> None:
    engine = ScriptedEngine(fail_with="training diverged: loss became nan in epoch 1, batch 3")

    async def run_before(pilot: Pilot[Any]) -> None:
        await train(pilot, 2)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ErrorScreen))

    assert snap_compare(make_app(engine), terminal_size=(80, 24), run_before=run_before)


def test_too_small(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), terminal_size=(70, 20), run_before=ready)
