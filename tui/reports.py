"""What background work reports to the app, as plain frozen data (no Textual here).

The engine thread reports core's training events and the notices below; the short workers
(listing runs, opening one, overlaying one, exporting) report what they found. Each report
reaches the app inside one Textual message (``tui.messages``) and goes, whatever its kind,
through :meth:`tui.state.AppState.apply`, which says what changed on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from core.events import EpochMetrics, TrainingEvent
from core.explanation import Explanation
from core.requests import HeldModel
from core.summary import ModelSummary
from core.sweeps.events import StudyOpened, TrialEnded, TrialStarted, WaitingForTrials

if TYPE_CHECKING:
    from core.config import TrainConfig
    from core.gpu import GpuSnapshot
    from core.runs.catalogue import RunListing, SavedRun
    from core.sweeps.watch import StudyListing, StudySnapshot


# --- From the engine thread ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EngineBusy:
    """What the engine is busy with before it can train (``Loading JAX…``)."""

    text: str


@dataclass(frozen=True, slots=True)
class EngineReady:
    """The ML framework is imported; ``device`` names the GPU or CPU it will train on."""

    device: str


@dataclass(frozen=True, slots=True)
class DataReady:
    """The data set is loaded and split."""

    source: str
    train: int
    val: int
    test: int


@dataclass(frozen=True, slots=True)
class DataFailed:
    """The data set could not be loaded; ``message`` is one line for the user."""

    message: str


@dataclass(frozen=True, slots=True)
class SummaryReady:
    """The layer table of ``model``, built (untrained) in the engine thread."""

    model: str
    summary: ModelSummary


@dataclass(frozen=True, slots=True)
class GpuSampled:
    """A reading of the GPU (utilisation, memory, temperature), once a second."""

    snapshot: GpuSnapshot


@dataclass(frozen=True, slots=True)
class EngineIdle:
    """A command finished; the engine waits for the next one, holding ``held`` (the model
    "continue" trains further), or no model."""

    held: HeldModel | None


@dataclass(frozen=True, slots=True)
class EngineError:
    """A command failed outside training proper (say the runs folder is read-only, or the
    user's model file raised)."""

    message: str
    details: str | None = None
    """The user's own traceback, when their model file's code raised: for the log."""


@dataclass(frozen=True, slots=True)
class EngineCrashed:
    """The engine thread ended on an unexpected error; nothing more will train."""

    message: str


@dataclass(frozen=True, slots=True, eq=False)
class ExplanationReady:
    """Test example ``index`` of run ``run_id`` explained (:class:`tui.engine.Explain`)."""

    run_id: str
    index: int
    request_id: int
    explanation: Explanation
    standard_neighbours: bool = True
    """The neighbours' numbers are the standard training set's; ``False``: their places in
    the run's ``--limit-train`` subset."""


@dataclass(frozen=True, slots=True)
class ExplanationProgress:
    """What an explanation waits for (the first of a run computes the training features)."""

    run_id: str
    request_id: int
    text: str


@dataclass(frozen=True, slots=True)
class ExplanationFailed:
    """The run's images cannot be explained; ``message`` is one line for the user."""

    run_id: str
    request_id: int
    message: str


@dataclass(frozen=True, slots=True, eq=False)
class PredictedPicture:
    """One of the user's pictures, classified."""

    name: str
    """The file, as given (or found in a folder), fit for one line."""
    image: npt.NDArray[np.uint8]
    """``(28, 28)``: what the model saw."""
    top: tuple[tuple[int, float], ...]
    """The three most probable classes and their probabilities, most probable first."""


@dataclass(frozen=True, slots=True)
class PredictionsReady:
    """The pictures asked for, classified (:class:`tui.engine.Predict`)."""

    run_id: str
    pictures: tuple[PredictedPicture, ...]
    problems: tuple[str, ...]
    """One line per file that could not be classified, naming it."""
    flip_averaged: bool


@dataclass(frozen=True, slots=True)
class PredictionFailed:
    """No picture could be classified (the model did not load); one line for the user."""

    message: str


EngineReport = (
    TrainingEvent
    | EngineBusy
    | EngineReady
    | DataReady
    | DataFailed
    | SummaryReady
    | GpuSampled
    | EngineIdle
    | EngineError
    | EngineCrashed
    | ExplanationReady
    | ExplanationProgress
    | ExplanationFailed
    | PredictionsReady
    | PredictionFailed
)


# --- From the app's short workers ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunsListed:
    """The saved runs, newest first, for the Runs tab."""

    listings: tuple[RunListing, ...]


@dataclass(frozen=True, slots=True)
class RunListed:
    """One run folder read again (the run being trained, after an epoch): its row only."""

    listing: RunListing


@dataclass(frozen=True, slots=True)
class RunLoaded:
    """A saved run was read back from disk, to be shown."""

    run: SavedRun


@dataclass(frozen=True, slots=True)
class OverlayLoaded:
    """A saved run's history, read to draw over the charts of the run on show."""

    label: str
    history: tuple[EpochMetrics, ...]
    config: TrainConfig | None = None
    """What it was trained with, to say how it differs from the run on show."""


@dataclass(frozen=True, slots=True)
class RunDeleted:
    """A saved run's folder was deleted (the runs listing is then out of date)."""

    path: Path


@dataclass(frozen=True, slots=True)
class WorkFailed:
    """A worker could not do its job; ``message`` is one line for the user."""

    title: str
    message: str


@dataclass(frozen=True, slots=True)
class ExportFinished:
    paths: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class ExportFailed:
    message: str


WorkerReport = (
    RunsListed
    | RunListed
    | RunLoaded
    | OverlayLoaded
    | RunDeleted
    | WorkFailed
    | ExportFinished
    | ExportFailed
)


# --- Sweeps: from the engine running one, and from the Sweep tab's poller -------------------


@dataclass(frozen=True, slots=True)
class SweepEnded:
    """The engine's sweep worker returned: ``done`` (the study has its trials),
    ``interrupted`` (stopped after a trial, or the app quits) or ``failed``."""

    study: str | None
    """``None`` when it never joined its study (the error came as an :class:`EngineError`)."""
    status: Literal["done", "interrupted", "failed"]
    trials_run: int
    message: str | None = None
    summary: str | None = None
    """When done: the study's trials by state and its best one, one line."""


@dataclass(frozen=True, slots=True)
class StudiesListed:
    """The studies in ``storage`` (as the Sweep tab was told it: ``""`` is the runs folder's
    journal)."""

    storage: str
    shown: str
    """The storage as the tab names it (a journal's path; a URL, its password hidden)."""
    studies: tuple[StudyListing, ...]


@dataclass(frozen=True, slots=True)
class StudyPolled:
    """What study ``snapshot.name`` in ``storage`` looks like now."""

    storage: str
    snapshot: StudySnapshot


@dataclass(frozen=True, slots=True)
class StudyUnreachable:
    """Polling ``storage`` failed (a database down, no such study yet); one line."""

    storage: str
    study: str | None
    message: str


SweepReport = (
    StudyOpened
    | TrialStarted
    | TrialEnded
    | WaitingForTrials
    | SweepEnded
    | StudiesListed
    | StudyPolled
    | StudyUnreachable
)
Report = EngineReport | WorkerReport | SweepReport
