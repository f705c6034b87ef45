"""Tests for core.config: parsing what users type, and TrainConfig validation."""

from __future__ import annotations

import pytest

from core.config import (
    MAX_EPOCHS,
    ConfigError,
    TrainConfig,
    parse_batch_size,
    parse_epochs,
    parse_model,
    parse_val_split,
)


def one_line(excinfo: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(excinfo.value)
    assert message, "the error must say something"
    assert "\n" not in message, "user-facing errors must be one line"
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), (" 10 ", 10), ("1000", 1000), ("+5", 5), ("\t7\n", 7), ("007", 7)],
)
def test_parse_epochs_accepts(text: str, expected: int) -> None:
    assert parse_epochs(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("abc", "whole number"),
        ("0", "at least 1"),
        ("-1", "at least 1"),
        ("10.5", "whole number"),
        ("1001", f"at most {MAX_EPOCHS}"),
        ("", "required"),
        ("   ", "required"),
        ("1e3", "whole number"),
        ("١٢", "whole number"),  # Arabic-Indic digits: str.isdigit() says yes, we say no
        ("１２", "whole number"),  # full-width digits
        ("+", "whole number"),
        ("1_000", "whole number"),
        ("5 5", "whole number"),
    ],
)
def test_parse_epochs_rejects(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_epochs(text)
    message = one_line(excinfo)
    assert fragment in message
    assert message.startswith("epochs")


def test_parse_batch_size_bounds() -> None:
    assert parse_batch_size("4096") == 4096
    with pytest.raises(ConfigError, match="at most 4096"):
        parse_batch_size("4097")
    with pytest.raises(ConfigError, match="at least 1"):
        parse_batch_size("0")


@pytest.mark.parametrize("text", ["0", "1", "-0.1", "1.5", "nan", "inf", "abc", ""])
def test_parse_val_split_rejects(text: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_val_split(text)
    assert "validation split" in one_line(excinfo)


def test_parse_val_split_accepts() -> None:
    assert parse_val_split(" 0.25 ") == 0.25


def test_parse_model() -> None:
    assert parse_model(" improved ") == "improved"
    with pytest.raises(ConfigError) as excinfo:
        parse_model("resnet")
    message = one_line(excinfo)
    assert "'resnet'" in message
    assert "seed, seed-deep, improved" in message


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": MAX_EPOCHS + 1}, "epochs"),
        ({"model": "nope"}, "unknown model"),
        ({"batch_size": 0}, "batch size"),
        ({"batch_size": 5000}, "batch size"),
        ({"val_split": 0.0}, "validation split"),
        ({"val_split": 1.0}, "validation split"),
        ({"limit_train": 9}, "--limit-train"),
        ({"limit_test": 3}, "--limit-test"),
    ],
)
def test_train_config_validation(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        TrainConfig(**changes)  # type: ignore[arg-type]
    assert fragment in one_line(excinfo)


def test_with_changes_validates_too() -> None:
    with pytest.raises(ConfigError):
        TrainConfig().with_changes(epochs=0)
    assert TrainConfig().with_changes(epochs=3).epochs == 3


def test_to_dict_from_dict_round_trip() -> None:
    config = TrainConfig(
        epochs=7,
        model="seed-deep",
        batch_size=64,
        val_split=0.1,
        seed=42,
        limit_train=5000,
        limit_test=1000,
        data_dir="/data/fmnist",
    )
    data = config.to_dict()
    assert data == {
        "epochs": 7,
        "model": "seed-deep",
        "batch_size": 64,
        "val_split": 0.1,
        "seed": 42,
        "limit_train": 5000,
        "limit_test": 1000,
        "data_dir": "/data/fmnist",
        "patience": None,
        "augment": False,
        "backend": config.backend,
        "hyperparameters": None,
        "model_file": None,
        "model_sha256": None,
        "study": None,
        "trial": None,
    }
    assert TrainConfig.from_dict(data) == config
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()
    tuned = config.with_training(optimizer="sgd", learning_rate=0.05)
    assert tuned.to_dict()["hyperparameters"] == {
        "optimizer": "sgd",
        "learning_rate": 0.05,
        "weight_decay": 0.0,
        "momentum": 0.9,
        "label_smoothing": 0.0,
        "schedule": "constant",
        "warmup_epochs": 0.0,
    }
    assert TrainConfig.from_dict(tuned.to_dict()) == tuned


def test_from_dict_ignores_unknown_keys_and_validates() -> None:
    assert TrainConfig.from_dict({"epochs": 2, "written_by": "a newer version"}).epochs == 2
    with pytest.raises(ConfigError):
        TrainConfig.from_dict({"epochs": 0})
