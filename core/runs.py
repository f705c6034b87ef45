"""Run folders: one per training run, every file written atomically (temp file + rename).

A run folder holds ``config.json``, ``history.json`` (rewritten after every epoch),
``checkpoints/epoch-NNNN/`` (after every epoch: ``model.keras`` with the optimizer state, and
``state.json`` with the epoch, history, config and schedule), ``metrics.json``,
``evaluation.npz`` (per-sample predictions and the misclassified images, so plots can be
re-made without TensorFlow or the data set) and ``model.keras``.

A checkpoint is written into a hidden temporary folder and renamed into place, so a kill at any
instant leaves the previous checkpoint or the new one, never half of one. ``.lock`` is held
(``flock``) by the process training the run: a run whose history says "running" but whose lock
is free was interrupted.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.config import MAX_EPOCHS as MAX_EPOCHS_TOTAL
from core.config import TrainConfig
from core.evaluation import Evaluation, evaluation_from_predictions
from core.events import EpochMetrics
from core.files import current_umask, fsync_dir, os_reason, write_json_file, write_with

CONFIG_JSON = "config.json"
HISTORY_JSON = "history.json"
METRICS_JSON = "metrics.json"
EVALUATION_NPZ = "evaluation.npz"
MODEL_FILE = "model.keras"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_STATE = "state.json"
FILE_FORMAT = 2
"""The version of ``history.json`` and a checkpoint's ``state.json`` written now. Version 1
(no ``format`` key in ``history.json``) is what runs saved before it hold; both are read.
Readers take rows with metrics they do not know, so adding one needs no new version; a
version above this one was written by a newer fmnist-tui and is refused with that reason."""
READABLE_FORMATS = (1, 2)
LOCK_FILE = ".lock"
_CHECKPOINT_NAME = re.compile(r"epoch-(\d{4,})")


class RunError(OSError):
    """A run folder cannot be written or read; ``str(error)`` is one line for the user."""


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically with ``write(tmp_path)``; OS errors become :class:`RunError`."""
    try:
        write_with(path, write)
    except OSError as error:
        raise RunError(f"cannot write {path}: {os_reason(error)}") from error
    return path


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON atomically; OS errors become :class:`RunError`."""
    try:
        return write_json_file(path, data)
    except OSError as error:
        raise RunError(f"cannot write {path}: {os_reason(error)}") from error


def new_run_id(model: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{model}"


def create_run_dir(root: Path, config: TrainConfig, now: datetime | None = None) -> Path:
    """Create a new, uniquely named run folder under ``root`` and save its config."""
    base = new_run_id(config.model, now)
    try:
        root.mkdir(parents=True, exist_ok=True)
        for attempt in range(1000):
            run_dir = root / (base if attempt == 0 else f"{base}-{attempt + 1}")
            try:
                run_dir.mkdir()
            except FileExistsError:
                continue
            break
        else:
            raise FileExistsError(f"too many runs named {base}")
    except OSError as error:
        raise RunError(f"cannot create a run folder in {root}: {os_reason(error)}") from error
    save_config(run_dir, config)
    return run_dir


def save_config(run_dir: Path, config: TrainConfig) -> Path:
    return write_json(run_dir / CONFIG_JSON, config.to_dict())


def save_history(
    run_dir: Path,
    history: Sequence[EpochMetrics],
    *,
    status: str,
    planned_epochs: int,
    device: str | None = None,
    data_source: str | None = None,
    early_stopping: dict[str, int] | None = None,
) -> Path:
    data: dict[str, Any] = {
        "format": FILE_FORMAT,
        "status": status,
        "planned_epochs": planned_epochs,
        "epochs": [m.to_dict() for m in history],
    }
    if early_stopping:
        data["early_stopping"] = early_stopping
    if device:
        data["device"] = device
    if data_source:
        data["data_source"] = data_source
    return write_json(run_dir / HISTORY_JSON, data)


def discard_evaluation(run_dir: Path) -> None:
    """Forget a run's test results (it is being trained further): without ``metrics.json`` a
    run reads as not evaluated, whatever older ``evaluation.npz`` or model is left."""
    try:
        (run_dir / METRICS_JSON).unlink(missing_ok=True)
    except OSError as error:
        raise RunError(f"cannot remove {run_dir / METRICS_JSON}: {os_reason(error)}") from error


def save_evaluation(
    run_dir: Path, evaluation: Evaluation, test_images: np.ndarray, trainable_params: int
) -> list[Path]:
    metrics = {**evaluation.metrics_dict(), "trainable_params": trainable_params}
    wrong = evaluation.misclassified_indices

    def write_npz(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                labels=evaluation.labels.astype(np.uint8),
                predictions=evaluation.predictions.astype(np.uint8),
                confidences=evaluation.confidences.astype(np.float32),
                mistake_indices=wrong.astype(np.int32),
                mistake_images=np.asarray(test_images)[wrong].astype(np.uint8),
                test_loss=np.float64(evaluation.test_loss),
            )

    # metrics.json last: its presence says the evaluation is complete.
    npz = write_atomic(run_dir / EVALUATION_NPZ, write_npz)
    return [write_json(run_dir / METRICS_JSON, metrics), npz]


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
        (tmp / CHECKPOINT_STATE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        _fsync_tree(tmp)
        if final.exists():
            # The epoch was trained again (its history ran ahead of the newest checkpoint):
            # move the old copy aside first, so a kill now still leaves a whole checkpoint.
            os.rename(final, tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=root))
        os.rename(tmp, final)
        tmp = None
        fsync_dir(root)
    except OSError as error:
        raise RunError(f"cannot save the epoch {epoch} checkpoint: {os_reason(error)}") from error
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


def read_checkpoint(path: Path) -> Checkpoint:
    """Read and verify one checkpoint folder; :class:`RunError` says what is wrong."""
    data = _read_json(path / CHECKPOINT_STATE)
    try:
        _check_format(data.get("format", 1))
        history = tuple(EpochMetrics.from_dict(row) for row in data["history"])
        early = data.get("early_stopping") or {}
        checkpoint = Checkpoint(
            path=path,
            epoch=int(data["epoch"]),
            planned_epochs=int(data["planned_epochs"]),
            schedule_end=int(data["schedule_end"]),
            config=TrainConfig.from_dict(data["config"]),
            history=history,
            best_epoch=None if early.get("best_epoch") is None else int(early["best_epoch"]),
            best_val_loss=(
                None if early.get("best_val_loss") is None else float(early["best_val_loss"])
            ),
            wait=int(early.get("wait", 0)),
            stopped_epoch=(
                None if early.get("stopped_epoch") is None else int(early["stopped_epoch"])
            ),
        )
        expected_hash = str(data["model_sha256"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise RunError(f"{path / CHECKPOINT_STATE}: invalid checkpoint ({error})") from None
    if checkpoint.epoch != len(history) or path.name != f"epoch-{checkpoint.epoch:04d}":
        raise RunError(f"{path}: checkpoint epoch does not match its history")
    try:
        actual_hash = _sha256(checkpoint.model_path)
    except FileNotFoundError:
        raise RunError(f"{checkpoint.model_path}: missing") from None
    except OSError as error:
        raise RunError(f"cannot read {checkpoint.model_path}: {os_reason(error)}") from error
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


class RunLock:
    """An exclusive ``flock`` on a run folder, held while a process trains it.

    The kernel drops the lock when the process dies however it dies, so a run whose history
    still says "running" but whose lock is free was interrupted.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        path = self.run_dir / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise RunError(f"cannot lock {self.run_dir}: {os_reason(error)}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise RunError(f"{self.run_dir} is being trained by another process") from None
            raise RunError(f"cannot lock {self.run_dir}: {os_reason(error)}") from error
        with contextlib.suppress(OSError):  # the pid is for people reading the file
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def is_in_use(run_dir: Path) -> bool:
    """Whether some process (this one included) holds the run's lock."""
    try:
        fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as error:
        return error.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
    finally:
        os.close(fd)
    return False


def effective_status(run_dir: Path, recorded: str) -> str:
    """The status to show: a "running" run that nobody is training was interrupted."""
    if recorded == "running" and not is_in_use(run_dir):
        return "interrupted"
    return recorded


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
    """(N, 28, 28) uint8 with the misclassified images filled in; others are blank."""
    checkpoint: Checkpoint | None = None
    """The newest intact checkpoint, the point a resume starts from."""
    checkpoint_problem: str | None = None
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


def _check_format(version: object) -> None:
    if version not in READABLE_FORMATS:
        if isinstance(version, int) and version > FILE_FORMAT:
            raise ValueError(f"format {version} was written by a newer fmnist-tui: upgrade it")
        raise ValueError(f"unknown format {version!r}")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing") from None
    except json.JSONDecodeError as error:
        raise RunError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
    except OSError as error:
        raise RunError(f"cannot read {path}: {os_reason(error)}") from error


def _read_evaluation(path: Path) -> tuple[Evaluation, np.ndarray]:
    try:
        with np.load(path) as npz:
            evaluation = evaluation_from_predictions(
                npz["labels"],
                npz["predictions"],
                npz["confidences"],
                float(npz["test_loss"]),
            )
            wrong = npz["mistake_indices"]
            mistake_images = npz["mistake_images"]
            images = np.zeros((evaluation.labels.size, 28, 28), dtype=np.uint8)
            images[wrong] = mistake_images
    except (OSError, KeyError, ValueError, IndexError) as error:
        raise RunError(f"{path}: unreadable ({error})") from None
    return evaluation, images


def load_run(run_dir: Path) -> SavedRun:
    """Read a run folder; raises :class:`RunError` naming what is missing or damaged."""
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: not a run folder")
    config_data = _read_json(run_dir / CONFIG_JSON)
    try:
        config = TrainConfig.from_dict(config_data)
    except (AttributeError, TypeError, ValueError) as error:
        raise RunError(f"{run_dir / CONFIG_JSON}: invalid config ({error})") from None
    history_data = _read_json(run_dir / HISTORY_JSON)
    try:
        _check_format(history_data.get("format", 1))
        history = tuple(EpochMetrics.from_dict(row) for row in history_data["epochs"])
        status = effective_status(run_dir, str(history_data.get("status", "unknown")))
        planned = int(history_data.get("planned_epochs", config.epochs))
        early = history_data.get("early_stopping")
        early_stopping = None if early is None else {k: int(v) for k, v in early.items()}
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise RunError(f"{run_dir / HISTORY_JSON}: invalid history ({error})") from None
    metrics = None
    evaluation = images = None
    if (run_dir / METRICS_JSON).exists():
        metrics = _read_json(run_dir / METRICS_JSON)
        if not isinstance(metrics, dict) or not isinstance(
            metrics.get("test_accuracy"), int | float
        ):
            raise RunError(f"{run_dir / METRICS_JSON}: invalid metrics (no test_accuracy)")
        if not (run_dir / MODEL_FILE).is_file():
            raise RunError(f"{run_dir / MODEL_FILE}: missing")
    if (run_dir / EVALUATION_NPZ).exists():
        evaluation, images = _read_evaluation(run_dir / EVALUATION_NPZ)
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
    try:
        if not root.is_dir():
            return []
        folders = sorted((p for p in root.iterdir() if p.is_dir()), reverse=True)
    except OSError as error:
        raise RunError(f"cannot read the runs folder {root}: {os_reason(error)}") from error
    listings: list[RunListing] = []
    for run_dir in folders:
        if run_dir.name.startswith("."):
            continue
        started = parse_started(run_dir.name)
        try:
            run = load_run(run_dir)
        except RunError as error:
            listings.append(
                RunListing(
                    run_dir,
                    started,
                    "?",
                    0,
                    "damaged",
                    None,
                    None,
                    str(error),
                    resume_refusal=f"{run_dir.name} is damaged: {error}",
                )
            )
            continue
        # Every checkpoint fails its check (a bad checksum, bad JSON, a missing model): the run
        # can still be opened, but not resumed or trained further, so it is listed as damaged.
        damaged = run.checkpoint is None and run.checkpoint_problem is not None
        damaged = damaged and run.status != "running"
        listings.append(
            RunListing(
                path=run_dir,
                started=started,
                model=run.config.model,
                epochs=len(run.history),
                status="damaged" if damaged else run.status,
                test_accuracy=run.test_accuracy,
                best_val_accuracy=max((m.val_accuracy for m in run.history), default=None),
                problem=run.checkpoint_problem if damaged else None,
                planned_epochs=run.planned_epochs,
                resumable=run.resumable,
                checkpoint_epoch=None if run.checkpoint is None else run.checkpoint.epoch,
                unevaluated=run.unevaluated,
                resume_refusal=run.resume_refusal,
                augment=run.config.augment,
            )
        )
    return listings


def parse_started(name: str) -> datetime | None:
    """When a run started, from its folder name ``YYYYMMDD-HHMMSS-<model>``."""
    try:
        return datetime.strptime(name[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return None


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
