"""The Mistakes tab: the misclassified test images of the run on show, as terminal pixels."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.widget import Widget

from tui.screens.help import key_rows
from tui.tabs.base import AppTab, HelpRow
from tui.widgets.mistakes import MistakesPane, MistakesView

if TYPE_CHECKING:
    from tui.state import AppState, Changes, RunView


class MistakesTab(AppTab):
    tab_id: ClassVar[str] = "mistakes"
    title: ClassVar[str] = "Mistakes"
    focus_selector: ClassVar[str] = "#mistakes-view"
    widgets: ClassVar[tuple[tuple[str, type[Widget]], ...]] = (("#mistakes-pane", MistakesPane),)
    help_title: ClassVar[str | None] = "Mistakes tab"

    def compose(self) -> ComposeResult:
        yield MistakesPane(id="mistakes-pane")

    @property
    def pane(self) -> MistakesPane:
        return self.widget("#mistakes-pane", MistakesPane)

    def show_run(self, run: RunView | None, state: AppState) -> None:
        if run is None or run.evaluation is None or run.test_images is None:
            self.pane.clear()
            return
        self.pane.set_data(run.evaluation, run.test_images)

    def apply(self, changes: Changes, state: AppState) -> None:
        if changes.evaluation:
            self.show_run(state.shown, state)

    def set_filter(self, true_label: int | None, predicted_label: int | None) -> None:
        self.pane.set_filter(true_label, predicted_label)

    def help_rows(self) -> list[HelpRow]:
        return key_rows(MistakesView.BINDINGS)
