"""Saved runs, newest first: Enter opens one, r resumes it, c overlays its curves."""

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
STATUS_STYLES = {
    "finished": "green",
    "stopped": "yellow",
    "interrupted": "yellow",
    "running": "bold",
    "failed": "red",
    "damaged": "red",
}


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
            status = Text(run.status, style=STATUS_STYLES.get(run.status, ""))
            if run.resumable:
                status.append(" ↻", style="bold")
            epochs = f"{run.epochs}/{run.planned_epochs}" if run.planned_epochs else str(run.epochs)
            self.add_row(
                started,
                run.model_label,
                Text(epochs, justify="right"),
                status,
                _accuracy(run.test_accuracy),
                _accuracy(run.best_val_accuracy),
                run.path.name,
                key=str(run.path),
            )

    def highlighted_run(self) -> RunListing | None:
        if not self.listings or not 0 <= self.cursor_row < len(self.listings):
            return None
        return self.listings[self.cursor_row]

    def action_resume(self) -> None:
        run = self.highlighted_run()
        if run is not None:
            self.post_message(self.ResumeRun(run))

    def action_compare(self) -> None:
        run = self.highlighted_run()
        if run is not None:
            self.post_message(self.CompareRun(run.path))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.OpenRun(Path(event.row_key.value)))
