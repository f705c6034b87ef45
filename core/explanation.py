"""What an explanation of one image holds, as plain numpy data: no Keras here.

:mod:`core.explain` computes an :class:`Explanation` in the thread that owns the model; the
app's state, its panels and its test doubles only read one, so they import this module, which
costs nothing at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

PATCH = 3
"""Side of the occluding square, in pixels, chosen by the deletion test (Petsiuk et al., 2018):
delete an image's ink in the order of its map, most evidence first; the faster the predicted
class's probability falls, the better the map finds what the prediction rests on. Three pixels
scored best of 1-8 for the seed (BENCHMARKS.md; ``python -m bench.explain --compare``
measures it again). One pixel alone is bridged by the convolutions around it and rarely
matters; from 4 pixels up a patch covers two parts at once (a strap and the sole) and smears
the map."""
MAP_FLOOR = 0.5
"""The heat maps are drawn on the scale of their largest change in log-odds, at least this
(the odds 1.6 times lower or higher): a map whose patches changed little stays faint instead
of being stretched to full strength. The seed's maps peak between 0.7 and 2."""
STRIDE = 1
"""Patch positions one pixel apart: up to 26x26 = 676 occluded images in one batch (its cost
is in BENCHMARKS.md). A stride of 2 costs a quarter and scores a little worse with a blockier
map: the setting for a model too slow for this one."""


def top_classes(probabilities: npt.ArrayLike, count: int = 3) -> list[tuple[int, float]]:
    """The ``count`` most probable classes of one row of probabilities and their
    probabilities, most probable first (ties: the lower class first)."""
    row = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(-row, kind="stable")[:count]
    return [(int(label), float(row[label])) for label in order]


@dataclass(frozen=True, slots=True, eq=False)
class Explanation:
    """Everything shown for one image; numpy arrays only, safe to hand to another thread."""

    image: UInt8Array
    """The image explained, ``(28, 28)`` uint8."""
    probabilities: FloatArray
    """``(10,)``: the model's class probabilities (flip-averaged when :attr:`flip_averaged`)."""
    predicted: int
    true_label: int | None
    """The true class when known (a test image), else ``None`` (a user's picture)."""
    evidence: FloatArray
    """``(28, 28)``: how much blacking out the patches over each pixel lowers the predicted
    class's log-odds, ``ln(p / (1 - p))`` (the mean over the patches covering it; 1 is the odds
    2.7 times lower, :func:`core.explain.log_odds` says why not probabilities). Positive:
    evidence for the prediction; negative: hiding it makes the model surer."""
    against_true: FloatArray | None
    """``(28, 28)``: how much blacking out the patches over each pixel raises the true class's
    log-odds: what hides the true class. ``None`` when the prediction is right or the true
    class is unknown."""
    neighbour_indices: IntArray
    """``(3,)``: the nearest training images, as indices into the standard training set."""
    neighbour_labels: IntArray
    neighbour_distances: FloatArray
    """``(3,)``: cosine distances (1 - similarity) of the penultimate features, nearest first."""
    neighbour_images: UInt8Array
    """``(3, 28, 28)``."""
    flip_averaged: bool
    """Whether each probability is the mean over the image and its mirror image (the model
    was trained on mirrored images, and its evaluation averages so too)."""
    patch: int = PATCH
    stride: int = STRIDE

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.predicted])

    @property
    def correct(self) -> bool | None:
        return None if self.true_label is None else self.true_label == self.predicted

    def top(self, count: int = 3) -> list[tuple[int, float]]:
        """The ``count`` most probable classes and their probabilities, most probable first."""
        return top_classes(self.probabilities, count)
