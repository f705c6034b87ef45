"""Asked before a saved run's folder is deleted from the Runs tab."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from core.compare import duration_text
from core.runs.catalogue import RunListing


def run_description(run: RunListing) -> str:
    """``seed, finished, 3 of 5 epochs, test accuracy 0.9123, 1m05s of training``."""
    done = f"{run.epochs} of {run.planned_epochs}" if run.planned_epochs else str(run.epochs)
    parts = [run.model, run.status, f"{done} epoch{'' if done == '1' else 's'}"]
    if run.test_accuracy is not None:
        parts.append(f"test accuracy {run.test_accuracy:.4f}")
    elif run.best_val_accuracy is not None:
        parts.append(f"best validation accuracy {run.best_val_accuracy:.4f}")
    if run.duration is not None:
        parts.append(f"{duration_text(run.duration)} of training")
    return ", ".join(parts)


class ConfirmDelete(ModalScreen[bool]):
    """Returns True to delete the run's folder; the safe answer has the focus."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Delete", id="delete.yes"),
        Binding("n,escape", "answer(False)", "Keep", id="delete.no"),
    ]

    def __init__(self, run: RunListing) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        run = self.run
        with Vertical(id="confirm-dialog"):
            yield Label(f"Delete {run.path.name}?", classes="dialog-title", markup=False)
            yield Static(
                f"{run_description(run)}.\nIts folder {run.path} and everything in it "
                "(checkpoints, model, evaluation, plots) are removed for good.",
                id="delete-detail",
                markup=False,
            )
            with Horizontal(id="confirm-buttons"):
                yield Button("Delete (y)", variant="error", id="delete-yes")
                yield Button("Keep (n)", variant="primary", id="delete-no")

    def on_mount(self) -> None:
        self.query_one("#delete-no", Button).focus()

    @on(Button.Pressed, "#delete-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#delete-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, delete: bool) -> None:
        self.dismiss(delete)
