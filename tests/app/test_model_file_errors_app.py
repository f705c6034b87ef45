"""A model file whose code raises, typed into the Train dialog's Model field: the app says so
in one line on its error screen, shows the user's own traceback in the log pane, writes it to
the log, saves nothing and stays usable. The real engine, on small synthetic data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from helpers import text_of, wait_for
from textual.widgets import Input
from tui_fakes import synthetic_loader

from tui.app import FmnistApp
from tui.engine import TrainingEngine
from tui.screens.error import ErrorScreen
from tui.screens.train_dialog import TrainDialog
from tui.widgets.log_pane import LogPane

RAISES = """\
import keras


def helper():
    raise RuntimeError("boom in their code")


def build_model():
    return helper()
"""


def squashed(text: str) -> str:
    """``text`` without whitespace: wrapped at any width, it reads the same."""
    return "".join(text.split())


def test_their_traceback_is_in_the_log_pane_and_the_error_screen_names_their_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine" / "raises.py"
    path.parent.mkdir()
    path.write_text(RAISES, encoding="utf-8")
    message = f"{path}, line 5: RuntimeError in build_model(): boom in their code"
    engine = TrainingEngine(runs_root=tmp_path / "runs", dataset_loader=synthetic_loader())
    app = FmnistApp(engine=engine, runs_dir=tmp_path / "runs", cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.data_description is not None, "the data")
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, TrainDialog), "the dialog")
            app.screen.query_one("#model", Input).value = str(path)
            app.screen.query_one("#epochs", Input).value = "1"
            await pilot.pause()
            assert app.screen.query_one("#model-error").display is False, "read, not run: valid"
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error")
            await pilot.pause()
            assert squashed(text_of(app.screen.query_one("#error-message"))) == squashed(message)
            # Every line the pane holds (wrapped at its width), scrolled into view or not.
            pane = squashed("".join(strip.text for strip in app.query_one(LogPane).lines))
            assert squashed(message) in pane
            # Their traceback, from their own frame on, as Python prints it.
            traceback = squashed(
                f"""Traceback (most recent call last):
                File "{path}", line 9, in build_model
                    return helper()
                File "{path}", line 5, in helper
                    raise RuntimeError("boom in their code")
                RuntimeError: boom in their code"""
            )
            assert traceback in pane.replace("^", ""), pane
            assert "model_files.py" not in pane, "none of our frames"
            await pilot.press("escape")
            await wait_for(pilot, lambda: not app.state.training, "the engine idle")
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, TrainDialog), "usable")

    asyncio.run(scenario())
    assert engine.finished.is_set()
    # The engine writes it to its stderr, which is the log file while the app runs.
    assert f'File "{path}", line 5, in helper' in capfd.readouterr().err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
