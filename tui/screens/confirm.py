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

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label("Quit while training?", classes="dialog-title")
            yield Static(
                "Training stops now and the test set is not evaluated. Every finished epoch "
                "is checkpointed: resume the run later from the Runs tab (r).",
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
