"""Keys that arrive several to a read (SSH, a fast typist, a paste) take effect in order.

``pilot.press`` waits for the app to go idle after every key, which hides the problem; these
tests post a whole burst to the app at once, as the terminal driver does with one read.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import finish_a_run, wait_for
from textual import events
from textual._xterm_parser import XTermParser
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input
from tui_fakes import ScriptedEngine, missing_runs_dir

from core.requests import NewRun
from core.runs.catalogue import RunListing
from tui.app import FmnistApp
from tui.keys import PacedKeysApp
from tui.screens.resume_dialog import ResumeDialog
from tui.screens.train_dialog import TrainDialog
from tui.widgets.inputs import OrderedInput
from tui.widgets.mistakes import MistakesView


def burst(app: App[Any], *keys: str) -> None:
    """Hand the app ``keys`` in one go, without letting it run in between."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


def paced_app(engine: ScriptedEngine) -> FmnistApp:
    return FmnistApp(engine=engine, runs_dir=missing_runs_dir(), cursor_blink=False)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every key of the burst has taken effect, the last one too (waiting only for
    the queue to empty once left the last key in flight: the test then failed under load)."""
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app, "keys_pending", 0) == 0, "keys", timeout=10)
    await pilot.pause()


# --- One field -------------------------------------------------------------------------------


class OneField(PacedKeysApp[None]):
    def __init__(self, value: str, *, select_on_focus: bool) -> None:
        super().__init__()
        self.value = value
        self.select_on_focus = select_on_focus

    def compose(self) -> ComposeResult:
        yield OrderedInput(self.value, select_on_focus=self.select_on_focus)


@pytest.mark.parametrize(
    ("value", "select_on_focus", "keys", "expected"),
    [
        ("ac", False, ["left", "x"], "axc"),
        ("12", True, ["backspace", "5"], "5"),
        ("12", False, ["backspace", "backspace", "4"], "4"),
        ("12", False, ["home", "9", "end", "0"], "9120"),
        ("abc", False, ["left", "left", "delete", "x"], "axc"),
    ],
)
def test_editing_keys_keep_their_place_in_a_burst(
    value: str, select_on_focus: bool, keys: list[str], expected: str
) -> None:
    async def scenario() -> None:
        app = OneField(value, select_on_focus=select_on_focus)
        async with app.run_test() as pilot:
            await pilot.pause()
            burst(app, *keys)
            await settle(pilot)
            assert app.query_one(OrderedInput).value == expected

    asyncio.run(scenario())


def test_ordered_input_alone_keeps_order_without_the_paced_app() -> None:
    """The field is right on its own, in any app: its own bindings run as the key arrives."""

    class Plain(App[None]):
        def compose(self) -> ComposeResult:
            yield OrderedInput("12", select_on_focus=False)

    async def scenario() -> None:
        app = Plain()
        async with app.run_test() as pilot:
            await pilot.pause()
            burst(app, "backspace", "backspace", "4", "left", "x")
            for _ in range(5):
                await pilot.pause()
            assert app.query_one(OrderedInput).value == "x4"

    asyncio.run(scenario())


# --- The Train dialog, in the app ------------------------------------------------------------


async def open_dialog_by_burst(pilot: Pilot[Any]) -> TrainDialog:
    burst(pilot.app, "t")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TrainDialog), "the dialog")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TrainDialog)
    return pilot.app.screen


def field(dialog: TrainDialog, name: str) -> Input:
    return dialog.query_one(f"#{name}", Input)


def test_train_dialog_fields_take_bursts() -> None:
    engine = ScriptedEngine()

    async def scenario() -> None:
        app = paced_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            dialog = await open_dialog_by_burst(pilot)
            burst(app, "1", "2")
            await settle(pilot)
            assert field(dialog, "epochs").value == "12"
            burst(app, "backspace", "backspace", "4")
            await settle(pilot)
            assert field(dialog, "epochs").value == "4"
            # Tab leaves the field before the digits arrive; the next field's value is
            # selected on focus, so the digits replace it. Batch size follows Epochs.
            burst(app, "tab", "6", "4")
            await settle(pilot)
            assert field(dialog, "epochs").value == "4"
            assert field(dialog, "batch-size").value == "64"
            burst(app, "tab", "tab", "3", "left", "1", "enter")
            await settle(pilot)
            await wait_for(pilot, lambda: any(isinstance(c, NewRun) for c in engine.received))
            (train,) = [c for c in engine.received if isinstance(c, NewRun)]
            assert (train.config.epochs, train.config.batch_size) == (4, 64)
            assert train.config.patience == 13

    asyncio.run(scenario())


def test_keys_typed_while_the_dialog_opens_go_into_it() -> None:
    """``t 3 Enter`` in one read trains for 3 epochs, not the default 10."""
    engine = ScriptedEngine()

    async def scenario() -> None:
        app = paced_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            burst(app, "t", "3", "enter")
            await settle(pilot)
            await wait_for(pilot, lambda: any(isinstance(c, NewRun) for c in engine.received))
            (train,) = [c for c in engine.received if isinstance(c, NewRun)]
            assert train.config.epochs == 3
            assert app.query_one("#tabs").active == "train"  # type: ignore[attr-defined]

    asyncio.run(scenario())


def test_enter_typed_before_the_terminal_was_set_up_still_starts_the_run() -> None:
    """``t 3 Enter`` typed while the app starts: the terminal, still in its cooked mode, has
    turned Enter into a newline, which Textual's own parser reads as ``ctrl+j``."""
    engine = ScriptedEngine()
    typed_ahead = list(XTermParser().feed("t3\n"))  # what the driver reads from the tty
    assert [key.key for key in typed_ahead] == ["t", "3", "ctrl+j"]  # type: ignore[attr-defined]

    async def scenario() -> None:
        app = paced_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            for key in typed_ahead:
                app.post_message(key)
            await settle(pilot)
            await wait_for(pilot, lambda: any(isinstance(c, NewRun) for c in engine.received))
            (train,) = [c for c in engine.received if isinstance(c, NewRun)]
            assert train.config.epochs == 3
            assert not isinstance(app.screen, TrainDialog)

    asyncio.run(scenario())


def test_the_app_itself_paces_typed_ahead_keys() -> None:
    assert issubclass(FmnistApp, PacedKeysApp)
    engine = ScriptedEngine()

    async def scenario() -> None:
        app = FmnistApp(engine=engine, runs_dir=missing_runs_dir(), cursor_blink=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            burst(app, "t", "3", "enter")
            await wait_for(pilot, lambda: any(isinstance(c, NewRun) for c in engine.received))
            (train,) = [c for c in engine.received if isinstance(c, NewRun)]
            assert train.config.epochs == 3

    asyncio.run(scenario())


def test_keys_after_a_tab_key_go_to_the_tab_shown() -> None:
    """A tab is focused just after the frame that shows it; ``2 j j`` in one read still moves
    the Mistakes cursor twice, and ``2 1 2 j`` ends there too, focused."""
    engine = ScriptedEngine()

    async def scenario() -> None:
        app = paced_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await finish_a_run(pilot, 2)
            view = app.query_one(MistakesView)
            await pilot.press("2")
            await pilot.press("j")
            step = view.cursor  # one row down, typed slowly
            assert step > 0
            view.move_cursor(0)
            await pilot.press("1")
            burst(app, "2", "j", "j")
            await settle(pilot)
            assert app.focused is view
            assert view.cursor == 2 * step
            burst(app, "1", "2", "1", "2", "j")
            await settle(pilot)
            assert app.main.active_tab == "mistakes"
            assert app.focused is view
            assert view.cursor == 3 * step

    asyncio.run(scenario())


# --- The Resume dialog -----------------------------------------------------------------------


class ResumeHost(PacedKeysApp[None]):
    def __init__(self, run: RunListing) -> None:
        super().__init__()
        self.run_listing = run
        self.results: list[int | None] = []

    def on_mount(self) -> None:
        self.push_screen(ResumeDialog(self.run_listing), self.results.append)


def test_resume_dialog_field_takes_a_burst(tmp_path: Path) -> None:
    run = RunListing(
        path=tmp_path / "run-20260101-120000",
        started=datetime(2026, 1, 1, 12),
        model="seed",
        epochs=3,
        status="stopped",
        test_accuracy=None,
        best_val_accuracy=0.8,
        planned_epochs=10,
        resumable=True,
        checkpoint_epoch=3,
    )

    async def scenario() -> None:
        app = ResumeHost(run)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ResumeDialog), "the dialog")
            await settle(pilot)
            field = app.screen.query_one("#resume-epochs", Input)
            assert field.value == "7"
            burst(app, "1", "2", "backspace", "backspace", "4", "enter")
            await settle(pilot)
            await wait_for(pilot, lambda: bool(app.results), "a result")
            assert app.results == [4]

    asyncio.run(scenario())
