"""The log pane: the app's own timeline, plus whatever TensorFlow writes to the log file.

While the app runs, file descriptor 2 points at the log file (see ``core.logs``), so
TensorFlow's C++ notices, absl warnings and worker tracebacks end up there rather than over
the screen. This pane follows that file and shows those lines dimmed. The app's own lines are
written to the file too (so the file tells the whole story) and tagged, so that following
the file does not show them twice.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Final, TextIO

from rich.text import Text
from textual.widgets import RichLog

APP_TAG: Final = "fmnist-tui:"
_APP_LINE = re.compile(r"^\d\d:\d\d:\d\d " + re.escape(APP_TAG))
FOLLOW_INTERVAL_S: Final = 0.5
READ_LIMIT: Final = 64 * 1024
"""Most bytes read from the log per tick: a burst of warnings cannot stall the UI."""


class LogPane(RichLog):
    DEFAULT_CSS = """
    LogPane {
        height: 1fr;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(
        self,
        log_path: Path | None = None,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            id=id,
            classes=classes,
            max_lines=2000,
            min_width=20,
            wrap=True,
            markup=False,
            auto_scroll=True,
        )
        self.log_path = log_path
        self._writer: TextIO | None = None
        self._offset = 0
        self._partial = ""

    def on_mount(self) -> None:
        if self.log_path is not None:
            try:
                self._writer = open(self.log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
            except OSError as error:
                self.write(Text(f"cannot write the log {self.log_path}: {error}", style="red"))
            self.set_interval(FOLLOW_INTERVAL_S, self.follow)

    def on_unmount(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def add(self, text: str, style: str = "") -> None:
        """One line of the app's own timeline, on screen and in the log file."""
        self.write(Text(text, style=style))
        if self._writer is not None:
            try:
                self._writer.write(f"{datetime.now():%H:%M:%S} {APP_TAG} {text}\n")
            except OSError:
                self._writer = None

    def follow(self) -> None:
        """Show what others (TensorFlow, absl, tracebacks) appended to the log file."""
        if self.log_path is None:
            return
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._offset)
                chunk = log.read(READ_LIMIT)
        except OSError:
            return
        if not chunk:
            return
        self._offset += len(chunk)
        text = self._partial + chunk.decode("utf-8", errors="replace")
        lines = text.split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip() and not _APP_LINE.match(line):
                self.write(Text(line.rstrip(), style="dim"))
