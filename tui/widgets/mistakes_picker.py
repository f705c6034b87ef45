"""The gallery's class picker: choose the true or predicted class at once, not by cycling.

A small dialog listing every class with how many examples the gallery would show for it; a
digit picks that class straight away (``p 6``: the shirts), ``a`` every class. It returns a
:class:`ClassChoice`, or None when cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from core.evaluation import CLASS_NAMES, NUM_CLASSES
from tui.widgets.mistakes_list import ClassAxis, Outcome, noun

ANY_CLASS = "any"
"""The option id of "every class"."""


@dataclass(frozen=True, slots=True)
class ClassChoice:
    """The class picked; ``label`` None: every class."""

    label: int | None


class ClassPicker(ModalScreen[ClassChoice | None]):
    """Pick the gallery's true or predicted class from a list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("a,x", "choose(None)", "Every class", id="picker.any"),
        *(
            Binding(str(label), f"choose({label})", show=False, id=f"picker.class_{label}")
            for label in range(NUM_CLASSES)
        ),
    ]

    DEFAULT_CSS = """
    ClassPicker {
        align: center middle;
        & > #class-picker {
            width: 48;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        & #class-options { height: auto; max-height: 14; }
        & #class-picker-hint { color: $text-muted; }
    }
    """

    def __init__(
        self,
        which: ClassAxis,
        counts: Sequence[int],
        *,
        current: int | None,
        outcome: Outcome,
    ) -> None:
        """
        Args:
            which: the class being chosen: the true or the predicted one.
            counts: per class, how many examples the gallery would show with it.
            current: the class chosen now (None: every class), highlighted at first.
            outcome: what the gallery shows (mistakes, correct ones, all), for the counts.
        """
        super().__init__()
        self.which = which
        self.counts = list(counts)
        self.current = current
        self.outcome = outcome

    def compose(self) -> ComposeResult:
        what = "true" if self.which == "true" else "predicted"
        with Vertical(id="class-picker"):
            yield Label(f"Show the {what} class", classes="dialog-title")
            total = sum(self.counts)
            options = [Option(f"  every class  ({total:,} {noun(self.outcome, total)})", ANY_CLASS)]
            for label, name in enumerate(CLASS_NAMES):
                count = self.counts[label]
                options.append(Option(f"{label} {name:<12} ({count:,})", str(label)))
            yield OptionList(*options, id="class-options")
            yield Static("0-9 pick a class · a every class · esc cancel", id="class-picker-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0 if self.current is None else self.current + 1
        options.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option = event.option.id
        self.dismiss(ClassChoice(None if option in (None, ANY_CLASS) else int(option)))

    def action_choose(self, label: int | None) -> None:
        self.dismiss(ClassChoice(label))

    def action_cancel(self) -> None:
        self.dismiss(None)
