"""The augmentation option (random flips on any preset) and test-time flip averaging."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import train_new

from core.config import TrainConfig, default_batch_size
from core.data import Dataset
from core.runs.catalogue import list_runs
from tui.cli import build_parser


def test_the_option_is_a_setting_of_the_run() -> None:
    args = build_parser().parse_args(["train", "--epochs", "1", "--augment"])
    assert args.augment is True
    assert TrainConfig.from_dict(TrainConfig(augment=True).to_dict()).augment
    assert not TrainConfig.from_dict({"epochs": 3}).augment, "older runs had no augmentation"
    assert default_batch_size("improved") == 128 and default_batch_size("seed") == 32


def test_augmenting_adds_flips_in_front_and_no_parameters() -> None:
    import keras

    from core.models import build_model

    plain, flipped = build_model("seed"), build_model("seed", augment=True)
    assert not any(isinstance(layer, keras.layers.RandomFlip) for layer in plain.layers)
    assert isinstance(flipped.layers[2], keras.layers.RandomFlip)
    assert plain.count_params() == flipped.count_params() == 394_530
    improved = build_model("improved", augment=True)
    assert sum(isinstance(layer, keras.layers.RandomFlip) for layer in improved.layers) == 1


@pytest.mark.slow
def test_a_run_with_flips_is_evaluated_on_both_views_and_listed_as_such(
    synthetic_dataset: Dataset, tmp_path: Path
) -> None:
    from core.training import trained_on_flips

    session, result, _ = train_new(synthetic_dataset, tmp_path, TrainConfig(epochs=1, augment=True))
    assert session.state is not None and trained_on_flips(session.state.model)
    evaluation = result.evaluation
    assert evaluation is not None and evaluation.single_view_accuracy is not None
    assert 0.0 <= evaluation.single_view_accuracy <= 1.0
    [listing] = list_runs(tmp_path)
    assert listing.augment and listing.model_label == "seed+flip"
