"""Helpers shared by the test files: driving the app through Pilot, and the installed CLI."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from core import data
from core.data import RawData, write_idx


def fmnist_tui() -> list[str]:
    """The command that runs the installed ``fmnist-tui`` (its module when not installed)."""
    script = Path(sys.prefix) / "bin" / "fmnist-tui"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "tui.cli"]


def text_of(widget: Widget, separator: str = "") -> str:
    """What the widget shows on screen, as plain text, its lines joined by ``separator``."""
    strips = widget.render_lines(Region(0, 0, *widget.region.size))
    return separator.join(strip.text.rstrip() for strip in strips)


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], bool], what: str = "", *, timeout: float = 60.0
) -> None:
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await pilot.pause(0.02)


def write_data_dir(
    folder: Path, raw: RawData, *, gzip_train: bool = True, gzip_test: bool = False
) -> Path:
    """``raw`` as the four Fashion-MNIST IDX files in ``folder`` (by default training files
    gzipped and test files plain, so a run reads both kinds)."""
    folder.mkdir(parents=True, exist_ok=True)
    train, test = (".gz" if gzip_train else ""), (".gz" if gzip_test else "")
    write_idx(folder / f"{data.TRAIN_IMAGES}{train}", raw.x_train)
    write_idx(folder / f"{data.TRAIN_LABELS}{train}", raw.y_train)
    write_idx(folder / f"{data.TEST_IMAGES}{test}", raw.x_test)
    write_idx(folder / f"{data.TEST_LABELS}{test}", raw.y_test)
    return folder
