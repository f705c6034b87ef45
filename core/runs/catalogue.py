"""The saved runs: one run folder read back whole, and the runs folder as a listing.

:func:`load_run` reads a folder into a :class:`SavedRun` (what the app opens and an export
draws); :func:`list_runs` gives a :class:`RunListing` per folder for the Runs tab and
``fmnist-tui runs``. A folder with a damaged file is listed as damaged with the reason
(:mod:`core.runs.reading`), and the folders beside it list, open and resume as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.config import TrainConfig
from core.errors import RunError, reraise_os_errors
from core.evaluation import Evaluation
from core.events import EpochMetrics
from core.runs.checkpoints import Checkpoint, latest_checkpoint
from core.runs.layout import CONFIG_JSON, EVALUATION_NPZ, HISTORY_JSON, METRICS_JSON, MODEL_FILE
from core.runs.lock import effective_status
from core.runs.reading import (
    check_format,
    config_from,
    early_stopping_from,
    epoch_count,
    epochs_from,
    read_evaluation,
    read_json,
    reading,
    status_from,
)


@dataclass(frozen=True, slots=True, eq=False)
class SavedRun:
    """A run folder read back from disk."""

    path: Path
    config: TrainConfig
    history: tuple[EpochMetrics, ...]
    status: str
    """finished, stopped, failed, running (being trained now) or interrupted."""
    planned_epochs: int
    metrics: dict[str, Any] | None
    evaluation: Evaluation | None
    test_images: np.ndarray | None
    """(N, 28, 28) uint8: every test image, or (runs saved before every image was kept,
    ``images_complete`` false) the misclassified ones with the others blank."""
    checkpoint: Checkpoint | None = None
    """The newest intact checkpoint, the point a resume starts from."""
    checkpoint_problem: str | None = None
    images_complete: bool = False
    """``test_images`` holds every test image (not only the misclassified ones)."""
    early_stopping: dict[str, int] | None = None
    """``{"stopped_epoch": N, "best_epoch": M}`` when early stopping ended the run."""

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def test_accuracy(self) -> float | None:
        return None if self.metrics is None else float(self.metrics["test_accuracy"])

    @property
    def resumable(self) -> bool:
        """Whether ``--resume`` without ``--epochs`` has work to do: epochs left to train, or
        trained epochs that were never evaluated (killed, or out of disk, at the end)."""
        checkpoint = self.checkpoint
        if checkpoint is None or self.status == "running":
            return False
        if self.unevaluated:
            return True
        stopped_early = (self.early_stopping or checkpoint.early_stopping) is not None
        return not stopped_early and checkpoint.epoch < checkpoint.planned_epochs

    @property
    def resume_refusal(self) -> str | None:
        """Why the run cannot be trained further from a checkpoint at all (``None``: it can,
        to its planned epochs when :attr:`resumable`, else by a number of epochs more)."""
        if self.status == "running":
            return f"{self.path.name} is being trained by another process"
        if self.checkpoint is None:
            return self.checkpoint_problem or (
                f"{self.path.name} has no checkpoint to resume from (it was saved before "
                "checkpoints existed, or no epoch finished)"
            )
        return None

    @property
    def unevaluated(self) -> bool:
        """Every epoch it will train is trained (all planned, or early stopping ended it), but
        the test set was never evaluated: killed, or out of disk, at the very end."""
        checkpoint = self.checkpoint
        if checkpoint is None or self.metrics is not None or self.status == "running":
            return False
        stopped_early = (self.early_stopping or checkpoint.early_stopping) is not None
        return stopped_early or checkpoint.epoch >= checkpoint.planned_epochs


def _read_metrics(path: Path) -> dict[str, Any]:
    with reading(path, "invalid metrics"):
        metrics = read_json(path)
        accuracy = metrics.get("test_accuracy") if isinstance(metrics, dict) else None
        if not isinstance(accuracy, int | float) or isinstance(accuracy, bool):
            raise RunError(f"{path}: invalid metrics (no test_accuracy)")
    return metrics  # type: ignore[no-any-return]


def load_run(run_dir: Path) -> SavedRun:
    """Read a run folder; raises :class:`RunError` naming what is missing or damaged.

    Nothing else escapes, whatever a file holds: see :mod:`core.runs.reading`.
    """
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: not a run folder")
    config_path = run_dir / CONFIG_JSON
    with reading(config_path, "invalid config"):
        config = config_from(read_json(config_path))
    history_path = run_dir / HISTORY_JSON
    with reading(history_path, "invalid history"):
        history_data = read_json(history_path)
        check_format(history_data.get("format", 1))
        history = epochs_from(history_data["epochs"])
        recorded = status_from(history_data.get("status", "unknown"))
        planned = epoch_count(history_data.get("planned_epochs", config.epochs), "planned_epochs")
        early_stopping = early_stopping_from(history_data.get("early_stopping"))
    status = effective_status(run_dir, recorded)
    metrics = None
    evaluation = images = None
    complete = False
    if (run_dir / METRICS_JSON).exists():
        metrics = _read_metrics(run_dir / METRICS_JSON)
        if not (run_dir / MODEL_FILE).is_file():
            raise RunError(f"{run_dir / MODEL_FILE}: missing")
    if (run_dir / EVALUATION_NPZ).exists():
        evaluation, images, complete = read_evaluation(run_dir / EVALUATION_NPZ)
    checkpoint = checkpoint_problem = None
    try:
        checkpoint = latest_checkpoint(run_dir)
    except RunError as error:
        checkpoint_problem = str(error)
    return SavedRun(
        path=run_dir,
        config=config,
        history=history,
        status=status,
        planned_epochs=planned,
        metrics=metrics,
        evaluation=evaluation,
        test_images=images,
        checkpoint=checkpoint,
        checkpoint_problem=checkpoint_problem,
        early_stopping=early_stopping,
        images_complete=complete,
    )


@dataclass(frozen=True, slots=True)
class RunListing:
    path: Path
    started: datetime | None
    model: str
    epochs: int
    status: str
    test_accuracy: float | None
    best_val_accuracy: float | None
    problem: str | None = None
    """Why the run is damaged, when it is."""
    planned_epochs: int = 0
    resumable: bool = False
    """Epochs are left to train from its newest checkpoint."""
    checkpoint_epoch: int | None = None
    """The newest intact checkpoint's epoch: any run with one can be trained further."""
    unevaluated: bool = False
    """Trained to the end but never evaluated: resuming only evaluates it."""
    resume_refusal: str | None = None
    """Why it cannot be trained further (damaged, being trained, no checkpoint); ``None``
    when it can."""
    augment: bool = False
    """Trained with the augmentation option (random flips) on."""
    config: TrainConfig | None = None
    """What it was trained with; ``None`` when its ``config.json`` cannot be read."""
    duration: float | None = None
    """Seconds its epochs took, added up (epochs of unknown length left out); ``None`` when
    no epoch's length is known."""
    best_val_epoch: int | None = None
    """The epoch of :attr:`best_val_accuracy` (the first, on a tie)."""

    @property
    def model_label(self) -> str:
        """The preset, marked ``+flip`` when trained with the augmentation option."""
        return f"{self.model}+flip" if self.augment else self.model

    @property
    def epochs_text(self) -> str:
        """``done/planned`` (or ``done`` when the plan is unknown), as every listing shows it."""
        return f"{self.epochs}/{self.planned_epochs}" if self.planned_epochs else str(self.epochs)


def list_runs(root: Path) -> list[RunListing]:
    """Every run folder under ``root``, newest first; damaged ones say why.

    Raises:
        RunError: ``root`` exists but cannot be read (a missing one has no runs).
    """
    with reraise_os_errors(RunError, f"cannot read the runs folder {root}"):
        if not root.is_dir():
            return []
        folders = sorted((p for p in root.iterdir() if p.is_dir()), reverse=True)
    return [listing_of(run_dir) for run_dir in folders if not run_dir.name.startswith(".")]


def listing_of(run_dir: Path) -> RunListing:
    """One run folder as :func:`list_runs` lists it; a damaged one says why (nothing raises).

    For a listing kept up to date while one run trains: reading that folder alone costs what
    one run costs, not what every run does.
    """
    started = parse_started(run_dir.name)
    try:
        run = load_run(run_dir)
    except RunError as error:
        # The settings still say what the run was, when its config is what is intact.
        config = _readable_config(run_dir)
        return RunListing(
            run_dir,
            started,
            "?" if config is None else config.model,
            0,
            "damaged",
            None,
            None,
            str(error),
            resume_refusal=f"{run_dir.name} is damaged: {error}",
            augment=config is not None and config.augment,
            config=config,
        )
    # Every checkpoint fails its check (a bad checksum, bad JSON, a missing model): the run
    # can still be opened, but not resumed or trained further, so it is listed as damaged.
    damaged = run.checkpoint is None and run.checkpoint_problem is not None
    damaged = damaged and run.status != "running"
    best = _best_epoch(run.history)
    return RunListing(
        path=run_dir,
        started=started,
        model=run.config.model,
        epochs=len(run.history),
        status="damaged" if damaged else run.status,
        test_accuracy=run.test_accuracy,
        best_val_accuracy=None if best is None else best.val_accuracy,
        problem=run.checkpoint_problem if damaged else None,
        planned_epochs=run.planned_epochs,
        resumable=run.resumable,
        checkpoint_epoch=None if run.checkpoint is None else run.checkpoint.epoch,
        unevaluated=run.unevaluated,
        resume_refusal=run.resume_refusal,
        augment=run.config.augment,
        config=run.config,
        duration=_duration(run.history),
        best_val_epoch=None if best is None else best.epoch,
    )


def _readable_config(run_dir: Path) -> TrainConfig | None:
    path = run_dir / CONFIG_JSON
    try:
        with reading(path, "invalid config"):
            return config_from(read_json(path))
    except RunError:
        return None


def _best_epoch(history: tuple[EpochMetrics, ...]) -> EpochMetrics | None:
    """The epoch with the highest validation accuracy (the first of equals); a NaN, from a
    diverged epoch, is no one's best."""
    finite = [m for m in history if math.isfinite(m.val_accuracy)]
    return max(finite, key=lambda m: m.val_accuracy, default=None)


def _duration(history: tuple[EpochMetrics, ...]) -> float | None:
    known = [m.seconds for m in history if math.isfinite(m.seconds) and m.seconds >= 0]
    return math.fsum(known) if known else None


def parse_started(name: str) -> datetime | None:
    """When a run started, from its folder name ``YYYYMMDD-HHMMSS-<model>``."""
    try:
        return datetime.strptime(name[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return None
