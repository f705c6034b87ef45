"""The two messages that background work posts to the app.

The engine thread and the short workers never touch widgets: they post a :class:`Reported`
holding one plain report (``tui.reports``: a core training event, an engine notice, or what a
worker found), and the app hands it to its state, which says what changed on screen.
"""

from __future__ import annotations

from textual.message import Message

from core.events import BatchProgress
from tui.reports import GpuSampled, Report, StudiesListed, StudyPolled, StudyUnreachable


class Reported(Message):
    """One report from the engine thread or a worker, to apply to the app's state."""

    def __init__(self, report: Report) -> None:
        super().__init__()
        self.report = report

    def can_replace(self, message: Message) -> bool:
        # Batch progress arrives up to ten times a second and the GPU once a second: when the
        # UI falls behind only the newest matters. Epoch ends and the like are never dropped.
        if not isinstance(message, Reported):
            return False
        new, old = self.report, message.report
        if isinstance(new, BatchProgress):
            return isinstance(old, BatchProgress) and old.run_id == new.run_id
        if isinstance(new, StudyPolled | StudiesListed | StudyUnreachable):
            return _same_study(new, old)
        return isinstance(new, GpuSampled) and isinstance(old, GpuSampled)


def _same_study(new: Report, old: Report) -> bool:
    """A study's newest poll stands for the ones the UI has not got to (a slow frame, a
    storage that answered a backlog at once); another study's never does."""
    if isinstance(new, StudiesListed):
        return isinstance(old, StudiesListed) and old.storage == new.storage

    def polled(report: Report) -> tuple[str, str | None] | None:
        if isinstance(report, StudyPolled):
            return report.storage, report.snapshot.name
        if isinstance(report, StudyUnreachable):
            return report.storage, report.study
        return None

    key = polled(new)
    return key is not None and polled(old) == key
