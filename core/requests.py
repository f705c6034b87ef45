"""What a front end can ask of a run session, and the model a session holds: plain data.

The headless CLI and the app submit these same requests (the app's engine thread passes them
to :class:`core.session.RunSession` unchanged). Epoch counts mean one thing per type: a new
run's ``config.epochs`` is how many it is planned to have; ``ContinueRun.epochs`` and
``ResumeRun.epochs`` are how many more to train.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config import TrainConfig


@dataclass(frozen=True, slots=True)
class NewRun:
    """Train a freshly built model with ``config`` in a new run folder."""

    config: TrainConfig


@dataclass(frozen=True, slots=True)
class ContinueRun:
    """Train the model the session holds for ``epochs`` more, in the same run folder."""

    epochs: int
    batch_size: int | None = None
    """A new batch size for these epochs; ``None`` keeps the run's."""


@dataclass(frozen=True, slots=True)
class ResumeRun:
    """Resume a saved run from its newest checkpoint: to its planned epochs, or ``epochs``
    more when given."""

    run_dir: Path
    epochs: int | None = None
    data_dir: str | None = None
    """Where the run's data are now, when they moved; the run's other settings stay."""


RunRequest = NewRun | ContinueRun | ResumeRun


@dataclass(frozen=True, slots=True)
class HeldModel:
    """The model a session holds in memory after a run: what :class:`ContinueRun` trains."""

    run_id: str
    run_dir: Path
    model: str
    epochs_done: int
