"""Asked before quitting while a model trains."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ConfirmQuit(ModalScreen[bool]):
    """Returns True to stop training and quit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,q", "answer(True)", "Quit", id="quit.yes"),
        Binding("n,escape", "answer(False)", "Keep training", id="quit.no"),
    ]

    def __init__(self, *, sweep: str | None = None, saving: bool = False) -> None:
        """
        Args:
            sweep: the study of the sweep the app is running, if it is.
            saving: the run has trained and is being evaluated and saved, not trained.
        """
        super().__init__()
        self.sweep = sweep
        self.saving = saving

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            if self.sweep is None and self.saving:
                yield Label("Quit before the run is saved?", classes="dialog-title")
                yield Static(
                    "Training has ended; the test set is being evaluated and the results "
                    "written. Quitting now stops that: the run keeps its checkpoints and can "
                    "be resumed from the Runs tab (r). This closes by itself once it is saved.",
                    markup=False,
                )
            elif self.sweep is None:
                yield Label("Quit while training?", classes="dialog-title")
                yield Static(
                    "Training stops now and the test set is not evaluated. Every finished "
                    "epoch is checkpointed: resume the run later from the Runs tab (r).",
                    markup=False,
                )
            else:
                yield Label("Quit while a sweep is running?", classes="dialog-title")
                yield Static(
                    f"The sweep of study {self.sweep} stops now, in the middle of its trial. "
                    "The trial's run keeps its newest checkpoint and is carried on by the next "
                    "worker of the study (fmnist-tui sweep, or this app's Sweep: run a space "
                    "file…); s instead stops the sweep once the trial ends.",
                    markup=False,
                )
            with Horizontal(id="confirm-buttons"):
                yield Button("Quit (y)", variant="error", id="quit-yes")
                yield Button("Keep training (n)", variant="primary", id="quit-no")

    def on_mount(self) -> None:
        self.query_one("#quit-no", Button).focus()

    @on(Button.Pressed, "#quit-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#quit-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, quit_app: bool) -> None:
        self.dismiss(quit_app)
