"""PNG reports of a run: training history, misclassified test images, confusion matrix.

Figures are drawn with matplotlib's object API on the Agg canvas, so nothing touches pyplot's
global state or needs a display: this works from a worker thread and over SSH. matplotlib is
imported inside the functions that draw, which keeps ``import core.export`` cheap.

Every file is written atomically: the PNG is rendered in memory, written to a hidden temporary
file beside the target and renamed over it, so a crash or a full disk never leaves half an
image and never spoils a PNG that was already there.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from core.errors import ExportError, reraise_os_errors
from core.evaluation import CLASS_NAMES, Evaluation, Mistake
from core.events import EpochMetrics
from core.files import write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from core.runs.layout import MistakeMaps

ACCURACY_LOSS_PNG = "training_validation_accuracy_loss.png"
MISCLASSIFIED_PNG = "misclassified_examples.png"
CONFUSION_PNG = "confusion_matrix.png"

DPI = 120
TRAIN_COLOUR = "#1f77b4"
VALIDATION_COLOUR = "#d62728"
BEST_COLOUR = "#555555"
STOP_COLOUR = "#c0392b"
GRID_COLUMNS = 5
GRID_LIMIT = 25
"""Mistakes the misclassified grid shows."""
EVIDENCE_RGB = (0.84, 0.11, 0.11)
"""The grid's maps: what spoke for the prediction, in red..."""
AGAINST_RGB = (0.10, 0.38, 0.90)
"""... and what argued against the true class, in blue."""
MAP_OPACITY = 0.8
"""A map's strongest pixel still lets the garment show through."""
MAP_LEGEND = (
    "red: hiding it lowers the odds of the predicted class · "
    "blue: hiding it raises the odds of the true class"
)


def plot_history(
    history: Sequence[EpochMetrics],
    path: Path,
    *,
    title: str | None = None,
    early_stopping: Mapping[str, int] | None = None,
) -> Path:
    """Draw accuracy and loss, training against validation, one point per epoch.

    The epoch with the best validation accuracy is marked in both panels, and so is the epoch
    where early stopping ended the run, when it did. An empty history gives a figure that says
    no epoch finished.

    Returns:
        ``path``, once the PNG is in place.

    Raises:
        ExportError: the file could not be written.
    """
    figure = _new_figure(12.0, 4.8)
    if not history:
        _draw_notice(
            figure, title or "Training history", "No epoch finished, so there is nothing to plot."
        )
        return _save(figure, path)

    epochs = np.array([m.epoch for m in history], dtype=np.int64)
    accuracy_axes, loss_axes = figure.subplots(1, 2)
    best = _best_epoch_index(history)

    _plot_pair(
        accuracy_axes,
        epochs,
        [m.accuracy for m in history],
        [m.val_accuracy for m in history],
        "Accuracy",
        min_span=0.01,
    )
    _plot_pair(
        loss_axes,
        epochs,
        [m.loss for m in history],
        [m.val_loss for m in history],
        "Loss",
        min_span=0.02,
    )
    from matplotlib.ticker import PercentFormatter

    # Whole percents only when the ticks fall on whole percents: a 2.5% step labelled
    # "78%, 80%, 82%, 85%" reads as uneven spacing.
    ticks = accuracy_axes.get_yticks()
    step = float(np.diff(ticks).min()) * 100 if len(ticks) > 1 else 1.0
    whole = step >= 1 and abs(step - round(step)) < 1e-6
    accuracy_axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0 if whole else 1))

    if best is not None:
        best_metrics = history[best]
        best_accuracy = _percent(best_metrics.val_accuracy)
        _mark_best(
            accuracy_axes,
            best_metrics.epoch,
            best_metrics.val_accuracy,
            f"best val accuracy: {best_accuracy} (epoch {best_metrics.epoch})",
        )
        _mark_best(
            loss_axes,
            best_metrics.epoch,
            best_metrics.val_loss,
            f"val loss at best epoch {best_metrics.epoch}: {best_metrics.val_loss:.3f}",
        )

    if early_stopping is not None:
        label = (
            f"early stop after epoch {early_stopping['stopped_epoch']} "
            f"(kept epoch {early_stopping['best_epoch']})"
        )
        for axes in (accuracy_axes, loss_axes):
            axes.axvline(
                early_stopping["stopped_epoch"],
                color=STOP_COLOUR,
                linestyle="--",
                linewidth=1.5,
                zorder=1,
                label=label,
            )

    # Under each panel, where no curve is: "best" still covered the train line or a marker.
    for axes in (accuracy_axes, loss_axes):
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)

    if title is None:
        count = len(history)
        title = f"Training history: {count} epoch{'s' if count != 1 else ''}"
        if best is not None:
            title += (
                f", best validation accuracy {history[best].val_accuracy:.1%}"
                f" (epoch {history[best].epoch})"
            )
    figure.suptitle(title, fontsize=14, fontweight="bold")
    return _save(figure, path)


def grid_mistakes(evaluation: Evaluation, limit: int = GRID_LIMIT) -> list[Mistake]:
    """The mistakes the misclassified grid shows, in its order: the most confident first
    (ties: the lower test index first), at most ``limit``."""
    return sorted(evaluation.mistakes(), key=lambda m: (-m.confidence, m.index))[:limit]


def plot_misclassified(
    images: npt.NDArray[Any],
    evaluation: Evaluation,
    path: Path,
    *,
    limit: int = GRID_LIMIT,
    title: str | None = None,
    maps: MistakeMaps | None = None,
) -> Path:
    """Draw a grid of the most confident mistakes on the test set.

    Args:
        images: the test images, ``(N, 28, 28)`` (uint8 0-255 or floats 0-1), indexed like
            ``evaluation.labels``.
        evaluation: the evaluation whose mistakes to show.
        path: where to write the PNG.
        limit: at most this many images, most confident mistakes first.
        title: replaces the default title.
        maps: occlusion maps of (some of) the mistakes: each tile that has one shows, over
            the image, what spoke for the prediction (red) and what argued against the true
            class (blue).

    Returns:
        ``path``, once the PNG is in place.

    Raises:
        ValueError: ``limit`` is not positive, or ``images`` does not cover the test set.
        ExportError: the file could not be written.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    pixels = np.asarray(images)
    if pixels.ndim == 4 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    total = int(evaluation.labels.size)
    if pixels.ndim != 3 or pixels.shape[0] < total:
        raise ValueError(f"images {pixels.shape} do not match a test set of {total} samples")

    mistakes = grid_mistakes(evaluation, limit=total)
    if not mistakes:
        figure = _new_figure(8.0, 3.0)
        _draw_notice(
            figure,
            title or "Misclassified test images",
            f"No misclassified test images: all {total:,} were predicted correctly.",
        )
        return _save(figure, path)

    shown = mistakes[:limit]
    columns = min(GRID_COLUMNS, len(shown))
    rows = math.ceil(len(shown) / columns)
    figure = _new_figure(max(2.0 * columns, 6.0), 2.15 * rows + 0.8)
    grid = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    vmax = 255 if np.issubdtype(pixels.dtype, np.integer) else 1.0

    for axes in grid[len(shown) :]:
        axes.set_axis_off()
    mapped = 0
    for axes, mistake in zip(grid, shown, strict=False):
        axes.imshow(
            pixels[mistake.index], cmap="gray_r", vmin=0, vmax=vmax, interpolation="nearest"
        )
        tile_maps = None if maps is None else maps.of(mistake.index)
        if tile_maps is not None:
            overlay = map_overlay(*tile_maps)
            if overlay is not None:
                axes.imshow(overlay, interpolation="nearest")
                mapped += 1
        axes.set_xticks([])
        axes.set_yticks([])
        for spine in axes.spines.values():
            spine.set_edgecolor("#bbbbbb")
        axes.set_title(
            f"true: {_class_name(mistake.true_label)}{_true_share(evaluation, mistake)}\n"
            f"pred: {_class_name(mistake.predicted_label)} ({_confidence(mistake.confidence)})",
            fontsize=10,
            linespacing=1.3,
        )
        axes.set_xlabel(
            _tile_number(evaluation, mistake.index), fontsize=8, color="#666666", labelpad=2
        )

    if title is None:
        title = (
            f"Most confident mistakes: {len(shown)} of {len(mistakes):,} misclassified"
            f" ({len(mistakes) / total:.1%} of {total:,} test images)"
        )
    figure.suptitle(title, fontsize=13, fontweight="bold")
    if mapped:
        figure.supxlabel(MAP_LEGEND, fontsize=9, color="#444444")
    return _save(figure, path)


STANDARD_TEST_SIZE = 10_000


def _tile_number(evaluation: Evaluation, index: int) -> str:
    """``test #8841``, the image's index in the standard test set (as the app and ``fmnist-tui
    explain`` number it), else ``subset #884`` for a ``--limit-test`` run saved without it."""
    if evaluation.test_indices is not None:
        return f"test #{int(evaluation.test_indices[index])}"
    if evaluation.labels.size == STANDARD_TEST_SIZE:
        return f"test #{index}"
    return f"subset #{index}"


def _true_share(evaluation: Evaluation, mistake: Mistake) -> str:
    """`` (0.3%)``: the probability the model gave the true class, where the run kept every
    class's; under 1% to two significant digits, so that "all but ruled out" reads as such."""
    if evaluation.probabilities is None:
        return ""
    value = float(evaluation.probabilities[mistake.index, mistake.true_label])
    if value >= 0.01:
        return f" ({value:.0%})"
    return f" ({value * 100:.2g}%)" if value >= 0.0001 else " (<0.01%)"


def map_overlay(
    evidence: npt.NDArray[Any], against_true: npt.NDArray[Any]
) -> npt.NDArray[np.float32] | None:
    """An RGBA image ``(28, 28, 4)`` to lay over a grid tile: red where hiding the pixels
    lowered the predicted class's log-odds, blue where it raised the true class's, the more
    opaque the more it changed (both on one scale: the tile's largest change, at least
    :data:`core.explanation.MAP_FLOOR`); ``None`` when nothing changed either way."""
    from core.explanation import MAP_FLOOR

    for_prediction = np.clip(np.asarray(evidence, dtype=np.float32), 0.0, None)
    for_true = np.clip(np.asarray(against_true, dtype=np.float32), 0.0, None)
    largest = float(max(for_prediction.max(initial=0.0), for_true.max(initial=0.0)))
    if largest <= 0.0:
        return None
    strength = np.maximum(for_prediction, for_true) / max(largest, MAP_FLOOR)
    red = for_prediction >= for_true
    rgba = np.zeros((*strength.shape, 4), dtype=np.float32)
    rgba[..., :3] = np.where(red[..., np.newaxis], EVIDENCE_RGB, AGAINST_RGB)
    rgba[..., 3] = MAP_OPACITY * strength
    return rgba


def plot_confusion(evaluation: Evaluation, path: Path, *, title: str | None = None) -> Path:
    """Draw the confusion matrix with counts in every cell and per-class accuracy.

    Cells are coloured by the share of their true class (rows), on a square-root scale so
    that the small confusions off the diagonal still show.

    Returns:
        ``path``, once the PNG is in place.

    Raises:
        ExportError: the file could not be written.
    """
    from matplotlib.colors import PowerNorm

    confusion = np.asarray(evaluation.confusion, dtype=np.int64)
    classes = confusion.shape[0]
    support = confusion.sum(axis=1, keepdims=True)
    shares = np.divide(
        confusion, support, out=np.zeros(confusion.shape, dtype=np.float64), where=support > 0
    )

    figure = _new_figure(9.5, 8.2)
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", norm=PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0))
    colourbar = figure.colorbar(image, ax=axes, shrink=0.85, pad=0.02)
    colourbar.set_label("share of the true class")
    colourbar.ax.yaxis.set_major_formatter("{x:.0%}")

    for row in range(classes):
        for column in range(classes):
            count = int(confusion[row, column])
            if count == 0:
                colour = "#c0c0c0"
            elif shares[row, column] > 0.35:
                colour = "white"
            else:
                colour = "#1a1a1a"
            axes.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=9,
                color=colour,
                fontweight="bold" if row == column else "normal",
            )

    names = [_class_name(i) for i in range(classes)]
    row_labels = [
        f"{name} ({_percent(float(evaluation.per_class_accuracy[i]))})"
        if i < evaluation.per_class_accuracy.size
        else name
        for i, name in enumerate(names)
    ]
    axes.set_xticks(range(classes), names, rotation=40, ha="right", rotation_mode="anchor")
    axes.set_yticks(range(classes), row_labels)
    axes.set_xlabel("Predicted", fontsize=12, labelpad=8)
    axes.set_ylabel("True (per-class accuracy)", fontsize=12, labelpad=8)
    axes.set_xticks(np.arange(-0.5, classes, 1.0), minor=True)
    axes.set_yticks(np.arange(-0.5, classes, 1.0), minor=True)
    axes.grid(which="minor", color="white", linewidth=1.0)
    axes.tick_params(which="minor", length=0)

    if title is None:
        title = (
            f"Confusion matrix: test accuracy {evaluation.test_accuracy:.1%}"
            f" on {int(evaluation.labels.size):,} images"
        )
    figure.suptitle(title, fontsize=14, fontweight="bold")
    return _save(figure, path)


def export_all(
    out_dir: Path,
    history: Sequence[EpochMetrics],
    evaluation: Evaluation | None,
    test_images: npt.NDArray[Any] | None,
    *,
    early_stopping: Mapping[str, int] | None = None,
    maps: MistakeMaps | None = None,
) -> list[Path]:
    """Write the run's PNGs into ``out_dir``, creating it.

    The history plot is always written; the confusion matrix needs ``evaluation`` and the
    misclassified grid needs both ``evaluation`` and ``test_images`` (and draws ``maps``
    over its tiles when given).

    Returns:
        The paths written, in that order.

    Raises:
        ExportError: the folder or a file could not be written.
    """
    _make_dir(out_dir)
    written = [plot_history(history, out_dir / ACCURACY_LOSS_PNG, early_stopping=early_stopping)]
    if evaluation is not None:
        if test_images is not None:
            written.append(
                plot_misclassified(test_images, evaluation, out_dir / MISCLASSIFIED_PNG, maps=maps)
            )
        written.append(plot_confusion(evaluation, out_dir / CONFUSION_PNG))
    return written


def export_run(run_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Write a saved run's PNGs (into the run folder unless ``out_dir`` is given).

    The one definition of what an export holds, used by the app, ``fmnist-tui train`` and
    ``fmnist-tui export``: the curves with the best epoch and any early stop marked, the
    misclassified grid and the confusion matrix, all read back from the run folder (no
    TensorFlow needed).

    Raises:
        RunError: the run folder cannot be read.
        ExportError: the folder or a file could not be written.
    """
    from core.runs.catalogue import load_run
    from core.runs.layout import EVALUATION_NPZ
    from core.runs.reading import read_mistake_maps

    run = load_run(run_dir)
    maps = read_mistake_maps(run_dir / EVALUATION_NPZ) if run.evaluation is not None else None
    return export_all(
        out_dir or run_dir,
        run.history,
        run.evaluation,
        run.test_images,
        early_stopping=run.early_stopping,
        maps=maps,
    )


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _draw_notice(figure: Figure, title: str, message: str) -> None:
    figure.suptitle(title, fontsize=14, fontweight="bold")
    figure.text(0.5, 0.45, message, ha="center", va="center", fontsize=13, color="#333333")


def _plot_pair(
    axes: Axes,
    epochs: npt.NDArray[np.int64],
    train: Sequence[float],
    validation: Sequence[float],
    name: str,
    *,
    min_span: float,
) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.plot(
        epochs, train, color=TRAIN_COLOUR, marker="o", markersize=5, linewidth=2, label="train"
    )
    axes.plot(
        epochs,
        validation,
        color=VALIDATION_COLOUR,
        marker="s",
        markersize=5,
        linewidth=2,
        linestyle="--",
        label="validation",
    )
    axes.set_title(name, fontsize=12)
    axes.set_xlabel("Epoch")
    axes.set_ylabel(name)
    axes.grid(True, alpha=0.3)
    if epochs.size <= 20:
        axes.set_xticks(epochs)
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    first, last = int(epochs.min()), int(epochs.max())
    margin = max(0.5, (last - first) * 0.04)
    axes.set_xlim(first - margin, last + margin)

    # A single epoch, or a flat curve, would otherwise zoom into a sliver of the axis.
    values = np.array([*train, *validation], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size:
        low, high = float(values.min()), float(values.max())
        if high - low < min_span:
            middle = (low + high) / 2
            axes.set_ylim(middle - min_span, middle + min_span)


def _best_epoch_index(history: Sequence[EpochMetrics]) -> int | None:
    scores = np.array([m.val_accuracy for m in history], dtype=np.float64)
    if not np.isfinite(scores).any():
        return None
    return int(np.nanargmax(np.where(np.isfinite(scores), scores, np.nan)))


def _mark_best(axes: Axes, epoch: int, value: float, label: str) -> None:
    """Star the validation point of the best epoch and draw a dotted line through it."""
    axes.axvline(epoch, color=BEST_COLOUR, linestyle=":", linewidth=1.2, zorder=1)
    axes.plot(
        epoch,
        value,
        marker="*",
        markersize=15,
        color=VALIDATION_COLOUR,
        markeredgecolor="black",
        linestyle="none",
        zorder=5,
        label=label,
    )


def _class_name(label: int) -> str:
    return CLASS_NAMES[label] if 0 <= label < len(CLASS_NAMES) else str(label)


def _confidence(value: float) -> str:
    # Rounding 0.997 up to "100%" would read as certainty the model never had.
    return ">99%" if 0.995 <= value < 1.0 else f"{value:.0%}"


def _percent(value: float) -> str:
    return f"{value:.1%}" if math.isfinite(value) else "n/a"


def _save(figure: Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    _make_dir(path.parent)
    _write_atomically(path, buffer.getvalue())
    return path


def _make_dir(directory: Path) -> None:
    with reraise_os_errors(ExportError, f"cannot create folder {directory}"):
        directory.mkdir(parents=True, exist_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    with reraise_os_errors(ExportError, f"cannot write {path}"):
        write_bytes(path, data)
