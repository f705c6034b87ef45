"""Pilot tests that drive the app: the real engine on small synthetic data (a second or two
of training), or the scripted engine where only the UI is under test; plus one end-to-end
run of the installed ``fmnist-tui`` in tmux on real data."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from helpers import fmnist_tui, reports, text_of, wait_for
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Log, RadioButton, Static, TabbedContent
from tui_fakes import ScriptedEngine, fake_metrics, missing_runs_dir, synthetic_loader

from core.config import TrainConfig
from core.data import DataError
from core.events import BatchProgress, EpochEnded, TrainingStopped
from core.requests import NewRun
from tui.app import FmnistApp
from tui.engine import Summarize, TrainingEngine
from tui.messages import Reported
from tui.reports import ExportFailed, ExportFinished
from tui.screens.confirm import ConfirmQuit
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen
from tui.screens.log_view import LogScreen
from tui.screens.train_dialog import TrainDialog
from tui.widgets.charts import MetricChart
from tui.widgets.confusion import ConfusionView
from tui.widgets.log_pane import LogPane
from tui.widgets.mistakes import MistakesView

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_TRAIN_IMAGES = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coroutine)


async def wait_for_screen(pilot: Pilot[Any], screen_type: type[Any], timeout: float = 30) -> None:
    """Wait until a screen of ``screen_type`` is on top and composed."""
    await wait_for(
        pilot, lambda: isinstance(pilot.app.screen, screen_type), "a screen", timeout=timeout
    )
    await pilot.pause()


def real_app(tmp_path: Path, **engine_args: Any) -> tuple[FmnistApp, TrainingEngine]:
    engine_args.setdefault("dataset_loader", synthetic_loader())
    engine = TrainingEngine(runs_root=tmp_path / "runs", **engine_args)
    app = FmnistApp(engine=engine, runs_dir=tmp_path / "runs", cursor_blink=False)
    return app, engine


def fake_app(engine: ScriptedEngine | None = None) -> tuple[FmnistApp, ScriptedEngine]:
    engine = engine or ScriptedEngine()
    return FmnistApp(engine=engine, runs_dir=missing_runs_dir(), cursor_blink=False), engine


async def start_training(pilot: Pilot[Any], epochs: int) -> None:
    """Open the dialog, type the epochs and press Enter."""
    await pilot.press("t")
    await wait_for_screen(pilot, TrainDialog, 5)
    pilot.app.screen.query_one("#epochs", Input).value = str(epochs)
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: not isinstance(pilot.app.screen, TrainDialog), "dismiss", timeout=5
    )


# --- Start-up and imports ------------------------------------------------------------------


@pytest.mark.slow
def test_importing_the_app_does_not_import_tensorflow() -> None:
    code = textwrap.dedent(
        """
        import sys, time
        start = time.perf_counter()
        import tui.app
        took = time.perf_counter() - start
        heavy = sorted(
            name for name in sys.modules
            if name.split(".")[0] in {"tensorflow", "keras", "matplotlib"}
            or name in {"core.training", "core.models", "core.pipeline", "core.export"}
        )
        print(heavy, round(took, 2))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    heavy, _took = result.stdout.rsplit(" ", 1)
    assert heavy == "[]", result.stdout


@pytest.mark.slow
def test_first_frame_comes_before_tensorflow(tmp_path: Path) -> None:
    """In a fresh interpreter: the first frame says TensorFlow is loading and it is not yet
    imported; then the device and the data source appear."""
    code = textwrap.dedent(
        """
        import asyncio, sys, time
        from pathlib import Path
        sys.path.insert(0, "tests")
        from tui_fakes import synthetic_loader
        from tui.app import FmnistApp
        from tui.engine import TrainingEngine

        async def main():
            start = time.perf_counter()
            engine = TrainingEngine(dataset_loader=synthetic_loader(), runs_root=Path(sys.argv[1]))
            app = FmnistApp(engine=engine, runs_dir=Path(sys.argv[1]), cursor_blink=False)
            async with app.run_test(size=(80, 24)) as pilot:
                first_frame = time.perf_counter() - start
                status = str(app.query_one("#status").render())
                print("FIRST", round(first_frame, 2), "tensorflow" in sys.modules, status)
                while app.state.data_description is None:
                    await pilot.pause(0.05)
                print("READY", app.state.device, "|", str(app.query_one("#status").render()))
                await pilot.press("q")

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    first = next(line for line in result.stdout.splitlines() if line.startswith("FIRST"))
    ready = next(line for line in result.stdout.splitlines() if line.startswith("READY"))
    _, seconds, tf_imported, status = first.split(" ", 3)
    assert tf_imported == "False"
    assert "Loading TensorFlow" in status
    assert float(seconds) < 5
    assert "CPU" in ready or "GPU" in ready
    assert "synthetic" in ready


# --- The training dialog -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("abc", "Epochs must be a whole number, got 'abc'"),
        ("0", "Epochs must be at least 1, got 0"),
        ("-3", "Epochs must be at least 1, got -3"),
        ("1001", "Epochs must be at most 1000, got 1001"),
        ("", "Epochs is required"),
    ],
)
def test_invalid_epochs_are_explained_and_not_submitted(typed: str, reason: str) -> None:
    app, engine = fake_app()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("t")
            await wait_for_screen(pilot, TrainDialog, 5)
            await pilot.press("ctrl+u", *typed)
            await pilot.press("enter")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, TrainDialog)
            error = dialog.query_one("#epochs-error", Static)
            assert error.display
            assert text_of(error) == reason
            assert dialog.query_one("#start").disabled
            assert not app.state.training
            assert not any(isinstance(c, NewRun) for c in engine.received)
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, TrainDialog)

    run(scenario())


def test_dialog_returns_the_choices_and_offers_to_continue() -> None:
    app, engine = fake_app()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await start_training(pilot, 2)
            await wait_for(pilot, lambda: not app.state.training and app.state.held is not None)
            train = next(c for c in engine.received if isinstance(c, NewRun))
            assert (train.config.epochs, train.config.model) == (2, "seed")
            await pilot.press("t")
            await wait_for_screen(pilot, TrainDialog, 5)
            assert "Continue 20260101-120000-seed (2 epochs done)" in str(
                app.screen.query_one("#mode-continue").render()
            )
            await pilot.press("ctrl+u", "3", "enter")  # the focus starts in Epochs
            await wait_for(pilot, lambda: not app.state.training and engine.epochs_done == 5)
            assert app.state.shown is not None
            assert [m.epoch for m in app.state.shown.history] == [1, 2, 3, 4, 5]

    run(scenario())


def test_dialog_early_stopping_field() -> None:
    """Blank or "off" trains every epoch; a number is the patience; anything else is
    explained; continuing a run keeps its own setting (the field is disabled)."""
    app, engine = fake_app()

    async def submit(pilot: Pilot[Any], patience: str) -> None:
        await pilot.press("t")
        await wait_for_screen(pilot, TrainDialog, 5)
        if app.state.held is not None:  # after a run the dialog offers to continue it
            app.screen.query_one("#mode-new", RadioButton).value = True
        app.screen.query_one("#patience", Input).value = patience
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await submit(pilot, "0")
            dialog = app.screen
            assert isinstance(dialog, TrainDialog)
            error = dialog.query_one("#patience-error", Static)
            assert text_of(error) == "Patience must be at least 1, got 0"
            assert not any(isinstance(c, NewRun) for c in engine.received)
            await pilot.press("escape")
            for typed, expected in (("3", 3), (" off ", None), ("", None)):
                await submit(pilot, typed)
                await wait_for(pilot, lambda: not app.state.training, timeout=10)
                last = [c for c in engine.received if isinstance(c, NewRun)][-1]
                assert last.config.patience == expected, typed
            await pilot.press("t")
            await wait_for_screen(pilot, TrainDialog, 5)
            assert app.screen.query_one("#patience", Input).disabled, "continuing is chosen"

    run(scenario())


# --- Training with the real engine ---------------------------------------------------------


@pytest.mark.slow
def test_two_epoch_run_updates_charts_history_and_saves(tmp_path: Path) -> None:
    # 1,600 training images: 50 batches an epoch, enough for progress inside each epoch.
    app, engine = real_app(tmp_path, dataset_loader=synthetic_loader(train=2000))
    seen: list[Message] = []

    async def scenario() -> None:
        async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
            await wait_for(pilot, lambda: app.state.data_description is not None, what="the data")
            summary = app.query_one("#summary")
            assert "394,530" in text_of(summary.query_one("#summary-body", Static))
            await start_training(pilot, 2)
            await wait_for(pilot, lambda: not app.state.training, what="the run to end")
            run_view = app.state.shown
            assert run_view is not None
            assert [m.epoch for m in run_view.history] == [1, 2]
            assert run_view.evaluation is not None
            accuracy, loss = app.query(MetricChart)
            for chart in (accuracy, loss):
                assert [x for x, _ in chart.validation_points] == [1.0, 2.0]
                # Fractional points arrived during the epochs, not only at their ends.
                assert any(x % 1 for x, _ in chart.train_points)
            test_accuracy = app.query_one("#test-accuracy", Static)
            assert test_accuracy.display
            assert re.fullmatch(r" ?Test accuracy: [01]\.\d{4} ?", text_of(test_accuracy))
            assert app.query_one(MistakesView).has_data
            assert run_view.run_dir is not None
            assert (run_view.run_dir / "model.keras").is_file()
            assert (run_view.run_dir / "history.json").is_file()

    run(scenario())
    events = reports(seen)
    assert any(isinstance(e, BatchProgress) for e in events)
    assert sum(isinstance(e, EpochEnded) for e in events) == 2
    assert engine.finished.is_set()


@pytest.mark.slow
def test_stop_keeps_what_was_learned(tmp_path: Path) -> None:
    app, engine = real_app(tmp_path)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await start_training(pilot, 500)
            await wait_for(
                pilot, lambda: bool(app.state.live and app.state.live.history), what="an epoch"
            )
            assert app.check_action("stop", ()) is True
            assert app.check_action("train", ()) is None
            await pilot.press("s")
            pressed = time.monotonic()
            await wait_for(
                pilot, lambda: app.state.live is not None and app.state.live.status == "stopped"
            )
            stop_seconds = time.monotonic() - pressed
            await wait_for(pilot, lambda: not app.state.training, what="evaluation")
            assert app.state.live is not None
            assert 1 <= len(app.state.live.history) < 500
            assert app.state.live.evaluation is not None
            assert app.check_action("stop", ()) is None
            assert app.check_action("train", ()) is True
            assert stop_seconds < 3

    run(scenario())
    assert engine.finished.is_set()


@pytest.mark.slow
def test_export_writes_pngs_into_the_run_folder(tmp_path: Path) -> None:
    app, _engine = real_app(tmp_path)
    seen: list[Message] = []

    async def scenario() -> None:
        async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
            assert app.check_action("export", ()) is None
            await start_training(pilot, 1)
            await wait_for(pilot, lambda: not app.state.training, what="the run")
            await pilot.press("e")
            await wait_for(pilot, lambda: any(isinstance(r, ExportFinished) for r in reports(seen)))

    run(scenario())
    finished = next(r for r in reports(seen) if isinstance(r, ExportFinished))
    names = sorted(p.name for p in finished.paths)
    assert names == [
        "confusion_matrix.png",
        "misclassified_examples.png",
        "training_validation_accuracy_loss.png",
    ]
    assert all(p.is_file() and p.stat().st_size > 0 for p in finished.paths)


@pytest.mark.slow
def test_quit_while_training_asks_then_exits_within_two_seconds(tmp_path: Path) -> None:
    app, engine = real_app(tmp_path)
    timings: dict[str, float] = {}

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await start_training(pilot, 500)
            await wait_for(
                pilot, lambda: bool(app.state.live and app.state.live.batches), what="training"
            )
            await pilot.press("q")
            await wait_for_screen(pilot, ConfirmQuit, 5)
            assert app.is_running
            await pilot.press("y")
            timings["pressed"] = time.monotonic()
        timings["exited"] = time.monotonic()

    run(scenario())
    assert engine.finished.wait(2)
    assert engine.thread is not None
    engine.thread.join(2)
    assert not engine.thread.is_alive()
    assert timings["exited"] - timings["pressed"] < 2
    history = (tmp_path / "runs" / os.listdir(tmp_path / "runs")[0] / "history.json").read_text()
    assert '"status": "stopped"' in history


def test_data_failure_shows_an_error_and_the_app_stays_usable(tmp_path: Path) -> None:
    def broken(config: TrainConfig) -> Any:
        raise DataError("missing file: /nowhere/train-images-idx3-ubyte(.gz)")

    app, _engine = real_app(tmp_path, dataset_loader=broken)
    app.log_path = tmp_path / "app.log"

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for_screen(pilot, ErrorScreen)
            screen = app.screen
            assert "missing file" in text_of(screen.query_one("#error-message", Static))
            assert str(tmp_path / "app.log") in text_of(screen.query_one("#error-log"))
            await pilot.press("escape")
            await pilot.press("1")
            assert not isinstance(app.screen, ErrorScreen)
            # Training without data fails politely, through the same error screen.
            await start_training(pilot, 1)
            await wait_for_screen(pilot, ErrorScreen)
            assert "cannot train" in text_of(app.screen.query_one("#error-message"))
            await wait_for(pilot, lambda: not app.state.training)

    run(scenario())


# --- UI only, with the scripted engine -----------------------------------------------------


def test_training_failure_shows_message_and_log_path(tmp_path: Path) -> None:
    app, _engine = fake_app(ScriptedEngine(fail_with="training diverged: loss became nan"))
    app.log_path = tmp_path / "x.log"

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await start_training(pilot, 2)
            await wait_for_screen(pilot, ErrorScreen, 5)
            assert "loss became nan" in text_of(app.screen.query_one("#error-message"))
            assert "x.log" in text_of(app.screen.query_one("#error-log"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: not app.state.training, timeout=5)
            await pilot.press("t")
            await wait_for_screen(pilot, TrainDialog, 5)

    run(scenario())


def test_mistakes_tab_fills_and_scrolls() -> None:
    app, _engine = fake_app()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await start_training(pilot, 1)
            await wait_for(pilot, lambda: not app.state.training, timeout=5)
            await pilot.press("2")
            await pilot.pause()
            assert app.query_one("#tabs", TabbedContent).active == "mistakes"
            view = app.query_one(MistakesView)
            assert app.focused is view
            assert len(view.examples) == 20
            assert view.max_scroll_y > 0
            await pilot.press("pagedown", "pagedown")
            await pilot.pause()
            assert view.scroll_y > 0
            assert view.cursor > 0

    run(scenario())


def test_choosing_a_confusion_cell_filters_the_mistakes() -> None:
    app, _engine = fake_app()

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await start_training(pilot, 1)
            await wait_for(pilot, lambda: not app.state.training, timeout=5)
            await pilot.press("3")
            await pilot.pause()
            table = app.query_one(ConfusionView).table
            assert app.focused is table
            true, predicted = table.cursor_coordinate
            assert true != predicted
            await pilot.press("enter")
            await pilot.pause()
            assert app.query_one("#tabs", TabbedContent).active == "mistakes"
            shown = app.query_one(MistakesView).examples
            assert shown
            assert {(m.true_label, m.predicted_label) for m in shown} == {(true, predicted)}

    run(scenario())


def test_export_to_an_unwritable_folder_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    app, _engine = fake_app(ScriptedEngine(run_dir=str(blocker / "run")))
    seen: list[Message] = []

    async def scenario() -> None:
        async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
            await start_training(pilot, 1)
            await wait_for(pilot, lambda: not app.state.training, timeout=5)
            await pilot.press("e")
            await wait_for(
                pilot, lambda: any(isinstance(r, ExportFailed) for r in reports(seen)), timeout=30
            )
            assert app.is_running

    run(scenario())
    failed = next(r for r in reports(seen) if isinstance(r, ExportFailed))
    assert str(blocker) in failed.message


def test_keys_dim_with_the_training_state() -> None:
    app, engine = fake_app(ScriptedEngine(hold_in_epoch=1))

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            assert app.check_action("train", ()) is True
            assert app.check_action("stop", ()) is None
            assert app.check_action("export", ()) is None
            await start_training(pilot, 3)
            await wait_for(pilot, engine.holding.is_set, timeout=5)
            assert app.check_action("train", ()) is None
            assert app.check_action("stop", ()) is True
            await pilot.press("t")
            assert not isinstance(app.screen, TrainDialog)
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.state.training, timeout=5)
            assert app.check_action("export", ()) is None  # stopped before an epoch ended

    run(scenario())


def test_stale_events_are_dropped() -> None:
    app, _engine = fake_app()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await start_training(pilot, 1)
            await wait_for(pilot, lambda: not app.state.training, timeout=5)
            assert app.state.shown is not None
            before = list(app.state.shown.history)
            app.post_message(Reported(TrainingStopped("some-old-run", (), 1.0)))
            await pilot.pause()
            assert app.state.shown.status == "finished"
            assert app.state.shown.history == before

    run(scenario())


def test_batch_progress_messages_coalesce() -> None:
    def progress(run_id: str, batch: int) -> Reported:
        return Reported(BatchProgress(run_id, 1, batch, 10, 1.0, 0.5, 100.0))

    assert progress("a", 1).can_replace(progress("a", 2))
    assert not progress("a", 1).can_replace(progress("b", 2))
    epoch_end = Reported(EpochEnded("a", fake_metrics(1), 3))
    assert not progress("a", 1).can_replace(epoch_end)
    assert not epoch_end.can_replace(progress("a", 2))


def test_below_the_minimum_size_a_notice_replaces_the_layout() -> None:
    app, _engine = fake_app()

    async def scenario() -> None:
        async with app.run_test(size=(70, 20)) as pilot:
            await pilot.pause()
            notice = app.query_one("#too-small", Static)
            assert notice.display and notice.region.width > 0
            assert "70x20" in text_of(notice)
            assert app.query_one("#tabs").region.width == 0
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            assert app.query_one("#too-small").region.width == 0
            assert app.query_one("#tabs").region.width == 80

    run(scenario())


def test_help_lists_every_key_and_palette_names_commands() -> None:
    app, engine = fake_app()

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            text = text_of(app.screen.query_one("#help-body Static", Static))
            for expected in ("Train", "Stop", "Export", "Quit", "Mistakes tab", "Export: PNGs"):
                assert expected in text
            await pilot.press("escape")
            titles = [str(c.title) for c in app.get_system_commands(app.screen)]
            assert "Export: PNGs" not in titles  # nothing to export yet: not offered
            assert "Train: start…" in titles
            assert "Model: use improved preset" in titles
            assert "Log: open" in titles
            await app.run_action("use_preset('improved')")
            await wait_for(pilot, lambda: Summarize("improved") in engine.received, timeout=5)
            assert app.state.model == "improved"

    run(scenario())


# --- End to end ----------------------------------------------------------------------------


def _tmux_has_session(session: str) -> bool:
    result = subprocess.run(["tmux", "has-session", "-t", session], capture_output=True)
    return result.returncode == 0


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
@pytest.mark.skipif(not DEBIAN_TRAIN_IMAGES.is_file(), reason="needs the Debian data set")
def test_end_to_end_in_tmux(tmp_path: Path) -> None:
    command = fmnist_tui()
    session = f"fmnist-e2e-{os.getpid()}"
    env_prefix = (
        f"FMNIST_RUNS_DIR={tmp_path / 'runs'} FMNIST_LOG_DIR={tmp_path / 'logs'} "
        "TERM=xterm-256color"
    )
    app_command = f"{env_prefix} {' '.join(command)} --limit-train 2000 --limit-test 500"

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", session)

    def wait_for_text(text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = screen()
            if text in shown:
                return shown
            time.sleep(0.5)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen()}")

    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", app_command)
    try:
        wait_for_text("Ready: press t", 120)
        tmux("send-keys", "-t", session, "t")
        wait_for_text("Enter starts", 10)
        tmux("send-keys", "-t", session, "C-u")
        tmux("send-keys", "-t", session, "1")
        tmux("send-keys", "-t", session, "Enter")
        shown = wait_for_text("Test accuracy", 180)
        # The idle line: until the run is saved and the engine idle, q asks first.
        wait_for_text("t train more", 60)
        tmux("send-keys", "-t", session, "2")
        mistakes = wait_for_text("predicted:", 10)
        from core.evaluation import CLASS_NAMES

        assert any(f"true: {name}" in mistakes for name in CLASS_NAMES), mistakes
        assert "Traceback" not in shown and "oneDNN" not in screen()
        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _tmux_has_session(session):
            time.sleep(0.2)
        assert not _tmux_has_session(session), "the app did not exit on q"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    logs = list((tmp_path / "logs").glob("*.log"))
    assert logs and "Test accuracy" in logs[0].read_text()


def test_a_saved_run_opens_from_the_runs_tab(tmp_path: Path) -> None:
    from tui_fakes import fake_evaluation

    from core.config import TrainConfig
    from core.runs.layout import create_run_dir, save_evaluation, save_history

    runs = tmp_path / "runs"
    run_dir = create_run_dir(runs, TrainConfig(epochs=3))
    history = [fake_metrics(epoch) for epoch in (1, 2, 3)]
    save_history(run_dir, history, status="finished", planned_epochs=3)
    evaluation, images = fake_evaluation()
    save_evaluation(run_dir, evaluation, images, 394_530)
    # Opening a run reads no model, but a run without one is listed as damaged.
    (run_dir / "model.keras").write_bytes(b"not read")
    app = FmnistApp(engine=ScriptedEngine(), runs_dir=runs, cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("4")
            await wait_for(pilot, lambda: app.query_one("#runs-table").row_count == 1, timeout=10)
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: app.state.shown is not None and app.state.shown.saved, timeout=10
            )
            assert app.query_one("#tabs", TabbedContent).active == "train"
            assert app.state.shown is not None
            assert [m.epoch for m in app.state.shown.history] == [1, 2, 3]
            accuracy = app.query_one("#accuracy-chart", MetricChart)
            assert [x for x, _ in accuracy.validation_points] == [1.0, 2.0, 3.0]
            assert text_of(app.query_one("#test-accuracy")).strip() == "Test accuracy: 0.8000"
            assert len(app.query_one(MistakesView).examples) == 20
            assert app.check_action("export", ()) is True

    run(scenario())


def test_an_engine_crash_becomes_an_error_screen() -> None:
    class Broken(ScriptedEngine):
        def serve(self, post: Any) -> None:
            raise RuntimeError("could not import TensorFlow: libcudart.so.12 missing")

    app, _engine = fake_app(Broken())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for_screen(pilot, ErrorScreen, 10)
            assert "libcudart" in text_of(app.screen.query_one("#error-message"))
            await pilot.press("escape")
            await pilot.press("2")
            assert app.query_one("#tabs", TabbedContent).active == "mistakes"

    run(scenario())


def test_the_log_screen_shows_the_log_file(tmp_path: Path) -> None:
    log = tmp_path / "fmnist.log"
    log.write_text("I0000 port.cc:153] oneDNN custom operations are on.\n")
    app, _engine = fake_app()
    app.log_path = log

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await ready_and_followed(pilot)
            await app.run_action("open_log")
            await pilot.pause()
            assert isinstance(app.screen, LogScreen)
            assert "oneDNN" in "\n".join(app.screen.query_one(Log).lines)
            await pilot.press("escape")
            # The log pane follows the file too, TensorFlow's lines dimmed among the app's.
            pane = app.query_one(LogPane)
            assert any("oneDNN" in line.text for line in pane.lines)

    async def ready_and_followed(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: app.state.data_description is not None, timeout=5)
        await pilot.pause(0.6)

    run(scenario())


def test_palette_commands_run_export_and_screenshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FMNIST_SCREENSHOT_DIR", str(tmp_path))
    app, _engine = fake_app(ScriptedEngine(run_dir=str(tmp_path / "run")))
    seen: list[Message] = []

    async def scenario() -> None:
        async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
            await start_training(pilot, 1)
            await wait_for(pilot, lambda: not app.state.training, timeout=5)
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Export: PNGs", "enter")
            await wait_for(
                pilot, lambda: any(isinstance(r, ExportFinished) for r in reports(seen)), timeout=30
            )
            await pilot.press("ctrl+s")
            await wait_for(pilot, (tmp_path / "screenshot-train.svg").is_file, timeout=5)

    run(scenario())
    assert (tmp_path / "run" / "confusion_matrix.png").is_file()


def test_charts_zoom_past_the_first_epoch_and_eta_reads_well() -> None:
    from tui.progress import estimate_eta, format_duration

    chart = MetricChart("accuracy")
    chart.add_batch(0.1, 0.12)
    assert chart._y_range() == (None, None)  # one epoch or less: plotext decides
    chart.add_epoch(fake_metrics(1))
    chart.add_batch(1.5, 0.86)
    chart.add_epoch(fake_metrics(2))
    low, high = chart._y_range()
    assert low is not None and high is not None
    assert 0.12 < low < 0.70 and high > 0.87
    assert format_duration(45) == "0:45" and format_duration(3723) == "1:02:03"
    by_rate = estimate_eta(
        epoch=1, batch=50, batches=100, final_epoch=2, samples_per_second=320.0, batch_size=32
    )
    assert by_rate == pytest.approx(15.0)  # 150 batches of 0.1 s
    by_epochs = estimate_eta(
        epoch=2,
        batch=50,
        batches=100,
        final_epoch=3,
        samples_per_second=320.0,
        batch_size=32,
        epoch_seconds=[20.0],
    )
    assert by_epochs == pytest.approx(30.0)


def test_running_points_redraw_a_chart_at_most_once_a_second_other_changes_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each chart redraw costs the training UI-thread time: new running points alone wait for
    ``BATCH_REDRAW_S`` since the last build; an epoch's end or a marker does not wait."""
    from tui.tabs.train import BATCH_REDRAW_S
    from tui.widgets import charts

    now = [100.0]
    monkeypatch.setattr(charts.time, "monotonic", lambda: now[0])
    chart = MetricChart("accuracy")
    chart.add_batch(0.1, 0.5)
    assert chart.flush(batch_interval=BATCH_REDRAW_S)  # first build: nothing drawn yet
    now[0] += BATCH_REDRAW_S / 2
    chart.add_batch(0.2, 0.6)
    assert not chart.flush(batch_interval=BATCH_REDRAW_S), "running points redrew too soon"
    now[0] += BATCH_REDRAW_S / 2
    assert chart.flush(batch_interval=BATCH_REDRAW_S), "the waiting points were never drawn"
    assert not chart.flush(batch_interval=BATCH_REDRAW_S), "nothing new, yet redrawn"
    now[0] += 0.1
    chart.add_epoch(fake_metrics(1))
    assert chart.flush(batch_interval=BATCH_REDRAW_S), "an epoch's end waited"
    now[0] += 0.1
    chart.set_marker(1)
    assert chart.flush(batch_interval=BATCH_REDRAW_S), "the early-stop marker waited"
    assert chart.validation_points == [(1.0, fake_metrics(1).val_accuracy)]


def test_the_apps_export_marks_the_early_stop_as_the_cli_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app and `fmnist-tui export` draw the same PNGs: an early-stopped run opened in the
    app exports with its early-stop marker (the app once dropped it)."""
    from tui_fakes import fake_evaluation

    from core import export
    from core.runs.catalogue import load_run
    from core.runs.layout import save_config, save_evaluation, save_history
    from tui.reports import RunLoaded

    run_dir = tmp_path / "20260101-120000-seed"
    run_dir.mkdir()
    history = [fake_metrics(epoch) for epoch in (1, 2, 3, 4)]
    early = {"stopped_epoch": 4, "best_epoch": 2}
    save_config(run_dir, TrainConfig(epochs=6, patience=2))
    save_history(run_dir, history, status="finished", planned_epochs=6, early_stopping=early)
    evaluation, images = fake_evaluation()
    save_evaluation(run_dir, evaluation, images, 394_530)
    (run_dir / "model.keras").write_bytes(b"unused by an export")
    drawn: list[object] = []
    real_plot = export.plot_history

    def plot_history(*args: Any, **kwargs: Any) -> Path:
        drawn.append(kwargs.get("early_stopping"))
        return real_plot(*args, **kwargs)

    monkeypatch.setattr(export, "plot_history", plot_history)
    app, _engine = fake_app()
    seen: list[Message] = []

    async def scenario() -> None:
        async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
            await wait_for(pilot, lambda: app.state.data_description is not None, timeout=10)
            app.post_message(Reported(RunLoaded(load_run(run_dir))))
            await wait_for(pilot, lambda: app.state.shown is not None, timeout=10)
            await pilot.press("e")
            await wait_for(
                pilot,
                lambda: any(isinstance(r, ExportFinished | ExportFailed) for r in reports(seen)),
                timeout=30,
            )

    run(scenario())
    assert drawn == [early]
    assert (run_dir / export.ACCURACY_LOSS_PNG).is_file()


def test_a_gpu_reading_shows_a_live_gpu_line() -> None:
    """On an NVIDIA box the engine's sampler posts a reading once a second; without a GPU no
    line is shown (the snapshots)."""
    from core.gpu import GpuSnapshot
    from tui.reports import GpuSampled

    app, _engine = fake_app()

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.data_description is not None, timeout=10)
            line = app.query_one("#gpu", Static)
            assert not line.display
            reading = GpuSnapshot(0, "NVIDIA H200", 87, 12_034.0, 143_771.0, 54, 12_034.0)
            app.post_message(Reported(GpuSampled(reading)))
            await wait_for(pilot, lambda: line.display, timeout=5)
            assert text_of(line).strip() == "GPU 0 NVIDIA H200: 87% · 12,034/143,771 MiB · 54 °C"

    run(scenario())
