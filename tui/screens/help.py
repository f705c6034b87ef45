"""Every key and palette command, grouped by where it works."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

HelpSection = tuple[str, Sequence[tuple[str, str]]]
"""A heading and its (key, what it does) rows."""


def key_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, description) for each described binding, keys as the footer shows them."""
    rows: list[tuple[str, str]] = []
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        keys = binding.key_display or " / ".join(binding.key.split(","))
        rows.append((keys, binding.tooltip or binding.description))
    return rows


def help_renderable(sections: Sequence[HelpSection]) -> RenderableType:
    parts: list[RenderableType] = []
    for heading, rows in sections:
        parts.append(Text(heading, style="bold underline"))
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 1), expand=True)
        table.add_column(style="bold", no_wrap=True, min_width=8)
        table.add_column(ratio=1)
        for keys, what in rows:
            table.add_row(keys, what)
        parts.append(table)
        parts.append(Text(""))
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("q,question_mark", "close", "Close", show=False, id="help.close_keys"),
    ]

    def __init__(self, sections: Sequence[HelpSection]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label("Keys", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(help_renderable(self.sections), markup=False)
            yield Static("Esc, q or ? closes · ↑↓ scroll", classes="dialog-hint")
        # Its own footer, over the main screen's: there "q Quit" would be wrong, q closes this.
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
