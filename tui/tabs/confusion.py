"""The Confusion tab: the confusion matrix of the run on show; Enter shows a cell's mistakes."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.widget import Widget

from tui.screens.help import key_rows
from tui.tabs.base import AppTab, HelpRow
from tui.widgets.confusion import ConfusionTable, ConfusionView

if TYPE_CHECKING:
    from tui.state import AppState, Changes, RunView


class ConfusionTab(AppTab):
    tab_id: ClassVar[str] = "confusion"
    title: ClassVar[str] = "Confusion"
    focus_selector: ClassVar[str] = "#confusion-table"
    widgets: ClassVar[tuple[tuple[str, type[Widget]], ...]] = (("#confusion-view", ConfusionView),)
    help_title: ClassVar[str | None] = "Confusion tab"

    def compose(self) -> ComposeResult:
        yield ConfusionView(id="confusion-view")

    @property
    def view(self) -> ConfusionView:
        return self.widget("#confusion-view", ConfusionView)

    def show_run(self, run: RunView | None, state: AppState) -> None:
        if run is None or run.evaluation is None:
            self.view.clear()
            return
        self.view.set_data(run.evaluation)

    def apply(self, changes: Changes, state: AppState) -> None:
        if changes.evaluation:
            self.show_run(state.shown, state)

    def help_rows(self) -> list[HelpRow]:
        return [("arrows", "Move"), *key_rows(ConfusionTable.BINDINGS)]
