"""Saved runs side by side: a row each, sorted by any column; Enter opens one, r resumes it,
c overlays its curves, d deletes it.

The columns are :data:`core.compare.LISTING_COLUMNS`, as ``fmnist-tui runs`` prints them,
less the settings that every run listed shares (the tab says those in its heading).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from core.compare import ListingColumn, column_named, shown_columns, sort_listings
from core.runs.catalogue import RunListing

DEFAULT_SORT = "started"
STATUS_STYLES = {
    "finished": "green",
    "stopped": "yellow",
    "interrupted": "yellow",
    "running": "bold",
    "failed": "red",
    "damaged": "red",
}


def cell(column: ListingColumn, run: RunListing, *, started_format: str) -> str | Text:
    """What ``run`` shows in ``column``: numbers aligned right, statuses in colour."""
    if column.name == "started":
        return f"{run.started:{started_format}}" if run.started else "?"
    if column.name == "status":
        status = Text(run.status, style=STATUS_STYLES.get(run.status, ""))
        if run.resumable:
            status.append(" ↻", style="bold")
        return status
    text = column.text(run)
    return Text(text, justify="right") if column.numeric else text


class RunsTable(DataTable[str | Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # DataTable's Home and End go to the first and last column, which a row cursor
        # does not have.
        Binding("home", "scroll_top", "First run", show=False, id="runs.first"),
        Binding("end", "scroll_bottom", "Last run", show=False, id="runs.last"),
        Binding(
            "enter",
            "select_cursor",
            "Open run",
            tooltip="Show this run's charts, mistakes and confusion matrix",
            id="runs.open",
        ),
        Binding(
            "r",
            "resume",
            "Resume",
            tooltip="Train this run further from its newest checkpoint",
            id="runs.resume",
        ),
        Binding(
            "c",
            "compare",
            "Overlay",
            tooltip="Draw this run's curves over the charts of the run on show (again: remove)",
            id="runs.compare",
        ),
        Binding(
            "less_than_sign",
            "sort(-1)",
            "Sort",
            key_display="<",
            tooltip="Sort by the column to the left of the one sorting now",
            show=False,
            id="runs.sort_previous",
        ),
        Binding(
            "greater_than_sign",
            "sort(1)",
            "Sort",
            key_display=">",
            tooltip="Sort by the column to the right of the one sorting now",
            show=False,
            id="runs.sort_next",
        ),
        Binding(
            "o",
            "reverse",
            "Reverse",
            tooltip="Reverse the order (the header's ▼ or ▲ shows it)",
            show=False,
            id="runs.reverse",
        ),
        Binding(
            "d,delete",
            "delete",
            "Delete",
            tooltip="Delete this run's folder (asks first; never a run being trained)",
            id="runs.delete",
        ),
    ]

    class OpenRun(Message):
        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    class ResumeRun(Message):
        def __init__(self, run: RunListing) -> None:
            super().__init__()
            self.run = run

    class CompareRun(Message):
        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    class DeleteRun(Message):
        def __init__(self, run: RunListing) -> None:
            super().__init__()
            self.run = run

    class Sorted(Message):
        """The order changed: by :attr:`RunsTable.sort_column`, :attr:`RunsTable.reverse`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.listings: list[RunListing] = []
        """The runs in the order shown."""
        self.columns_shown: list[ListingColumn] = []
        self.sort_column: ListingColumn = column_named(DEFAULT_SORT)
        self.reverse = False
        """Sorted the other way from the column's own (newest or best first, else lowest)."""

    def on_mount(self) -> None:
        self._draw(None)

    def set_runs(self, listings: Sequence[RunListing]) -> None:
        """Show ``listings``, in the order chosen; the cursor stays on its run while it is
        listed, else on the row where it was."""
        highlighted = self.highlighted_run()
        self.listings = list(listings)
        self._draw(None if highlighted is None else highlighted.path)

    @property
    def descending(self) -> bool:
        return self.sort_column.best_first != self.reverse

    @property
    def sort_label(self) -> str:
        """``Test acc ▼``: the column that sorts and which way (▼ highest first)."""
        return f"{self.sort_column.header} {'▼' if self.descending else '▲'}"

    def row_texts(self, row: int) -> dict[str, str]:
        """Row ``row``'s cells as plain text, by column name (``best-val``)."""
        cells = self.get_row_at(row)
        return {
            column.name: str(value) for column, value in zip(self.columns_shown, cells, strict=True)
        }

    def _draw(self, keep: Path | None) -> None:
        """Rebuild the columns and rows from :attr:`listings`, the cursor on ``keep``'s row
        (or on the row where it was, when that run is not listed)."""
        row = self.cursor_row
        self.columns_shown = shown_columns(self.listings)
        if self.sort_column not in self.columns_shown:
            self.sort_column, self.reverse = column_named(DEFAULT_SORT), False
        self.listings = sort_listings(self.listings, self.sort_column, reverse=self.reverse)
        self.clear(columns=True)
        for column in self.columns_shown:
            label = self.sort_label if column is self.sort_column else column.header
            text = Text(label, justify="right") if column.numeric else Text(label)
            self.add_column(text, key=column.name)
        # The year only when some run is from another year: the table stays narrow.
        this_year = datetime.now().year
        years = {run.started.year for run in self.listings if run.started is not None}
        started_format = "%m-%d %H:%M" if years <= {this_year} else "%Y-%m-%d %H:%M"
        for run in self.listings:
            cells = (cell(c, run, started_format=started_format) for c in self.columns_shown)
            self.add_row(*cells, key=str(run.path))
        paths = [run.path for run in self.listings]
        if keep in paths:
            row = paths.index(keep)
        if self.listings:
            self.move_cursor(row=min(row, len(self.listings) - 1), animate=False)

    def highlighted_run(self) -> RunListing | None:
        if not self.listings or not 0 <= self.cursor_row < len(self.listings):
            return None
        return self.listings[self.cursor_row]

    def sort_by(self, name: str, *, reverse: bool = False) -> None:
        """Sort by the column ``name`` (one of those shown), its own way unless ``reverse``."""
        highlighted = self.highlighted_run()
        self.sort_column, self.reverse = column_named(name), reverse
        self._draw(None if highlighted is None else highlighted.path)
        # Once the new columns are measured: a table wider than the screen scrolls sideways
        # to the column that sorts, so that its arrow is in view.
        self.call_after_refresh(self._show_sort_column)
        self.post_message(self.Sorted())

    def _show_sort_column(self) -> None:
        columns = self.ordered_columns
        keys = [column.key.value for column in columns]
        if self.sort_column.name not in keys:
            return
        index = keys.index(self.sort_column.name)
        widths = [column.get_render_width(self) for column in columns]
        left, width = sum(widths[:index]), widths[index]
        view = self.scrollable_content_region.width
        if left < self.scroll_x:
            self.scroll_to(x=left, animate=False)
        elif left + width > self.scroll_x + view:
            self.scroll_to(x=left + width - view, animate=False)

    def action_sort(self, step: int) -> None:
        columns = self.columns_shown
        if not columns:
            return
        index = columns.index(self.sort_column) if self.sort_column in columns else 0
        self.sort_by(columns[(index + step) % len(columns)].name)

    def action_reverse(self) -> None:
        self.sort_by(self.sort_column.name, reverse=not self.reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        # A click on a header sorts by it; on the one sorting now, the other way round.
        event.stop()
        name = str(event.column_key.value)
        same = name == self.sort_column.name
        self.sort_by(name, reverse=not self.reverse if same else False)

    def action_resume(self) -> None:
        run = self.highlighted_run()
        if run is not None:
            self.post_message(self.ResumeRun(run))

    def action_compare(self) -> None:
        run = self.highlighted_run()
        if run is not None:
            self.post_message(self.CompareRun(run.path))

    def action_delete(self) -> None:
        run = self.highlighted_run()
        if run is not None:
            self.post_message(self.DeleteRun(run))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.OpenRun(Path(event.row_key.value)))
