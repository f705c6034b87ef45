"""The whole log file (its last part when it is large), for the palette's "Log: open"."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Final

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Log, Static

SHOWN_BYTES: Final = 256 * 1024


def read_tail(path: Path, limit: int = SHOWN_BYTES) -> str:
    """The last ``limit`` bytes of ``path`` as text, or why it cannot be read."""
    try:
        with open(path, "rb") as log:
            log.seek(0, 2)
            size = log.tell()
            log.seek(max(0, size - limit))
            data = log.read()
    except OSError as error:
        return f"cannot read {path}: {error.strerror or error}"
    text = data.decode("utf-8", errors="replace")
    if size > limit:
        text = "…\n" + text.split("\n", 1)[-1]
    return text


class LogScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="log.close"),
    ]

    def __init__(self, log_path: Path | None) -> None:
        super().__init__()
        self.log_path = log_path

    def compose(self) -> ComposeResult:
        with Vertical(id="log-dialog"):
            yield Label("Log", classes="dialog-title")
            where = str(self.log_path) if self.log_path else "no log file (not run by run_app)"
            yield Static(where, id="log-path", markup=False)
            yield Log(id="log-text", highlight=False)
            yield Static("Esc closes", classes="dialog-hint")

    def on_mount(self) -> None:
        log = self.query_one("#log-text", Log)
        if self.log_path is not None:
            log.write(read_tail(self.log_path))
        log.focus()

    def action_close(self) -> None:
        self.dismiss(None)
