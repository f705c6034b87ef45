"""PNGs of explanations: why the model classified a test image as it did, and what it made of a
user's own picture.

Drawn like :mod:`core.export`: matplotlib's object API on the Agg canvas (no pyplot state, no
display, fine in a worker thread), matplotlib imported only when drawing, every PNG rendered
in memory and written atomically. Nothing here imports Keras: an :class:`~core.explain.
Explanation` is plain numpy data.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from core.errors import ExportError, reraise_os_errors
from core.evaluation import CLASS_NAMES
from core.explanation import MAP_FLOOR
from core.files import write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from core.explanation import Explanation

DPI = 120
PREDICTED_COLOUR = "#d62728"
TRUE_COLOUR = "#2ca02c"
OTHER_COLOUR = "#9aa7b4"
MAP_COLOURS = "RdBu_r"
"""Red where hiding a patch lowers the class's log-odds (evidence for it), blue where it raises
them; white where it changes nothing."""


def plot_explanation(explanation: Explanation, path: Path, *, title: str | None = None) -> Path:
    """One PNG: the image, the evidence map over it, what hides the true class (for a
    mistake), the ten probabilities with the true and predicted class marked, and the
    nearest training images with their labels.

    Returns:
        ``path``, once the PNG is in place.

    Raises:
        ExportError: the folder or the file could not be written.
    """
    figure = _new_figure(13.0, 6.4)
    axes = figure.subplot_mosaic(
        [["image", "evidence", "against", "bars"], ["n0", "n1", "n2", "bars"]],
        width_ratios=[1, 1, 1, 1.3],
    )
    predicted, true = explanation.predicted, explanation.true_label
    _show_image(axes["image"], explanation.image)
    axes["image"].set_title("the image", fontsize=11)
    _heat_map(
        figure,
        axes["evidence"],
        explanation.image,
        explanation.evidence,
        f"evidence for {_name(predicted)}",
        f"fall in the log-odds of {_name(predicted)} when hidden",
    )
    if explanation.against_true is not None and true is not None:
        _heat_map(
            figure,
            axes["against"],
            explanation.image,
            explanation.against_true,
            f"what hides {_name(true)}",
            f"rise in the log-odds of {_name(true)} when hidden",
        )
    else:
        axes["against"].set_axis_off()
        note = "true class unknown" if true is None else "predicted correctly:\nnothing hides it"
        axes["against"].text(0.5, 0.5, note, ha="center", va="center", fontsize=11, color="#555")
    _probability_bars(axes["bars"], explanation.probabilities, predicted, true)
    for rank in range(len(explanation.neighbour_indices)):
        neighbour = axes[f"n{rank}"]
        label = int(explanation.neighbour_labels[rank])
        _show_image(neighbour, explanation.neighbour_images[rank])
        similarity = 1.0 - float(explanation.neighbour_distances[rank])
        neighbour.set_title(f"{_name(label)}\nsimilarity {similarity:.3f}", fontsize=10)
        neighbour.set_xlabel(
            f"train #{int(explanation.neighbour_indices[rank])}", fontsize=8, color="#666666"
        )
    mirror = (
        "; each probability averaged with the mirror image's" if explanation.flip_averaged else ""
    )
    # A figure label, not free text: the constrained layout keeps room for it.
    figure.supxlabel(
        f"Occlusion: {explanation.patch}x{explanation.patch} black patches every "
        f"{explanation.stride} px{mirror}; log-odds ln(p/(1-p)): 1 is the odds 2.7 times "
        "lower or higher. Bottom: nearest training images by the model's penultimate features "
        "(cosine).",
        fontsize=8,
        color="#666666",
    )
    if title is None:
        verdict = f"predicted {_name(predicted)} ({_confidence(explanation.confidence)})"
        title = verdict if true is None else f"True {_name(true)}, {verdict}"
    figure.suptitle(title, fontsize=13, fontweight="bold")
    return _save(figure, path)


def plot_prediction(
    image: npt.NDArray[np.uint8],
    probabilities: npt.NDArray[Any],
    path: Path,
    *,
    original: npt.NDArray[Any] | None = None,
    title: str = "",
    steps: Sequence[str] = (),
) -> Path:
    """One PNG for a user's picture: the picture as given (when ``original`` is passed), the
    28x28 the model saw, and its ten probabilities.

    Raises:
        ExportError: the folder or the file could not be written.
    """
    panels: list[Any] = ["original", "model", "bars"] if original is not None else ["model", "bars"]
    figure = _new_figure(11.0 if original is not None else 8.0, 4.2)
    axes = figure.subplot_mosaic([panels], width_ratios=[1.0] * (len(panels) - 1) + [1.5])
    if original is not None:
        axes["original"].imshow(original, interpolation="antialiased")
        axes["original"].set_xticks([])
        axes["original"].set_yticks([])
        axes["original"].set_title("the picture", fontsize=11)
    _show_image(axes["model"], image)
    axes["model"].set_title("what the model saw (28x28)", fontsize=11)
    predicted = int(np.argmax(probabilities))
    _probability_bars(axes["bars"], probabilities, predicted, None)
    if steps:
        figure.supxlabel(_wrapped("; ".join(steps)), fontsize=7, color="#666666")
    figure.suptitle(
        title or f"{_name(predicted)} ({_confidence(float(probabilities[predicted]))})",
        fontsize=13,
        fontweight="bold",
    )
    return _save(figure, path)


def _wrapped(text: str, width: int = 150) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _show_image(axes: Axes, image: npt.NDArray[Any]) -> None:
    # Dark garment on white, as core.export draws the misclassified images.
    axes.imshow(image, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_edgecolor("#bbbbbb")


def _heat_map(
    figure: Figure,
    axes: Axes,
    image: npt.NDArray[Any],
    values: npt.NDArray[Any],
    title: str,
    unit: str,
) -> None:
    """``values`` over ``image``, on a scale symmetric about 0; each pixel of the map as
    opaque as its value is large, so the garment shows through where nothing changed."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    axes.imshow(image, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    # Never a zero-width scale, and a map whose patches changed little stays faint.
    limit = max(float(np.abs(values).max()), MAP_FLOOR)
    norm = Normalize(-limit, limit)
    colours = colormaps[MAP_COLOURS](norm(values))
    colours[..., 3] = np.clip(np.abs(values) / limit, 0.0, 1.0) * 0.9
    axes.imshow(colours, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title, fontsize=11)
    bar = figure.colorbar(
        ScalarMappable(norm, MAP_COLOURS), ax=axes, location="bottom", shrink=0.9, pad=0.02
    )
    bar.ax.tick_params(labelsize=8)
    bar.set_label(unit, fontsize=8)


def _probability_bars(
    axes: Axes, probabilities: npt.NDArray[Any], predicted: int, true: int | None
) -> None:
    positions = list(range(len(CLASS_NAMES)))
    colours = [OTHER_COLOUR] * len(CLASS_NAMES)
    if true is not None:
        colours[true] = TRUE_COLOUR
    colours[predicted] = PREDICTED_COLOUR
    values = np.asarray(probabilities, dtype=np.float64)
    axes.barh(positions, values, color=colours, height=0.7)
    axes.set_yticks(positions, [_label(i, predicted, true) for i in positions], fontsize=9)
    axes.invert_yaxis()
    axes.set_xlim(0, 1.18)
    axes.set_xticks([0, 0.5, 1.0], ["0", "50%", "100%"], fontsize=8)
    axes.set_title("class probabilities", fontsize=11)
    for position, value in zip(positions, values, strict=True):
        axes.text(value + 0.02, position, _bar_number(value), va="center", fontsize=8)
    for spine in ("top", "right"):
        axes.spines[spine].set_visible(False)


def _label(label: int, predicted: int, true: int | None) -> str:
    marks = [name for name, chosen in (("predicted", predicted), ("true", true)) if chosen == label]
    return _name(label) + (f" ({', '.join(marks)})" if marks else "")


def _name(label: int) -> str:
    return CLASS_NAMES[label] if 0 <= label < len(CLASS_NAMES) else str(label)


def _confidence(value: float) -> str:
    # As core.export says it: rounding 0.997 up to "100%" reads as a certainty never had.
    if 0.995 <= value < 1.0:
        return ">99%"
    if 0.0 < value < 0.005:
        return "<1%"
    return f"{value:.0%}"


def _bar_number(value: float) -> str:
    """A bar's probability: whole percents, and under 1% two significant digits down to
    0.01%, so that a true class the model all but ruled out reads as such (0.04%), not as
    one "<1%" among eight."""
    if value >= 0.01 or value <= 0.0:
        return _confidence(value)
    if value < 0.0001:
        return "<0.01%"
    return f"{value * 100:.2g}%"


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    with reraise_os_errors(ExportError, f"cannot create folder {path.parent}"):
        path.parent.mkdir(parents=True, exist_ok=True)
    with reraise_os_errors(ExportError, f"cannot write {path}"):
        write_bytes(path, buffer.getvalue())
    return path
