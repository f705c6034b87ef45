"""Saved runs, newest first, read-only; Enter opens one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from core.runs import RunListing

COLUMNS = ("Started", "Model", "Epochs", "Status", "Test acc", "Best val", "Folder")


def _accuracy(value: float | None) -> Text:
    return Text("–" if value is None else f"{value:.4f}", justify="right")


class RunsTable(DataTable[str | Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Open run",
            tooltip="Show this run's charts, mistakes and confusion matrix",
            id="runs.open",
        ),
    ]

    class OpenRun(Message):
        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.listings: list[RunListing] = []

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def set_runs(self, listings: Sequence[RunListing]) -> None:
        self.listings = list(listings)
        self.clear()
        for run in self.listings:
            started = run.started.strftime("%Y-%m-%d %H:%M") if run.started else "?"
            status = Text(run.status, style="red" if run.problem else "")
            self.add_row(
                started,
                run.model,
                Text(str(run.epochs), justify="right"),
                status,
                _accuracy(run.test_accuracy),
                _accuracy(run.best_val_accuracy),
                run.path.name,
                key=str(run.path),
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.OpenRun(Path(event.row_key.value)))
