"""Tests for core.evaluation on a hand-made example whose every number is worked out here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.evaluation import CLASS_NAMES, Mistake, confusion_matrix, evaluate_probabilities


def probabilities(rows: list[dict[int, float]], classes: int = 10) -> np.ndarray:
    """Rows of a (N, classes) array from ``{class: probability}`` dicts; the rest is 0."""
    out = np.zeros((len(rows), classes))
    for i, row in enumerate(rows):
        for cls, p in row.items():
            out[i, cls] = p
    assert np.allclose(out.sum(axis=1), 1.0)
    return out


# Six test samples; classes 3-9 never occur as true labels.
LABELS = [0, 0, 1, 1, 2, 2]
PROBS = probabilities(
    [
        {0: 0.7, 1: 0.2, 2: 0.1},  # right, p(true) 0.7
        {0: 0.4, 1: 0.6},  # wrong: 1 with 0.6, p(true) 0.4
        {1: 0.9, 2: 0.1},  # right, p(true) 0.9
        {1: 0.5, 2: 0.2, 9: 0.3},  # right, p(true) 0.5
        {0: 0.8, 2: 0.2},  # wrong: 0 with 0.8, p(true) 0.2
        {9: 1.0},  # wrong: 9 with 1.0, p(true) 0 -> clipped to 1e-7
    ]
)


def test_accuracy_and_predictions() -> None:
    evaluation = evaluate_probabilities(PROBS, LABELS)
    assert evaluation.test_accuracy == pytest.approx(3 / 6)
    assert evaluation.predictions.tolist() == [0, 1, 1, 1, 0, 9]
    assert evaluation.labels.tolist() == LABELS
    assert evaluation.confidences.tolist() == pytest.approx([0.7, 0.6, 0.9, 0.5, 0.8, 1.0])


def test_loss_is_mean_cross_entropy_with_clipping() -> None:
    evaluation = evaluate_probabilities(PROBS, LABELS)
    p_true = [0.7, 0.4, 0.9, 0.5, 0.2, 1e-7]
    expected = -sum(math.log(p) for p in p_true) / 6
    assert evaluation.test_loss == pytest.approx(expected, rel=1e-12)


def test_confusion_matrix_cells() -> None:
    confusion = evaluate_probabilities(PROBS, LABELS).confusion
    assert confusion.shape == (10, 10)
    assert confusion.sum() == 6
    expected = np.zeros((10, 10), dtype=np.int64)
    expected[0, 0] = 1
    expected[0, 1] = 1
    expected[1, 1] = 2
    expected[2, 0] = 1
    expected[2, 9] = 1
    np.testing.assert_array_equal(confusion, expected)


def test_per_class_accuracy_with_absent_classes() -> None:
    per_class = evaluate_probabilities(PROBS, LABELS).per_class_accuracy
    assert per_class[:3].tolist() == [0.5, 1.0, 0.0]
    assert np.isnan(per_class[3:]).all(), "classes with no test samples have no accuracy"


def test_misclassified_and_mistakes() -> None:
    evaluation = evaluate_probabilities(PROBS, LABELS)
    assert evaluation.misclassified_indices.tolist() == [1, 4, 5]
    mistakes = evaluation.mistakes()
    assert [(m.index, m.true_label, m.predicted_label) for m in mistakes] == [
        (1, 0, 1),
        (4, 2, 0),
        (5, 2, 9),
    ]
    assert [m.confidence for m in mistakes] == pytest.approx([0.6, 0.8, 1.0])
    assert mistakes[2].true_name == CLASS_NAMES[2] == "Pullover"
    assert mistakes[2].predicted_name == "Ankle boot"


def test_metrics_dict_is_json_ready() -> None:
    metrics = evaluate_probabilities(PROBS, LABELS).metrics_dict()
    assert metrics["test_accuracy"] == pytest.approx(0.5)
    assert metrics["test_samples"] == 6
    assert metrics["misclassified"] == 3
    assert list(metrics["per_class_accuracy"]) == list(CLASS_NAMES)
    assert metrics["per_class_accuracy"]["Trouser"] == 1.0
    assert metrics["confusion_matrix"][2][9] == 1
    assert all(type(v) is int for row in metrics["confusion_matrix"] for v in row)


def test_three_classes() -> None:
    probs = [[0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3]]
    evaluation = evaluate_probabilities(probs, [0, 1, 1])
    assert evaluation.confusion.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
    assert evaluation.per_class_accuracy[:2].tolist() == [1.0, 0.5]
    assert np.isnan(evaluation.per_class_accuracy[2])
    assert evaluation.mistakes() == [Mistake(1, 1, 2, pytest.approx(0.8))]


def test_confusion_matrix_function() -> None:
    result = confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], num_classes=3)
    assert result.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


@pytest.mark.parametrize(
    ("probs", "labels"),
    [
        (np.full((3, 10), 0.1), [0, 1]),  # more rows than labels
        (np.full((2, 10), 0.1), [0, 1, 2]),  # fewer rows than labels
        (np.full(10, 0.1), [0]),  # not 2-D
    ],
)
def test_shape_mismatch_raises(probs: np.ndarray, labels: list[int]) -> None:
    with pytest.raises(ValueError, match="do not match"):
        evaluate_probabilities(probs, labels)


def test_empty_test_set_raises() -> None:
    with pytest.raises(ValueError, match="empty"):
        evaluate_probabilities(np.zeros((0, 10)), [])
