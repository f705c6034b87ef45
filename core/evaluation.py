"""Test-set evaluation from predicted probabilities: numpy only, no TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

NUM_CLASSES = 10
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
SHORT_CLASS_NAMES = (
    "T-shirt",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Boot",
)
"""The class names in at most 8 characters: confusion-matrix rows, narrow panels."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Mistake:
    index: int
    """Index into the test set."""
    true_label: int
    predicted_label: int
    confidence: float
    """Probability the model gave its (wrong) prediction."""

    @property
    def true_name(self) -> str:
        return CLASS_NAMES[self.true_label]

    @property
    def predicted_name(self) -> str:
        return CLASS_NAMES[self.predicted_label]


@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """Everything learned from one pass over the test set."""

    test_loss: float
    test_accuracy: float
    labels: IntArray
    predictions: IntArray
    confidences: FloatArray
    confusion: IntArray
    """``confusion[true, predicted]`` counts."""
    per_class_accuracy: FloatArray
    single_view_accuracy: float | None = None
    """With test-time flip averaging, the accuracy of the images as they are alone."""
    test_indices: IntArray | None = None
    """Where each sample is in the standard test set (``Dataset.test_indices``); ``None``:
    the samples are the standard test set, in its order."""
    probabilities: npt.NDArray[np.float32] | None = None
    """Every class's probability for each sample ``(N, classes)``; ``None`` for runs saved
    before they were kept."""

    def __post_init__(self) -> None:
        if self.test_indices is not None and self.test_indices.shape != self.labels.shape:
            raise ValueError(
                f"test_indices {self.test_indices.shape} do not match labels {self.labels.shape}"
            )
        if self.probabilities is not None and (
            self.probabilities.ndim != 2 or self.probabilities.shape[0] != self.labels.size
        ):
            raise ValueError(
                f"probabilities {self.probabilities.shape} do not match labels {self.labels.shape}"
            )

    @property
    def misclassified_indices(self) -> IntArray:
        return np.flatnonzero(self.predictions != self.labels)

    def mistakes(self) -> list[Mistake]:
        """Misclassified samples, in test-set order."""
        return [
            Mistake(
                index=int(i),
                true_label=int(self.labels[i]),
                predicted_label=int(self.predictions[i]),
                confidence=float(self.confidences[i]),
            )
            for i in self.misclassified_indices
        ]

    def metrics_dict(self) -> dict[str, Any]:
        """The JSON-ready summary saved as ``metrics.json`` (without per-sample arrays)."""
        return {
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "test_samples": int(self.labels.size),
            "misclassified": int(self.misclassified_indices.size),
            "per_class_accuracy": {
                name: float(acc)
                for name, acc in zip(CLASS_NAMES, self.per_class_accuracy, strict=True)
            },
            "confusion_matrix": self.confusion.tolist(),
            **(
                {"test_accuracy_single_view": self.single_view_accuracy}
                if self.single_view_accuracy is not None
                else {}
            ),
        }


def confusion_matrix(
    labels: npt.ArrayLike, predictions: npt.ArrayLike, num_classes: int = NUM_CLASSES
) -> IntArray:
    """``result[t, p]`` is how many samples of true class t were predicted as p."""
    true = np.asarray(labels, dtype=np.int64)
    pred = np.asarray(predictions, dtype=np.int64)
    flat = np.bincount(true * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def evaluate_probabilities(
    probabilities: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    test_indices: npt.ArrayLike | None = None,
) -> Evaluation:
    """Evaluate softmax outputs ``(N, classes)`` against integer ``labels`` ``(N,)``; see
    :attr:`Evaluation.test_indices` for ``test_indices``."""
    probs = np.asarray(probabilities, dtype=np.float64)
    true = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or probs.shape[0] != true.shape[0]:
        raise ValueError(f"probabilities {probs.shape} do not match labels {true.shape}")
    if true.size == 0:
        raise ValueError("cannot evaluate an empty test set")
    num_classes = probs.shape[1]
    predictions = probs.argmax(axis=1)
    confidences = probs[np.arange(true.size), predictions]
    eps = 1e-7
    true_probs = np.clip(probs[np.arange(true.size), true], eps, 1.0)
    loss = float(-np.log(true_probs).mean())
    return evaluation_from_predictions(
        true,
        predictions,
        confidences,
        loss,
        num_classes,
        test_indices=test_indices,
        probabilities=probs,
    )


def evaluation_from_predictions(
    labels: npt.ArrayLike,
    predictions: npt.ArrayLike,
    confidences: npt.ArrayLike,
    test_loss: float,
    num_classes: int = NUM_CLASSES,
    *,
    test_indices: npt.ArrayLike | None = None,
    probabilities: npt.ArrayLike | None = None,
) -> Evaluation:
    """An :class:`Evaluation` from per-sample predictions (as saved in ``evaluation.npz``):
    accuracy, the confusion matrix and per-class accuracy computed in one place."""
    true = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predictions, dtype=np.int64)
    confusion = confusion_matrix(true, predicted, num_classes)
    support = confusion.sum(axis=1)
    per_class = np.divide(
        np.diag(confusion), support, out=np.full(num_classes, np.nan), where=support > 0
    )
    return Evaluation(
        test_loss=float(test_loss),
        test_accuracy=float((predicted == true).mean()),
        labels=true,
        predictions=predicted,
        confidences=np.asarray(confidences, dtype=np.float64),
        confusion=confusion,
        per_class_accuracy=per_class,
        test_indices=None if test_indices is None else np.asarray(test_indices, dtype=np.int64),
        probabilities=(
            None if probabilities is None else np.asarray(probabilities, dtype=np.float32)
        ),
    )
