"""The Mistakes tab's pane: a status line over the gallery, and beside it the detail panel
of the highlighted example (``tui.widgets.mistakes_detail``).

The panel shows from 120 columns on; narrower, it hides until asked for (``i``, which also
hides it on a wide screen), and then takes 48 columns, leaving the gallery its images.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from core.evaluation import Evaluation
from tui.widgets.mistakes import MistakesView
from tui.widgets.mistakes_detail import MistakesDetail
from tui.widgets.mistakes_list import Outcome


class MistakesPane(Vertical):
    """The gallery under a one-line status: count, filter and sort order."""

    # Unscoped: the panel's width and whether it shows follow the screen's breakpoint class.
    SCOPED_CSS = False
    DEFAULT_CSS = """
    MistakesPane {
        height: 1fr;
        & > #mistakes-status {
            height: auto;
            padding: 0 1;
            background: $panel;
            color: $text-muted;
        }
        & > #mistakes-body { height: 1fr; }
        & > #mistakes-body > MistakesView { width: 1fr; }
        & #mistakes-detail {
            display: none;
            width: 48;
            height: 1fr;
        }
        &.-detail-on #mistakes-detail { display: block; }
    }
    Screen.-wide MistakesPane {
        & #mistakes-detail { display: block; width: 62; }
        &.-detail-off #mistakes-detail { display: none; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("No evaluation yet", id="mistakes-status", markup=False)
        with Horizontal(id="mistakes-body"):
            yield MistakesView(id="mistakes-view")
            with Vertical(id="mistakes-detail"):
                yield MistakesDetail(id="mistakes-detail-panel")

    @property
    def view(self) -> MistakesView:
        """The gallery itself."""
        return self.query_one(MistakesView)

    @property
    def detail(self) -> MistakesDetail:
        """The detail panel, right of the gallery."""
        return self.query_one(MistakesDetail)

    @property
    def detail_visible(self) -> bool:
        """Whether the panel shows, as the stylesheet decides it (without waiting for the
        styles to be applied): on a wide screen unless hidden, else when asked for."""
        if self.has_class("-detail-on"):
            return True
        return self.screen.has_class("-wide") and not self.has_class("-detail-off")

    def toggle_detail(self) -> bool:
        """Show the panel if it is hidden, else hide it; whether it shows now."""
        shown = not self.detail_visible
        self.set_class(shown, "-detail-on")
        self.set_class(not shown, "-detail-off")
        return shown

    def set_data(
        self,
        evaluation: Evaluation,
        images: npt.NDArray[np.generic],
        available: npt.ArrayLike | None = None,
    ) -> None:
        """See `MistakesView.set_data`."""
        self.view.set_data(evaluation, images, available)

    def set_filter(
        self, true_label: int | None, predicted_label: int | None, outcome: Outcome | None = None
    ) -> None:
        """See `MistakesView.set_filter`."""
        self.view.set_filter(true_label, predicted_label, outcome)

    def clear(self) -> None:
        """See `MistakesView.clear`."""
        self.view.clear()

    def on_mistakes_view_updated(self, message: MistakesView.Updated) -> None:
        # Not stopped: the app may also want the count, e.g. for a tab label.
        self.query_one("#mistakes-status", Static).update(message.summary)
