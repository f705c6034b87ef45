"""A run's saved evaluation keeps every class's probability, where each image is in the
standard test set, and every test image: a saved run's gallery shows its correct examples and
its probability bars as a run trained in this session does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data import synthetic_raw
from core.evaluation import evaluate_probabilities
from core.runs.layout import EVALUATION_NPZ, save_evaluation
from core.runs.reading import read_evaluation


def test_probabilities_indices_and_every_image_come_back(tmp_path: Path) -> None:
    raw = synthetic_raw(train=20, test=50, seed=3)
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), size=50)
    indices = np.arange(50) * 7 + 3
    evaluation = evaluate_probabilities(probabilities, raw.y_test, test_indices=indices)
    save_evaluation(tmp_path, evaluation, raw.x_test, 1234)

    back, images, complete = read_evaluation(tmp_path / EVALUATION_NPZ)

    assert complete
    np.testing.assert_array_equal(images, raw.x_test)
    assert back.test_indices is not None
    np.testing.assert_array_equal(back.test_indices, indices)
    assert back.probabilities is not None
    np.testing.assert_allclose(back.probabilities, probabilities, atol=1e-3)
    np.testing.assert_array_equal(back.predictions, evaluation.predictions)


def test_a_run_saved_before_keeps_only_its_mistakes_images(tmp_path: Path) -> None:
    """What runs saved by the previous version hold (no images, probabilities or indices)."""
    raw = synthetic_raw(train=20, test=30, seed=4)
    labels = raw.y_test.astype(np.int64)
    predictions = labels.copy()
    predictions[:5] = (labels[:5] + 1) % 10
    with open(tmp_path / EVALUATION_NPZ, "wb") as handle:
        np.savez_compressed(
            handle,
            labels=labels.astype(np.uint8),
            predictions=predictions.astype(np.uint8),
            confidences=np.full(30, 0.5, dtype=np.float32),
            mistake_indices=np.arange(5, dtype=np.int32),
            mistake_images=raw.x_test[:5],
            test_loss=np.float64(0.7),
        )

    back, images, complete = read_evaluation(tmp_path / EVALUATION_NPZ)

    assert not complete
    assert back.probabilities is None and back.test_indices is None
    np.testing.assert_array_equal(images[:5], raw.x_test[:5])
    assert not images[5:].any()
