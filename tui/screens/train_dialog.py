"""The training dialog: continue the run on show or start a new one, and with what.

Epochs and batch size come first (``t 3 Enter`` trains three epochs; ``t 3 Tab 128 Enter`` at
batch 128), then the model (a preset's name or a model file's path), early stopping,
augmentation, and the training settings under a fold of their own. Every field follows the
model chosen: its batch size, its flips, its optimizer and schedule, unless you typed another
value.

Validation reuses ``core.config``'s parsers, so the dialog and the headless CLI accept and
reject exactly the same input with the same words. The dialog returns core's own request
(:class:`~core.requests.NewRun`, :class:`~core.requests.ContinueRun` or
:class:`~core.requests.ResumeRun`) only when every field is valid; the app hands it to the
engine as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Collapsible, Input, Label, RadioButton, RadioSet, Select, Static

from core.config import (
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    ConfigError,
    TrainConfig,
    parse_batch_size,
    parse_epochs,
    parse_label_smoothing,
    parse_learning_rate,
    parse_model,
    parse_optional_patience,
    parse_warmup_epochs,
    parse_weight_decay,
)
from core.hyperparameters import OPTIMIZERS, SCHEDULES, Hyperparameters
from core.presets import PRESET_NAMES
from core.requests import NewRun, RunRequest
from tui.state import Continuation
from tui.widgets.inputs import NumberInput, OrderedInput

OPTIMIZER_LABELS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD (Nesterov momentum)"}
SCHEDULE_LABELS = {"constant": "constant", "cosine": "warm-up, then cosine decay"}


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
    toggles too; in a dialog whose Enter means "start" that would start the wrong thing. The
    arrows stop at the ends instead of wrapping round: Up on "Continue" stays there.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Start", show=False),
    ]

    class Submitted(Message):
        """Enter was pressed on the choice."""

    def action_next_button(self) -> None:
        if self._selected is not None and self._selected >= len(self._nodes) - 1:
            return
        super().action_next_button()
        self._choose_highlighted()

    def action_previous_button(self) -> None:
        if self._selected is not None and self._selected <= 0:
            return
        super().action_previous_button()
        self._choose_highlighted()

    def _choose_highlighted(self) -> None:
        if self._selected is not None:
            button = self._nodes[self._selected]
            if isinstance(button, RadioButton) and not button.value and not button.disabled:
                button.value = True

    def action_submit(self) -> None:
        self.post_message(self.Submitted())


def _format(value: float) -> str:
    return f"{value:g}"


class TrainDialog(ModalScreen[RunRequest | None]):
    """Enter starts, Esc cancels; invalid input is explained under its field."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]

    NEW_RUN_FIELDS: ClassVar[tuple[str, ...]] = (
        "#model",
        "#patience",
        "#augment",
        "#optimizer",
        "#learning-rate",
        "#weight-decay",
        "#label-smoothing",
        "#schedule",
        "#warmup",
    )
    """What a new run chooses and continuing keeps as the run has it."""

    def __init__(
        self,
        config: TrainConfig,
        *,
        continuation: Continuation | None = None,
        cursor_blink: bool = True,
    ) -> None:
        """
        Args:
            config: what the fields show at first; a new run keeps its other settings (data,
                seed, backend).
            continuation: the run on show, offered to train further.
        """
        super().__init__()
        self._cursor_blink = cursor_blink
        self._config = config
        self._model_config = config
        """The settings of the model last chosen, to tell typed values from its defaults."""
        self._continue = continuation

    # --- Layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        config = self._config
        training = config.training
        with VerticalScroll(id="dialog"):
            yield Label("Train", classes="dialog-title")
            if self._continue is not None:
                option = self._continue
                can_continue = option.refusal is None
                with ModeChoice(id="mode"):
                    yield RadioButton(
                        option.label,
                        value=can_continue,
                        id="mode-continue",
                        disabled=not can_continue,
                    )
                    yield RadioButton("Start a new run", value=not can_continue, id="mode-new")
                if option.refusal is not None:
                    yield Static(
                        f"Cannot continue: {option.refusal}", id="continue-refusal", markup=False
                    )
            yield from self._field(
                "Epochs",
                NumberInput(
                    str(config.epochs),
                    placeholder=f"1-{MAX_EPOCHS}",
                    id="epochs",
                    validators=[ParsedBy(parse_epochs)],
                ),
            )
            yield from self._field(
                "Batch size",
                NumberInput(
                    str(config.batch_size),
                    placeholder=f"1-{MAX_BATCH_SIZE}",
                    id="batch-size",
                    validators=[ParsedBy(parse_batch_size)],
                ),
            )
            yield from self._field(
                "Model",
                OrderedInput(
                    config.model_file or config.model,
                    placeholder=f"{', '.join(PRESET_NAMES)} or PATH.py",
                    id="model",
                    validators=[ParsedBy(parse_model)],
                    suggester=SuggestFromList(PRESET_NAMES, case_sensitive=False),
                    compact=True,
                ),
            )
            yield from self._field(
                "Early stop",
                NumberInput(
                    "" if config.patience is None else str(config.patience),
                    placeholder="off, or N epochs without a lower val loss",
                    id="patience",
                    validators=[ParsedBy(parse_optional_patience)],
                ),
            )
            with Horizontal(classes="field"):
                yield Label("Augment", classes="field-label")
                yield Select(
                    self._augment_options(config),
                    value="flip" if config.flips else "off",
                    allow_blank=False,
                    id="augment",
                    compact=True,
                )
            with Collapsible(title="Training settings", id="training", collapsed=True):
                with Horizontal(classes="field"):
                    yield Label("Optimizer", classes="field-label")
                    yield Select(
                        [(OPTIMIZER_LABELS[name], name) for name in OPTIMIZERS],
                        value=training.optimizer,
                        allow_blank=False,
                        id="optimizer",
                        compact=True,
                    )
                yield from self._number("Learning rate", "learning-rate", training.learning_rate,
                                        parse_learning_rate)  # fmt: skip
                yield from self._number("Weight decay", "weight-decay", training.weight_decay,
                                        _parse_decay)  # fmt: skip
                yield from self._number("Smoothing", "label-smoothing", training.label_smoothing,
                                        parse_label_smoothing)  # fmt: skip
                with Horizontal(classes="field"):
                    yield Label("Schedule", classes="field-label")
                    yield Select(
                        [(SCHEDULE_LABELS[name], name) for name in SCHEDULES],
                        value=training.schedule,
                        allow_blank=False,
                        id="schedule",
                        compact=True,
                    )
                yield from self._number("Warm-up", "warmup", training.warmup_epochs,
                                        parse_warmup_epochs)  # fmt: skip
            with Horizontal(id="dialog-buttons"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Cancel", id="cancel")
            hint = "Enter starts · Esc cancels · Tab next"
            if self._continue is not None:
                hint = "↑↓ continue/new · " + hint
            yield Static(hint, classes="dialog-hint")

    @staticmethod
    def _field(label: str, field: Input) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label(label, classes="field-label")
            yield field
        yield Static("", id=f"{field.id}-error", classes="field-error", markup=False)

    def _number(
        self, label: str, field_id: str, value: float, parse: Callable[[str], float]
    ) -> ComposeResult:
        yield from self._field(
            label, NumberInput(_format(value), id=field_id, validators=[ParsedBy(parse)])
        )

    @staticmethod
    def _augment_options(config: TrainConfig) -> list[tuple[str, str]]:
        if config.flips and not config.augment:
            # The preset trains on mirrored images whatever the setting says.
            return [(f"random flips (always, {config.model})", "flip")]
        return [("off", "off"), ("random flips", "flip")]

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = self._cursor_blink
        self._sync_mode()
        self._lock_augment(self._config)
        # Typed keys go where the focus is: the epochs, the first thing most runs change.
        # The continue/new choice above it is a Shift+Tab (or an arrow) away.
        epochs = self.query_one("#epochs", Input)
        epochs.select_all()
        epochs.focus()

    # --- Continue or new ----------------------------------------------------------------------

    @property
    def continuing(self) -> bool:
        if self._continue is None or self._continue.refusal is not None:
            return False
        return self.query_one("#mode-continue", RadioButton).value

    def _sync_mode(self) -> None:
        # Continuing trains the same model with its own settings; a saved run resumes with
        # its own batch size too.
        continuing = self.continuing
        for selector in self.NEW_RUN_FIELDS:
            self.query_one(selector).disabled = continuing
        if not continuing:
            self._lock_augment(self._model_config)
        resuming = continuing and self._continue is not None and self._continue.run_dir is not None
        self.query_one("#batch-size", Input).disabled = resuming
        self._update_start()

    @on(RadioSet.Changed, "#mode")
    def _mode_changed(self) -> None:
        self._sync_mode()

    # --- Fields that follow the model -------------------------------------------------------

    @on(Input.Changed, "#model")
    def _model_changed(self, event: Input.Changed) -> None:
        if event.validation_result is not None and not event.validation_result.is_valid:
            return
        try:
            config = self._config.for_model(event.value.strip())
        except ConfigError:
            return
        previous, self._model_config = self._model_config, config
        self._follow("#batch-size", str(previous.batch_size), str(config.batch_size))
        old, new = previous.training, config.training
        self._follow("#learning-rate", _format(old.learning_rate), _format(new.learning_rate))
        self._follow("#weight-decay", _format(old.weight_decay), _format(new.weight_decay))
        self._follow("#label-smoothing", _format(old.label_smoothing), _format(new.label_smoothing))
        self._follow("#warmup", _format(old.warmup_epochs), _format(new.warmup_epochs))
        self._follow_select("#optimizer", old.optimizer, new.optimizer)
        self._follow_select("#schedule", old.schedule, new.schedule)
        self._lock_augment(config)

    def _follow(self, selector: str, old_default: str, new_default: str) -> None:
        """Show the new model's value, unless the field holds one the user typed."""
        field = self.query_one(selector, Input)
        if field.value.strip() == old_default:
            field.value = new_default

    def _follow_select(self, selector: str, old_default: str, new_default: str) -> None:
        select: Select[str] = self.query_one(selector, Select)
        if select.value == old_default:
            select.value = new_default

    def _lock_augment(self, config: TrainConfig) -> None:
        select: Select[str] = self.query_one("#augment", Select)
        always = config.flips and not config.augment and config.is_preset
        wanted = self._augment_options(config.with_changes(augment=False))
        if always:
            select.set_options(wanted)
            select.value = "flip"
        elif len(select._options) == 1:  # it was locked for a model that flips
            select.set_options(wanted)
            select.value = "off"
        select.disabled = always or self.continuing

    # --- Checking and submitting ------------------------------------------------------------

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
        self._update_start()

    def _update_start(self) -> None:
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
            if self._in_training(invalid):
                self.query_one("#training", Collapsible).collapsed = False
            invalid.focus()
            self.app.bell()
            return
        epochs = parse_epochs(self.query_one("#epochs", Input).value)
        batch_size = parse_batch_size(self.query_one("#batch-size", Input).value)
        if self.continuing and self._continue is not None:
            self.dismiss(self._continue.request(epochs, batch_size))
            return
        value = self.query_one("#model", Input).value.strip()
        config = self._config.for_model(value).with_changes(
            epochs=epochs,
            batch_size=batch_size,
            patience=parse_optional_patience(self.query_one("#patience", Input).value),
            augment=self.query_one("#augment", Select).value == "flip",
            data_dir=self._config.data_dir,
        )
        self.dismiss(NewRun(config.with_changes(hyperparameters=self._training())))

    def _in_training(self, field: Input) -> bool:
        return any(node.id == "training" for node in field.ancestors)

    def _training(self) -> Hyperparameters:
        def number(selector: str) -> str:
            return self.query_one(selector, Input).value

        return Hyperparameters(
            optimizer=str(self.query_one("#optimizer", Select).value),  # type: ignore[arg-type]
            learning_rate=parse_learning_rate(number("#learning-rate")),
            weight_decay=_parse_decay(number("#weight-decay")),
            momentum=self._model_config.training.momentum,
            label_smoothing=parse_label_smoothing(number("#label-smoothing")),
            schedule=str(self.query_one("#schedule", Select).value),  # type: ignore[arg-type]
            warmup_epochs=parse_warmup_epochs(number("#warmup")),
        )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def _parse_decay(text: str) -> float:
    """The dialog's weight decay: 0 (none) or what ``--weight-decay`` takes."""
    if text.strip() in ("0", "0.0", ""):
        return 0.0
    return parse_weight_decay(text)
