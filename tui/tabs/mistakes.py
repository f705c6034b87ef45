"""The Mistakes tab: the test examples of the run on show, as terminal pixels; at first its
misclassified ones, on request the correct ones (Enter on the Confusion tab's diagonal, ``c``).
Beside the gallery, why the highlighted one was classified so (``i`` shows or hides it): its
explanation is asked of the engine through the app, and drawn once the state holds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget

from tui.screens.help import key_rows
from tui.tabs.base import AppTab, HelpRow, TabContext
from tui.widgets.mistakes import MistakesView
from tui.widgets.mistakes_detail import DetailSubject, MistakesDetail
from tui.widgets.mistakes_list import Example
from tui.widgets.mistakes_pane import MistakesPane

if TYPE_CHECKING:
    from tui.state import AppState, Changes, RunView


def images_available(run: RunView) -> npt.NDArray[np.bool_] | None:
    """Which of ``run``'s test images it holds; None: every one.

    A run trained in this session holds the whole test set, and so does a run saved with
    every image. A run saved by an older version kept only its misclassified images.
    """
    evaluation = run.evaluation
    if run.images_complete or evaluation is None:
        return None
    return np.asarray(evaluation.predictions != evaluation.labels)


class MistakesTab(AppTab):
    tab_id: ClassVar[str] = "mistakes"
    title: ClassVar[str] = "Mistakes"
    focus_selector: ClassVar[str] = "#mistakes-view"
    widgets: ClassVar[tuple[tuple[str, type[Widget]], ...]] = (
        ("#mistakes-pane", MistakesPane),
        ("#mistakes-detail-panel", MistakesDetail),
    )
    help_title: ClassVar[str | None] = "Mistakes tab"

    class ExplainWanted(Message):
        """The highlighted test example of the run on show wants explaining."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, number: int, state: AppState, context: TabContext) -> None:
        super().__init__(number, state, context)
        self._highlighted: Example | None = None

    def compose(self) -> ComposeResult:
        yield MistakesPane(id="mistakes-pane")

    @property
    def pane(self) -> MistakesPane:
        return self.widget("#mistakes-pane", MistakesPane)

    @property
    def detail(self) -> MistakesDetail:
        return self.widget("#mistakes-detail-panel", MistakesDetail)

    def show_run(self, run: RunView | None, state: AppState) -> None:
        self._highlighted = None
        if run is None or run.evaluation is None or run.test_images is None:
            self.pane.clear()
            self.draw_detail(explain=False)
            return
        self.pane.set_data(run.evaluation, run.test_images, images_available(run))

    def apply(self, changes: Changes, state: AppState) -> None:
        if changes.evaluation:
            self.show_run(state.shown, state)
        if changes.explanation or changes.progress:
            # Progress: training began or ended, which the panel's status says.
            self.draw_detail(explain=False)

    # --- The detail panel --------------------------------------------------------------------

    def on_mistakes_view_highlighted(self, message: MistakesView.Highlighted) -> None:
        self._highlighted = message.example
        self.draw_detail(explain=True)

    def on_mistakes_view_detail_toggled(self, message: MistakesView.DetailToggled) -> None:
        message.stop()
        self.pane.toggle_detail()
        self.draw_detail(explain=True)

    def on_mistakes_detail_shown(self, message: MistakesDetail.Shown) -> None:
        message.stop()
        self.draw_detail(explain=True)

    def draw_detail(self, *, explain: bool) -> None:
        """Show the highlighted example in the panel; with ``explain``, ask for its
        explanation when the panel shows and has none (the app decides whether to send it)."""
        state = self.state
        run, example = state.shown, self._highlighted
        if run is None or run.evaluation is None or run.test_images is None or example is None:
            self.detail.show(None)
            return
        explained = state.explanation(example.index)
        if explained is None and explain and self.pane.detail_visible:
            self.post_message(self.ExplainWanted(example.index))
        probabilities = run.evaluation.probabilities
        self.detail.show(
            DetailSubject(
                example=example,
                run_key=(run.run_id, id(run.evaluation)),
                image=run.test_images[example.index],
                probabilities=None if probabilities is None else probabilities[example.index],
                explained=explained,
                status=state.explanation_status(example.index),
            )
        )

    def show_cell(self, true_label: int, predicted_label: int) -> None:
        """Show a confusion-matrix cell's examples: a diagonal cell's are the correct
        predictions of its class, any other cell's are mistakes."""
        if true_label == predicted_label:
            self.pane.set_filter(true_label, None, "right")
        else:
            self.pane.set_filter(true_label, predicted_label, "wrong")

    def help_rows(self) -> list[HelpRow]:
        return key_rows(MistakesView.BINDINGS)
