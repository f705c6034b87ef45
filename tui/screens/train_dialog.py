"""The training dialog: epochs (required, 1-1000), model preset, batch size and early stopping.

Validation reuses ``core.config``'s parsers, so the dialog and the headless CLI accept and
reject exactly the same input with the same words. The dialog returns a
:class:`TrainRequest` only when every field is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from core.config import (
    DEFAULT_EPOCHS,
    MODEL_PRESETS,
    ConfigError,
    default_batch_size,
    parse_batch_size,
    parse_epochs,
    parse_optional_patience,
)
from tui.widgets.inputs import NumberInput


@dataclass(frozen=True, slots=True)
class TrainRequest:
    """What the user asked for; every value already validated."""

    epochs: int
    model: str
    batch_size: int
    continue_run: bool = False
    """Train the model of the last run further instead of starting a new run."""
    patience: int | None = None
    """Early stopping: epochs without a lower validation loss before stopping; None: off."""
    augment: bool = False
    """Train on randomly mirrored images too (a new run only)."""


@dataclass(frozen=True, slots=True)
class ContinueOption:
    """The model the engine holds, which the dialog offers to train further."""

    run_id: str
    model: str
    epochs_done: int


class ParsedBy(Validator):
    """Valid when ``parse`` accepts the text; its ``ConfigError`` message is the reason."""

    def __init__(self, parse: Callable[[str], object]) -> None:
        super().__init__()
        self._parse = parse

    def validate(self, value: str) -> ValidationResult:
        try:
            self._parse(value)
        except ConfigError as error:
            message = str(error)
            return self.failure(message[:1].upper() + message[1:], value)
        return self.success()


class ModeChoice(RadioSet):
    """Continue or start anew: the arrows choose at once, Enter starts.

    A plain RadioSet moves a highlight with the arrows and needs Space to choose, and Enter
    toggles too; in a dialog whose Enter means "start" that would start the wrong thing.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Start", show=False),
    ]

    class Submitted(Message):
        """Enter was pressed on the choice."""

    def action_next_button(self) -> None:
        super().action_next_button()
        self._choose_highlighted()

    def action_previous_button(self) -> None:
        super().action_previous_button()
        self._choose_highlighted()

    def _choose_highlighted(self) -> None:
        if self._selected is not None:
            button = self._nodes[self._selected]
            if isinstance(button, RadioButton) and not button.value:
                button.value = True

    def action_submit(self) -> None:
        self.post_message(self.Submitted())


class TrainDialog(ModalScreen[TrainRequest | None]):
    """Enter starts, Esc cancels; invalid input is explained under its field."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]

    def __init__(
        self,
        *,
        preset: str,
        batch_size: int = 32,
        epochs: int = DEFAULT_EPOCHS,
        patience: int | None = None,
        augment: bool = False,
        continue_option: ContinueOption | None = None,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self._cursor_blink = cursor_blink
        self._preset = preset
        self._shown_preset = preset
        self._batch_size = batch_size
        self._epochs = epochs
        self._patience = patience
        self._augment = augment
        self._continue = continue_option

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Train", classes="dialog-title")
            if self._continue is not None:
                option = self._continue
                with ModeChoice(id="mode"):
                    yield RadioButton(
                        f"Continue {option.run_id} ({option.epochs_done} epochs done)",
                        value=True,
                        id="mode-continue",
                    )
                    yield RadioButton("Start a new run", id="mode-new")
            with Horizontal(classes="field"):
                yield Label("Epochs", classes="field-label")
                yield NumberInput(
                    str(self._epochs),
                    placeholder="1-1000",
                    id="epochs",
                    validators=[ParsedBy(parse_epochs)],
                    compact=True,
                )
            yield Static("", id="epochs-error", classes="field-error", markup=False)
            with Horizontal(classes="field"):
                yield Label("Model", classes="field-label")
                yield Select(
                    [(name, name) for name in MODEL_PRESETS],
                    value=self._preset,
                    allow_blank=False,
                    id="model",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("Batch size", classes="field-label")
                yield NumberInput(
                    str(self._batch_size),
                    placeholder="1-4096",
                    id="batch-size",
                    validators=[ParsedBy(parse_batch_size)],
                    compact=True,
                )
            yield Static("", id="batch-size-error", classes="field-error", markup=False)
            with Horizontal(classes="field"):
                yield Label("Early stop", classes="field-label")
                yield NumberInput(
                    "" if self._patience is None else str(self._patience),
                    placeholder="off, or N epochs without a lower val loss",
                    id="patience",
                    validators=[ParsedBy(parse_optional_patience)],
                    compact=True,
                )
            yield Static("", id="patience-error", classes="field-error", markup=False)
            with Horizontal(classes="field"):
                yield Label("Augment", classes="field-label")
                yield Select(
                    [("off", "off"), ("random flips", "flip")],
                    value="flip" if self._augment else "off",
                    allow_blank=False,
                    id="augment",
                    compact=True,
                )
            with Horizontal(id="dialog-buttons"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Cancel", id="cancel")
            hint = "Enter starts · Esc cancels"
            if self._continue is not None:
                hint = "↑↓ continue/new · Tab next · " + hint
            yield Static(hint, classes="dialog-hint")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = self._cursor_blink
        self._sync_mode()
        epochs = self.query_one("#epochs", Input)
        epochs.select_all()
        # When there is a choice to make, make it first; otherwise the epochs.
        if self._continue is not None:
            self.query_one(ModeChoice).focus()
        else:
            epochs.focus()

    @property
    def continuing(self) -> bool:
        if self._continue is None:
            return False
        return self.query_one("#mode-continue", RadioButton).value

    def _sync_mode(self) -> None:
        # Continuing trains the same model, so its preset and early stopping are fixed.
        select: Select[str] = self.query_one("#model", Select)
        patience = self.query_one("#patience", Input)
        if self.continuing and self._continue is not None:
            select.value = self._continue.model
            select.disabled = patience.disabled = True
        else:
            select.disabled = patience.disabled = False

    @on(Select.Changed, "#model")
    def _preset_changed(self, event: Select.Changed) -> None:
        # A preset tuned for another batch size brings it along, unless one was typed.
        new = str(event.value)
        batch = self.query_one("#batch-size", Input)
        if batch.value.strip() == str(default_batch_size(self._shown_preset)):
            batch.value = str(default_batch_size(new))
        self._shown_preset = new

    @on(RadioSet.Changed, "#mode")
    def _mode_changed(self) -> None:
        self._sync_mode()

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        self._show(event.input, event.validation_result)

    def _show(self, field: Input, result: ValidationResult | None) -> None:
        error = self.query_one(f"#{field.id}-error", Static)
        if result is None or result.is_valid:
            error.update("")
            error.display = False
        else:
            error.update(result.failure_descriptions[0])
            error.display = True
        self.query_one("#start", Button).disabled = not all(
            self._valid(candidate) for candidate in self.query(Input) if not candidate.disabled
        )

    @staticmethod
    def _valid(field: Input) -> bool:
        result = field.validate(field.value)
        return result is None or result.is_valid

    @on(Input.Submitted)
    @on(ModeChoice.Submitted)
    @on(Button.Pressed, "#start")
    def _submit(self) -> None:
        invalid = None
        for field in self.query(Input):
            if field.disabled:
                continue
            result = field.validate(field.value)
            self._show(field, result)
            if invalid is None and result is not None and not result.is_valid:
                invalid = field
        if invalid is not None:
            invalid.focus()
            self.app.bell()
            return
        model = self.query_one("#model", Select).value
        self.dismiss(
            TrainRequest(
                epochs=parse_epochs(self.query_one("#epochs", Input).value),
                model=str(model),
                batch_size=parse_batch_size(self.query_one("#batch-size", Input).value),
                continue_run=self.continuing,
                patience=None
                if self.continuing
                else parse_optional_patience(self.query_one("#patience", Input).value),
                augment=self.query_one("#augment", Select).value == "flip",
            )
        )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
