"""Checkpoints: after every epoch, ``checkpoints/epoch-NNNN/`` holds what resuming needs.

Each holds ``model.keras`` (the weights and the optimizer state) and ``state.json`` (the epoch,
the history, the config, the learning-rate schedule, early stopping's counters and the model's
checksum). A checkpoint is written into a hidden temporary folder and renamed into place, so a
kill at any instant leaves the previous checkpoint or the new one, never half of one. The two
newest and the best are kept. Reading one back needs no TensorFlow and checks the checksum; a
damaged newest checkpoint falls back to the one before it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import TrainConfig
from core.errors import RunError, reraise_os_errors
from core.events import EpochMetrics
from core.files import current_umask, fsync_dir
from core.runs.layout import CHECKPOINT_STATE, CHECKPOINTS_DIR, FILE_FORMAT, MODEL_FILE
from core.runs.reading import (
    check_format,
    config_from,
    epoch_count,
    epochs_from,
    read_json,
    reading,
)

_CHECKPOINT_NAME = re.compile(r"epoch-([0-9]{4,})")


@dataclass(frozen=True, slots=True, eq=False)
class Checkpoint:
    """A committed checkpoint folder, read back without TensorFlow."""

    path: Path
    epoch: int
    planned_epochs: int
    schedule_end: int
    """The epoch at which the learning-rate schedule the optimizer was compiled with ends."""
    config: TrainConfig
    history: tuple[EpochMetrics, ...]
    best_epoch: int | None = None
    """The epoch with the lowest validation loss so far (early stopping restores it)."""
    best_val_loss: float | None = None
    wait: int = 0
    """Epochs since the validation loss last improved."""
    stopped_epoch: int | None = None
    """Set when early stopping ended the run at this checkpoint."""

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def early_stopping(self) -> dict[str, int] | None:
        if self.stopped_epoch is None or self.best_epoch is None:
            return None
        return {"stopped_epoch": self.stopped_epoch, "best_epoch": self.best_epoch}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    fsync_dir(folder)


def save_checkpoint(
    run_dir: Path,
    *,
    config: TrainConfig,
    history: Sequence[EpochMetrics],
    planned_epochs: int,
    schedule_end: int,
    write_model: Callable[[Path], None],
    best_epoch: int | None = None,
    best_val_loss: float | None = None,
    wait: int = 0,
    stopped_epoch: int | None = None,
) -> Checkpoint:
    """Write ``checkpoints/epoch-NNNN`` for the epochs in ``history``, atomically.

    Everything goes into a hidden temporary folder first, is flushed to disk, and the folder is
    renamed into place; only then are older checkpoints pruned (the two newest and the best are
    kept). Any error leaves the earlier checkpoints as they were and raises :class:`RunError`.
    """
    epoch = len(history)
    root = run_dir / CHECKPOINTS_DIR
    final = root / f"epoch-{epoch:04d}"
    tmp: Path | None = None
    try:
        with reraise_os_errors(RunError, f"cannot save the epoch {epoch} checkpoint"):
            root.mkdir(exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
            # mkdtemp makes 0700; the folder gets what mkdir() would give it under the umask.
            os.chmod(tmp, 0o777 & ~current_umask())
            write_model(tmp / MODEL_FILE)
            state = {
                "format": FILE_FORMAT,
                "epoch": epoch,
                "planned_epochs": planned_epochs,
                "schedule_end": schedule_end,
                "config": config.to_dict(),
                "history": [m.to_dict() for m in history],
                "early_stopping": {
                    "best_epoch": best_epoch,
                    "best_val_loss": best_val_loss,
                    "wait": wait,
                    "stopped_epoch": stopped_epoch,
                },
                "model_sha256": _sha256(tmp / MODEL_FILE),
            }
            (tmp / CHECKPOINT_STATE).write_text(
                json.dumps(state, indent=2) + "\n", encoding="utf-8"
            )
            _fsync_tree(tmp)
            if final.exists():
                # The epoch was trained again (its history ran ahead of the newest checkpoint):
                # move the old copy aside first, so a kill now still leaves a whole checkpoint.
                os.rename(final, tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=root))
            os.rename(tmp, final)
            tmp = None
            fsync_dir(root)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    _prune_checkpoints(root, keep={epoch, *(() if best_epoch is None else (best_epoch,))})
    return Checkpoint(
        path=final,
        epoch=epoch,
        planned_epochs=planned_epochs,
        schedule_end=schedule_end,
        config=config,
        history=tuple(history),
        best_epoch=best_epoch,
        best_val_loss=best_val_loss,
        wait=wait,
        stopped_epoch=stopped_epoch,
    )


def _committed(root: Path) -> list[tuple[int, Path]]:
    """Committed checkpoint folders under ``root``, newest first."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    found = []
    for path in entries:
        match = _CHECKPOINT_NAME.fullmatch(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def _prune_checkpoints(root: Path, keep: Iterable[int]) -> None:
    """Delete all but the two newest checkpoints and ``keep``, and any abandoned temp folder."""
    kept = set(keep)
    for index, (epoch, path) in enumerate(_committed(root)):
        if index >= 2 and epoch not in kept:
            shutil.rmtree(path, ignore_errors=True)
    for path in root.glob(".epoch-*"):
        shutil.rmtree(path, ignore_errors=True)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def read_checkpoint(path: Path) -> Checkpoint:
    """Read and verify one checkpoint folder; :class:`RunError` says what is wrong."""
    state_path = path / CHECKPOINT_STATE
    with reading(state_path, "invalid checkpoint"):
        data = read_json(state_path)
        check_format(data.get("format", 1))
        history = epochs_from(data["history"])
        early = data.get("early_stopping") or {}
        best_val_loss = early.get("best_val_loss")
        checkpoint = Checkpoint(
            path=path,
            epoch=int(data["epoch"]),
            planned_epochs=epoch_count(data["planned_epochs"], "planned_epochs"),
            schedule_end=int(data["schedule_end"]),
            config=config_from(data["config"]),
            history=history,
            best_epoch=_optional_int(early.get("best_epoch")),
            best_val_loss=None if best_val_loss is None else float(best_val_loss),
            wait=int(early.get("wait", 0)),
            stopped_epoch=_optional_int(early.get("stopped_epoch")),
        )
        expected_hash = data["model_sha256"]
        if not isinstance(expected_hash, str):
            raise TypeError(f"model_sha256 is {expected_hash!r}")
    if checkpoint.epoch != len(history) or path.name != f"epoch-{checkpoint.epoch:04d}":
        raise RunError(f"{path}: checkpoint epoch does not match its history")
    with reading(checkpoint.model_path):
        actual_hash = _sha256(checkpoint.model_path)
    if actual_hash != expected_hash:
        raise RunError(f"{checkpoint.model_path}: damaged (its checksum does not match)")
    return checkpoint


def latest_checkpoint(run_dir: Path) -> Checkpoint | None:
    """The newest intact checkpoint of a run, ``None`` when it has none.

    A damaged newest checkpoint (a disk error, a hand edit) falls back to the one before it;
    :class:`RunError` only when every checkpoint there is damaged.
    """
    problem: RunError | None = None
    for _, path in _committed(run_dir / CHECKPOINTS_DIR):
        try:
            return read_checkpoint(path)
        except RunError as error:
            problem = problem or error
    if problem is not None:
        raise problem
    return None


def checkpoint_for_epoch(run_dir: Path, epoch: int) -> Checkpoint:
    return read_checkpoint(run_dir / CHECKPOINTS_DIR / f"epoch-{epoch:04d}")
