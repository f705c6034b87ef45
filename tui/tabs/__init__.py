"""The app's tabs, in the order of the tab bar (their number keys are 1, 2, 3, …).

Adding a tab: a module here with an :class:`~tui.tabs.base.AppTab` subclass, and one line in
:data:`TABS`. The app builds the tab bar, the number keys, the help screen and the command
palette from this list.
"""

from __future__ import annotations

from tui.tabs.base import AppTab, TabContext, W
from tui.tabs.confusion import ConfusionTab
from tui.tabs.mistakes import MistakesTab
from tui.tabs.runs import RunsTab
from tui.tabs.sweep import SweepTab
from tui.tabs.train import TrainTab

TABS: tuple[type[AppTab], ...] = (TrainTab, MistakesTab, ConfusionTab, RunsTab, SweepTab)

__all__ = [
    "TABS",
    "AppTab",
    "ConfusionTab",
    "MistakesTab",
    "RunsTab",
    "SweepTab",
    "TabContext",
    "TrainTab",
    "W",
]
