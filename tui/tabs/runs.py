"""The Runs tab: every saved run; open one, resume it, or overlay its curves on the charts."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from core.runs import RunListing
from tui.messages import OverlayLoaded, RunLoaded, RunLoadFailed, RunsListed
from tui.screens.help import key_rows
from tui.screens.resume_dialog import ResumeDialog
from tui.tabs.base import AppTab, Command, HelpRow, TabContext
from tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from tui.state import AppState


class RunsTab(AppTab):
    tab_id: ClassVar[str] = "runs"
    title: ClassVar[str] = "Runs"
    focus_selector: ClassVar[str] = "#runs-table"
    widgets: ClassVar[tuple[tuple[str, type[Widget]], ...]] = (
        ("#runs-table", RunsTable),
        ("#runs-heading", Static),
    )
    help_title: ClassVar[str | None] = "Runs tab"

    class ResumeRequested(Message):
        """Resume the run in ``path``: to its planned epochs, or ``epochs`` more."""

        def __init__(self, path: Path, epochs: int | None) -> None:
            super().__init__()
            self.path = path
            self.epochs = epochs

    def __init__(self, number: int, state: AppState, context: TabContext) -> None:
        super().__init__(number, state, context)
        self.runs_dir = context.runs_dir

    def compose(self) -> ComposeResult:
        yield Static(f"Saved runs in {self.runs_dir}", id="runs-heading", markup=False)
        yield RunsTable(id="runs-table")

    @property
    def table(self) -> RunsTable:
        return self.widget("#runs-table", RunsTable)

    # --- Listing ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs", name="list runs")
    def refresh_runs(self) -> None:
        from core.runs import RunError, list_runs

        try:
            listings = list_runs(self.runs_dir)
        except RunError as error:
            self.post_message(RunLoadFailed(str(error), "Saved runs could not be listed"))
            return
        self.post_message(RunsListed(listings))

    def on_runs_listed(self, message: RunsListed) -> None:
        message.stop()
        self.table.set_runs(message.listings)
        count = len(message.listings)
        self.widget("#runs-heading", Static).update(
            f"{count} saved run{'s' if count != 1 else ''} in {self.runs_dir}"
            + (" · Enter opens one" if count else "")
        )

    # --- Opening, resuming, overlaying ------------------------------------------------------

    @on(RunsTable.OpenRun)
    def _open_run(self, message: RunsTable.OpenRun) -> None:
        message.stop()
        if self.state.training:
            self.notify("Stop training before opening another run", severity="warning")
            return
        self._load_run(message.path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load", name="open run")
    def _load_run(self, path: Path) -> None:
        from core.runs import RunError, load_run

        try:
            self.post_message(RunLoaded(load_run(path)))
        except RunError as error:
            self.post_message(RunLoadFailed(str(error)))

    @on(RunsTable.ResumeRun)
    def _resume_run(self, message: RunsTable.ResumeRun) -> None:
        message.stop()
        run: RunListing = message.run
        if self.state.training:
            self.notify("Stop training before resuming another run", severity="warning")
        elif run.resume_refusal is not None:
            self.notify(run.resume_refusal, severity="warning")
        elif run.unevaluated:
            # Trained, but never evaluated (killed at the end): nothing to ask.
            self.post_message(self.ResumeRequested(run.path, None))
        else:
            self.app.push_screen(ResumeDialog(run), partial(self._resume_chosen, run.path))

    def _resume_chosen(self, path: Path, epochs: int | None) -> None:
        if epochs is not None:
            self.post_message(self.ResumeRequested(path, epochs))

    @work(thread=True, exclusive=True, exit_on_error=False, group="overlay", name="overlay run")
    def load_overlay(self, path: Path) -> None:
        from core.runs import RunError, load_run

        try:
            run = load_run(path)
        except RunError as error:
            self.post_message(RunLoadFailed(str(error)))
            return
        self.post_message(OverlayLoaded(path.name, run.history))

    # --- Help and palette -------------------------------------------------------------------

    def help_rows(self) -> list[HelpRow]:
        return [("↑ / ↓", "Move"), *key_rows(RunsTable.BINDINGS)]

    def commands(self) -> list[Command]:
        return [
            ("Run: open a saved run", "Pick a run on the Runs tab", "show_tab('runs')"),
            ("Runs: refresh", "Read the runs folder again", "refresh_runs"),
        ]
