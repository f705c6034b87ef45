"""Reading a run folder's files: whatever is wrong with one becomes a reason, never a crash.

Run folders are kept for months and copied between machines: any file in one can be cut
short by a full disk or a kill, have bits flipped, or be edited by hand. Everything that reads
them goes through here, and every failure (an OS error, bytes that do not parse, a value of
the wrong type or out of range) is a :class:`~core.errors.RunError` whose one line names the
file. The run is then listed as damaged with that reason, and the runs beside it list, open
and resume as before.

The values handed on are of the types and in the ranges the code using them relies on, so a
damaged file cannot fail later either (an export drawing an epoch number too large to plot,
a listing formatting a status that is a list).
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from core.config import MAX_EPOCHS, TrainConfig
from core.errors import RunError, reraise_os_errors
from core.evaluation import NUM_CLASSES, Evaluation, evaluation_from_predictions
from core.events import EpochMetrics
from core.files import first_line
from core.runs.layout import FILE_FORMAT, READABLE_FORMATS, MistakeMaps

IMAGE_SHAPE = (28, 28)
LARGEST_METRIC = float(np.finfo(np.float32).max)
"""Metrics are float32s: a finite value beyond this was not written by training (and one
near float64's limit makes a plot's axis overflow)."""


@contextmanager
def reading(path: Path, problem: str = "unreadable") -> Iterator[None]:
    """Read ``path`` in the block; any failure becomes a one-line :class:`RunError`.

    A missing file reads ``{path}: missing``, an OS error ``cannot read {path}: {reason}``,
    anything else ``{path}: {problem} ({what was wrong})``. A :class:`RunError` raised in the
    block already names its file and passes through.
    """
    try:
        with reraise_os_errors(RunError, f"cannot read {path}"):
            try:
                yield
            except FileNotFoundError:
                raise RunError(f"{path}: missing") from None
    except RunError:
        raise
    # Any failure at all: a damaged file must cost its run, never the listing of the others.
    except Exception as error:  # noqa: BLE001
        raise RunError(f"{path}: {problem} ({first_line(error)})") from None


def read_json(path: Path) -> Any:
    """The JSON value in ``path``."""
    with reading(path, "not valid JSON"):
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise RunError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None


def check_format(version: object) -> None:
    """Refuse a ``format`` this version cannot read (``ValueError`` with the reason)."""
    if version not in READABLE_FORMATS or isinstance(version, bool):
        if isinstance(version, int) and version > FILE_FORMAT:
            raise ValueError(f"format {version} was written by a newer fmnist-tui: upgrade it")
        raise ValueError(f"unknown format {version!r}")


def json_object(data: Any, what: str) -> dict[str, Any]:
    """``data`` when it is a JSON object, else ``TypeError`` naming ``what`` it should be."""
    if not isinstance(data, dict):
        raise TypeError(f"{what} is {type(data).__name__}, not an object")
    return data


def config_from(data: Any) -> TrainConfig:
    """The config saved in ``config.json`` or a checkpoint, every known value of its type."""
    values = json_object(data, "the config")
    for name, kinds in _config_types().items():
        if name in values and not any(_is_a(values[name], kind) for kind in kinds):
            raise TypeError(f"{name} is {values[name]!r}")
    return TrainConfig.from_dict(values)


def epochs_from(rows: Any) -> tuple[EpochMetrics, ...]:
    """Saved epoch rows (``history.json``'s ``epochs``, a checkpoint's ``history``)."""
    if not isinstance(rows, list):
        raise TypeError(f"the epochs are {type(rows).__name__}, not a list")
    history = tuple(EpochMetrics.from_dict(json_object(row, "an epoch")) for row in rows)
    for metrics in history:
        if not 1 <= metrics.epoch <= MAX_EPOCHS:
            raise ValueError(f"epoch {metrics.epoch} is out of range")
        for name, value in metrics.to_dict().items():
            if isinstance(value, float) and math.isfinite(value) and abs(value) > LARGEST_METRIC:
                raise ValueError(f"epoch {metrics.epoch}'s {name} {value} is out of range")
    return history


def epoch_count(data: Any, name: str) -> int:
    """A number of epochs (``planned_epochs``): a whole number from 1 to the most a run has."""
    count = int(data)
    if not 1 <= count <= MAX_EPOCHS:
        raise ValueError(f"{name} {count} is out of range")
    return count


def early_stopping_from(data: Any) -> dict[str, int] | None:
    """``{"stopped_epoch": N, "best_epoch": M}`` as ``history.json`` keeps it, or ``None``."""
    if not data:
        return None
    values = json_object(data, "early_stopping")
    early = {key: int(values[key]) for key in ("stopped_epoch", "best_epoch")}
    for key, epoch in early.items():
        if not 1 <= epoch <= MAX_EPOCHS:
            raise ValueError(f"{key} {epoch} is out of range")
    return early


def status_from(data: Any) -> str:
    """A recorded status: one printable word or phrase (``finished``, ``running``, ...)."""
    if not isinstance(data, str) or not data.isprintable():
        raise ValueError(f"status {data!r}")
    return data


def read_evaluation(path: Path) -> tuple[Evaluation, np.ndarray, bool]:
    """``evaluation.npz``: the evaluation, the test images ``(N, 28, 28)`` uint8, and whether
    they are all there (runs saved before every image was kept hold only the mistakes', the
    others blank)."""
    with reading(path), np.load(path, allow_pickle=False) as npz:
        labels = _classes(npz["labels"], "labels")
        predictions = _classes(npz["predictions"], "predictions")
        confidences = np.asarray(npz["confidences"])
        test_loss = np.asarray(npz["test_loss"])
        wrong = np.asarray(npz["mistake_indices"])
        mistake_images = np.asarray(npz["mistake_images"])
        count = labels.size
        if count == 0:
            raise ValueError("no test samples")
        if predictions.size != count or confidences.shape != (count,):
            raise ValueError("labels, predictions and confidences differ in length")
        if confidences.dtype.kind != "f":
            raise ValueError(f"confidences are {confidences.dtype}")
        if test_loss.shape != () or test_loss.dtype.kind not in "fiu":
            raise ValueError(f"test_loss is {test_loss.dtype} {test_loss.shape}, not one number")
        if wrong.ndim != 1 or wrong.dtype.kind not in "iu":
            raise ValueError("mistake_indices is not a list of indices")
        if wrong.size and (wrong.min() < 0 or wrong.max() >= count):
            raise ValueError("mistake_indices points outside the test set")
        if mistake_images.shape != (wrong.size, *IMAGE_SHAPE) or mistake_images.dtype.kind != "u":
            raise ValueError(f"mistake_images are {mistake_images.dtype} {mistake_images.shape}")
        probabilities = _optional(npz, "probabilities")
        if probabilities is not None and (
            probabilities.shape != (count, NUM_CLASSES) or probabilities.dtype.kind != "f"
        ):
            raise ValueError(f"probabilities are {probabilities.dtype} {probabilities.shape}")
        test_indices = _optional(npz, "test_indices")
        if test_indices is not None and (
            test_indices.shape != (count,)
            or test_indices.dtype.kind not in "iu"
            or (count and test_indices.min() < 0)
        ):
            raise ValueError("test_indices is not one index per test sample")
        evaluation = evaluation_from_predictions(
            labels,
            predictions,
            confidences,
            float(test_loss),
            test_indices=test_indices,
            probabilities=probabilities,
        )
        every = _optional(npz, "images")
        if every is not None:
            if every.shape != (count, *IMAGE_SHAPE) or every.dtype != np.uint8:
                raise ValueError(f"images are {every.dtype} {every.shape}")
            return evaluation, every, True
        images = np.zeros((count, *IMAGE_SHAPE), dtype=np.uint8)
        images[wrong] = mistake_images
    return evaluation, images, False


def read_mistake_maps(path: Path) -> MistakeMaps | None:
    """The occlusion maps ``evaluation.npz`` keeps for the exported grid's mistakes, or
    ``None`` for a run saved without them."""
    with reading(path), np.load(path, allow_pickle=False) as npz:
        indices = _optional(npz, "map_indices")
        if indices is None:
            return None
        count = np.asarray(npz["labels"]).size
        evidence = np.asarray(npz["evidence_maps"])
        against = np.asarray(npz["against_maps"])
        if indices.ndim != 1 or indices.dtype.kind not in "iu":
            raise ValueError("map_indices is not a list of indices")
        if indices.size and (indices.min() < 0 or indices.max() >= count):
            raise ValueError("map_indices points outside the test set")
        for name, maps in (("evidence_maps", evidence), ("against_maps", against)):
            if maps.shape != (indices.size, *IMAGE_SHAPE) or maps.dtype.kind != "f":
                raise ValueError(f"{name} are {maps.dtype} {maps.shape}")
            if not np.isfinite(maps).all():
                raise ValueError(f"{name} hold a value that is not a number")
        return MistakeMaps(
            indices.astype(np.int64), evidence.astype(np.float32), against.astype(np.float32)
        )


def _optional(npz: Any, name: str) -> np.ndarray | None:
    """An array that runs saved by older versions do not have."""
    return np.asarray(npz[name]) if name in npz.files else None


def _classes(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(f"{name} are not a list of classes")
    if array.size and (array.min() < 0 or array.max() >= NUM_CLASSES):
        raise ValueError(f"{name} hold a class outside 0-{NUM_CLASSES - 1}")
    return array


_JSON_SCALARS = (bool, int, float, str, type(None))


@cache
def _config_types() -> dict[str, tuple[type, ...]]:
    """``TrainConfig``'s fields of plain JSON types (numbers, strings, booleans, optional ones)
    and the types each may hold. Fields of other kinds are read by ``TrainConfig`` itself."""
    found: dict[str, tuple[type, ...]] = {}
    for name, hint in typing.get_type_hints(TrainConfig).items():
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            kinds = typing.get_args(hint)
        else:
            kinds = (hint,)
        if all(kind in _JSON_SCALARS for kind in kinds):
            found[name] = kinds
    return found


def _is_a(value: object, kind: type) -> bool:
    # JSON has one kind of number and true is an int to Python: an int field takes whole
    # numbers only, a float field any number, neither a boolean.
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        # Within 64 bits: every number in a config is one, and a larger one breaks writers
        # that take it as a float (TensorBoard's hyperparameters).
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63
    return isinstance(value, kind)
