"""The command palette's commands and the help screen's sections, built from the app's keys
and the tabs' registry, so a new tab's keys and commands appear in both without edits here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.binding import BindingType

from core.presets import PRESET_NAMES
from tui.screens.help import HelpSection, key_rows
from tui.tabs import AppTab
from tui.tabs.base import PaletteCommand

TRAIN_DIALOG_KEYS = [
    ("enter", "Start"),
    ("esc", "Cancel"),
    ("tab", "Next field"),
    ("↑ / ↓", "After a run: continue it, or start a new one"),
]


def palette_commands(tabs: Iterable[AppTab]) -> list[PaletteCommand]:
    """(title, help, action) for the palette, named ``group: action``."""
    commands: list[PaletteCommand] = [
        ("Train: start…", "Open the training dialog (t)", "train"),
        ("Train: stop", "Stop after the current batch (s)", "stop"),
        ("Export: PNGs", "Accuracy/loss, misclassified grid, confusion matrix (e)", "export"),
    ]
    for preset in PRESET_NAMES:
        commands.append(
            (
                f"Model: use {preset} preset",
                f"Build and show {preset}; new runs use it",
                f"use_preset('{preset}')",
            )
        )
    commands.append(
        (
            "Predict: classify image files…",
            "Pictures or folders of them, classified by the run on show's model",
            "predict_files",
        )
    )
    commands.append(
        ("Log: open", "Show the log file (the ML runtime's output goes there)", "open_log")
    )
    for tab in tabs:
        commands += tab.commands()
    commands += [
        ("App: save screenshot", "Save an SVG of the screen (ctrl+s)", "save_screenshot"),
        ("App: keys", "Every key and command (?)", "help"),
        ("App: quit", "Quit (q, ctrl+c; asks first while training)", "quit"),
    ]
    return commands


def help_sections(
    bindings: Iterable[BindingType],
    tabs: Iterable[AppTab],
    commands: Sequence[PaletteCommand],
) -> list[HelpSection]:
    """Every key and palette command, grouped by where it works."""
    sections: list[HelpSection] = [
        ("Everywhere", [*key_rows(bindings), ("ctrl+p", "Command palette")]),
        ("Train dialog", TRAIN_DIALOG_KEYS),
    ]
    for tab in tabs:
        if tab.help_title is not None:
            sections.append((tab.help_title, tab.help_rows()))
    sections.append(("Command palette", [(title, help_text) for title, help_text, _ in commands]))
    return sections
