"""Terminal conditions: resizing mid-run, sizes far below the minimum, and ``NO_COLOR``.

The scripted engine stands in for TensorFlow; a run holds half-way through epoch 2 so that
everything happens while training is in progress, with one finished epoch on the charts.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from helpers import charts_redrawn, text_of, wait_for
from rich.terminal_theme import SVG_EXPORT_THEME
from textual.pilot import Pilot
from textual.widgets import Footer, Input, Static
from tui_fakes import ScriptedEngine, missing_runs_dir

from tui.app import MIN_HEIGHT, MIN_WIDTH, FmnistApp
from tui.screens.train_dialog import TrainDialog
from tui.widgets.charts import MetricChart

EPOCHS = 3
HELD_EPOCH = 2


def held_app() -> tuple[FmnistApp, ScriptedEngine]:
    engine = ScriptedEngine(hold_in_epoch=HELD_EPOCH)
    return FmnistApp(engine=engine, runs_dir=missing_runs_dir(), cursor_blink=False), engine


async def open_dialog(pilot: Pilot[Any]) -> TrainDialog:
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TrainDialog), "the dialog")
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, TrainDialog)
    return dialog


async def train_until_held(pilot: Pilot[Any], engine: ScriptedEngine) -> None:
    dialog = await open_dialog(pilot)
    dialog.query_one("#epochs", Input).value = str(EPOCHS)
    await pilot.press("enter")
    await wait_for(pilot, engine.holding.is_set, "the run to reach the middle of epoch 2")


def drawn_run(app: FmnistApp) -> dict[str, str]:
    """At 80x24 or more: the tabs fill the screen and the charts and the progress are drawn.

    Returns what the progress line and the charts show.
    """
    width, height = app.size
    assert app.query_one("#too-small").region.width == 0
    assert app.query_one("#tabs").region.size == (width, height - 2)  # header and footer
    shown = {"progress": text_of(app.query_one("#progress"), "\n")}
    assert f"Epoch {HELD_EPOCH}/{EPOCHS}" in shown["progress"]
    for chart in app.query(MetricChart):
        assert chart.region.width >= 20 and chart.region.height >= 6
        drawn = shown[chart.metric] = text_of(chart, "\n")
        assert f"{chart.title} by epoch" in drawn
        assert "train" in drawn and "validation" in drawn
        assert [x for x, _ in chart.validation_points] == [1.0]
    return shown


SIZES = [
    (200, 60),
    (60, 20),
    (80, 24),
    (120, 40),
    (79, 24),
    (80, 23),
    (30, 8),
    (200, 60),
    (1, 1),
    (119, 35),
    (80, 24),
]
"""Up, down below the minimum, to the breakpoints and one cell either side, to a single
cell, and back to the minimum."""


@pytest.mark.slow
def test_resizing_during_training_never_breaks_the_layout() -> None:
    app, engine = held_app()
    screens: list[str] = []

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await train_until_held(pilot, engine)
            await charts_redrawn(pilot)
            before = drawn_run(app)
            assert "●" in before["accuracy"], "the finished epoch's validation point"
            for width, height in SIZES:
                await pilot.resize_terminal(width, height)
                await pilot.pause()
                assert app.size == (width, height)
                screens.append(app.export_screenshot())  # the whole screen renders
                notice = app.query_one("#too-small", Static)
                if width < MIN_WIDTH or height < MIN_HEIGHT:
                    assert notice.region.width == width and notice.region.height > 0
                    assert app.query_one("#tabs").region.width == 0
                    if width >= 60:
                        assert "needs a terminal of at least 80x24" in text_of(notice, "\n")
                else:
                    await pilot.pause(0.3)
                    drawn_run(app)
            # Quick resizes without waiting for each: only the last one counts.
            for width, height in [(60, 20), (150, 50), (70, 30), (80, 24)]:
                await pilot.resize_terminal(width, height)
            await pilot.pause(0.3)
            assert drawn_run(app) == before, "back at 80x24, the same screen as before"
            assert app.state.training and app.is_running
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.state.training, "the stopped run to be evaluated")
            assert app.state.live is not None and app.state.live.status == "stopped"

    asyncio.run(scenario())
    assert len(screens) == len(SIZES)


def test_the_dialog_survives_a_resize_below_the_minimum() -> None:
    app, engine = held_app()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            dialog = await open_dialog(pilot)
            await pilot.press("ctrl+u", "2")
            await pilot.resize_terminal(60, 20)
            await pilot.resize_terminal(200, 60)
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            assert app.screen is dialog
            assert app.focused is dialog.query_one("#epochs", Input)
            await pilot.press("enter")
            await wait_for(pilot, engine.holding.is_set, "the run to start")
            assert app.state.live is not None and app.state.live.final_epoch == 2

    asyncio.run(scenario())


def test_the_too_small_notice_says_training_goes_on_only_while_it_does() -> None:
    app, engine = held_app()
    seen: dict[str, str] = {}

    def notice() -> str:
        return text_of(app.query_one("#too-small", Static), "\n")

    async def scenario() -> None:
        async with app.run_test(size=(70, 20)) as pilot:
            await wait_for(pilot, lambda: app.state.engine_ready, "the engine to be ready")
            await pilot.pause()
            seen["idle"] = notice()
            await pilot.resize_terminal(80, 24)
            await train_until_held(pilot, engine)
            await pilot.resize_terminal(70, 20)
            await pilot.pause()
            seen["training"] = notice()
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.state.training, "the stopped run to end")
            await wait_for(pilot, lambda: "goes on" not in notice(), "the notice to follow")
            seen["stopped"] = notice()

    asyncio.run(scenario())
    assert "This one is 70x20" in seen["idle"] and "goes on" not in seen["idle"]
    assert "Training goes on meanwhile" in seen["training"]
    assert seen["stopped"].rstrip().endswith("q quits.") and "70x20" in seen["stopped"]


def test_after_a_resize_the_notice_and_footer_follow_the_new_size() -> None:
    app, _engine = held_app()
    seen: dict[str, object] = {}

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            seen["compact at 80 columns"] = app.query_one(Footer).compact
            await pilot.resize_terminal(60, 20)
            await pilot.pause()
            seen["notice at 60x20"] = text_of(app.query_one("#too-small"), "\n")
            await pilot.resize_terminal(130, 40)
            await pilot.pause()
            seen["compact at 130 columns"] = app.query_one(Footer).compact

    asyncio.run(scenario())
    assert "This one is 60x20" in str(seen["notice at 60x20"])
    assert seen["compact at 80 columns"] is True
    assert seen["compact at 130 columns"] is False


# --- NO_COLOR ----------------------------------------------------------------------------------

HEX_COLOUR = re.compile(r"#([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})\b")
THEME_DEFAULTS = {
    SVG_EXPORT_THEME.foreground_color.hex.lower(),
    SVG_EXPORT_THEME.background_color.hex.lower(),
}
"""What the SVG export uses for "no colour set": the terminal's own foreground and background."""


def colours_in(svg: str) -> set[str]:
    """The colours that the app's cells are drawn in, from an ``export_screenshot`` SVG.

    The window's three traffic-light buttons are decoration of the export, not the app.
    """
    cells = re.sub(r"<circle[^>]*/>", "", svg)
    return {match.group(0).lower() for match in HEX_COLOUR.finditer(cells)} - THEME_DEFAULTS


def is_grey(colour: str) -> bool:
    red, green, blue = colour[1:3], colour[3:5], colour[5:7]
    return red == green == blue


async def screenshot_mid_run(app: FmnistApp, engine: ScriptedEngine) -> dict[str, str]:
    async with app.run_test(size=(120, 40)) as pilot:
        await train_until_held(pilot, engine)
        await charts_redrawn(pilot)
        shown = {
            "svg": app.export_screenshot(),
            "progress": text_of(app.query_one("#progress"), "\n"),
            "summary": text_of(app.query_one("#summary-body"), "\n"),
            "charts": "\n".join(text_of(chart, "\n") for chart in app.query(MetricChart)),
        }
        await pilot.press("s")
        await wait_for(pilot, lambda: not app.state.training, "the run to stop")
    return shown


def test_no_color_draws_in_greys_and_still_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured_app, coloured_engine = held_app()
    coloured = asyncio.run(screenshot_mid_run(coloured_app, coloured_engine))
    monkeypatch.setenv("NO_COLOR", "1")  # read when the app is constructed
    app, engine = held_app()
    assert app.no_color

    shown = asyncio.run(screenshot_mid_run(app, engine))

    # The check can see colour: the same screen with colour has some.
    assert any(not is_grey(c) for c in colours_in(coloured["svg"]))
    not_grey = sorted(c for c in colours_in(shown["svg"]) if not is_grey(c))
    assert not_grey == [], f"colours drawn under NO_COLOR: {not_grey}"
    assert f"Epoch {HELD_EPOCH}/{EPOCHS}" in shown["progress"]
    assert "Trainable 394,530" in " ".join(shown["summary"].split())
    assert "Accuracy by epoch" in shown["charts"] and "Loss by epoch" in shown["charts"]
    # Train and validation tell apart without colour: validation points carry a marker.
    assert "train" in shown["charts"] and "validation" in shown["charts"]
    assert shown["charts"].count("●") >= 2
