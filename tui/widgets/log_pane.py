"""The log pane: the app's own timeline, plus whatever TensorFlow writes to the log file.

While the app runs, file descriptor 2 points at the log file (see ``core.logs``), so
TensorFlow's C++ notices, absl warnings and worker tracebacks end up there rather than over
the screen. This pane follows that file and shows those lines dimmed. The app's own lines are
written to the file too (so the file tells the whole story) and tagged, so that following
the file does not show them twice.

TensorFlow's start-up chatter (absl's "All log messages before absl::InitializeLog()", the
oneDNN notice, "Could not find cuda drivers", "failed call to cuInit") would otherwise be the
first eight lines anyone sees. The pane folds it into one dim line that says what it means
and counts the lines left in the file; runtime messages that matter (out of memory, a
failed kernel, a fatal check, a traceback) and everything else are shown in full.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Final, TextIO

from rich.text import Text
from textual import events
from textual.widgets import RichLog

APP_TAG: Final = "fmnist-tui:"
_APP_LINE = re.compile(r"^\d\d:\d\d:\d\d " + re.escape(APP_TAG))
FOLLOW_INTERVAL_S: Final = 0.5
READ_LIMIT: Final = 64 * 1024
"""Most bytes read from the log per tick: a burst of warnings cannot stall the UI."""
MAX_LINES: Final = 2000

_ABSL_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.-]+:\d+\]")
"""absl's prefix: severity, date, time, thread, ``file:line]``; before ``InitializeLog`` the
date is ``0000`` and the time ``00:00:<seconds since 1970>``."""
_TF_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) (?:tensorflow|external|xla)/"
)
"""The prefix of older TensorFlow builds and XLA: ``2026-01-01 12:00:00.123456: I tensorflow/``."""
_RUNTIME_PREAMBLE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|WARNING: Logging before InitGoogleLogging\(\)"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)
_MATTERS = re.compile(
    r"ResourceExhausted|out of memory|\bOOM\b|failed to allocate|ran out of memory"
    r"|Traceback \(most recent call last\)|Check failed|Aborted|Segmentation fault"
    r"|kernel.{0,40}fail|fail.{0,40}kernel|No (registered )?OpKernel|InvalidArgument"
    r"|UNIMPLEMENTED|Fatal",
    re.IGNORECASE,
)
_NO_CUDA = re.compile(r"Could not find cuda drivers|failed call to cuInit|no CUDA-capable device")
_GPU_IN_USE = re.compile(r"Created device .*GPU")
_KNOWN_ERROR_CHATTER = re.compile(
    _NO_CUDA.pattern
    + r"|Unable to register cu\w+ factory|computation placer already registered"
    + r"|TF-TRT Warning"
)
"""Lines logged as errors on every CPU-only start: no news."""


class LineKind(Enum):
    RUNTIME_NOTICE = "runtime notice"
    """TensorFlow's C++ runtime saying how it started: folded into one line."""
    RUNTIME_PROBLEM = "runtime problem"
    """A runtime line that matters (out of memory, a failed kernel): shown in full."""
    OTHER = "other"
    """Anything else written to the log (tracebacks, Python warnings): shown in full."""


def classify(line: str) -> LineKind:
    """What a line that someone other than the app wrote to the log is."""
    if _MATTERS.search(line):
        return LineKind.RUNTIME_PROBLEM
    if _RUNTIME_PREAMBLE.match(line):
        return LineKind.RUNTIME_NOTICE
    if _ABSL_LINE.match(line):
        severity = line[0]
    elif tf_line := _TF_LINE.match(line):
        severity = tf_line.group(1)
    else:
        return LineKind.OTHER
    if severity in "EF" and not _KNOWN_ERROR_CHATTER.search(line):
        return LineKind.RUNTIME_PROBLEM
    return LineKind.RUNTIME_NOTICE


@dataclass
class RuntimeNotices:
    """TensorFlow's start-up notices seen so far, summed up as one line."""

    count: int = 0
    no_cuda: bool = False
    gpu_in_use: bool = False

    def add(self, line: str) -> None:
        self.count += 1
        self.no_cuda = self.no_cuda or bool(_NO_CUDA.search(line))
        self.gpu_in_use = self.gpu_in_use or bool(_GPU_IN_USE.search(line))

    def summary(self) -> str:
        if self.gpu_in_use:
            meaning = "GPU found and in use"
        elif self.no_cuda:
            meaning = "no CUDA driver found, training on the CPU"
        else:
            meaning = "start-up notices"
        lines = "line" if self.count == 1 else "lines"
        return f"TensorFlow runtime: {meaning}; {self.count} {lines} in the log file"


class LogPane(RichLog):
    DEFAULT_CSS = """
    LogPane {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-gutter: stable;
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
            max_lines=MAX_LINES,
            min_width=20,
            wrap=True,
            markup=False,
            auto_scroll=True,
        )
        self.log_path = log_path
        self._writer: TextIO | None = None
        self._offset = 0
        self._partial = ""
        self._entries: deque[Text] = deque(maxlen=MAX_LINES)
        """What the pane shows, one entry per line written, so the notice line can change."""
        self.runtime = RuntimeNotices()
        self._runtime_entry: Text | None = None
        self._wrapped_width = 0
        self._unwritten = False
        """Lines came while the pane had no width (its tab hidden): they wait to be shown."""

    def on_mount(self) -> None:
        if self.log_path is not None:
            try:
                self._writer = open(self.log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
            except OSError as error:
                self._show(Text(f"cannot write the log {self.log_path}: {error}", style="red"))
            self.set_interval(FOLLOW_INTERVAL_S, self.follow)

    def on_resize(self, event: events.Resize) -> None:
        # RichLog wraps a line once, at the width it has when the line is written: lines
        # written before the layout settled (or before the terminal was resized) would stay
        # cut off. Wrap them all again at the new width.
        width = event.size.width
        if (width != self._wrapped_width or self._unwritten) and self._entries:
            self._rewrite()
        self._wrapped_width = width

    def on_show(self) -> None:
        # Shown again at the size it had: no resize comes, and the lines that arrived while
        # hidden are still to be written.
        if self._unwritten:
            self._rewrite()

    def _has_width(self) -> bool:
        return self.scrollable_content_region.width > 0

    def _rewrite(self) -> None:
        if not self._has_width():
            self._unwritten = True
            return
        self._unwritten = False
        self.clear()
        for text in self._entries:
            self.write(text)

    def on_unmount(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def add(self, text: str, style: str = "") -> None:
        """One line of the app's own timeline, on screen and in the log file."""
        self._show(Text(text, style=style))
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
        notices_before = self.runtime.count
        for line in lines:
            if line.strip() and not _APP_LINE.match(line):
                self._show_external(line.rstrip())
        if self.runtime.count != notices_before:
            self._update_runtime_line()

    def _show(self, text: Text) -> None:
        self._entries.append(text)
        if self._unwritten or not self._has_width():
            # Hidden (its tab is not on show), RichLog would wrap the line at its minimum
            # width, 20 columns, for good: it is written when the pane is shown.
            self._unwritten = True
        else:
            self.write(text)

    def _show_external(self, line: str) -> None:
        kind = classify(line)
        if kind is LineKind.RUNTIME_NOTICE:
            self.runtime.add(line)
            if self._runtime_entry is None:
                self._runtime_entry = Text(self.runtime.summary(), style="dim italic")
                self._show(self._runtime_entry)
        elif kind is LineKind.RUNTIME_PROBLEM:
            self._show(Text(line, style="bold red"))
        else:
            self._show(Text(line, style="dim"))

    def _update_runtime_line(self) -> None:
        entry = self._runtime_entry
        if entry is None or entry.plain == self.runtime.summary():
            return
        entry.plain = self.runtime.summary()
        if entry not in self._entries:
            return
        # RichLog cannot change a line it has drawn: draw them all again (this happens a few
        # times per session, when TensorFlow starts and when it first trains).
        self._rewrite()
