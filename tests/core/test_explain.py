"""Explanations (core.explain): the probabilities the evaluation gives, an occlusion map that
finds the evidence where it is, and the nearest training images by the model's own features."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from PIL import Image

from core.config import TrainConfig
from core.data import Dataset, prepare, synthetic_raw
from core.explain import (
    Explainer,
    Explanation,
    class_probabilities,
    explainer_for_run,
    features_and_output,
    occlusion_masks,
    training_part,
)
from core.explain_plot import plot_explanation, plot_prediction
from core.explanation import MAP_FLOOR
from core.training import evaluate_model

EVIDENCE = (slice(4, 10), slice(17, 23))
"""Where the hand-made model looks for class 0: rows 4-9, columns 17-22."""
ELSEWHERE = (slice(10, 16), slice(3, 9))
"""Where it looks for class 1, with less weight."""


def region_model() -> keras.Model:
    """Ten logits from the scaled pixels, by hand: class 0 adds up the brightness inside
    EVIDENCE, class 1 (more weakly) inside ELSEWHERE; every other class is flat."""
    model = keras.Sequential(
        [
            keras.Input((28, 28), dtype="uint8"),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ]
    )
    weights = np.zeros((28, 28, 10), np.float32)
    weights[EVIDENCE[0], EVIDENCE[1], 0] = 0.25
    weights[ELSEWHERE[0], ELSEWHERE[1], 1] = 0.2
    model.get_layer("output").set_weights([weights.reshape(784, 10), np.zeros(10, np.float32)])
    return model


def lit_image() -> np.ndarray:
    """A "garment" lit everywhere the model looks and in a band it ignores."""
    image = np.zeros((28, 28), np.uint8)
    image[2:26, 14:26] = 220  # covers EVIDENCE
    image[8:18, 2:12] = 220  # covers ELSEWHERE
    image[23:27, 2:26] = 180  # ignored by every class
    return image


def peak(values: np.ndarray) -> tuple[int, int]:
    row, col = np.unravel_index(int(np.argmax(values)), values.shape)
    return int(row), int(col)


def inside(point: tuple[int, int], region: tuple[slice, slice]) -> bool:
    return (
        region[0].start <= point[0] < region[0].stop
        and region[1].start <= point[1] < region[1].stop
    )


@pytest.fixture(scope="module")
def region_explainer() -> Explainer:
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(50, 28, 28)).astype(np.uint8)
    train[17] = lit_image()  # the nearest training image to lit_image(): itself
    labels = np.arange(50) % 10
    return Explainer(region_model(), train, labels, np.arange(1000, 1050))


def test_patches_cover_every_pixel() -> None:
    masks = occlusion_masks(5, 1)
    assert masks.shape == (24 * 24, 28, 28)
    assert masks.sum(axis=(1, 2)).tolist() == [25] * 576
    assert masks.any(axis=0).all()
    coarse = occlusion_masks(6, 4)  # 0, 4, ..., 20 and the far edge, 22
    assert coarse.shape[0] == 7 * 7 and coarse.any(axis=0).all()


def test_the_evidence_map_peaks_where_the_model_looks(region_explainer: Explainer) -> None:
    explanation = region_explainer.explain(lit_image(), true_label=0)
    assert explanation.predicted == 0 and explanation.correct
    assert inside(peak(explanation.evidence), EVIDENCE)
    evidence = explanation.evidence
    in_region = evidence[EVIDENCE].mean()
    far = np.ones((28, 28), bool)
    for rows, cols in (EVIDENCE, ELSEWHERE):  # and a patch's width around each
        far[max(rows.start - 6, 0) : rows.stop + 6, max(cols.start - 6, 0) : cols.stop + 6] = False
    assert far[22:].all(), "the ignored band is far from both regions"
    # Patches that touch neither region change nothing, to float rounding.
    assert np.abs(evidence[far]).max() < 1e-6 < in_region
    assert explanation.against_true is None


def odds(probabilities: np.ndarray, label: int) -> np.ndarray:
    """Log-odds of ``label`` written out, in float64: ln(p / (1 - p))."""
    p = np.asarray(probabilities, np.float64).reshape(-1, 10)[:, label]
    return np.log(p) - np.log1p(-p)


def test_patches_over_black_are_skipped_without_changing_a_value(
    region_explainer: Explainer,
) -> None:
    image = lit_image()
    image[EVIDENCE] = image[ELSEWHERE] = 90  # dim ink counts as much as bright
    image[0, 0] = 1  # and so does the faintest
    explainer = Explainer(region_explainer.model, region_explainer.train_images, np.zeros(50))
    explanation = explainer.explain(image, true_label=1)
    masks = occlusion_masks()
    every = class_probabilities(explainer.model, np.where(masks, 0, image[np.newaxis]))
    base = explanation.probabilities
    coverage = masks.sum(axis=0)
    for values, change in (
        (explanation.evidence, odds(base, 0) - odds(every, 0)),
        (explanation.against_true, odds(every, 1) - odds(base, 1)),
    ):
        expected = np.tensordot(change, masks.astype(np.float64), axes=1) / coverage
        np.testing.assert_allclose(values, expected, atol=1e-6)
    assert explainer.last_batch_size % 64 == 0
    assert explainer.last_batch_size < len(masks), "the patches over black were skipped"


def test_a_confident_predictions_map_is_as_strong_as_an_unsure_ones(
    region_explainer: Explainer,
) -> None:
    """The maps are in log-odds: a softmax saturates, and a map in probability shows nothing
    for a prediction at 99.99% (the confident mistakes a user looks at first).

    Mutation caught: the maps as changes in probability (``base[predicted] - hidden[:,
    predicted]``), the units before: the confident map's peak falls to about 1e-4."""
    unsure = region_explainer.explain(lit_image(), true_label=1)
    sure_model = region_model()
    output = sure_model.get_layer("output")
    weights, bias = output.get_weights()
    bias[0] = 12.0  # the same evidence, every patch's logit change the same, p(0) near 1
    output.set_weights([weights, bias])
    sure = Explainer(sure_model, region_explainer.train_images, np.zeros(50)).explain(
        lit_image(), true_label=1
    )
    assert sure.confidence > 0.99999 > unsure.confidence
    # With one class's logit shifted, its log-odds against the rest shift by a constant:
    # every patch changes them as much as before.
    np.testing.assert_allclose(sure.evidence, unsure.evidence, atol=1e-3)
    assert float(sure.evidence.max()) > MAP_FLOOR
    assert sure.against_true is not None and unsure.against_true is not None
    assert float(sure.against_true.max()) > MAP_FLOOR


def test_what_hides_the_true_class_is_the_wrong_evidence(region_explainer: Explainer) -> None:
    # Said to be class 1: what stops it being 1 is the class-0 evidence, not its own region.
    explanation = region_explainer.explain(lit_image(), true_label=1)
    assert explanation.predicted == 0 and not explanation.correct
    assert explanation.against_true is not None
    assert inside(peak(explanation.against_true), EVIDENCE)
    assert explanation.against_true[ELSEWHERE].mean() < 0, "hiding its own evidence lowers it"


def test_the_nearest_training_image_is_the_same_picture(region_explainer: Explainer) -> None:
    explanation = region_explainer.explain(lit_image())
    assert explanation.neighbour_indices[0] == 1017, "reported in standard-set numbers"
    assert explanation.neighbour_labels[0] == 7
    assert explanation.neighbour_distances[0] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(explanation.neighbour_distances) >= 0)
    np.testing.assert_array_equal(explanation.neighbour_images[0], lit_image())
    assert explanation.true_label is None and explanation.correct is None


def test_explanations_are_cached_and_frozen(region_explainer: Explainer) -> None:
    first = region_explainer.explain(lit_image(), 0)
    assert region_explainer.explain(lit_image().copy(), 0) is first
    assert region_explainer.explain(lit_image(), 3) is not first
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.predicted = 5  # type: ignore[misc]


def test_bad_input_is_refused(region_explainer: Explainer) -> None:
    with pytest.raises(ValueError, match="28x28"):
        region_explainer.explain(np.zeros((28, 27), np.uint8))
    with pytest.raises(ValueError, match="0-9"):
        region_explainer.explain(lit_image(), 10)


def test_a_trained_model_looks_at_the_shape_not_the_noise(synthetic_dataset: Dataset) -> None:
    # Synthetic class 0 is a bar across rows 3-8 (shifted by up to 2 pixels) over noise.
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28), dtype="uint8"),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(synthetic_dataset.x_train, synthetic_dataset.y_train, epochs=15, verbose=0)
    explainer = Explainer(model, synthetic_dataset.x_train, synthetic_dataset.y_train)
    bars = [i for i, y in enumerate(synthetic_dataset.y_test) if y == 0]
    shares = []
    for index in bars:
        explanation = explainer.explain(synthetic_dataset.x_test[index], 0)
        if explanation.predicted != 0:
            continue
        positive = np.clip(explanation.evidence, 0, None)
        shares.append(positive[1:11].sum() / positive.sum())
    assert len(shares) >= len(bars) // 2
    # Rows 1-10 are 36% of the image: the map puts most of its evidence there.
    assert float(np.median(shares)) > 0.6


def test_probabilities_are_the_evaluations_with_and_without_flips(
    synthetic_dataset: Dataset,
) -> None:
    from core.models import build_model

    for augment in (False, True):
        model = build_model("seed", augment=augment)
        evaluation = evaluate_model(model, synthetic_dataset)
        explainer = Explainer(model, synthetic_dataset.x_train, synthetic_dataset.y_train)
        assert explainer.flip_average is augment
        probabilities = class_probabilities(model, synthetic_dataset.x_test)
        np.testing.assert_allclose(probabilities.max(axis=1), evaluation.confidences, atol=1e-5)
        np.testing.assert_array_equal(probabilities.argmax(axis=1), evaluation.predictions)
        for index in (0, 1, 2):
            explanation = explainer.explain(synthetic_dataset.x_test[index])
            assert explanation.flip_averaged is augment
            assert explanation.predicted == evaluation.predictions[index]
            assert explanation.confidence == pytest.approx(evaluation.confidences[index], abs=1e-5)


def test_an_asymmetric_image_is_averaged_with_its_mirror() -> None:
    model = region_model()
    flipped = keras.Sequential(
        [keras.Input((28, 28), dtype="uint8"), keras.layers.RandomFlip("horizontal"), *model.layers]
    )
    image = lit_image()
    alone = class_probabilities(model, image[np.newaxis])
    averaged = class_probabilities(flipped, image[np.newaxis])
    mirror = class_probabilities(model, image[np.newaxis, :, ::-1])
    np.testing.assert_allclose(averaged, (alone + mirror) / 2, atol=1e-6)
    assert not np.allclose(alone, mirror, atol=1e-3)


def test_features_are_the_final_classifier_layers_input() -> None:
    # A separate softmax is looked through; a functional body nested behind preprocessing is
    # looked into.
    body_in = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(body_in)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(12, activation="relu")(x)
    x = keras.layers.Dense(10)(x)
    body = keras.Model(body_in, keras.layers.Softmax()(x))
    outer_in = keras.Input((28, 28), dtype="uint8")
    scaled = keras.layers.Reshape((28, 28, 1))(keras.layers.Rescaling(1 / 255)(outer_in))
    nested = keras.Model(outer_in, body(scaled))
    both = features_and_output(nested)
    features, probabilities = both(lit_image()[np.newaxis])
    assert tuple(features.shape) == (1, 12)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(probabilities),
        keras.ops.convert_to_numpy(nested(lit_image()[np.newaxis])),
        atol=1e-6,
    )
    assert tuple(features_and_output(region_model()).outputs[0].shape) == (None, 784)


def test_the_training_part_is_what_the_run_trained_on() -> None:
    raw = synthetic_raw(train=300, test=20, seed=3)
    for config in (TrainConfig(epochs=1), TrainConfig(epochs=1, limit_train=100, seed=4)):
        images, labels, indices = training_part(raw, config)
        dataset = prepare(raw, val_split=config.val_split, limit_train=config.limit_train, seed=4)
        np.testing.assert_array_equal(images, dataset.x_train)
        np.testing.assert_array_equal(labels, dataset.y_train)
        np.testing.assert_array_equal(raw.x_train[indices], dataset.x_train)


def test_a_runs_explainer_is_kept_until_its_model_changes(tmp_path: Path) -> None:
    raw = synthetic_raw(train=60, test=10, seed=0)
    path = tmp_path / "model.keras"
    region_model().save(path)
    config = TrainConfig(epochs=1)
    first = explainer_for_run(path, config, raw)
    assert explainer_for_run(path, config, raw) is first
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # trained further
    assert explainer_for_run(path, config, raw) is not first


def test_the_pngs_are_written(region_explainer: Explainer, tmp_path: Path) -> None:
    wrong = region_explainer.explain(lit_image(), 1)
    right = region_explainer.explain(lit_image(), 0)
    for name, explanation in (("wrong.png", wrong), ("right.png", right)):
        path = plot_explanation(explanation, tmp_path / "out" / name)
        with Image.open(path) as png:
            assert png.format == "PNG" and png.width > 1000
    predicted = plot_prediction(lit_image(), wrong.probabilities, tmp_path / "picture.png")
    with Image.open(predicted) as png:
        assert png.format == "PNG"


def test_the_pngs_bars_give_an_unlikely_true_class_its_number(
    region_explainer: Explainer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A true class the model all but ruled out reads 0.04%, not "<1%" like every other.

    Mutation caught: the bars' numbers in whole percents (``_confidence``), as before."""
    import core.explain_plot as explain_plot

    figures: list[Any] = []
    save = explain_plot._save

    def keep(figure: Any, path: Path) -> Path:
        figures.append(figure)
        return save(figure, path)

    monkeypatch.setattr(explain_plot, "_save", keep)
    probabilities = np.array([0.9, 0.0004, 0.003, 0.0, 0.05, 0, 0, 0, 0, 0.0466], np.float32)
    explanation = dataclasses.replace(
        region_explainer.explain(lit_image(), 1), probabilities=probabilities
    )
    plot_explanation(explanation, tmp_path / "bars.png")
    texts = [text.get_text() for axes in figures[0].axes for text in axes.texts]
    assert {"90%", "0.04%", "0.3%", "5%", "0%"} <= set(texts)
    assert "<1%" not in texts


def test_an_unwritable_folder_is_one_line(region_explainer: Explainer, tmp_path: Path) -> None:
    from core.errors import ExportError

    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ExportError) as caught:
        plot_explanation(region_explainer.explain(lit_image()), blocker / "x.png")
    assert "\n" not in str(caught.value) and str(blocker) in str(caught.value)


def test_an_explanation_is_plain_numpy(region_explainer: Explainer) -> None:
    explanation = region_explainer.explain(lit_image(), 1)
    for field in dataclasses.fields(Explanation):
        value = getattr(explanation, field.name)
        assert value is None or isinstance(value, np.ndarray | int | bool), field.name
    assert explanation.probabilities.shape == (10,)
    assert explanation.evidence.shape == (28, 28) and explanation.evidence.dtype == np.float32
    assert explanation.top(3)[0] == (0, pytest.approx(explanation.confidence))
