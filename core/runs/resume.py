"""Resume planning: whether a saved run can be trained further, from where, and how far.

A run resumes from its newest intact checkpoint (:mod:`core.runs.checkpoints`), to its planned
number of epochs or by a number more; one being trained by another process (its lock is held,
:mod:`core.runs.lock`) or with no checkpoint is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config import MAX_EPOCHS as MAX_EPOCHS_TOTAL
from core.config import TrainConfig
from core.errors import RunError
from core.runs.catalogue import load_run
from core.runs.checkpoints import Checkpoint, checkpoint_for_epoch
from core.runs.lock import is_in_use


@dataclass(frozen=True, slots=True, eq=False)
class ResumePlan:
    """What resuming a run will do: train ``epochs`` more from ``checkpoint``."""

    run_dir: Path
    checkpoint: Checkpoint
    epochs: int
    best: Checkpoint | None
    """The best epoch's checkpoint when early stopping needs its weights."""

    @property
    def config(self) -> TrainConfig:
        return self.checkpoint.config

    @property
    def final_epoch(self) -> int:
        return self.checkpoint.epoch + self.epochs


def plan_resume(run_dir: Path, extra_epochs: int | None = None) -> ResumePlan:
    """Check that ``run_dir`` can be resumed and work out how far.

    Without ``extra_epochs`` the run continues to its planned number of epochs; with it, it
    trains that many more. Epochs recorded after the newest intact checkpoint (there can be
    one, when a save failed) are trained again. Raises :class:`RunError` with the reason.
    """
    run = load_run(run_dir)
    refusal = run.resume_refusal
    if refusal is None and is_in_use(run_dir):
        refusal = f"{run_dir.name} is being trained by another process"
    checkpoint = run.checkpoint
    if refusal is not None or checkpoint is None:
        raise RunError(refusal or f"{run_dir.name} has no checkpoint to resume from")
    planned = checkpoint.planned_epochs  # written before history.json: never older
    early_stopping = checkpoint.early_stopping or run.early_stopping
    if extra_epochs is not None:
        epochs = extra_epochs
    elif run.unevaluated:
        epochs = 0  # trained, but killed (or out of disk) before the evaluation was saved
    elif early_stopping is not None:
        raise RunError(
            f"early stopping ended {run_dir.name} at epoch {early_stopping['stopped_epoch']}"
            "; give a number of epochs to train more"
        )
    else:
        epochs = planned - checkpoint.epoch
        if epochs <= 0:
            raise RunError(
                f"{run_dir.name} has trained all {planned} planned epochs; "
                "give a number of epochs to train more"
            )
    if checkpoint.epoch + epochs > MAX_EPOCHS_TOTAL:
        raise RunError(
            f"{run_dir.name} would reach {checkpoint.epoch + epochs} epochs; "
            f"the most a run can have is {MAX_EPOCHS_TOTAL}"
        )
    best = None
    if (
        checkpoint.config.patience is not None
        and checkpoint.best_epoch is not None
        and checkpoint.best_epoch != checkpoint.epoch
    ):
        best = checkpoint_for_epoch(run_dir, checkpoint.best_epoch)
    return ResumePlan(run_dir, checkpoint, epochs, best)
