"""Resume a saved run: how many more epochs, from its newest checkpoint."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult
from textual.widgets import Button, Input, Label, Static

from core.config import MAX_EPOCHS, ConfigError, parse_epochs
from core.runs.catalogue import RunListing
from tui.screens.train_dialog import ParsedBy
from tui.widgets.inputs import NumberInput

DEFAULT_MORE_EPOCHS = 5
"""Offered for a run that has trained all its planned epochs."""


class ResumeDialog(ModalScreen[int | None]):
    """Returns the number of epochs to train on top of the checkpoint, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="resume.cancel"),
    ]

    def __init__(self, run: RunListing) -> None:
        super().__init__()
        self.run = run
        self.checkpoint_epoch = run.checkpoint_epoch or 0
        remaining = run.planned_epochs - self.checkpoint_epoch
        self.suggested = remaining if run.resumable and remaining > 0 else DEFAULT_MORE_EPOCHS

    def compose(self) -> ComposeResult:
        run = self.run
        if run.resumable:
            detail = (
                f"{run.model}, {run.status} after epoch {self.checkpoint_epoch} of "
                f"{run.planned_epochs}. Training carries on from the epoch "
                f"{self.checkpoint_epoch} checkpoint with the run's own settings."
            )
        else:
            detail = (
                f"{run.model}, {run.status} with {self.checkpoint_epoch} epochs. "
                "Train it further from its last checkpoint, with the run's own settings."
            )
        with Vertical(id="dialog"):
            yield Label(f"Resume {run.path.name}", classes="dialog-title")
            yield Static(detail, id="resume-detail", markup=False)
            with Horizontal(classes="field"):
                yield Label("More epochs", classes="field-label")
                yield NumberInput(
                    str(self.suggested),
                    placeholder="1-1000",
                    id="resume-epochs",
                    validators=[ParsedBy(self._parse_more)],
                    compact=True,
                )
            yield Static("", id="resume-error", classes="field-error", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button("Resume (enter)", variant="primary", id="resume-start")
                yield Button("Cancel (esc)", id="resume-cancel")

    def on_mount(self) -> None:
        field = self.query_one("#resume-epochs", Input)
        field.select_all()
        field.focus()

    def _parse_more(self, text: str) -> int:
        epochs = parse_epochs(text)
        if self.checkpoint_epoch + epochs > MAX_EPOCHS:
            raise ConfigError(
                f"a run can have at most {MAX_EPOCHS} epochs; this one has {self.checkpoint_epoch}"
            )
        return epochs

    @on(Input.Changed, "#resume-epochs")
    def _changed(self, event: Input.Changed) -> None:
        self._show(event.validation_result)

    def _show(self, result: ValidationResult | None) -> bool:
        error = self.query_one("#resume-error", Static)
        valid = result is None or result.is_valid
        error.update("" if valid or result is None else result.failure_descriptions[0])
        error.display = not valid
        self.query_one("#resume-start", Button).disabled = not valid
        return valid

    @on(Input.Submitted, "#resume-epochs")
    @on(Button.Pressed, "#resume-start")
    def _submit(self) -> None:
        field = self.query_one("#resume-epochs", Input)
        if not self._show(field.validate(field.value)):
            self.app.bell()
            return
        self.dismiss(self._parse_more(field.value))

    @on(Button.Pressed, "#resume-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
