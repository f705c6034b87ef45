"""The app's own keys: train, stop, export, the tab numbers, help, quit, screenshot.

Keys are data: each binding has an id and a tooltip; the footer shows the few that matter now
and the help screen lists them all. The tab keys come from the tab registry (``tui.tabs``).
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

from tui.tabs import TABS


def tab_bindings() -> list[BindingType]:
    return [
        Binding(
            str(number),
            f"show_tab('{tab.tab_id}')",
            f"{tab.title} tab",
            show=False,
            id=f"app.tab_{tab.tab_id}",
        )
        for number, tab in enumerate(TABS, start=1)
    ]


def app_bindings() -> list[BindingType]:
    return [
        Binding(
            "t",
            "train",
            "Train",
            tooltip="Choose epochs, model and batch size, then train",
            id="app.train",
        ),
        Binding(
            "s",
            "stop",
            "Stop",
            tooltip="Stop after the current batch, keeping what was learned",
            id="app.stop",
        ),
        Binding(
            "e",
            "export",
            "Export",
            tooltip="Write the run's PNG plots into its folder",
            id="app.export",
        ),
        *tab_bindings(),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("q", "quit", "Quit", tooltip="Quit (asks first while training)", id="app.quit"),
        # ctrl+c and ctrl+q quit as q does, from anywhere (a dialog too): over SSH ctrl+c is
        # what people press to leave a program, and Textual's own ctrl+c only said to press
        # ctrl+q instead.
        Binding(
            "ctrl+c,ctrl+q",
            "quit",
            "Quit",
            show=False,
            priority=True,
            tooltip="Quit (asks first while training)",
            id="app.quit_anywhere",
        ),
        Binding(
            "ctrl+s",
            "save_screenshot",
            "Screenshot",
            show=False,
            priority=True,
            tooltip="Save an SVG of the screen (in a dialog too)",
            id="app.screenshot",
        ),
    ]
