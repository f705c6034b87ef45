"""The two sweep dialogs: run a space file in the app, and watch a study by its storage.

Each returns a small dataclass once every field is valid, or ``None`` (Escape). Empty fields
mean what ``fmnist-tui sweep`` means by an option left out: the space file's number of
trials, the file's name as the study's, the runs folder's journal as the storage. What only
the space file's reader can say (a bad range, an unknown setting) the engine says when it
reads it, as ``fmnist-tui sweep`` would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from core.sweeps.errors import StorageError
from core.sweeps.storage import parse_storage
from tui.widgets.inputs import NumberInput, OrderedInput

MAX_TRIALS = 100_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SweepAsked:
    """Run a worker of ``space``'s sweep in the app."""

    space: Path
    trials: int | None
    study: str | None
    storage: str | None


@dataclass(frozen=True, slots=True)
class StudyAsked:
    """Watch ``study`` (``None``: the newest) in ``storage`` (``""``: the runs folder's
    journal)."""

    storage: str
    study: str | None


def parse_trials(text: str) -> int | None:
    """A number of trials, or ``None`` for an empty field.

    Raises:
        ValueError: not a whole number from 1 to 100,000 (the message says so).
    """
    text = text.strip().replace("_", "").replace(",", "")
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_TRIALS:
        raise ValueError(f"Trials: a whole number from 1 to {MAX_TRIALS:,}, or empty")
    return int(text)


def check_storage(text: str, runs_dir: Path) -> str:
    """``text`` as a storage, stripped (``""``: the runs folder's journal).

    Raises:
        ValueError: another kind of URL than PostgreSQL's (its password hidden).
    """
    try:
        parse_storage(text, runs_dir)
    except StorageError as error:
        message = str(error)
        raise ValueError(message[:1].upper() + message[1:]) from None
    return text.strip()


def _expanded(text: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(text.strip())))


class _Dialog(ModalScreen[T]):
    """Fields on rows, one error line under them, Enter to accept, Escape to cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="sweep_dialog.cancel"),
    ]

    def _field(self, label: str, field: Input) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label(label, classes="field-label")
            yield field

    def _error(self, message: str | None) -> None:
        error = self.query_one("#sweep-dialog-error", Static)
        error.update(message or "")
        error.display = message is not None
        if message is not None:
            self.app.bell()


class SweepDialog(_Dialog[SweepAsked | None]):
    """Returns a :class:`SweepAsked`, or ``None``."""

    def __init__(self, runs_dir: Path, space: str = "") -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.space = space

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Run a sweep", classes="dialog-title")
            yield Static(
                "Trials run one after another here, each a run on the Train tab; other "
                "workers (fmnist-tui sweep) of the same study share them. s stops after "
                "the current trial.",
                markup=False,
            )
            yield Static("")
            yield from self._field(
                "Space file",
                OrderedInput(
                    self.space,
                    placeholder="examples/sweeps/improved_lr_wd.toml",
                    id="sweep-space",
                    compact=True,
                ),
            )
            yield from self._field(
                "Trials",
                NumberInput(placeholder="the file's (trials = N)", id="sweep-trials"),
            )
            yield from self._field(
                "Study", OrderedInput(placeholder="the file's name", id="sweep-study", compact=True)
            )
            yield from self._field(
                "Storage",
                OrderedInput(
                    placeholder="the runs folder's journal, or postgresql://…",
                    id="sweep-storage",
                    compact=True,
                ),
            )
            yield Static("", id="sweep-dialog-error", classes="field-error", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button("Run (enter)", variant="primary", id="sweep-start")
                yield Button("Cancel (esc)", id="sweep-cancel")

    def on_mount(self) -> None:
        self.query_one("#sweep-space", Input).focus()

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    @on(Input.Submitted)
    @on(Button.Pressed, "#sweep-start")
    def _submit(self) -> None:
        space_text = self._value("#sweep-space")
        if not space_text.strip():
            self._error("Space file: name the sweep's TOML file")
            return
        space = _expanded(space_text)
        if not space.is_file():
            self._error(f"Space file: no file {space}")
            return
        study = self._value("#sweep-study").strip()
        if study and not study.isprintable():
            self._error("Study: printable characters only")
            return
        try:
            trials = parse_trials(self._value("#sweep-trials"))
            storage = check_storage(self._value("#sweep-storage"), self.runs_dir)
        except ValueError as error:
            self._error(str(error))
            return
        self.dismiss(SweepAsked(space, trials, study or None, storage or None))

    @on(Button.Pressed, "#sweep-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class WatchStudyDialog(_Dialog[StudyAsked | None]):
    """Returns a :class:`StudyAsked`, or ``None``."""

    def __init__(self, runs_dir: Path, storage: str = "", study: str | None = None) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.storage = storage
        self.study = study

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Watch a study", classes="dialog-title")
            yield Static(
                "A PostgreSQL URL (postgresql://user@host:5432/db; a password is never "
                "shown) or a journal file, and the study's name. Empty: the runs folder's "
                "journal, and its newest study.",
                markup=False,
            )
            yield Static("")
            yield from self._field(
                "Storage",
                OrderedInput(
                    self.storage,
                    placeholder="postgresql://user@host:5432/sweeps",
                    id="watch-storage",
                    compact=True,
                ),
            )
            yield from self._field(
                "Study",
                OrderedInput(
                    self.study or "", placeholder="the newest", id="watch-study", compact=True
                ),
            )
            yield Static("", id="sweep-dialog-error", classes="field-error", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button("Watch (enter)", variant="primary", id="watch-start")
                yield Button("Cancel (esc)", id="watch-cancel")

    def on_mount(self) -> None:
        self.query_one("#watch-storage", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#watch-start")
    def _submit(self) -> None:
        study = self.query_one("#watch-study", Input).value.strip()
        if study and not study.isprintable():
            self._error("Study: printable characters only")
            return
        try:
            storage = check_storage(self.query_one("#watch-storage", Input).value, self.runs_dir)
        except ValueError as error:
            self._error(str(error))
            return
        self.dismiss(StudyAsked(storage, study or None))

    @on(Button.Pressed, "#watch-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
