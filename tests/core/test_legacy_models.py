"""Runs saved before preprocessing moved into the model (float ``(28, 28, 1)`` input, scaled
outside) still open, predict and train on."""

from __future__ import annotations

import threading
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from core.config import TrainConfig
from core.data import Dataset
from core.models import INPUT_SHAPE, compile_model, takes_raw_images
from core.presets import get_preset
from core.training import TrainState, _trainable, load_saved_model, predict, train


def legacy_seed(path: Path, dataset: Dataset) -> keras.Model:
    """The seed model as saved before: float input, trained one epoch on scaled images."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            layers.Conv2D(28, 3, activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(56, 3, activation="relu", name="conv2"),
            layers.Flatten(name="flatten"),
            layers.Dense(56, activation="relu", name="dense"),
            layers.Dense(10, activation="softmax", name="output"),
        ],
        name="seed",
    )
    compile_model(model, get_preset("seed").hyperparameters, 13, 1)
    x = (dataset.x_train.astype("float32") / 255)[..., None]
    model.fit(x, dataset.y_train.astype("int32"), batch_size=32, epochs=1, verbose=0)
    model.save(path)
    return model


def test_an_old_model_opens_predicts_and_trains_on(
    synthetic_dataset: Dataset, tmp_path: Path
) -> None:
    path = tmp_path / "model.keras"
    old = legacy_seed(path, synthetic_dataset)
    expected = keras.ops.convert_to_numpy(
        old((synthetic_dataset.x_test.astype("float32") / 255)[..., None], training=False)
    )

    loaded = load_saved_model(path)
    assert not takes_raw_images(loaded)
    np.testing.assert_allclose(predict(loaded, synthetic_dataset.x_test), expected, atol=1e-5)

    upgraded = _trainable(loaded, TrainConfig())
    assert takes_raw_images(upgraded)
    assert upgraded.count_params() == 394_530
    np.testing.assert_allclose(predict(upgraded, synthetic_dataset.x_test), expected, atol=1e-5)
    iterations = int(keras.ops.convert_to_numpy(upgraded.optimizer.iterations))
    assert iterations == 13, "the optimizer state came along"

    state = TrainState(run_id="old", config=TrainConfig(epochs=1), model=upgraded)
    state = train(
        TrainConfig(epochs=1), lambda event: None, threading.Event(), dataset=synthetic_dataset,
        state=state,
    )  # fmt: skip
    assert state.status == "finished", state.failure
    assert int(keras.ops.convert_to_numpy(upgraded.optimizer.iterations)) == 26
    assert state.history[-1].val_accuracy > 0.8
    upgraded.save(tmp_path / "again.keras")
    assert takes_raw_images(load_saved_model(tmp_path / "again.keras"))


def test_a_model_for_other_images_is_refused(tmp_path: Path) -> None:
    from core.errors import RunError

    model = keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Flatten(), layers.Dense(10)])
    model.save(tmp_path / "cifar.keras")
    with pytest.raises(RunError, match="not a Fashion-MNIST classifier"):
        load_saved_model(tmp_path / "cifar.keras")
