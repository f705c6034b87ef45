"""What every tab of the app is: a pane that owns its widgets, keys and workers.

A tab draws a run the app's :class:`~tui.state.AppState` holds and the :class:`Changes` that
training events make; it never holds the run's state itself. Adding a tab is one module with a
subclass of :class:`AppTab` and one line in ``tui.tabs.TABS``: the app builds its tab bar, its
``1``-``9`` keys, the help screen and the command palette from that registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual.widget import Widget
from textual.widgets import TabPane

if TYPE_CHECKING:
    from tui.state import AppState, Changes, RunView

W = TypeVar("W", bound=Widget)
HelpRow = tuple[str, str]
"""A key (as shown) and what it does."""
PaletteCommand = tuple[str, str, str]
"""A palette command: title (``group: action``), help text, and the app action it runs."""


@dataclass(frozen=True, slots=True)
class TabContext:
    """What the app tells every tab when it builds it."""

    runs_dir: Path
    log_path: Path | None
    loading: str
    """What the status line says while the ML runtime loads."""


class AppTab(TabPane):
    """One tab of the app. Subclasses set the class variables and compose their widgets."""

    tab_id: ClassVar[str]
    """The pane's id, also the name ``show_tab`` takes."""
    title: ClassVar[str]
    """Shown on the tab bar after its number key."""
    focus_selector: ClassVar[str]
    """The widget that gets the focus when the tab is shown."""
    widgets: ClassVar[tuple[tuple[str, type[Widget]], ...]] = ()
    """The widgets the tab draws on, found once the app has mounted (see :meth:`widget`)."""
    help_title: ClassVar[str | None] = None
    """The help screen's section for this tab's keys; ``None``: no section."""

    def __init__(self, number: int, state: AppState, context: TabContext) -> None:
        super().__init__(f"{number} {self.title}", id=self.tab_id)
        self.number = number
        self.state = state
        """The app's state: read it, never change it (the app applies events to it)."""
        self.context = context

    def show_run(self, run: RunView | None, state: AppState) -> None:
        """Point the tab's views at ``run`` (``None``: no run)."""

    def apply(self, changes: Changes, state: AppState) -> None:
        """Draw what a training event changed."""

    def help_rows(self) -> list[HelpRow]:
        """This tab's keys for the help screen."""
        return []

    def commands(self) -> list[PaletteCommand]:
        """This tab's entries in the command palette."""
        return []

    def focus_default(self) -> None:
        self.widget(self.focus_selector, Widget).focus()

    def find_widgets(self) -> None:
        """Look up :attr:`widgets` now, while the app is whole."""
        for selector, kind in self.widgets:
            self.widget(selector, kind)

    def widget(self, selector: str, kind: type[W]) -> W:
        """A widget of this tab, looked up once.

        Handlers that run while the app shuts down (a late engine message, the redraw timer)
        then update detached widgets instead of failing to find them.
        """
        cache: dict[str, Widget] = self.__dict__.setdefault("_widgets", {})
        found = cache.get(selector)
        if found is None:
            found = cache[selector] = self.query_one(selector, kind)
        assert isinstance(found, kind)
        return found
