"""A run folder's layout, and saving its files: one folder per training run.

A run folder holds ``config.json``, ``history.json`` (rewritten after every epoch),
``checkpoints/epoch-NNNN/`` (:mod:`core.runs.checkpoints`), ``metrics.json``,
``evaluation.npz`` (per-sample predictions, the test images and the occlusion maps of the
mistakes the exported grid shows, so plots can be re-made without TensorFlow or the data
set), ``model.keras`` and ``.lock`` (:mod:`core.runs.lock`). This module names those files,
says which versions of them are written and read, and writes them; every file is written
atomically (temp file + rename), and an OS error becomes a one-line
:class:`~core.errors.RunError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from core.config import TrainConfig
from core.errors import RunError, reraise_os_errors
from core.evaluation import Evaluation
from core.events import EpochMetrics
from core.files import write_json_file, write_with
from core.model_files import slug

CONFIG_JSON = "config.json"
HISTORY_JSON = "history.json"
METRICS_JSON = "metrics.json"
EVALUATION_NPZ = "evaluation.npz"
MODEL_FILE = "model.keras"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_STATE = "state.json"
LOCK_FILE = ".lock"
FILE_FORMAT = 2
"""The version of ``history.json`` and a checkpoint's ``state.json`` written now. Version 1
(no ``format`` key in ``history.json``) is what runs saved before it hold; both are read.
Readers take rows with metrics they do not know, so adding one needs no new version; a
version above this one was written by a newer fmnist-tui and is refused with that reason."""
READABLE_FORMATS = (1, 2)


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically with ``write(tmp_path)``; OS errors become :class:`RunError`."""
    with reraise_os_errors(RunError, f"cannot write {path}"):
        write_with(path, write)
    return path


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON atomically; OS errors become :class:`RunError`."""
    with reraise_os_errors(RunError, f"cannot write {path}"):
        return write_json_file(path, data)


def new_run_id(model: str, now: datetime | None = None) -> str:
    """``YYYYMMDD-HHMMSS-<model>``; a model file's name without ``.py`` and odd characters."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{slug(model)}"


def create_run_dir(root: Path, config: TrainConfig, now: datetime | None = None) -> Path:
    """Create a new, uniquely named run folder under ``root`` and save its config."""
    base = new_run_id(config.model, now)
    with reraise_os_errors(RunError, f"cannot create a run folder in {root}"):
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
    with reraise_os_errors(RunError, f"cannot remove {run_dir / METRICS_JSON}"):
        (run_dir / METRICS_JSON).unlink(missing_ok=True)


@dataclass(frozen=True, slots=True, eq=False)
class MistakeMaps:
    """Occlusion maps of some of a run's mistakes (those its exported grid shows), kept in
    ``evaluation.npz`` so that the export draws them without the model. Runs saved before
    they were kept have none."""

    indices: npt.NDArray[np.int64]
    """``(K,)``: each map's test sample, an index into the evaluation's samples."""
    evidence: npt.NDArray[np.float32]
    """``(K, 28, 28)``: what spoke for the (wrong) prediction (``Explanation.evidence``)."""
    against_true: npt.NDArray[np.float32]
    """``(K, 28, 28)``: what argued against the true class (``Explanation.against_true``)."""

    def of(self, index: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None:
        """The two maps of test sample ``index``, or ``None`` when it has none."""
        found = np.flatnonzero(self.indices == index)
        if not found.size:
            return None
        return self.evidence[found[0]], self.against_true[found[0]]


def save_evaluation(
    run_dir: Path,
    evaluation: Evaluation,
    test_images: np.ndarray,
    trainable_params: int,
    maps: MistakeMaps | None = None,
) -> list[Path]:
    metrics = {**evaluation.metrics_dict(), "trainable_params": trainable_params}
    wrong = evaluation.misclassified_indices

    def write_npz(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            extra: dict[str, np.ndarray] = {"images": np.asarray(test_images, dtype=np.uint8)}
            if evaluation.probabilities is not None:
                extra["probabilities"] = evaluation.probabilities.astype(np.float16)
            if evaluation.test_indices is not None:
                extra["test_indices"] = evaluation.test_indices.astype(np.int32)
            if maps is not None:
                extra["map_indices"] = maps.indices.astype(np.int32)
                extra["evidence_maps"] = maps.evidence.astype(np.float16)
                extra["against_maps"] = maps.against_true.astype(np.float16)
            np.savez_compressed(
                handle,
                allow_pickle=False,
                labels=evaluation.labels.astype(np.uint8),
                predictions=evaluation.predictions.astype(np.uint8),
                confidences=evaluation.confidences.astype(np.float32),
                # Every version reads the mistakes from these two; newer ones read the rest.
                mistake_indices=wrong.astype(np.int32),
                mistake_images=np.asarray(test_images)[wrong].astype(np.uint8),
                test_loss=np.float64(evaluation.test_loss),
                **extra,
            )

    # metrics.json last: its presence says the evaluation is complete.
    npz = write_atomic(run_dir / EVALUATION_NPZ, write_npz)
    return [write_json(run_dir / METRICS_JSON, metrics), npz]
