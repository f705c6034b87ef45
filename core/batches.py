"""The training and validation batches, from the uint8 arrays, on any backend.

Each epoch's order is a function of the seed and the epoch alone (numpy's generator seeded
with both), so a resumed run sees exactly the batches the uninterrupted run would have, on
whichever backend it resumes. The images stay uint8 (the model scales them): an epoch's
shuffled copy is 38 MB for the whole training set, never a float copy.

Imports numpy only.
"""

from __future__ import annotations

import numpy as np

from core.evaluation import NUM_CLASSES


def epoch_order(size: int, seed: int, epoch: int) -> np.ndarray:
    """The order of the training images in ``epoch`` (0-based)."""
    order: np.ndarray = np.random.default_rng([seed, epoch]).permutation(size)
    return order


def labels_for(labels: np.ndarray, *, one_hot: bool) -> np.ndarray:
    """Labels as the loss wants them: int32 class numbers, or one-hot float32 rows."""
    if one_hot:
        rows: np.ndarray = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
        return rows
    return labels.astype(np.int32)


def epoch_arrays(
    images: np.ndarray, labels: np.ndarray, *, seed: int, epoch: int, one_hot: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The training set in ``epoch``'s order, for ``fit(..., shuffle=False)``."""
    order = epoch_order(len(images), seed, epoch)
    return images[order], labels_for(labels[order], one_hot=one_hot)
