"""Where each test image is in the standard test set: ``Dataset.test_indices`` and the
evaluation's ``test_indices``."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import balanced_subset, prepare, synthetic_raw
from core.evaluation import evaluate_probabilities, evaluation_from_predictions


def test_the_whole_test_set_is_indexed_in_order() -> None:
    dataset = prepare(synthetic_raw(train=100, test=60, seed=0))
    assert dataset.test_indices.tolist() == list(range(60))
    assert not dataset.test_indices.flags.writeable


def test_a_limited_test_set_names_the_images_it_picked() -> None:
    raw = synthetic_raw(train=100, test=200, seed=0)
    dataset = prepare(raw, limit_test=50, seed=3)
    indices = dataset.test_indices
    assert indices.tolist() == balanced_subset(raw.y_test, 50, 3).tolist()
    assert len(set(indices.tolist())) == 50 and indices.max() < 200
    # Each test image is the standard test set's image at its index.
    assert np.array_equal(dataset.x_test, raw.x_test[indices])
    assert np.array_equal(dataset.y_test, raw.y_test[indices])
    assert not indices.flags.writeable


def test_an_evaluation_carries_the_indices_it_is_given() -> None:
    labels = np.array([0, 1, 2])
    plain = evaluation_from_predictions(labels, labels, np.ones(3), 0.1)
    assert plain.test_indices is None  # the standard test set itself
    given = evaluate_probabilities(np.eye(3), labels, test_indices=[5, 50, 500])
    assert given.test_indices is not None and given.test_indices.tolist() == [5, 50, 500]
    with pytest.raises(ValueError, match="test_indices"):
        evaluation_from_predictions(labels, labels, np.ones(3), 0.1, test_indices=[1, 2])
