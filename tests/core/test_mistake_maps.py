"""The exported grid's explanations: a run's end keeps the occlusion maps of the mistakes its
grid shows (in ``evaluation.npz``, so the export needs no model), the grid draws each over its
tile, and runs saved before them still export. Also: a run of a user's model file is explained
with the classes its file defines."""

from __future__ import annotations

import dataclasses
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import train_new
from PIL import Image

import core.export as export
from core.config import TrainConfig
from core.data import Dataset, prepare, synthetic_raw
from core.errors import RunError
from core.evaluation import Evaluation
from core.explain import EXPORT_STRIDE, Explainer, explainer_for_run, mistake_maps
from core.export import grid_mistakes, map_overlay, plot_misclassified
from core.runs.catalogue import load_run
from core.runs.layout import EVALUATION_NPZ, MistakeMaps, save_evaluation
from core.runs.reading import read_mistake_maps
from core.training import load_saved_model


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Evaluation, Dataset]:
    dataset = prepare(synthetic_raw(train=500, test=100, seed=0))
    runs = tmp_path_factory.mktemp("runs")
    _session, result, _events = train_new(dataset, runs, TrainConfig(epochs=1))
    assert result.saved and result.run_dir is not None and result.evaluation is not None
    return result.run_dir, result.evaluation, dataset


def test_a_runs_end_keeps_the_maps_of_the_mistakes_its_grid_shows(
    trained_run: tuple[Path, Evaluation, Dataset],
) -> None:
    run_dir, evaluation, dataset = trained_run
    maps = read_mistake_maps(run_dir / EVALUATION_NPZ)
    assert maps is not None
    shown = grid_mistakes(evaluation)
    assert shown, "the synthetic run makes some mistakes"
    assert maps.indices.tolist() == [m.index for m in shown]
    assert maps.evidence.shape == maps.against_true.shape == (len(shown), 28, 28)
    # The maps are the explainer's own, at the export's stride (float16 in the file).
    model = load_saved_model(run_dir / "model.keras")
    explainer = Explainer(model, dataset.x_train, dataset.y_train, stride=EXPORT_STRIDE)
    for row, mistake in enumerate(shown[:3]):
        explanation = explainer.explain(dataset.x_test[mistake.index], mistake.true_label)
        assert explanation.against_true is not None
        np.testing.assert_allclose(maps.evidence[row], explanation.evidence, atol=2e-3)
        np.testing.assert_allclose(maps.against_true[row], explanation.against_true, atol=2e-3)
    assert float(np.abs(maps.evidence).max()) > 0.0


def test_the_maps_are_not_made_once_the_app_quits(
    trained_run: tuple[Path, Evaluation, Dataset],
) -> None:
    run_dir, evaluation, dataset = trained_run
    model = load_saved_model(run_dir / "model.keras")
    assert mistake_maps(model, dataset.x_test, evaluation, cancelled=lambda: True) is None


def drawn_grid(monkeypatch: pytest.MonkeyPatch, *args: Any, **kwargs: Any) -> Any:
    """The figure :func:`plot_misclassified` draws (it is also saved as usual)."""
    figures: list[Any] = []
    save = export._save

    def keep(figure: Any, path: Path) -> Path:
        figures.append(figure)
        return save(figure, path)

    monkeypatch.setattr(export, "_save", keep)
    plot_misclassified(*args, **kwargs)
    return figures[0]


def reddish_pixels(path: Path) -> int:
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return int(((red > 150) & (red - green > 60) & (red - blue > 60)).sum())


def test_the_grid_lays_each_tiles_map_over_its_image(
    trained_run: tuple[Path, Evaluation, Dataset],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    run_dir, evaluation, dataset = trained_run
    maps = read_mistake_maps(run_dir / EVALUATION_NPZ)
    assert maps is not None and len(maps.indices) >= 2
    # Only the first tile's map: the others must be drawn as before. (Made stronger: the
    # one-epoch synthetic model's maps are faint, below MAP_FLOOR.)
    one = MistakeMaps(maps.indices[:1], 4 * maps.evidence[:1], 4 * maps.against_true[:1])
    with_map = tmp_path / "with.png"
    figure = drawn_grid(monkeypatch, dataset.x_test, evaluation, with_map, maps=one)
    tiles = [axes for axes in figure.axes if axes.get_images()]
    assert [len(axes.get_images()) for axes in tiles] == [2] + [1] * (len(tiles) - 1)
    overlay = tiles[0].get_images()[1].get_array()
    expected = map_overlay(one.evidence[0], one.against_true[0])
    assert expected is not None
    np.testing.assert_allclose(np.asarray(overlay), expected)
    assert figure.get_supxlabel() == export.MAP_LEGEND

    without = tmp_path / "without.png"
    plot_misclassified(dataset.x_test, evaluation, without)
    assert reddish_pixels(with_map) > 50, "the map is drawn in red"
    assert reddish_pixels(without) == 0


def test_the_overlay_is_red_where_the_prediction_rested_and_blue_against_the_true_class() -> None:
    evidence = np.zeros((28, 28), np.float32)
    against = np.zeros((28, 28), np.float32)
    # In log-odds, above the floor (MAP_FLOOR) under which a map stays faint.
    evidence[2:6, 2:6] = 2.0
    against[20:24, 20:24] = 1.0
    rgba = map_overlay(evidence, against)
    assert rgba is not None
    assert tuple(rgba[3, 3, :3]) == pytest.approx(export.EVIDENCE_RGB)
    assert tuple(rgba[21, 21, :3]) == pytest.approx(export.AGAINST_RGB)
    assert rgba[3, 3, 3] == pytest.approx(export.MAP_OPACITY)
    assert rgba[21, 21, 3] == pytest.approx(export.MAP_OPACITY / 2)
    assert rgba[12, 12, 3] == 0.0
    assert map_overlay(np.zeros((28, 28)), -np.ones((28, 28))) is None


def test_a_run_saved_without_maps_still_exports_its_grid_as_before(
    trained_run: tuple[Path, Evaluation, Dataset], tmp_path: Path
) -> None:
    run_dir, evaluation, dataset = trained_run
    old = tmp_path / "old-run"
    old.mkdir()
    for name in ("config.json", "history.json", "model.keras"):
        (old / name).write_bytes((run_dir / name).read_bytes())
    save_evaluation(old, evaluation, dataset.x_test, 10)
    assert read_mistake_maps(old / EVALUATION_NPZ) is None
    paths = export.export_run(old)
    grid = next(p for p in paths if p.name == export.MISCLASSIFIED_PNG)
    assert grid.is_file() and reddish_pixels(grid) == 0


def test_damaged_maps_are_one_line_naming_the_file(
    trained_run: tuple[Path, Evaluation, Dataset], tmp_path: Path
) -> None:
    run_dir, evaluation, dataset = trained_run
    maps = read_mistake_maps(run_dir / EVALUATION_NPZ)
    assert maps is not None
    broken = dataclasses.replace(maps, evidence=maps.evidence[:, :10])
    save_evaluation(tmp_path, evaluation, dataset.x_test, 10, broken)
    with pytest.raises(RunError, match=r"evaluation\.npz: unreadable \(evidence_maps are"):
        read_mistake_maps(tmp_path / EVALUATION_NPZ)


CUSTOM_MODEL = """\
import keras
from keras import layers


class Halve(layers.Layer):
    def call(self, inputs):
        return inputs * 0.5


def build_model():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            Halve(),
            layers.Conv2D(8, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
"""


def test_a_run_of_a_model_file_is_explained_with_the_classes_its_file_defines(
    tmp_path: Path,
) -> None:
    model_file = tmp_path / "halved.py"
    model_file.write_text(textwrap.dedent(CUSTOM_MODEL), encoding="utf-8")
    raw = synthetic_raw(train=300, test=60, seed=0)
    dataset = prepare(raw)
    config = TrainConfig(epochs=1).for_model(str(model_file))
    _session, result, _events = train_new(dataset, tmp_path / "runs", config)
    assert result.saved and result.run_dir is not None
    # As in a new process (the app opening the run later): the file's classes are not loaded.
    for name in [name for name in sys.modules if name.startswith("fmnist_model_")]:
        del sys.modules[name]
    saved = load_run(result.run_dir).config
    explainer = explainer_for_run(result.run_dir / "model.keras", saved, raw)
    explanation = explainer.explain(raw.x_test[0], int(raw.y_test[0]))
    assert explanation.probabilities.shape == (10,)
    assert any(type(layer).__name__ == "Halve" for layer in explainer.model.layers)


def test_each_tile_names_its_standard_test_image_and_the_true_class_probability(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A ``--limit-test`` run's tiles are numbered as the app and ``explain`` number them (the
    standard test set), and say how likely the model found the true class.

    Mutations caught: the tile's number as the subset's index (``test #{mistake.index}``, as
    before); the true class's probability left out of the title."""
    from core.evaluation import evaluate_probabilities

    probabilities = np.full((3, 10), 0.001)
    probabilities[0, 5], probabilities[0, 2] = 0.95, 0.0004  # true 2, predicted 5
    probabilities[1, 1], probabilities[1, 7] = 0.6, 0.3  # true 7, predicted 1
    probabilities[2, 3] = 0.99  # right
    evaluation = evaluate_probabilities(
        probabilities, [2, 7, 3], test_indices=np.array([8841, 17, 4000])
    )
    images = np.zeros((3, 28, 28), np.uint8)
    figure = drawn_grid(monkeypatch, images, evaluation, tmp_path / "grid.png")
    tiles = [axes for axes in figure.axes if axes.get_images()]
    assert [axes.get_xlabel() for axes in tiles] == ["test #8841", "test #17"]
    titles = [axes.get_title() for axes in tiles]
    assert titles[0].startswith("true: Pullover (0.04%)\npred: Sandal (95%)")
    assert titles[1].startswith("true: Sneaker (30%)\npred: Trouser (60%)")

    # Saved without the standard indices or the probabilities: its own numbers, marked so.
    bare = dataclasses.replace(evaluation, test_indices=None, probabilities=None)
    figure = drawn_grid(monkeypatch, images, bare, tmp_path / "bare.png")
    tiles = [axes for axes in figure.axes if axes.get_images()]
    assert [axes.get_xlabel() for axes in tiles] == ["subset #0", "subset #1"]
    assert tiles[0].get_title().startswith("true: Pullover\n")
