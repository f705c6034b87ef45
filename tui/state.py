"""What the app shows, as plain data: the runs on screen and how reports change them.

:class:`AppState` holds no widgets and imports nothing of Textual, so every rule about what a
report means for the screen (which run is on show, which events are stale, what the progress
line, the status line, the title and the log say) is tested without Pilot. Every report the
app hears (core's training events, the engine's notices, what its workers found:
``tui.reports``) goes through :meth:`AppState.apply`; what the user asks for goes through the
state's other methods. Each returns the :class:`Changes` it made, which the tabs only draw.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt

from core.compare import describe_differences
from core.config import TrainConfig
from core.data import DatasetKey, dataset_key
from core.events import (
    BatchProgress,
    EpochEnded,
    EpochMetrics,
    EvaluationFinished,
    RunSaved,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from core.presets import DEFAULT_MODEL
from core.requests import ContinueRun, HeldModel, ResumeRun
from core.runs.catalogue import parse_started
from core.sweeps.events import StudyOpened, TrialEnded, TrialStarted, WaitingForTrials
from tui.progress import Progress, estimate_eta, format_duration
from tui.reports import (
    DataFailed,
    DataReady,
    EngineBusy,
    EngineCrashed,
    EngineError,
    EngineIdle,
    EngineReady,
    ExplanationFailed,
    ExplanationProgress,
    ExplanationReady,
    ExportFailed,
    ExportFinished,
    GpuSampled,
    OverlayLoaded,
    PredictionFailed,
    PredictionsReady,
    Report,
    RunDeleted,
    RunListed,
    RunLoaded,
    RunsListed,
    StudiesListed,
    StudyPolled,
    StudyUnreachable,
    SummaryReady,
    SweepEnded,
    WorkFailed,
)
from tui.status_text import DataCounts, fit_status
from tui.train_curve import TrainCurve

if TYPE_CHECKING:
    from core.evaluation import Evaluation
    from core.runs.catalogue import RunListing, SavedRun
    from core.summary import ModelSummary
    from core.sweeps.watch import StudyListing, StudySnapshot

LOADING_RUNTIME: Final = "TensorFlow"
"""What the first seconds are spent loading (the ML runtime)."""
MIN_CHART_BATCHES: Final = 3
EXPLANATIONS_KEPT: Final = 512
"""Explanations kept per run: moving back over what was explained is instant."""
"""Running means over fewer batches than this (or 1/20 of an epoch) are noise: not charted."""

FAILURE_TITLES: Final = {
    "out_of_memory": "Out of memory",
    "nan_loss": "Training diverged",
    "io": "Could not save the run",
    "error": "Training failed",
}


@dataclass(eq=False)
class RunView:
    """One run as the app shows it: trained in this session, or opened from disk."""

    run_id: str
    model: str
    run_dir: Path | None = None
    batch_size: int = 32
    final_epoch: int = 0
    batches: int = 0
    history: list[EpochMetrics] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    """Lengths of the epochs trained since the last start, for the ETA."""
    started_from: int = 0
    """The epochs it had when training last started (resumed or continued from)."""
    samples_per_second: float = 0.0
    evaluation: Evaluation | None = None
    test_images: npt.NDArray[np.uint8] | None = None
    status: str = "running"
    """As core says it: running, finished, stopped, failed (and, opened from disk,
    interrupted or damaged)."""
    saved: bool = False
    """Opened from a run folder rather than trained by this session."""
    early_stopping: dict[str, int] | None = None
    """``{"stopped_epoch": N, "best_epoch": M}`` when early stopping ended the run."""
    train_curve: TrainCurve = field(default_factory=lambda: TrainCurve(warm_up=MIN_CHART_BATCHES))
    """Its progress reports, smoothed into the charts' live training line."""
    checkpoint_epoch: int | None = None
    """Opened from disk: the epoch of its newest intact checkpoint, where it resumes."""
    resume_refusal: str | None = None
    """Opened from disk: why it cannot be trained further (``None``: it can)."""
    config: TrainConfig | None = None
    """What it was trained with, once known (to say how an overlaid run differs)."""
    images_complete: bool = True
    """``test_images`` holds every test image; runs saved by older versions kept only the
    misclassified ones."""
    samples: tuple[int, int, str] | None = None
    """Trained in this session: its (train, validation) sample counts and its data's source,
    as its :class:`~core.events.TrainingStarted` said them."""

    @property
    def marker(self) -> int | None:
        """The epoch the charts mark: where early stopping ended the run."""
        return None if self.early_stopping is None else self.early_stopping["stopped_epoch"]

    @classmethod
    def from_saved(cls, saved: SavedRun) -> RunView:
        return cls(
            run_id=saved.path.name,
            model=saved.config.model,
            run_dir=saved.path,
            batch_size=saved.config.batch_size,
            final_epoch=max(saved.planned_epochs, len(saved.history)),
            history=list(saved.history),
            evaluation=saved.evaluation,
            test_images=saved.test_images,
            status=saved.status,
            saved=True,
            early_stopping=saved.early_stopping,
            checkpoint_epoch=None if saved.checkpoint is None else saved.checkpoint.epoch,
            resume_refusal=saved.resume_refusal,
            config=saved.config,
            images_complete=saved.images_complete,
        )


@dataclass(frozen=True, slots=True)
class Continuation:
    """The run on show, offered to train further (or why it cannot be)."""

    run_id: str
    model: str
    epochs_done: int
    run_dir: Path | None = None
    """Set for a run opened from disk: it resumes from its newest checkpoint, with its own
    settings; otherwise the engine holds the model and trains it on."""
    refusal: str | None = None
    """Why it cannot be trained further; ``None`` when it can."""

    @property
    def label(self) -> str:
        done = f"{self.epochs_done} epoch{'s' if self.epochs_done != 1 else ''} done"
        return f"Continue {self.run_id} ({done})"

    def request(self, epochs: int, batch_size: int) -> ContinueRun | ResumeRun:
        """What continuing it for ``epochs`` more asks of the engine."""
        if self.run_dir is not None:
            return ResumeRun(self.run_dir, epochs)
        return ContinueRun(epochs, batch_size)


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """A point of the live training line at ``position`` (a fractional epoch): the batches'
    values smoothed across the run (:mod:`tui.train_curve`), not Keras' running means, which
    restart every epoch. Each whole epoch's mean comes with :attr:`Changes.epoch`."""

    position: float
    accuracy: float
    loss: float


Severity = Literal["information", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to tell the user apart from the log: a toast, or an error screen."""

    title: str
    message: str
    severity: Severity = "information"
    timeout: float | None = None
    """Seconds a toast stays up; ``None``: Textual's default."""


@dataclass(frozen=True, slots=True)
class Overlay:
    """A saved run's curves drawn over the charts of the run on show."""

    label: str
    """The run's folder name."""
    history: tuple[EpochMetrics, ...]
    legend: str = ""
    """Its name in the charts' key: when it started and how it differs from the run on show."""


SWEEP_TRIAL_STYLES: Final = {"complete": "green", "pruned": "yellow", "failed": "red"}


@dataclass(slots=True)
class SweepRun:
    """The sweep the engine runs for the app, as its events tell it."""

    space: Path
    storage: str
    """As the user gave it; ``""``: the runs folder's journal."""
    study: str | None = None
    """Once the worker joined it."""
    target: int | None = None
    objective: str = "val_accuracy"
    trial: int | None = None
    """The trial being run."""
    trials_run: int = 0
    """Trials started by this app's worker."""
    waiting: tuple[int, ...] = ()
    """Every trial is started: the other workers' trials it waits for."""
    stopping: bool = False
    """``s`` was pressed: the sweep stops once the current trial ends."""


@dataclass(frozen=True, slots=True)
class WatchedStudy:
    """The study the Sweep tab shows: ``storage`` as the user gave it (``""``: the runs
    folder's journal), ``study`` ``None`` until the newest there is picked."""

    storage: str
    study: str | None


@dataclass(slots=True)
class Changes:
    """What one report or request changed on screen; the tabs draw from it and the state."""

    notes: list[tuple[str, str]] = field(default_factory=list)
    """Lines for the log pane: (text, style)."""
    error: Notice | None = None
    """An error to show on a screen of its own."""
    toast: Notice | None = None
    """A notification."""
    show_tab: str | None = None
    """The tab to bring to the front."""
    shown_run: bool = False
    """Another run is on show (or the one on show was reset): redraw every view from it."""
    evaluation: bool = False
    """The run on show has a new evaluation (mistakes, confusion, test accuracy)."""
    chart_point: ChartPoint | None = None
    epoch: EpochMetrics | None = None
    """A finished epoch to add to the charts."""
    final_epoch: int | None = None
    """The charts' x range changed."""
    marker: bool = False
    """The early-stopping marker of the run on show changed."""
    summary: bool = False
    """The model summary changed (:attr:`AppState.summary`)."""
    progress: bool = False
    """The progress line changed (:attr:`AppState.progress`, :attr:`AppState.message`)."""
    status: bool = False
    """The status line changed (:meth:`AppState.status_line`)."""
    gpu: bool = False
    """The GPU line changed (:attr:`AppState.gpu_line`)."""
    runs: bool = False
    """The runs listing changed (:attr:`AppState.runs`)."""
    runs_stale: bool = False
    """A run folder was written: the runs listing is out of date."""
    run_written: str | None = None
    """The live run's id (its folder's name), once it saved an epoch (checkpoint and
    history): the Runs tab, once on show, lists it as it now is on disk."""
    overlays: bool = False
    """The overlaid runs changed (:attr:`AppState.overlays`)."""
    explanation: bool = False
    """An explanation of the run on show arrived, or what one waits for changed
    (:meth:`AppState.explanation`, :meth:`AppState.explanation_status`)."""
    predictions: PredictionsReady | None = None
    """The user's pictures were classified: show them."""
    sweep: bool = False
    """The sweep being run or the study watched changed (:attr:`AppState.sweep`,
    :attr:`AppState.watched`, :attr:`AppState.study`)."""

    def note(self, text: str, style: str = "") -> None:
        self.notes.append((text, style))


class AppState:
    """The runs the app knows, what it is doing, and how reports change that."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        runtime: str = LOADING_RUNTIME,
        data_config: TrainConfig | None = None,
    ) -> None:
        """
        Args:
            data_config: the data settings the engine loads at start (the app's
                ``--data-dir`` and limits), which :class:`~tui.reports.DataReady` counts.
        """
        self.runtime = runtime
        """The framework under Keras (TensorFlow, JAX, PyTorch), as people write it."""
        self.model = model
        """The model new runs use."""
        self.device: str | None = None
        self.data_config = data_config or TrainConfig()
        self.data: DataCounts | None = None
        """The data new runs train on, once the engine has loaded it."""
        self.data_description: str | None = None
        self._whole_sets: dict[str | None, tuple[int | None, int | None, str]] = {}
        """Per data folder (``None``: the default lookup), what the app has seen of it whole:
        (training set size, test set size, source), to count the data of saved runs."""
        self.busy = f"Loading {runtime}…"
        """What the engine is busy with, for the status line until it is ready."""
        self.gpu_line: str | None = None
        self.engine_ready = False
        self.training = False
        """A command that trains is with the engine (until it reports idle)."""
        self.stopping = False
        self.shown: RunView | None = None
        """The run on show."""
        self.live: RunView | None = None
        """The run being trained, or trained last in this session."""
        self.held: HeldModel | None = None
        """The model the engine holds in memory: what "continue" trains further."""
        self.awaiting_run = False
        """A run was asked for and its first event has not arrived: adopt its id."""
        self.progress: Progress | None = None
        """Where training is, while it runs; ``None`` shows :attr:`message` instead."""
        self.message = f"t sets up a run while {runtime} loads"
        self.summary: ModelSummary | None = None
        """The layer table on show: the chosen model's, or the run's being trained."""
        self.summary_model = model
        """Whose layer table :attr:`summary` is (or is being built)."""
        self.runs: tuple[RunListing, ...] = ()
        """The saved runs, newest first, as last listed."""
        self.overlays: list[Overlay] = []
        self._explanations: dict[str, OrderedDict[int, ExplanationReady]] = {}
        """Per run, the explanations that arrived, by test example (the newest kept)."""
        self._explaining: dict[str, tuple[int, int]] = {}
        """Per run, the example asked for last and its request, until it is answered."""
        self._explain_waits: dict[str, str] = {}
        """Per run, what the pending explanation waits for, as the engine said."""
        self._explain_failures: dict[str, str] = {}
        """Per run, why its images cannot be explained (asked again once it is reshown)."""
        self._stale_below: dict[str, int] = {}
        """Per run, requests older than this id were made for a model it no longer has."""
        self._next_request = 1
        # Sweeps (the "Sweeps" methods below).
        self.sweep: SweepRun | None = None
        """The sweep the engine runs for the app, while it does."""
        self.watched = WatchedStudy("", None)
        """The study the Sweep tab shows."""
        self.studies: tuple[StudyListing, ...] = ()
        """The studies in the watched storage, as last listed."""
        self.storage_shown: str | None = None
        """The watched storage as messages name it (a password hidden), once listed."""
        self.study: StudySnapshot | None = None
        """The watched study, as last polled."""
        self.study_problem: str | None = None
        """Why the watched study could not be read at the last poll (``None``: it was)."""

    # --- Reports ---------------------------------------------------------------------------

    def apply(self, report: Report) -> Changes:
        """Apply one report from the engine or a worker; what changed."""
        if isinstance(report, TrainingEvent):
            return self._event(report)
        handler = self._handlers.get(type(report))
        if handler is None:
            return Changes()
        return handler(self, report)

    def _busy(self, report: EngineBusy) -> Changes:
        self.busy = report.text
        return Changes(status=True)

    def _ready(self, report: EngineReady) -> Changes:
        """The ML runtime is imported; ``device`` is what it trains on."""
        self.engine_ready = True
        self.device = report.device
        self.busy = ""
        changes = Changes(status=True)
        changes.note(f"{self.runtime} ready on {report.device}")
        return changes

    def _data_ready(self, report: DataReady) -> Changes:
        config = self.data_config
        self.data = DataCounts(
            report.train, report.val, report.test, report.source, config.val_split
        )
        self.data_description = self.data.describe()
        self._saw_whole(
            config,
            train=report.train + report.val,
            test=report.test,
            source=report.source,
        )
        changes = Changes(status=True)
        changes.note(f"Data: {self.data_description}")
        if not self.training:
            self.message = "Ready: press t to train"
            changes.progress = True
        return changes

    def _data_failed(self, report: DataFailed) -> Changes:
        self.data_description = "no data"
        changes = Changes(progress=True, status=True)
        changes.note(f"Data could not be loaded: {report.message}", "red")
        self.message = "No data: see the error (--data-dir DIR picks a folder)"
        changes.error = Notice("The data set could not be loaded", report.message)
        return changes

    def _summary_ready(self, report: SummaryReady) -> Changes:
        # A summary of another model than the one now chosen is stale; a training run's own
        # summary (from TrainingStarted) wins while it is on show.
        if report.model != self.model or self.training:
            return Changes()
        self.summary, self.summary_model = report.summary, report.model
        return Changes(summary=True)

    def _gpu_sampled(self, report: GpuSampled) -> Changes:
        self.gpu_line = report.snapshot.line()
        return Changes(gpu=True)

    def _engine_idle(self, report: EngineIdle) -> Changes:
        self.held = report.held
        self.training = self.stopping = self.awaiting_run = False
        self.progress = None
        self.message = self.idle_message()
        return Changes(progress=True)

    def _engine_error(self, report: EngineError) -> Changes:
        changes = Changes()
        changes.note(report.message, "red")
        if report.details:
            # The user's own code raised: their traceback, as Python printed it.
            for line in report.details.rstrip().splitlines():
                changes.note(line, "dim")
        changes.error = Notice("Training could not run", report.message)
        return changes

    def _engine_crashed(self, report: EngineCrashed) -> Changes:
        changes = self._engine_idle(EngineIdle(None))
        changes.error = Notice(
            "The training engine stopped", f"{report.message}\nRestart the app to train again."
        )
        return changes

    def _runs_listed(self, report: RunsListed) -> Changes:
        self.runs = report.listings
        return Changes(runs=True)

    def _run_listed(self, report: RunListed) -> Changes:
        """One run's row replaced (or added, in its place newest first, as it starts)."""
        listing = report.listing
        others = [run for run in self.runs if run.path != listing.path]
        self.runs = tuple(sorted([*others, listing], key=lambda run: run.path.name, reverse=True))
        return Changes(runs=True)

    def _run_loaded(self, report: RunLoaded) -> Changes:
        """Show a run read from its folder (the Runs tab refuses while training)."""
        saved = report.run
        changes = self._show(RunView.from_saved(saved))
        self.progress = None
        self.message = self.idle_message()
        changes.progress = True
        changes.show_tab = "train"
        changes.note(f"Opened {saved.path}")
        return changes

    def _overlay_loaded(self, report: OverlayLoaded) -> Changes:
        changes = Changes()
        if not report.history:
            changes.toast = Notice(
                "", f"{report.label} has no finished epoch to draw", severity="warning"
            )
            return changes
        shown = self.shown.config if self.shown is not None else None
        differs = (
            describe_differences(report.config, shown)
            if report.config is not None and shown is not None
            else ""
        )
        started = parse_started(report.label)
        name = f"{started:%H:%M:%S}" if started else report.label[:12]
        legend = f"{name} {differs}" if differs and differs != "same settings" else name
        self.overlays = [o for o in self.overlays if o.label != report.label]
        self.overlays.append(Overlay(report.label, report.history, legend))
        changes.overlays = True
        changes.show_tab = "train"
        detail = f": {differs}" if differs else ""
        changes.note(
            f"Overlaid {report.label}{detail} (hollow markers; {len(self.overlays)} on); "
            "c on it again removes it"
        )
        return changes

    def _run_deleted(self, report: RunDeleted) -> Changes:
        """A run folder is gone; a run on show from it stays on show, from memory."""
        changes = Changes(runs_stale=True)
        changes.note(f"Deleted {report.path}")
        name = report.path.name
        if self.held is not None and self.held.run_id == name:
            # Training it further would write into a folder that is no longer there.
            self.held = None
        shown = self.shown
        if shown is not None and (shown.run_dir == report.path or shown.run_id == name):
            shown.resume_refusal = f"its folder {report.path} was deleted"
            changes.note(
                f"{shown.run_id} stays on show from memory; its folder is gone "
                "(it cannot be trained further or exported)",
                "yellow",
            )
        changes.toast = Notice("", f"Deleted {name}", timeout=5)
        return changes

    def _work_failed(self, report: WorkFailed) -> Changes:
        return Changes(error=Notice(report.title, report.message))

    def _explanation_ready(self, report: ExplanationReady) -> Changes:
        if self._stale(report.run_id, report.request_id):
            return Changes()
        cache = self._explanations.setdefault(report.run_id, OrderedDict())
        cache[report.index] = report
        cache.move_to_end(report.index)
        while len(cache) > EXPLANATIONS_KEPT:
            cache.popitem(last=False)
        if self._explaining.get(report.run_id, (None, None))[1] == report.request_id:
            del self._explaining[report.run_id]
            self._explain_waits.pop(report.run_id, None)
        return Changes(explanation=True)

    def _explanation_progress(self, report: ExplanationProgress) -> Changes:
        if self._stale(report.run_id, report.request_id):
            return Changes()
        self._explain_waits[report.run_id] = report.text
        return Changes(explanation=True)

    def _explanation_failed(self, report: ExplanationFailed) -> Changes:
        if self._stale(report.run_id, report.request_id):
            return Changes()
        self._explaining.pop(report.run_id, None)
        self._explain_waits.pop(report.run_id, None)
        changes = Changes(explanation=True)
        if report.run_id not in self._explain_failures:
            changes.note(f"Cannot explain {report.run_id}'s images: {report.message}", "yellow")
        self._explain_failures[report.run_id] = report.message
        return changes

    def _stale(self, run_id: str, request_id: int) -> bool:
        return request_id < self._stale_below.get(run_id, 0)

    def _predictions_ready(self, report: PredictionsReady) -> Changes:
        changes = Changes(predictions=report)
        count = len(report.pictures)
        changes.note(
            f"Classified {count} picture{'s' if count != 1 else ''} with {report.run_id}"
            + (f"; {len(report.problems)} could not be read" if report.problems else "")
        )
        for problem in report.problems:
            changes.note(problem, "yellow")
        return changes

    def _prediction_failed(self, report: PredictionFailed) -> Changes:
        changes = Changes(error=Notice("The pictures could not be classified", report.message))
        changes.note(f"Classifying failed: {report.message}", "red")
        return changes

    def _export_finished(self, report: ExportFinished) -> Changes:
        changes = Changes()
        for path in report.paths:
            changes.note(f"Wrote {path}")
        changes.toast = Notice("Exported", "\n".join(str(p) for p in report.paths), timeout=8)
        return changes

    def _export_failed(self, report: ExportFailed) -> Changes:
        changes = Changes()
        changes.note(f"Export failed: {report.message}", "red")
        changes.toast = Notice("Export failed", report.message, severity="error", timeout=10)
        return changes

    # --- Sweeps: the one the engine runs, and the study the Sweep tab watches --------------

    def sweep_requested(self, space: Path, storage: str, waiting: str) -> Changes:
        """A sweep of ``space`` went to the engine; its trials train as runs do."""
        changes = self.run_requested(waiting, f"Joining the study of {space.name}…")
        self.sweep = SweepRun(space, storage.strip())
        changes.sweep = True
        changes.note(f"Sweep of {space}: joining its study…")
        return changes

    def sweep_stop_requested(self) -> Changes:
        """``s`` during a sweep: the trial being run trains to its end, then the sweep stops."""
        changes = Changes(sweep=True)
        sweep = self.sweep
        if sweep is None:
            return changes
        sweep.stopping = True
        what = "the current trial" if sweep.trial is None else f"trial {sweep.trial}"
        text = f"The sweep stops once {what} ends (it trains to its end); s again stops it now"
        changes.note(text, "bold")
        changes.toast = Notice("Sweep", text, timeout=8)
        return changes

    @property
    def sweep_stopping(self) -> bool:
        """A sweep runs and was asked to stop after its current trial."""
        return self.sweep is not None and self.sweep.stopping

    def watch_study(self, storage: str, study: str | None) -> Changes:
        """The Sweep tab shows ``study`` in ``storage`` (``""``: the runs folder's journal;
        ``study`` ``None``: the newest study there, once listed)."""
        watched = WatchedStudy(storage.strip(), study)
        if watched != self.watched:
            if watched.storage != self.watched.storage:
                self.studies, self.storage_shown = (), None
            self.watched = watched
            self.study, self.study_problem = None, None
        return Changes(sweep=True)

    def _studies_listed(self, report: StudiesListed) -> Changes:
        if report.storage != self.watched.storage:
            return Changes()
        changed = (report.studies, report.shown) != (self.studies, self.storage_shown)
        changes = Changes(sweep=changed)
        self.studies, self.storage_shown = report.studies, report.shown
        if self.watched.study is None:
            if report.studies:
                self.watched = WatchedStudy(report.storage, report.studies[-1].name)
                changes.sweep = True
            elif self.study_problem is not None:
                self.study_problem = None
                changes.sweep = True
        return changes

    def _study_polled(self, report: StudyPolled) -> Changes:
        watched = self.watched
        if (report.storage, report.snapshot.name) != (watched.storage, watched.study):
            return Changes()
        changed = report.snapshot != self.study or self.study_problem is not None
        self.study, self.study_problem = report.snapshot, None
        return Changes(sweep=changed)

    def _study_unreachable(self, report: StudyUnreachable) -> Changes:
        watched = self.watched
        if report.storage != watched.storage or report.study not in (None, watched.study):
            return Changes()
        changed = report.message != self.study_problem
        self.study_problem = report.message
        return Changes(sweep=changed)

    def _study_opened(self, event: StudyOpened) -> Changes:
        sweep = self.sweep
        if sweep is not None:
            sweep.study, sweep.target, sweep.objective = event.study, event.target, event.objective
            # The Sweep tab follows the sweep the app runs.
            self.watch_study(sweep.storage, event.study)
        changes = Changes(sweep=True)
        if event.repaired_bytes:
            changes.note(
                f"Repaired {event.storage}: cut off an incomplete last record "
                f"({event.repaired_bytes} bytes, left by a worker killed while writing)",
                "yellow",
            )
        changes.note(
            f"Sweep: study {event.study} in {event.storage}: {event.trials} trial(s) so far, "
            f"{event.target} in all; {event.direction} {event.objective}"
        )
        return changes

    def _trial_started(self, event: TrialStarted) -> Changes:
        from tui.sweep_text import format_params

        # The trial's run is a new run (or a retry's resumed one): adopt its id.
        self.awaiting_run = True
        sweep = self.sweep
        if sweep is not None:
            sweep.trial, sweep.waiting = event.number, ()
            sweep.trials_run += 1
        changes = Changes(sweep=True, progress=True)
        text = f"Trial {event.number}: {format_params(event.params)}"
        if event.retry_of is not None:
            text += f" (retry of trial {event.retry_of}"
            if event.run_dir is not None:
                text += f": carries on {event.run_dir} after epoch {event.resumed_after}"
            text += ")"
        changes.note(text, "bold")
        self.progress = None
        self.message = f"Trial {event.number} starting…"
        return changes

    def _trial_ended(self, event: TrialEnded) -> Changes:
        sweep = self.sweep
        objective = sweep.objective if sweep is not None else "value"
        text = f"Trial {event.number} {event.state}"
        if event.value is not None:
            text += f": {objective} {event.value:.4f}"
        text += f" after {event.epochs} epoch{'s' if event.epochs != 1 else ''}"
        if event.state == "pruned":
            text += " (not evaluated on the test set)"
        elif event.message:
            text += f" ({event.message})"
        changes = Changes(sweep=True, progress=True, runs_stale=True)
        changes.note(text, SWEEP_TRIAL_STYLES.get(event.state, ""))
        self.progress = None
        if sweep is not None:
            sweep.trial = None
            if sweep.stopping:
                self.message = f"Trial {event.number} {event.state}: the sweep stops"
            else:
                self.message = f"Trial {event.number} {event.state}: the next one starts…"
        return changes

    def _waiting_for_trials(self, event: WaitingForTrials) -> Changes:
        if self.sweep is not None:
            self.sweep.waiting = event.running
        numbers = ", ".join(str(n) for n in event.running)
        changes = Changes(sweep=True, progress=True)
        changes.note(
            f"Every trial is started; waiting for trial(s) {numbers} of other workers (to "
            "carry on any whose worker dies); s stops waiting"
        )
        self.progress = None
        self.message = f"Waiting for trial(s) {numbers} of other workers · s stops waiting"
        return changes

    def _sweep_ended(self, report: SweepEnded) -> Changes:
        self.sweep = None
        changes = Changes(sweep=True, runs_stale=True)
        if report.study is None:
            return changes  # it never started: the engine's error says why
        trials = f"{report.trials_run} trial{'s' if report.trials_run != 1 else ''} run here"
        if report.status == "done":
            changes.note(report.summary or f"Sweep of study {report.study} done", "bold")
            changes.toast = Notice("Sweep done", f"Study {report.study}: {trials}", timeout=8)
        elif report.status == "interrupted":
            changes.note(
                f"Sweep of study {report.study} stopped ({trials}); run it again to carry on",
                "bold",
            )
        else:
            message = report.message or "the sweep failed"
            changes.note(f"Sweep of study {report.study} stopped: {message}", "red")
            changes.error = Notice("The sweep stopped", message)
        return changes

    def _sweep_title(self, text: str) -> str:
        """``text`` (the run's part of the title) after what the sweep is doing."""
        sweep = self.sweep
        if sweep is None:
            return text
        parts = [f"sweep {sweep.study or sweep.space.stem}"]
        if sweep.trial is not None:
            of = f" ({sweep.trials_run} here, {sweep.target} in all)" if sweep.target else ""
            parts.append(f"trial {sweep.trial}{of}")
        elif sweep.waiting:
            parts.append("waiting for other workers")
        if sweep.stopping:
            parts.append("stops after this trial")
        return " · ".join([*parts, text])

    _handlers: Final[dict[type, Callable[[AppState, Any], Changes]]] = {
        EngineBusy: _busy,
        EngineReady: _ready,
        DataReady: _data_ready,
        DataFailed: _data_failed,
        SummaryReady: _summary_ready,
        GpuSampled: _gpu_sampled,
        EngineIdle: _engine_idle,
        EngineError: _engine_error,
        EngineCrashed: _engine_crashed,
        RunsListed: _runs_listed,
        RunListed: _run_listed,
        RunLoaded: _run_loaded,
        OverlayLoaded: _overlay_loaded,
        RunDeleted: _run_deleted,
        WorkFailed: _work_failed,
        ExportFinished: _export_finished,
        ExportFailed: _export_failed,
        ExplanationReady: _explanation_ready,
        ExplanationProgress: _explanation_progress,
        ExplanationFailed: _explanation_failed,
        PredictionsReady: _predictions_ready,
        PredictionFailed: _prediction_failed,
        StudyOpened: _study_opened,
        TrialStarted: _trial_started,
        TrialEnded: _trial_ended,
        WaitingForTrials: _waiting_for_trials,
        SweepEnded: _sweep_ended,
        StudiesListed: _studies_listed,
        StudyPolled: _study_polled,
        StudyUnreachable: _study_unreachable,
    }

    # --- What the user asks for ------------------------------------------------------------

    def choose_model(self, model: str) -> Changes:
        """``model`` is used by the next new run; its layer table is being built."""
        self.model = model
        changes = Changes(summary=True)
        changes.note(f"Model preset: {model} (used by the next new run)")
        if not self.training:
            self.summary, self.summary_model = None, model
        return changes

    def run_requested(self, waiting: str, message: str | None = None) -> Changes:
        """A train, continue or resume request went to the engine.

        Args:
            waiting: what the progress line says while the ML runtime is still loading.
            message: what it says meanwhile once it has loaded (default: as it was).
        """
        self.training = True
        self.awaiting_run = True
        if not self.engine_ready:
            self.message = waiting
        elif message is not None:
            self.message = message
        self.progress = None
        return Changes(progress=True, show_tab="train")

    def stop_requested(self) -> Changes:
        changes = Changes(progress=True)
        self.stopping = True
        self.progress = None
        self.message = "Stopping after the current batch…"
        changes.note(self.message)
        return changes

    def export_started(self, folder: Path) -> Changes:
        changes = Changes()
        changes.note(f"Exporting PNGs to {folder}…")
        return changes

    # --- Explanations ----------------------------------------------------------------------

    def explanation(self, index: int) -> ExplanationReady | None:
        """The explanation of the run on show's test example ``index``, once it arrived."""
        run = self.shown
        if run is None:
            return None
        cache = self._explanations.get(run.run_id)
        return None if cache is None else cache.get(index)

    def can_explain(self, run: RunView) -> bool:
        """Whether ``run``'s model is within reach: held by the engine, or saved."""
        held = self.held is not None and self.held.run_id == run.run_id
        live = run is self.live and run.status != "failed"
        return held or live or (run.run_dir is not None and run.config is not None)

    def request_explanation(self, index: int) -> int | None:
        """The run on show's example ``index`` is highlighted with the panel open: the id of
        the request to send the engine, or ``None`` when there is nothing to ask (it is
        explained already, asked for, or cannot be)."""
        run = self.shown
        if run is None or run.evaluation is None or run.test_images is None:
            return None
        name = run.run_id
        if (
            index in self._explanations.get(name, ())
            or self._explaining.get(name, (None, None))[0] == index
            or name in self._explain_failures
            or not self.can_explain(run)
        ):
            return None
        request = self._next_request
        self._next_request += 1
        self._explaining[name] = (index, request)
        self._explain_waits.pop(name, None)
        return request

    def explanation_status(self, index: int) -> str:
        """What the panel says while example ``index`` of the run on show has no
        explanation: why, or what it waits for."""
        run = self.shown
        if run is None:
            return ""
        name = run.run_id
        failure = self._explain_failures.get(name)
        if failure is not None:
            return f"No heat map: {failure}"
        if not self.can_explain(run):
            return "No heat map: the run's model is neither in memory nor saved"
        if self.training:
            return "The heat map comes once training ends"
        if self._explaining.get(name, (None, None))[0] == index:
            wait = self._explain_waits.get(name)
            return f"Explaining: {wait}" if wait else "Explaining…"
        return "Explaining…"

    def _forget_explanations(self, run_id: str) -> None:
        """``run_id``'s model changed (trained further, evaluated anew): what was explained
        and asked for belongs to the old one."""
        self._explanations.pop(run_id, None)
        self._explaining.pop(run_id, None)
        self._explain_waits.pop(run_id, None)
        self._explain_failures.pop(run_id, None)
        self._stale_below[run_id] = self._next_request

    def has_overlay(self, label: str) -> bool:
        return any(overlay.label == label for overlay in self.overlays)

    def remove_overlay(self, label: str) -> Changes:
        self.overlays = [o for o in self.overlays if o.label != label]
        return Changes(overlays=True, toast=Notice("", f"Removed the overlay of {label}"))

    # --- Training events -------------------------------------------------------------------

    def accepts(self, event: TrainingEvent) -> bool:
        """Whether ``event`` belongs to the run being trained (not a stale one)."""
        if self.live is not None and event.run_id == self.live.run_id:
            return True
        # The first event of a newly started run names its id; adopt it.
        return self.awaiting_run

    def _event(self, event: TrainingEvent) -> Changes:
        """Apply one training event; what changed (nothing for a stale event)."""
        if not self.accepts(event):
            return Changes()
        if isinstance(event, TrainingStarted):
            return self._started(event)
        if isinstance(event, BatchProgress):
            return self._batch(event)
        if isinstance(event, EpochEnded):
            return self._epoch_ended(event)
        if isinstance(event, TrainingFinished | TrainingStopped):
            return self._ended(event)
        if isinstance(event, TrainingFailed):
            return self._failed(event)
        if isinstance(event, EvaluationFinished):
            return self._evaluated(event)
        if isinstance(event, RunSaved):
            return self._saved(event)
        changes = Changes()
        changes.note(f"Warning: {event.message}", "yellow")
        return changes

    def _show(self, run: RunView) -> Changes:
        self.shown = run
        self._explain_failures.pop(run.run_id, None)
        if run.saved and run.config is not None and run.evaluation is not None:
            self._saw_whole(run.config, test=run.evaluation.labels.size)
        # The status line says the data of the run on show.
        return Changes(shown_run=True, evaluation=True, marker=True, status=True)

    def _started(self, event: TrainingStarted) -> Changes:
        self.awaiting_run = False
        self._forget_explanations(event.run_id)
        live = self.live
        continuing = event.initial_epoch > 0 and live is not None and live.run_id == event.run_id
        if continuing and live is not None:
            run = live
            # The event's history is the checkpoint's: what this run really has on disk.
            run.history = list(event.history)
            run.early_stopping = None
        else:
            # A new run, or a saved one resumed (it brings the epochs it already has).
            run = RunView(
                run_id=event.run_id,
                model=event.config.model,
                history=list(event.history),
                final_epoch=event.final_epoch,
            )
            self.live = run
        run.status = "running"
        run.config = event.config
        run.samples = (event.train_samples, event.val_samples, event.data_source)
        self._saw_whole(
            event.config,
            train=event.train_samples + event.val_samples,
            source=event.data_source,
        )
        run.started_from = event.initial_epoch
        run.final_epoch = event.final_epoch
        run.batches = event.batches_per_epoch
        run.batch_size = event.config.batch_size
        run.epoch_seconds.clear()
        run.samples_per_second = 0.0
        changes = self._show(run)
        changes.final_epoch = event.final_epoch
        self.summary, self.summary_model = event.summary, run.model
        changes.summary = True
        verb = "Continuing" if continuing else "Resuming" if event.history else "Training"
        first, last = event.initial_epoch + 1, event.final_epoch
        epochs = f"epoch {last}" if first == last else f"epochs {first}-{last}"
        changes.note(
            f"{verb} {run.model} ({event.run_id}): {epochs}, batch size "
            f"{event.config.batch_size}, {event.train_samples:,} train / "
            f"{event.val_samples:,} val samples"
        )
        self.progress = Progress(
            event.initial_epoch + 1, event.final_epoch, 0, event.batches_per_epoch, 0.0, None
        )
        changes.progress = True
        return changes

    def _batch(self, event: BatchProgress) -> Changes:
        run = self.live
        changes = Changes()
        if run is None:
            return changes
        # The instantaneous rate jumps around; a little smoothing keeps the ETA readable.
        if run.samples_per_second <= 0:
            run.samples_per_second = event.samples_per_second
        else:
            run.samples_per_second = 0.7 * run.samples_per_second + 0.3 * event.samples_per_second
        point = run.train_curve.add(
            event.epoch, event.batch, event.batches, event.accuracy, event.loss
        )
        if point is not None:
            changes.chart_point = ChartPoint(point.position, point.accuracy, point.loss)
        if not self.stopping:
            eta = estimate_eta(
                epoch=event.epoch,
                batch=event.batch,
                batches=event.batches,
                final_epoch=run.final_epoch,
                samples_per_second=run.samples_per_second,
                batch_size=run.batch_size,
                epoch_seconds=run.epoch_seconds,
            )
            self.progress = Progress(
                event.epoch,
                run.final_epoch,
                event.batch,
                event.batches,
                run.samples_per_second,
                eta,
            )
            changes.progress = True
        return changes

    def _epoch_ended(self, event: EpochEnded) -> Changes:
        run = self.live
        changes = Changes()
        if run is None:
            return changes
        metrics = event.metrics
        run.history.append(metrics)
        run.epoch_seconds.append(metrics.seconds)
        run.final_epoch = event.final_epoch
        changes.epoch = metrics
        # Core wrote the epoch's checkpoint and history before it reported the epoch.
        changes.run_written = event.run_id
        changes.note(
            f"Epoch {metrics.epoch}/{event.final_epoch}: loss {metrics.loss:.4f} "
            f"acc {metrics.accuracy:.4f} · val loss {metrics.val_loss:.4f} "
            f"acc {metrics.val_accuracy:.4f} · {format_duration(metrics.seconds)}"
        )
        return changes

    def _ended(self, event: TrainingFinished | TrainingStopped) -> Changes:
        run = self.live
        changes = Changes()
        if run is None:
            return changes
        run.history = list(event.history)
        run.status = "finished" if isinstance(event, TrainingFinished) else "stopped"
        if isinstance(event, TrainingFinished) and event.early_stopping is not None:
            run.early_stopping = event.early_stopping
            changes.marker = True
            changes.note(
                f"Early stopping after epoch {event.early_stopping['stopped_epoch']}: "
                f"the model keeps epoch {event.early_stopping['best_epoch']}'s weights "
                "(lowest validation loss)",
                "bold",
            )
        took = format_duration(event.seconds)
        trained = len(event.history) - run.started_from
        if isinstance(event, TrainingStopped) and trained <= 0:
            changes.note(
                f"Stopped before the epoch ended ({took}): evaluating what the batches so far "
                "taught it"
            )
        else:
            changes.note(
                f"Training {run.status}: {trained} epoch{'s' if trained != 1 else ''} in {took}; "
                "evaluating the test set"
            )
        self.progress = None
        self.message = "Evaluating the test set…"
        changes.progress = True
        return changes

    def _failed(self, event: TrainingFailed) -> Changes:
        run = self.live
        changes = Changes()
        if run is None:
            # It failed before it started (say the model could not compile).
            run = self.live = RunView(run_id=event.run_id, model=self.model)
            changes = self._show(run)
        run.status = "failed"
        changes.note(f"Training failed: {event.message}", "red")
        changes.error = Notice(FAILURE_TITLES.get(event.kind, "Training failed"), event.message)
        return changes

    def _evaluated(self, event: EvaluationFinished) -> Changes:
        run = self.live
        changes = Changes()
        if run is None:
            return changes
        run.evaluation = event.evaluation
        run.test_images = event.test_images
        self._forget_explanations(run.run_id)
        if run.config is not None:
            self._saw_whole(run.config, test=event.evaluation.labels.size)
        changes.evaluation = changes.status = self.shown is run
        accuracy = event.evaluation.test_accuracy
        changes.note(
            f"Test accuracy: {accuracy:.4f} (loss {event.evaluation.test_loss:.4f})", "bold"
        )
        changes.toast = Notice(run.run_id, f"Test accuracy: {accuracy:.4f}")
        return changes

    def _saved(self, event: RunSaved) -> Changes:
        run = self.live
        changes = Changes()
        if run is None:
            return changes
        run.run_dir = Path(event.run_dir)
        changes.note(f"Saved in {event.run_dir}")
        changes.runs_stale = True
        return changes

    # --- What the screen says --------------------------------------------------------------

    def continuation(self) -> Continuation | None:
        """What "continue" in the Train dialog trains: the run on show, whichever it is."""
        run = self.shown
        if run is None:
            return None
        held = self.held
        if held is not None and held.run_id == run.run_id:
            return Continuation(run.run_id, run.model, held.epochs_done)
        if run.saved and run.run_dir is not None:
            return Continuation(
                run.run_id,
                run.model,
                run.checkpoint_epoch if run.checkpoint_epoch is not None else len(run.history),
                run_dir=run.run_dir,
                refusal=run.resume_refusal,
            )
        done = len(run.history)
        if run.resume_refusal is not None:
            reason = run.resume_refusal
        elif not done:
            reason = "no epoch finished, so there is nothing to train on from"
        else:
            reason = (
                f"it {run.status} and its model is no longer in memory: open it from the "
                "Runs tab to resume it from its checkpoint"
            )
        return Continuation(run.run_id, run.model, done, refusal=reason)

    @property
    def has_results(self) -> bool:
        """The run on show has a finished epoch or an evaluation: something to export."""
        run = self.shown
        return run is not None and (bool(run.history) or run.evaluation is not None)

    def idle_message(self) -> str:
        run = self.shown
        if run is None:
            return "Ready: press t to train" if self.engine_ready else self.message
        epochs = len(run.history)
        text = f"{run.model} {run.status}: {epochs} epoch{'s' if epochs != 1 else ''}"
        if run.saved:
            return f"Saved run {run.run_id}: {text}"
        # Only the keys that do something for it: a run that failed before its first epoch
        # has nothing to train on from, or to export.
        hints = ["t train more" if epochs else "t train"]
        if self.has_results:
            hints.append("e export")
        return " · ".join([text, *hints])

    def status_line(self, width: int | None = None) -> str:
        """The line under the tabs: the device and the data of the run on show (the data new
        runs get when none is), or what is being loaded; within ``width`` characters when
        one is given (:func:`~tui.status_text.fit_status`)."""
        if not self.engine_ready:
            return self.busy
        device = self.device or "device unknown"
        data = self.data_of(self.shown)
        if data is None:
            text = self.data_description or self.busy
            return fit_status(device, text or None, None, width)
        return fit_status(device, data.counts(), data.source, width)

    def data_of(self, run: RunView | None) -> DataCounts | None:
        """What ``run`` trains and is tested on, as far as the app knows it. With no run, or
        one whose settings are not known yet, the app's own data: ``None`` until loaded."""
        config = run.config if run is not None else None
        if run is None or config is None:
            return self.data
        test = None if run.evaluation is None else int(run.evaluation.labels.size)
        mine = self.data
        if mine is not None and dataset_key(config) == self._data_key:
            # The same settings pick the same arrays.
            test = mine.test if test is None else test
            return DataCounts(mine.train, mine.val, test, mine.source, mine.val_split)
        whole_train, whole_test, seen_source = self._whole_sets.get(
            config.data_dir, (None, None, "")
        )
        train: int | None
        val: int | None
        if run.samples is not None:
            train, val, source = run.samples
        else:
            total = _limited(config.limit_train, whole_train)
            val = None if total is None else int(total * config.val_split)
            train = None if total is None or val is None else total - val
            source = seen_source or _named_source(config.data_dir)
        if test is None:
            test = _limited(config.limit_test, whole_test)
        return DataCounts(train, val, test, source, config.val_split)

    @property
    def _data_key(self) -> DatasetKey:
        return dataset_key(self.data_config)

    def _saw_whole(
        self,
        config: TrainConfig,
        *,
        train: int | None = None,
        test: int | None = None,
        source: str | None = None,
    ) -> None:
        """Remember what data loaded with ``config`` showed of its folder's whole sets: a
        count is the whole set's where no limit cut it."""
        known_train, known_test, known_source = self._whole_sets.get(
            config.data_dir, (None, None, "")
        )
        if config.limit_train is None and train is not None:
            known_train = train
        if config.limit_test is None and test is not None:
            known_test = test
        self._whole_sets[config.data_dir] = (known_train, known_test, source or known_source)

    def sub_title(self) -> str:
        return self._sweep_title(self._run_sub_title())

    def _run_sub_title(self) -> str:
        run = self.shown
        if not self.engine_ready:
            return "loading"
        if self.training and run is not None and run is self.live:
            if run.status in ("finished", "stopped"):
                return f"{run.model} · {run.status} · evaluating"
            if run.status == "failed":
                return f"{run.model} · failed"
            epoch = min(len(run.history) + 1, run.final_epoch)
            return f"training {run.model} · epoch {epoch}/{run.final_epoch}"
        if run is None:
            return "ready"
        text = f"{run.model} · {run.status}"
        if run.evaluation is not None:
            text += f" · test {run.evaluation.test_accuracy:.4f}"
        if run.saved:
            text += f" · {run.run_id}"
        return text


def _limited(limit: int | None, whole: int | None) -> int | None:
    """How many samples a ``--limit-*`` of ``limit`` keeps of a set of ``whole`` samples
    (``None``: unknown)."""
    if limit is None:
        return whole
    return limit if whole is None else min(limit, whole)


def _named_source(data_dir: str | None) -> str:
    """A data folder this session has not loaded, named as core names it when it does."""
    return "the default data folders" if data_dir is None else f"--data-dir {data_dir}"
