"""Training configuration and the validation shared by the CLI and the TUI dialog."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from core.backend import BACKENDS, Backend, default_backend

MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 4096
MODEL_PRESETS = ("seed", "seed-deep", "improved")
DEFAULT_EPOCHS = 10


MAX_DIGITS = 18
"""Significant digits beyond which a whole number is too large for any setting (and past
4,300 of them Python's ``int()`` refuses to convert at all)."""
SHOWN_CHARS = 40
"""How much of a rejected input an error message quotes."""


class ConfigError(ValueError):
    """A user-supplied setting is invalid; ``str(error)`` is one line for the user."""


def shown(text: str) -> str:
    """``text`` stripped and quoted for an error message, cut short when long.

    The quote is ``repr``'s, so control characters and line breaks are escaped and the
    message stays on one line.
    """
    stripped = text.strip()
    quoted = repr(stripped)
    if len(quoted) <= SHOWN_CHARS:
        return quoted
    # An escape such as \U0001f600 takes ten characters: cut the text, not its quote.
    cut = stripped[:SHOWN_CHARS]
    while len(repr(cut)) > SHOWN_CHARS:
        cut = cut[:-1]
    return f"{cut!r}… ({len(stripped):,} characters)"


def parse_int(text: str, *, name: str, minimum: int, maximum: int | None = None) -> int:
    """Parse a whole number typed by a user, with a message fit to show them.

    Accepts surrounding white space and an optional ``+`` sign; rejects anything else
    (``10.5``, ``1e3``, ``abc``, the empty string).
    """
    stripped = text.strip()
    if not stripped:
        raise ConfigError(f"{name} is required")
    negative = stripped[0] == "-"
    digits = stripped[1:] if stripped[0] in "+-" else stripped
    if not digits.isascii() or not digits.isdigit():
        raise ConfigError(f"{name} must be a whole number, got {shown(text)}")
    significant = digits.lstrip("0")
    if len(significant) > MAX_DIGITS:
        if negative:
            raise ConfigError(f"{name} must be at least {minimum}, got {shown(text)}")
        if maximum is not None:
            raise ConfigError(f"{name} must be at most {maximum}, got {shown(text)}")
        raise ConfigError(f"{name} is too large, got {shown(text)}")
    value = -int(significant or "0") if negative else int(significant or "0")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def parse_epochs(text: str) -> int:
    return parse_int(text, name="epochs", minimum=1, maximum=MAX_EPOCHS)


def parse_batch_size(text: str) -> int:
    return parse_int(text, name="batch size", minimum=1, maximum=MAX_BATCH_SIZE)


def parse_patience(text: str) -> int:
    return parse_int(text, name="patience", minimum=1, maximum=MAX_EPOCHS)


def parse_optional_patience(text: str) -> int | None:
    """Early-stopping patience as typed in the dialog: blank (or "off") turns it off."""
    if text.strip().lower() in ("", "off"):
        return None
    return parse_patience(text)


def parse_val_split(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"validation split must be a number, got {shown(text)}") from None
    if not 0.0 < value < 1.0:
        raise ConfigError(f"validation split must be between 0 and 1, got {value}")
    return value


PRESET_BATCH_SIZES = {"improved": 128}
"""Presets tuned for another batch size than the default 32 (their learning rate assumes it)."""
DEFAULT_BATCH_SIZE = 32


def default_batch_size(model: str) -> int:
    """The batch size a new run of ``model`` uses unless told otherwise."""
    return PRESET_BATCH_SIZES.get(model, DEFAULT_BATCH_SIZE)


def parse_backend(text: str) -> Backend:
    """A backend name as typed (``--backend``), any case."""
    name = text.strip().lower()
    for backend in BACKENDS:
        if name == backend:
            return backend
    raise ConfigError(f"unknown backend {shown(text)}; choose one of {', '.join(BACKENDS)}")


def parse_model(text: str) -> str:
    name = text.strip()
    if name not in MODEL_PRESETS:
        raise ConfigError(f"unknown model {shown(name)}; choose one of {', '.join(MODEL_PRESETS)}")
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
    patience: int | None = None
    """Early stopping: stop after this many epochs without a lower validation loss, and
    keep the weights of the best epoch. ``None`` trains every epoch."""
    augment: bool = False
    """Train on randomly mirrored images too (the flips the improved preset always uses), to
    repeat the seed author's own experiment against overfitting on any preset."""
    backend: str = field(default_factory=default_backend)
    """The framework under Keras: ``tensorflow``, ``jax`` or ``torch`` (default:
    ``$KERAS_BACKEND``, else TensorFlow). A run can be resumed under another one."""

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
        if self.patience is not None and not 1 <= self.patience <= MAX_EPOCHS:
            raise ConfigError(
                f"early-stopping patience must be between 1 and {MAX_EPOCHS}, got {self.patience}"
            )
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"unknown backend {shown(self.backend)}; choose one of {', '.join(BACKENDS)}"
            )
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
        values = {key: value for key, value in data.items() if key in known}
        # Runs saved before the backend was a setting were all trained on TensorFlow.
        values.setdefault("backend", "tensorflow")
        return cls(**values)
