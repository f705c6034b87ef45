"""Plain dataclass events that the training engine reports.

Front ends (the headless CLI and the Textual app) receive these through an ``on_event``
callback. Every event carries the ``run_id`` of the run that produced it, so a front end can
drop events from a run it no longer shows. Events hold plain Python values and numpy arrays,
never TensorFlow objects, so they can cross threads safely.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from core.config import TrainConfig
    from core.evaluation import Evaluation
    from core.summary import ModelSummary


@dataclass(frozen=True, slots=True)
class EpochMetrics:
    """Metrics of one finished epoch (1-based ``epoch``).

    Saved in ``history.json`` and checkpoints. Readers take rows with keys they do not know
    (written by a newer version) and without the optional ones (written by an older one), so
    adding a metric means one field here with a default, and :data:`REQUIRED_METRICS` stays.
    """

    epoch: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float = math.nan
    learning_rate: float | None = None
    """The optimizer's learning rate at the end of the epoch, where known."""

    def to_dict(self) -> dict[str, float | int]:
        row: dict[str, float | int] = {
            "epoch": self.epoch,
            "loss": self.loss,
            "accuracy": self.accuracy,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
            "seconds": self.seconds,
        }
        if self.learning_rate is not None:
            row["learning_rate"] = self.learning_rate
        return row

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpochMetrics:
        """Read one saved row; ``KeyError``/``TypeError``/``ValueError`` when it is unusable."""
        missing = [key for key in REQUIRED_METRICS if key not in data]
        if missing:
            raise KeyError(", ".join(missing))
        seconds = data.get("seconds")
        learning_rate = data.get("learning_rate")
        return cls(
            epoch=int(data["epoch"]),
            loss=float(data["loss"]),
            accuracy=float(data["accuracy"]),
            val_loss=float(data["val_loss"]),
            val_accuracy=float(data["val_accuracy"]),
            seconds=math.nan if seconds is None else float(seconds),
            learning_rate=None if learning_rate is None else float(learning_rate),
        )


REQUIRED_METRICS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")
"""The keys every saved epoch row has; every other metric is optional."""


@dataclass(frozen=True, slots=True)
class TrainingStarted:
    """The model is built and ``model.fit`` is about to run."""

    run_id: str
    config: TrainConfig
    summary: ModelSummary
    device: str
    data_source: str
    train_samples: int
    val_samples: int
    batches_per_epoch: int
    initial_epoch: int
    """Epochs already trained before this call (non-zero when continuing)."""
    final_epoch: int
    """The epoch number training will end on if not stopped."""
    history: tuple[EpochMetrics, ...] = ()
    """The ``initial_epoch`` epochs already trained (a resumed run's, to show them)."""


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Running metrics inside an epoch; ``batch`` counts batches done (1-based)."""

    run_id: str
    epoch: int
    batch: int
    batches: int
    loss: float
    accuracy: float
    samples_per_second: float

    @property
    def fractional_epoch(self) -> float:
        """Position in training as a float, e.g. 2.5 half-way through epoch 3."""
        return self.epoch - 1 + self.batch / self.batches


@dataclass(frozen=True, slots=True)
class EpochEnded:
    run_id: str
    metrics: EpochMetrics
    final_epoch: int


@dataclass(frozen=True, slots=True)
class TrainingFinished:
    """Every planned epoch ran, or early stopping ended the run."""

    run_id: str
    history: tuple[EpochMetrics, ...]
    seconds: float
    early_stopping: dict[str, int] | None = None
    """``{"stopped_epoch": N, "best_epoch": M}`` when early stopping ended the run; the
    model then holds the best epoch's weights."""


@dataclass(frozen=True, slots=True)
class TrainingStopped:
    """A stop was requested; ``history`` holds the epochs that did finish."""

    run_id: str
    history: tuple[EpochMetrics, ...]
    seconds: float


FailureKind = Literal["out_of_memory", "nan_loss", "io", "error"]


@dataclass(frozen=True, slots=True)
class TrainingFailed:
    """Training could not go on. ``message`` is one line meant for the user."""

    run_id: str
    message: str
    kind: FailureKind = "error"


@dataclass(frozen=True, slots=True)
class EvaluationFinished:
    """The test set was evaluated after training ended (finished or stopped)."""

    run_id: str
    evaluation: Evaluation
    test_images: np.ndarray
    """The uint8 test images (N, 28, 28) that ``evaluation`` indexes into."""


@dataclass(frozen=True, slots=True)
class RunSaved:
    run_id: str
    run_dir: str
    files: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RunWarning:
    """Something went wrong that does not stop the run (say its TensorBoard files could not
    be written); ``message`` is one line meant for the user."""

    run_id: str
    message: str


TrainingEvent = (
    TrainingStarted
    | BatchProgress
    | EpochEnded
    | TrainingFinished
    | TrainingStopped
    | TrainingFailed
    | EvaluationFinished
    | RunSaved
    | RunWarning
)
EventHandler = Callable[[TrainingEvent], None]
