"""The app's one screen: the tabs from the registry, the footer, and what passes between tabs.

The App keeps the global keys, the palette, help, the engine and quitting (``tui.app``); this
screen lays the tabs out, hands them what changed (:meth:`MainScreen.draw`), switches between
them, and routes what one tab asks of another that changes no state (a confusion cell filters
the mistakes).
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
from tui.tabs import TABS, AppTab, MistakesTab, TabContext, TrainTab
from tui.widgets.confusion import ConfusionView
from tui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from tui.state import AppState, Changes

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
        self._too_small_text = ""
        """What the below-minimum notice says now (updated only when it changes)."""

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

    def draw(self, changes: Changes) -> None:
        """Hand what a report or request changed to every tab."""
        state = self.state
        if changes.progress or changes.sweep:
            self._describe_too_small(*self.app.size)
        for tab in self.tabs:
            if changes.shown_run:
                tab.show_run(state.shown, state)
            tab.apply(changes, state)

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

    def _reset_focus(self, widget: Widget, avoiding: list[Widget] | None = None) -> None:
        # Textual's ``Widget._on_hide`` blurs a focused widget that hides, and the screen hands
        # the focus to a sibling. While a tab switch waits to focus the new tab's widget
        # (show_tab), the widgets of the pane being hidden let go of the focus instead: handed
        # to a sibling in that pane, the sibling's own hiding passed it on again, to the tab
        # bar, after the new tab's widget had taken it, and the keys typed next went there.
        if not self._focus_settled.is_set() and self.focused is widget:
            self.set_focus(None, scroll_visible=False)
            return
        super()._reset_focus(widget, avoiding)

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
        # During show_tab the new tab is focused after the frame; this is for other ways in.
        if pane_id in self._tabs and self.focused is None and self._focus_settled.is_set():
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

    def _set_breakpoint_classes(self, width: int, height: int) -> None:
        """The app's breakpoint classes (``-wide``, ``-tall``...) for this size, now.

        Textual sets them when the screen gets its first resize event, which comes after the
        first frame (half a second after it in tmux): that frame drew the narrow layout.
        """
        app = self.app
        for breakpoints, extent in (
            (app.HORIZONTAL_BREAKPOINTS or [], width),
            (app.VERTICAL_BREAKPOINTS or [], height),
        ):
            reached = [name for least, name in sorted(breakpoints) if extent >= least]
            self.update_classes({name: reached[-1:] == [name] for _, name in breakpoints})

    def on_resize(self, event: events.Resize) -> None:
        self._describe_size(event.size)

    def _describe_size(self, size: Size | None = None) -> None:
        width, height = size or self.app.size
        self._set_breakpoint_classes(width, height)
        # Below 120 columns the Mistakes tab's keys and the app's only fit without padding
        # and without the palette hint (the help screen names ctrl+p).
        footer = self._widget("KeysFooter", KeysFooter)
        narrow = width < WIDE_WIDTH
        if footer.compact != narrow:
            footer.compact = narrow
            footer.show_command_palette = not narrow
            footer.refresh(recompose=True)
        self._describe_too_small(width, height)

    def _describe_too_small(self, width: int, height: int) -> None:
        """The notice shown below the minimum size: this size, and whether work goes on."""
        state = self.state
        if state.sweep is not None:
            going_on = "The sweep goes on meanwhile; q quits."
        elif state.training:
            going_on = "Training goes on meanwhile; q quits."
        else:
            going_on = "q quits."
        text = (
            f"fmnist-tui needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
            f"This one is {width}x{height}: make it larger (or zoom out).\n\n{going_on}"
        )
        if text != self._too_small_text:
            self._too_small_text = text
            self._widget("#too-small", Static).update(text)

    # --- Between tabs -----------------------------------------------------------------------

    @on(ConfusionView.CellSelected)
    def _cell_selected(self, message: ConfusionView.CellSelected) -> None:
        self.tab(MistakesTab).show_cell(message.true_label, message.predicted_label)
        self.show_tab(MistakesTab.tab_id)
