"""Training configuration and the validation shared by the CLI and the TUI dialog."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 4096
MODEL_PRESETS = ("seed", "seed-deep", "improved")
DEFAULT_EPOCHS = 10


class ConfigError(ValueError):
    """A user-supplied setting is invalid; ``str(error)`` is one line for the user."""


def parse_int(text: str, *, name: str, minimum: int, maximum: int | None = None) -> int:
    """Parse a whole number typed by a user, with a message fit to show them.

    Accepts surrounding white space and an optional ``+`` sign; rejects anything else
    (``10.5``, ``1e3``, ``abc``, the empty string).
    """
    stripped = text.strip()
    if not stripped:
        raise ConfigError(f"{name} is required")
    digits = stripped[1:] if stripped[0] in "+-" else stripped
    if not digits.isascii() or not digits.isdigit():
        raise ConfigError(f"{name} must be a whole number, got {text.strip()!r}")
    value = int(stripped)
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def parse_epochs(text: str) -> int:
    return parse_int(text, name="epochs", minimum=1, maximum=MAX_EPOCHS)


def parse_batch_size(text: str) -> int:
    return parse_int(text, name="batch size", minimum=1, maximum=MAX_BATCH_SIZE)


def parse_val_split(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"validation split must be a number, got {text.strip()!r}") from None
    if not 0.0 < value < 1.0:
        raise ConfigError(f"validation split must be between 0 and 1, got {value}")
    return value


def parse_model(text: str) -> str:
    name = text.strip()
    if name not in MODEL_PRESETS:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODEL_PRESETS)}")
    return name


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything that defines a training run; saved as ``config.json``."""

    epochs: int = DEFAULT_EPOCHS
    model: str = "seed"
    batch_size: int = 32
    val_split: float = 0.2
    seed: int = 0
    limit_train: int | None = None
    limit_test: int | None = None
    data_dir: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise ConfigError(f"epochs must be between 1 and {MAX_EPOCHS}, got {self.epochs}")
        parse_model(self.model)
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ConfigError(
                f"batch size must be between 1 and {MAX_BATCH_SIZE}, got {self.batch_size}"
            )
        if not 0.0 < self.val_split < 1.0:
            raise ConfigError(f"validation split must be between 0 and 1, got {self.val_split}")
        for name in ("limit_train", "limit_test"):
            limit = getattr(self, name)
            if limit is not None and limit < 10:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 10, got {limit}")

    def with_changes(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})
