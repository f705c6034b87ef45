"""``4 Home r 1 Enter`` in one read (SSH, a fast typist) resumes the first saved run for one
epoch: the tab switch, the table's Home, the Resume dialog that ``r`` opens and the keys
typed into it all take effect in order."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from helpers import wait_for
from test_key_bursts import burst, settle
from textual import events
from textual.message import Message
from tui_fakes import ScriptedEngine, fake_evaluation, fake_metrics

import tui.app
from core.config import TrainConfig
from core.requests import ResumeRun
from core.runs.checkpoints import save_checkpoint
from core.runs.layout import MODEL_FILE, create_run_dir, save_evaluation, save_history
from tui.app import FmnistApp
from tui.screens.resume_dialog import ResumeDialog
from tui.widgets.inputs import NumberInput
from tui.widgets.runs_table import RunsTable


def stopped_run(runs: Path, second: int) -> Path:
    """A run planned for 5 epochs, stopped after 2, with its epoch-2 checkpoint."""
    config = TrainConfig(epochs=5)
    run_dir = create_run_dir(runs, config, now=datetime(2025, 1, 2, 3, 4, second))
    history = [fake_metrics(epoch) for epoch in (1, 2)]
    save_checkpoint(
        run_dir,
        config=config,
        history=history,
        planned_epochs=5,
        schedule_end=5,
        write_model=lambda path: path.write_bytes(b"not read"),
    )
    save_history(run_dir, history, status="stopped", planned_epochs=5)
    evaluation, images = fake_evaluation()
    save_evaluation(run_dir, evaluation, images, 394_530)
    (run_dir / MODEL_FILE).write_bytes(b"not read")
    return run_dir


class HandOverRecorder(FmnistApp):
    """The app, noting for each typed-ahead key the pacer hands over what it will meet: the
    screen on top, whether that has mounted, and the widget focused there."""

    # A relative CSS_PATH is read beside the subclass's module: name the app's own file.
    CSS_PATH = str(Path(tui.app.__file__).with_name("app.tcss"))

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.handed: list[tuple[str, str, bool, str]] = []

    def post_message(self, message: Message) -> bool:
        if isinstance(message, events.Key) and message is self._released:
            screen = self.screen
            focused = type(screen.focused).__name__ if screen.focused is not None else "-"
            self.handed.append((message.key, type(screen).__name__, screen.is_mounted, focused))
        return super().post_message(message)


def test_a_burst_through_the_runs_tab_into_the_resume_dialog(tmp_path: Path) -> None:
    """Each key of the burst is handed over only once what the one before set off has
    settled: ``r``'s binding posts ``RunsTable.ResumeRun``, the Runs tab pushes the dialog on
    that message, and the dialog mounts and focuses its field, in that order, after ``r``
    itself came back to the app.

    Mutation: the pacer's single check for a mounted screen before its drain (as it was)
    hands ``1`` over while the dialog is pushed but not mounted or focused; Textual's own
    scheduling then happened to deliver it to the field, but nothing made it.
    """
    runs = tmp_path / "runs"
    older = stopped_run(runs, 1)
    newest = stopped_run(runs, 2)
    engine = ScriptedEngine()
    app = HandOverRecorder(engine=engine, runs_dir=runs, cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one(RunsTable)
            await wait_for(pilot, lambda: table.row_count == 2, "the saved runs")
            await wait_for(pilot, lambda: app.state.engine_ready, "the engine")
            # Start elsewhere in the table, so that Home has a row to go back to.
            table.move_cursor(row=1)
            assert table.highlighted_run() is not None
            assert table.highlighted_run().path == older
            burst(app, "4", "home", "r", "1", "enter")
            await settle(pilot)
            await wait_for(
                pilot, lambda: any(isinstance(c, ResumeRun) for c in engine.received), "resume"
            )
            (resume,) = [c for c in engine.received if isinstance(c, ResumeRun)]
            assert (resume.run_dir, resume.epochs) == (newest, 1)
            assert not isinstance(app.screen, ResumeDialog)
            assert app.state.shown is None, "Enter opened the run instead"
            dialog = ("ResumeDialog", True, NumberInput.__name__)
            assert app.handed[1:] == [
                ("home", "MainScreen", True, "RunsTable"),
                ("r", "MainScreen", True, "RunsTable"),
                ("1", *dialog),
                ("enter", *dialog),
            ]

    asyncio.run(scenario())
