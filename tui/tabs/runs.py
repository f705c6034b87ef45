"""The Runs tab: every saved run side by side; open one, resume it, overlay its curves on the
charts, sort them by any column, or delete one."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from core.compare import shared_settings, shared_text
from core.runs.catalogue import RunListing
from tui.messages import Reported
from tui.reports import (
    OverlayLoaded,
    RunDeleted,
    RunListed,
    RunLoaded,
    RunsListed,
    WorkFailed,
)
from tui.screens.confirm_delete import ConfirmDelete
from tui.screens.help import key_rows
from tui.screens.resume_dialog import ResumeDialog
from tui.tabs.base import AppTab, HelpRow, PaletteCommand, TabContext
from tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from tui.state import AppState, Changes

OPEN_FAILED = "The run could not be opened"
DELETE_FAILED = "The run could not be deleted"


class RunsTab(AppTab):
    tab_id: ClassVar[str] = "runs"
    title: ClassVar[str] = "Runs"
    focus_selector: ClassVar[str] = "#runs-table"
    widgets: ClassVar[tuple[tuple[str, type[Widget]], ...]] = (
        ("#runs-table", RunsTable),
        ("#runs-heading", Static),
        ("#runs-shared", Static),
    )
    help_title: ClassVar[str | None] = "Runs tab"
    # The heading is one line, the folder last: a long path is cut short rather than
    # wrapped out of view. The shared settings wrap onto a second line rather than be cut.
    DEFAULT_CSS = """
    #runs-heading {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #runs-shared {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    class ResumeRequested(Message):
        """Resume the run in ``path``: to its planned epochs, or ``epochs`` more."""

        def __init__(self, path: Path, epochs: int | None) -> None:
            super().__init__()
            self.path = path
            self.epochs = epochs

    def __init__(self, number: int, state: AppState, context: TabContext) -> None:
        super().__init__(number, state, context)
        self.runs_dir = context.runs_dir
        self._stale: set[str] = set()
        """Runs (by id) written while the tab was hidden: read again once it shows."""
        self._asked = 0
        """Listings asked for so far (a whole one or one run's), to put their answers in order."""
        self._whole_listing_asked = 0
        """Which of them asked for every run last: older answers are out of date."""

    def compose(self) -> ComposeResult:
        yield Static(f"Saved runs in {self.runs_dir}", id="runs-heading", markup=False)
        yield Static("", id="runs-shared", markup=False)
        yield RunsTable(id="runs-table")

    @property
    def table(self) -> RunsTable:
        return self.widget("#runs-table", RunsTable)

    # --- Listing ----------------------------------------------------------------------------

    def refresh_runs(self) -> None:
        """List every run folder again (in a thread); the listing replaces the one shown."""
        self._asked += 1
        self._whole_listing_asked = self._asked
        self._list_runs(self._asked)

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs", name="list runs")
    def _list_runs(self, asked: int) -> None:
        from core.errors import RunError
        from core.runs.catalogue import list_runs

        try:
            listings = list_runs(self.runs_dir)
        except RunError as error:
            self.post_message(Reported(WorkFailed("Saved runs could not be listed", str(error))))
            return
        if asked == self._whole_listing_asked:  # else a newer listing is on its way
            self.post_message(Reported(RunsListed(tuple(listings))))

    def refresh_run_on_show(self, run_id: str) -> None:
        """Read the run ``run_id`` again now if the tab is on show, else once it is shown.

        For the run being trained, after each epoch: only its folder is read (every run's
        would cost as much as all of them, every epoch), and not for a tab nobody looks at.
        """
        if self.display and self.is_attached:
            self._asked += 1
            self._read_run(self.runs_dir / run_id, self._asked)
        else:
            self._stale.add(run_id)

    @work(thread=True, exit_on_error=False, group="run", name="read a run")
    def _read_run(self, path: Path, asked: int) -> None:
        from core.runs.catalogue import listing_of

        if not path.is_dir():
            return  # trained into another runs folder than the one listed here
        listing = listing_of(path)
        # A whole listing asked for after this read would be overwritten by it: drop it.
        if asked > self._whole_listing_asked:
            self.post_message(Reported(RunListed(listing)))

    def on_show(self) -> None:
        stale, self._stale = self._stale, set()
        for run_id in sorted(stale):
            self.refresh_run_on_show(run_id)

    def apply(self, changes: Changes, state: AppState) -> None:
        if not changes.runs:
            return
        self.table.set_runs(state.runs)
        shared = shared_settings(state.runs)
        shared_line = self.widget("#runs-shared", Static)
        shared_line.display = bool(shared)
        label = "all" if len(state.runs) > 1 else "settings"
        shared_line.update(f"{label}: {shared_text(shared)}" if shared else "")
        self._draw_heading()

    def _draw_heading(self) -> None:
        count = len(self.table.listings)
        runs = f"{count} saved run{'s' if count != 1 else ''}"
        order = f" · by {self.table.sort_label} · Enter opens one" if count else ""
        self.widget("#runs-heading", Static).update(f"{runs}{order} · in {self.runs_dir}")

    @on(RunsTable.Sorted)
    def _sorted(self, message: RunsTable.Sorted) -> None:
        message.stop()
        self._draw_heading()

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
        from core.errors import RunError
        from core.runs.catalogue import load_run

        try:
            self.post_message(Reported(RunLoaded(load_run(path))))
        except RunError as error:
            self.post_message(Reported(WorkFailed(OPEN_FAILED, str(error))))

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
        from core.errors import RunError
        from core.runs.catalogue import load_run

        try:
            run = load_run(path)
        except RunError as error:
            self.post_message(Reported(WorkFailed(OPEN_FAILED, str(error))))
            return
        self.post_message(Reported(OverlayLoaded(path.name, run.history, run.config)))

    # --- Deleting ---------------------------------------------------------------------------

    @on(RunsTable.DeleteRun)
    def _delete_asked(self, message: RunsTable.DeleteRun) -> None:
        message.stop()
        run = message.run
        refusal = self.delete_refusal(run)
        if refusal is not None:
            self.notify(refusal, severity="warning")
            return
        self.app.push_screen(ConfirmDelete(run), partial(self._delete_chosen, run.path))

    def delete_refusal(self, run: RunListing) -> str | None:
        """Why ``run`` cannot be deleted now (``None``: it can, once the user says so)."""
        state = self.state
        live = state.live
        # Until a requested run has started, the run it trains may be this one (a resume).
        if state.training and (
            state.awaiting_run
            or live is None
            or live.run_id == run.path.name
            or live.run_dir == run.path
        ):
            return f"{run.path.name} is being trained: stop it (s) before deleting it"
        if run.status == "running":
            return f"{run.path.name} is being trained by another process"
        return None

    def _delete_chosen(self, path: Path, delete: bool | None) -> None:
        if delete:
            self._delete_run(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="delete", name="delete run")
    def _delete_run(self, path: Path) -> None:
        from core.errors import RunError
        from core.runs.delete import delete_run

        try:
            delete_run(path)
        except RunError as error:
            self.post_message(Reported(WorkFailed(DELETE_FAILED, str(error))))
            return
        # The state marks the listing stale, and the app lists the runs again.
        self.post_message(Reported(RunDeleted(path)))

    # --- Help and palette -------------------------------------------------------------------

    def help_rows(self) -> list[HelpRow]:
        return [("↑ / ↓", "Move"), *key_rows(RunsTable.BINDINGS)]

    def commands(self) -> list[PaletteCommand]:
        return [
            ("Run: open a saved run", "Pick a run on the Runs tab", "show_tab('runs')"),
            ("Runs: refresh", "Read the runs folder again", "refresh_runs"),
        ]
