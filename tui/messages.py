"""Messages that background work posts to the app.

The engine thread and the short export / run-loading workers never touch widgets: they post
these messages and the app's handlers own every change of state. Each message holds plain
values (core's frozen events, strings, numbers), so it can cross threads safely.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from core.events import BatchProgress, EpochMetrics, TrainingEvent
from core.summary import ModelSummary

if TYPE_CHECKING:
    from core.gpu import GpuSnapshot
    from core.runs import RunListing, SavedRun


class EngineStatus(Message):
    """What the engine is busy with, for the status line (``Loading TensorFlow…``)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class EngineReady(Message):
    """TensorFlow is imported; ``device`` names the GPU or CPU it will train on."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device


class DataReady(Message):
    """The data set is loaded and split."""

    def __init__(self, source: str, train: int, val: int, test: int) -> None:
        super().__init__()
        self.source = source
        self.train = train
        self.val = val
        self.test = test


class DataFailed(Message):
    """The data set could not be loaded; ``message`` is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class SummaryReady(Message):
    """The layer table of ``preset``, built (untrained) in the engine thread."""

    def __init__(self, preset: str, summary: ModelSummary) -> None:
        super().__init__()
        self.preset = preset
        self.summary = summary


class EngineEvent(Message):
    """One core training event, as the engine received it from ``run_training``."""

    def __init__(self, event: TrainingEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        # Batch progress arrives up to ten times a second; when the UI falls behind only the
        # newest position matters. Epoch ends and the like are never dropped.
        return (
            isinstance(self.event, BatchProgress)
            and isinstance(message, EngineEvent)
            and isinstance(message.event, BatchProgress)
            and message.event.run_id == self.event.run_id
        )


class EngineIdle(Message):
    """A command finished; the engine waits for the next one.

    ``run_id`` and ``epochs_done`` describe the model the engine holds in memory (the one
    "continue" would train further), or are ``None``/0 when it holds none.
    """

    def __init__(self, run_id: str | None, epochs_done: int, model: str | None) -> None:
        super().__init__()
        self.run_id = run_id
        self.epochs_done = epochs_done
        self.model = model


class EngineError(Message):
    """A command failed outside training proper (say the runs folder is read-only)."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class GpuSampled(Message):
    """A reading of the GPU (utilisation, memory, temperature), once a second."""

    def __init__(self, snapshot: GpuSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        # Only the newest reading matters when the UI falls behind.
        return isinstance(message, GpuSampled)


class EngineCrashed(Message):
    """The engine thread ended on an unexpected error; nothing more will train."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class ExportFinished(Message):
    def __init__(self, paths: Sequence[Path]) -> None:
        super().__init__()
        self.paths = tuple(paths)


class ExportFailed(Message):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class RunLoaded(Message):
    """A saved run was read back from disk, to be shown."""

    def __init__(self, run: SavedRun) -> None:
        super().__init__()
        self.run = run


class RunLoadFailed(Message):
    def __init__(self, message: str, title: str = "The run could not be opened") -> None:
        super().__init__()
        self.message = message
        self.title = title


class RunsListed(Message):
    """The saved runs, newest first, for the Runs tab."""

    def __init__(self, listings: Sequence[RunListing]) -> None:
        super().__init__()
        self.listings = tuple(listings)


class OverlayLoaded(Message):
    """A saved run's history, read to draw over the charts of the run on show."""

    def __init__(self, label: str, history: tuple[EpochMetrics, ...]) -> None:
        super().__init__()
        self.label = label
        self.history = history
