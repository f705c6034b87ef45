"""Run folders: one per training run, every file written atomically (temp file + rename).

A run folder holds ``config.json``, ``history.json`` (rewritten after every epoch),
``metrics.json``, ``evaluation.npz`` (per-sample predictions and the misclassified images, so
plots can be re-made without TensorFlow or the data set) and ``model.keras``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.config import TrainConfig
from core.evaluation import Evaluation
from core.events import EpochMetrics

CONFIG_JSON = "config.json"
HISTORY_JSON = "history.json"
METRICS_JSON = "metrics.json"
EVALUATION_NPZ = "evaluation.npz"
MODEL_FILE = "model.keras"


class RunError(OSError):
    """A run folder cannot be written or read; ``str(error)`` is one line for the user."""


def _describe(error: OSError) -> str:
    return error.strerror or str(error)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds.

    The temporary name keeps ``path``'s suffix because some writers (Keras) insist on it.
    A crash at any instant leaves either the old file or the new one, never half of one.
    """
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically with ``write(tmp_path)``; OS errors become :class:`RunError`."""
    try:
        with atomic_path(path) as tmp:
            write(tmp)
    except OSError as error:
        raise RunError(f"cannot write {path}: {_describe(error)}") from error
    return path


def write_json(path: Path, data: Any) -> Path:
    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    return write_atomic(path, write)


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
        raise RunError(f"cannot create a run folder in {root}: {_describe(error)}") from error
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
) -> Path:
    data: dict[str, Any] = {
        "status": status,
        "planned_epochs": planned_epochs,
        "epochs": [m.to_dict() for m in history],
    }
    if device:
        data["device"] = device
    if data_source:
        data["data_source"] = data_source
    return write_json(run_dir / HISTORY_JSON, data)


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

    return [
        write_json(run_dir / METRICS_JSON, metrics),
        write_atomic(run_dir / EVALUATION_NPZ, write_npz),
    ]


@dataclass(frozen=True, slots=True, eq=False)
class SavedRun:
    """A run folder read back from disk."""

    path: Path
    config: TrainConfig
    history: tuple[EpochMetrics, ...]
    status: str
    planned_epochs: int
    metrics: dict[str, Any] | None
    evaluation: Evaluation | None
    test_images: np.ndarray | None
    """(N, 28, 28) uint8 with the misclassified images filled in; others are blank."""

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def test_accuracy(self) -> float | None:
        return None if self.metrics is None else float(self.metrics["test_accuracy"])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing") from None
    except json.JSONDecodeError as error:
        raise RunError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
    except OSError as error:
        raise RunError(f"cannot read {path}: {_describe(error)}") from error


def _read_evaluation(path: Path) -> tuple[Evaluation, np.ndarray]:
    from core.evaluation import confusion_matrix

    try:
        with np.load(path) as npz:
            labels = npz["labels"].astype(np.int64)
            predictions = npz["predictions"].astype(np.int64)
            confidences = npz["confidences"].astype(np.float64)
            wrong = npz["mistake_indices"]
            mistake_images = npz["mistake_images"]
            test_loss = float(npz["test_loss"])
    except (OSError, KeyError, ValueError) as error:
        raise RunError(f"{path}: unreadable ({error})") from None
    confusion = confusion_matrix(labels, predictions)
    support = confusion.sum(axis=1)
    per_class = np.divide(
        np.diag(confusion), support, out=np.full(len(support), np.nan), where=support > 0
    )
    evaluation = Evaluation(
        test_loss=test_loss,
        test_accuracy=float((labels == predictions).mean()),
        labels=labels,
        predictions=predictions,
        confidences=confidences,
        confusion=confusion,
        per_class_accuracy=per_class,
    )
    images = np.zeros((labels.size, 28, 28), dtype=np.uint8)
    images[wrong] = mistake_images
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
        history = tuple(EpochMetrics.from_dict(row) for row in history_data["epochs"])
        status = str(history_data.get("status", "unknown"))
        planned = int(history_data.get("planned_epochs", config.epochs))
    except (KeyError, TypeError, ValueError) as error:
        raise RunError(f"{run_dir / HISTORY_JSON}: invalid history ({error})") from None
    metrics = None
    evaluation = images = None
    if (run_dir / METRICS_JSON).exists():
        metrics = _read_json(run_dir / METRICS_JSON)
        if not isinstance(metrics, dict) or not isinstance(
            metrics.get("test_accuracy"), int | float
        ):
            raise RunError(f"{run_dir / METRICS_JSON}: invalid metrics (no test_accuracy)")
    if (run_dir / EVALUATION_NPZ).exists():
        evaluation, images = _read_evaluation(run_dir / EVALUATION_NPZ)
    return SavedRun(
        path=run_dir,
        config=config,
        history=history,
        status=status,
        planned_epochs=planned,
        metrics=metrics,
        evaluation=evaluation,
        test_images=images,
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


def list_runs(root: Path) -> list[RunListing]:
    """Every run folder under ``root``, newest first; damaged ones say why."""
    if not root.is_dir():
        return []
    listings: list[RunListing] = []
    for run_dir in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True):
        if run_dir.name.startswith("."):
            continue
        started = _parse_started(run_dir.name)
        try:
            run = load_run(run_dir)
        except RunError as error:
            listings.append(RunListing(run_dir, started, "?", 0, "damaged", None, None, str(error)))
            continue
        listings.append(
            RunListing(
                path=run_dir,
                started=started,
                model=run.config.model,
                epochs=len(run.history),
                status=run.status,
                test_accuracy=run.test_accuracy,
                best_val_accuracy=max((m.val_accuracy for m in run.history), default=None),
            )
        )
    return listings


def _parse_started(name: str) -> datetime | None:
    try:
        return datetime.strptime(name[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return None
