"""Ask which pictures to classify: files or folders, as a shell would take them."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Static

from tui.widgets.inputs import OrderedInput


@dataclass(frozen=True, slots=True)
class PicturePaths:
    """The files and folders the user named, ``~`` and ``$VARS`` expanded."""

    paths: tuple[Path, ...]


def parse_paths(text: str) -> PicturePaths:
    """``text`` split as a shell splits words (quotes keep spaces in a name).

    Raises:
        ValueError: unbalanced quotes, or no path at all.
    """
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise ValueError(f"{error}: close the quote") from None
    if not words:
        raise ValueError("name a picture or a folder of them")
    return PicturePaths(tuple(Path(os.path.expandvars(os.path.expanduser(w))) for w in words))


class _Parses(Validator):
    def validate(self, value: str) -> ValidationResult:
        try:
            parse_paths(value)
        except ValueError as error:
            return self.failure(str(error))
        return self.success()


class PredictDialog(ModalScreen[PicturePaths | None]):
    """Returns the paths to classify, or ``None``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="predict.cancel"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Classify pictures", classes="dialog-title")
            yield Static(
                f"With the model of {self.run_id}. PNG, JPEG, GIF, WebP, BMP or TIFF files, "
                "or folders of them; several separated by spaces (quote a name with spaces).",
                id="predict-detail",
                markup=False,
            )
            with Horizontal(classes="field"):
                yield Label("Pictures", classes="field-label")
                yield OrderedInput(
                    placeholder="~/photos/boot.jpg shirts/",
                    id="predict-paths",
                    validators=[_Parses()],
                    validate_on=["changed", "submitted"],
                    compact=True,
                )
            yield Static("", id="predict-error", classes="field-error", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button("Classify (enter)", variant="primary", id="predict-start")
                yield Button("Cancel (esc)", id="predict-cancel")

    def on_mount(self) -> None:
        self.query_one("#predict-paths", Input).focus()

    @on(Input.Changed, "#predict-paths")
    def _changed(self, event: Input.Changed) -> None:
        # An empty field is not an error yet: the user has not typed.
        self._show(None if not event.value else event.validation_result)

    def _show(self, result: ValidationResult | None) -> bool:
        error = self.query_one("#predict-error", Static)
        valid = result is None or result.is_valid
        error.update("" if valid or result is None else result.failure_descriptions[0])
        error.display = not valid
        return valid

    @on(Input.Submitted, "#predict-paths")
    @on(Button.Pressed, "#predict-start")
    def _submit(self) -> None:
        field = self.query_one("#predict-paths", Input)
        if not self._show(field.validate(field.value)):
            self.app.bell()
            return
        self.dismiss(parse_paths(field.value))

    @on(Button.Pressed, "#predict-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
