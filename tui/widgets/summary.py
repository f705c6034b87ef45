"""The model's layer table: layer, type, output shape and parameters, totals underneath."""

from __future__ import annotations

import math
from typing import Final

from rich import box
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.summary import ModelSummary

COMPACT_BELOW = 52
"""Narrower than this, the Type column is left out: the layer names say most of it."""

ALIGNED: Final = Style(italic=False)
"""Looks like no style; it keeps a right-aligned number apart from the spaces padding it.

An SVG screenshot draws each run of equally styled cells as one ``<text>`` placed at its
first cell, and renderers (librsvg, browsers showing the README) drop leading spaces, which
pulls a padded number to the left. Spaces styled apart are not drawn at all.
"""


def summary_renderable(
    summary: ModelSummary, preset: str, *, with_type: bool = True
) -> RenderableType:
    """The trainable-parameter count first and in bold (what people compare), then the table.

    Spaces between differently styled words end the span before them rather than start the
    one after, for SVG screenshots (see :data:`ALIGNED`): ``394,530trainable`` otherwise.
    """
    headline = Text.assemble(
        (f"{preset}  ", "bold"),
        (f"{summary.trainable_params:,} ", "bold"),
        "trainable params",
    )
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False)
    table.add_column("Layer", no_wrap=True, overflow="ellipsis")
    if with_type:
        table.add_column("Type", no_wrap=True, overflow="ellipsis")
    table.add_column("Output shape", no_wrap=True, overflow="ellipsis")
    table.add_column(Text.assemble(("Params", ALIGNED)), justify="right", no_wrap=True, min_width=7)
    for row in summary.rows:
        cells = [row.name, row.type] if with_type else [row.name]
        table.add_row(*cells, row.output_shape, Text.assemble((f"{row.params:,}", ALIGNED)))
    totals = Text.assemble(
        f"Total {summary.total_params:,} · Trainable ",
        (f"{summary.trainable_params:,} ", "bold"),
        f"· Non-trainable {summary.non_trainable_params:,}",
        style="dim",
    )
    return Group(headline, table, totals)


class ModelSummaryView(VerticalScroll):
    """A scrollable model summary, or a line saying why there is none yet."""

    DEFAULT_CSS = """
    ModelSummaryView {
        height: 1fr;
        & > #summary-body { width: 1fr; height: auto; }
    }
    """

    def __init__(
        self,
        waiting: str = "",
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """
        Args:
            waiting: what it says until the first summary arrives.
        """
        super().__init__(name=name, id=id, classes=classes)
        self._waiting = waiting
        self.summary: ModelSummary | None = None
        self.preset: str | None = None
        self._drawn: tuple[ModelSummary, str, bool] | None = None
        """What the body shows: a resize that keeps it (a tab shown again) redraws nothing."""

    def compose(self) -> ComposeResult:
        yield Static(self._waiting, id="summary-body", markup=False)

    def show_message(self, text: str) -> None:
        self._drawn = None
        self.query_one("#summary-body", Static).update(Text(text, style="italic dim"))
        self._show_rows_below()

    def set_summary(self, summary: ModelSummary, preset: str) -> None:
        self.summary = summary
        self.preset = preset
        self._render_summary()
        self.call_after_refresh(self._show_rows_below)

    def on_resize(self) -> None:
        self._render_summary()
        self.call_after_refresh(self._show_rows_below)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._show_rows_below()

    @property
    def rows_below(self) -> int:
        """Layer rows below the view (scroll down, or focus the summary and press down)."""
        summary, preset = self.summary, self.preset
        if summary is None or preset is None or self._drawn is None:
            return 0
        width = max(self.scrollable_content_region.width, 1)
        # The headline, then the table's header and its rule, then one line per layer.
        headline = len(f"{preset}  {summary.trainable_params:,} trainable params")
        first_row = math.ceil(headline / width) + 2
        shown_to = round(self.scroll_y) + self.scrollable_content_region.height
        return max(0, min(len(summary.rows), len(summary.rows) + first_row - shown_to))

    def _show_rows_below(self) -> None:
        # At 80x24 the view holds three of the seed's eight layers: the scrollbar alone did
        # not say that more were there.
        below = self.rows_below
        self.border_subtitle = f"▼ {below} more layer{'s' if below != 1 else ''}" if below else ""

    def _render_summary(self) -> None:
        if self.summary is None or self.preset is None:
            return
        with_type = self.scrollable_content_region.width >= COMPACT_BELOW
        drawn = (self.summary, self.preset, with_type)
        if drawn == self._drawn:
            return
        self._drawn = drawn
        self.query_one("#summary-body", Static).update(
            summary_renderable(self.summary, self.preset, with_type=with_type)
        )
