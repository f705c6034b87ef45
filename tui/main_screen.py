"""The app's one screen: the tabs from the registry, the footer, and what passes between tabs.

The App keeps the global keys, the palette, help, the engine and quitting (``tui.app``); this
screen lays the tabs out, switches between them, and routes what one tab asks of another (a
confusion cell filters the mistakes; a saved run's curves overlay the Train tab's charts).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING, Final, TypeVar

from textual import events, on
from textual.app import ComposeResult
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Static, TabbedContent

from core.files import os_reason
from tui.messages import OverlayLoaded
from tui.tabs import TABS, AppTab, MistakesTab, RunsTab, TabContext, TrainTab
from tui.widgets.confusion import ConfusionView
from tui.widgets.footer import KeysFooter
from tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from tui.state import AppState

MIN_WIDTH: Final = 80
MIN_HEIGHT: Final = 24
WIDE_WIDTH: Final = 120
TALL_HEIGHT: Final = 36

T = TypeVar("T", bound=AppTab)
W = TypeVar("W", bound=Widget)


class MainScreen(Screen[None]):
    class FirstFrame(Message):
        """The screen is laid out and drawn: slow work may start."""

    def __init__(self, state: AppState, context: TabContext) -> None:
        super().__init__()
        self.state = state
        self.context = context
        self._tabs: dict[str, AppTab] = {}
        self._widgets: dict[str, Widget] = {}
        self._focus_settled = asyncio.Event()
        self._focus_settled.set()

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="tabs", initial=TABS[0].tab_id):
            for number, tab_class in enumerate(TABS, start=1):
                tab = tab_class(number, self.state, self.context)
                self._tabs[tab.tab_id] = tab
                yield tab
        yield Static("", id="too-small", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        for tab in self.tabs:
            tab.find_widgets()
        for selector, kind in (
            ("KeysFooter", KeysFooter),
            ("#too-small", Static),
            ("#tabs", TabbedContent),
        ):
            self._widget(selector, kind)
        self._describe_size()
        self.tab(TrainTab).show_progress(self.state)
        self.call_after_refresh(self.post_message, self.FirstFrame())

    def _widget(self, selector: str, kind: type[W]) -> W:
        """One of the screen's own widgets, looked up once (see :meth:`AppTab.widget`)."""
        found = self._widgets.get(selector)
        if found is None:
            found = self._widgets[selector] = self.query_one(selector, kind)
        assert isinstance(found, kind)
        return found

    # --- Tabs -------------------------------------------------------------------------------

    @property
    def tabs(self) -> tuple[AppTab, ...]:
        return tuple(self._tabs.values())

    def tab(self, kind: type[T]) -> T:
        found = self._tabs[kind.tab_id]
        assert isinstance(found, kind)
        return found

    @property
    def active_tab(self) -> str | None:
        return self._widget("#tabs", TabbedContent).active or None

    def show_tab(self, tab: str) -> None:
        """Show ``tab`` in the next frame, and focus its widget just after that frame.

        Moving focus restyles the widget left and the one focused (their borders, the log's
        tint, the scrollbars): done before the frame, the new tab waited for it. Keys typed
        meanwhile wait for the focus instead (:meth:`focus_applied`).
        """
        if tab not in self._tabs:
            return
        self._widget("#tabs", TabbedContent).active = tab
        self._focus_settled.clear()
        self.call_after_refresh(self._focus_shown_tab, tab)

    def _focus_shown_tab(self, tab: str) -> None:
        try:
            if self.active_tab == tab:
                self._tabs[tab].focus_default()
        finally:
            self._focus_settled.set()

    async def focus_applied(self, timeout: float) -> bool:
        """Wait until the tab shown last has asked for its focus; whether it had to wait."""
        if self._focus_settled.is_set():
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._focus_settled.wait(), max(timeout, 0.0))
        return True

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane_id = event.pane.id
        if pane_id in self._tabs and self.focused is None:
            self._tabs[pane_id].focus_default()

    # --- Screenshots ------------------------------------------------------------------------

    def save_screenshot_svg(self) -> None:
        """Save an SVG of the screen as ``screenshot-<tab>.svg``.

        The folder is ``$FMNIST_SCREENSHOT_DIR`` or the current one (the README's pictures in
        ``assets/`` are made this way).
        """
        # Toasts (say, the last screenshot's) do not belong in the picture: clear them and
        # save once the screen has been redrawn without them.
        self.app.clear_notifications()
        self.call_after_refresh(self._save_screenshot)

    def _save_screenshot(self) -> None:
        folder = os.environ.get("FMNIST_SCREENSHOT_DIR") or os.getcwd()
        try:
            path = self.app.save_screenshot(f"screenshot-{self.active_tab or 'app'}.svg", folder)
        except OSError as error:
            self.notify(f"Screenshot not saved: {os_reason(error)}", severity="error")
            return
        self.notify(path, title="Screenshot saved")

    # --- Size -------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._describe_size(event.size)

    def _describe_size(self, size: Size | None = None) -> None:
        width, height = size or self.app.size
        # Below 120 columns the Mistakes tab's keys and the app's only fit without padding
        # and without the palette hint (the help screen names ctrl+p).
        footer = self._widget("KeysFooter", KeysFooter)
        narrow = width < WIDE_WIDTH
        if footer.compact != narrow:
            footer.compact = narrow
            footer.show_command_palette = not narrow
            footer.refresh(recompose=True)
        self._widget("#too-small", Static).update(
            f"fmnist-tui needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
            f"This one is {width}x{height}: make it larger (or zoom out).\n\n"
            "Training goes on meanwhile; q quits."
        )

    # --- Between tabs -----------------------------------------------------------------------

    @on(ConfusionView.CellSelected)
    def _cell_selected(self, message: ConfusionView.CellSelected) -> None:
        self.tab(MistakesTab).set_filter(message.true_label, message.predicted_label)
        self.show_tab(MistakesTab.tab_id)

    @on(RunsTable.CompareRun)
    def _compare_run(self, message: RunsTable.CompareRun) -> None:
        label = message.path.name
        train = self.tab(TrainTab)
        if train.overlay_label == label:
            train.remove_overlay()
            self.notify(f"Removed the overlay of {label}")
            return
        if self.state.shown is not None and self.state.shown.run_id == label:
            self.notify("That run is the one on show: pick another to overlay", severity="warning")
            return
        self.tab(RunsTab).load_overlay(message.path)

    def on_overlay_loaded(self, message: OverlayLoaded) -> None:
        if not message.history:
            self.notify(f"{message.label} has no finished epoch to draw", severity="warning")
            return
        train = self.tab(TrainTab)
        train.set_overlay(message.label, message.history)
        train.note(
            f"Overlaid {message.label} (purple: train, grey: validation); c again removes it"
        )
        self.show_tab(TrainTab.tab_id)
