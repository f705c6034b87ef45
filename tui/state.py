"""What the app shows, as plain data: the runs on screen and how core's events change them.

:class:`AppState` holds no widgets and imports nothing of Textual, so every rule about what an
event means for the screen (which run is on show, which events are stale, what the progress
line, the title and the log say) is tested without Pilot. The app feeds it the engine's events
and hands the :class:`Changes` each one makes to the tabs, which only draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from core.events import (
    BatchProgress,
    EpochEnded,
    EpochMetrics,
    EvaluationFinished,
    RunSaved,
    RunWarning,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from tui.progress import Progress, estimate_eta, format_duration

if TYPE_CHECKING:
    from core.evaluation import Evaluation
    from core.runs import SavedRun
    from core.summary import ModelSummary

LOADING_RUNTIME: Final = "TensorFlow"
"""What the first seconds are spent loading (the ML runtime)."""
MIN_CHART_BATCHES: Final = 3
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
    samples_per_second: float = 0.0
    evaluation: Evaluation | None = None
    test_images: npt.NDArray[np.uint8] | None = None
    status: str = "training"
    saved: bool = False
    """Opened from a run folder rather than trained by this session."""
    early_stopping: dict[str, int] | None = None
    """``{"stopped_epoch": N, "best_epoch": M}`` when early stopping ended the run."""

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
        )


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """A running mean inside an epoch, at ``position`` (a fractional epoch)."""

    position: float
    accuracy: float
    loss: float


@dataclass(slots=True)
class Changes:
    """What one event changed on screen; the tabs draw from it and from the state."""

    notes: list[tuple[str, str]] = field(default_factory=list)
    """Lines for the log pane: (text, style)."""
    error: tuple[str, str] | None = None
    """An error to show on a screen of its own: (title, message)."""
    toast: tuple[str, str] | None = None
    """A notification: (message, title)."""
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
    summary: ModelSummary | None = None
    progress: bool = False
    """The progress line changed (:attr:`AppState.progress`, :attr:`AppState.message`)."""
    runs_saved: bool = False
    """A run folder was written: the runs listing is out of date."""

    def note(self, text: str, style: str = "") -> None:
        self.notes.append((text, style))


class AppState:
    """The runs the app knows, what it is doing, and how training events change that."""

    def __init__(self, preset: str = "seed", *, runtime: str = LOADING_RUNTIME) -> None:
        self.runtime = runtime
        """The framework under Keras (TensorFlow, JAX, PyTorch), as people write it."""
        self.preset = preset
        """The model preset new runs use."""
        self.device: str | None = None
        self.data_description: str | None = None
        self.engine_ready = False
        self.training = False
        """A command that trains is with the engine (until it reports idle)."""
        self.stopping = False
        self.shown: RunView | None = None
        """The run on show."""
        self.live: RunView | None = None
        """The run whose model the engine holds (what "continue" trains further)."""
        self.awaiting_run = False
        """A run was asked for and its first event has not arrived: adopt its id."""
        self.progress: Progress | None = None
        """Where training is, while it runs; ``None`` shows :attr:`message` instead."""
        self.message = f"t sets up a run while {runtime} loads"

    # --- The engine starting up ------------------------------------------------------------

    def ready(self, device: str) -> Changes:
        """The ML runtime is imported; ``device`` is what it trains on."""
        self.engine_ready = True
        self.device = device
        changes = Changes()
        changes.note(f"{self.runtime} ready on {device}")
        return changes

    def data_ready(self, source: str, train: int, val: int, test: int) -> Changes:
        # The counts first: on a narrow screen the source's folder is what gets cut off.
        self.data_description = f"{train:,} train / {val:,} val / {test:,} test · {source}"
        changes = Changes()
        changes.note(f"Data: {self.data_description}")
        if not self.training:
            self.message = "Ready: press t to train"
            changes.progress = True
        return changes

    def data_failed(self, message: str) -> Changes:
        self.data_description = "no data"
        changes = Changes(progress=True)
        changes.note(f"Data could not be loaded: {message}", "red")
        self.message = "No data: see the error (--data-dir DIR picks a folder)"
        changes.error = ("The data set could not be loaded", message)
        return changes

    # --- Commands --------------------------------------------------------------------------

    def run_requested(self) -> None:
        """A train, continue or resume command went to the engine."""
        self.training = True
        self.awaiting_run = True

    def stop_requested(self) -> Changes:
        changes = Changes(progress=True)
        self.stopping = True
        self.progress = None
        self.message = "Stopping after the current batch…"
        changes.note(self.message)
        return changes

    def engine_idle(self) -> Changes:
        self.training = self.stopping = self.awaiting_run = False
        self.progress = None
        self.message = self.idle_message()
        return Changes(progress=True)

    def open_saved(self, saved: SavedRun) -> Changes:
        """Show a run read from its folder."""
        run = RunView.from_saved(saved)
        changes = self._show(run)
        self.progress = None
        self.message = self.idle_message()
        changes.progress = True
        changes.note(f"Opened {saved.path}")
        return changes

    # --- Training events -------------------------------------------------------------------

    def accepts(self, event: TrainingEvent) -> bool:
        """Whether ``event`` belongs to the run being trained (not a stale one)."""
        if self.live is not None and event.run_id == self.live.run_id:
            return True
        # The first event of a newly started run names its id; adopt it.
        return self.awaiting_run

    def apply(self, event: TrainingEvent) -> Changes:
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
        if isinstance(event, RunWarning):
            changes = Changes()
            changes.note(f"Warning: {event.message}", "yellow")
            return changes
        return Changes()

    def _show(self, run: RunView) -> Changes:
        self.shown = run
        return Changes(shown_run=True, evaluation=True, marker=True)

    def _started(self, event: TrainingStarted) -> Changes:
        self.awaiting_run = False
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
        run.status = "training"
        run.final_epoch = event.final_epoch
        run.batches = event.batches_per_epoch
        run.batch_size = event.config.batch_size
        run.epoch_seconds.clear()
        run.samples_per_second = 0.0
        changes = self._show(run)
        changes.final_epoch = event.final_epoch
        changes.summary = event.summary
        verb = "Continuing" if continuing else "Resuming" if event.history else "Training"
        changes.note(
            f"{verb} {run.model} ({event.run_id}): epochs {event.initial_epoch + 1}-"
            f"{event.final_epoch}, batch size {event.config.batch_size}, "
            f"{event.train_samples:,} train / {event.val_samples:,} val samples"
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
        # A running mean over the first few batches of an epoch is noise (and the first
        # batch also waits for the pipeline): leave those off the charts.
        if event.batch >= max(MIN_CHART_BATCHES, event.batches // 20):
            changes.chart_point = ChartPoint(event.fractional_epoch, event.accuracy, event.loss)
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
        if isinstance(event, TrainingStopped) and not event.history:
            changes.note(f"Stopped before the first epoch ended ({took}): nothing to evaluate")
        else:
            epochs = len(event.history)
            changes.note(
                f"Training {run.status}: {epochs} epoch{'s' if epochs != 1 else ''} in {took}; "
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
            run = self.live = RunView(run_id=event.run_id, model=self.preset)
            changes = self._show(run)
        run.status = "failed"
        changes.note(f"Training failed: {event.message}", "red")
        changes.error = (FAILURE_TITLES.get(event.kind, "Training failed"), event.message)
        return changes

    def _evaluated(self, event: EvaluationFinished) -> Changes:
        run = self.live
        changes = Changes()
        if run is None:
            return changes
        run.evaluation = event.evaluation
        run.test_images = event.test_images
        changes.evaluation = self.shown is run
        accuracy = event.evaluation.test_accuracy
        changes.note(
            f"Test accuracy: {accuracy:.4f} (loss {event.evaluation.test_loss:.4f})", "bold"
        )
        changes.toast = (f"Test accuracy: {accuracy:.4f}", run.run_id)
        return changes

    def _saved(self, event: RunSaved) -> Changes:
        run = self.live
        changes = Changes()
        if run is None:
            return changes
        run.run_dir = Path(event.run_dir)
        changes.note(f"Saved in {event.run_dir}")
        changes.runs_saved = True
        return changes

    # --- What the screen says --------------------------------------------------------------

    @property
    def has_results(self) -> bool:
        """The run on show has a finished epoch, so there is something to export."""
        return self.shown is not None and bool(self.shown.history)

    def idle_message(self) -> str:
        run = self.shown
        if run is None:
            return "Ready: press t to train" if self.engine_ready else self.message
        epochs = len(run.history)
        text = f"{run.model} {run.status}: {epochs} epoch{'s' if epochs != 1 else ''}"
        if run.saved:
            return f"Saved run {run.run_id}: {text}"
        return f"{text} · t train more · e export"

    def status_line(self, loading: str | None = None) -> str:
        """The line under the tabs: device and data, or what is being loaded."""
        if loading is not None and not self.engine_ready:
            return loading
        parts = [self.device or "device unknown"]
        if self.data_description:
            parts.append(self.data_description)
        elif loading:
            parts.append(loading)
        return " · ".join(parts)

    def sub_title(self) -> str:
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
