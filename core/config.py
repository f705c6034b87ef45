"""Training configuration and the validation shared by the CLI and the TUI dialog."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from core.backend import BACKENDS, Backend, default_backend
from core.hyperparameters import OPTIMIZERS, SCHEDULES, Hyperparameters
from core.model_files import ModelFileError, ModelSource, looks_like_a_file, read_model_file
from core.presets import DEFAULT_BATCH_SIZE, DEFAULT_MODEL, PRESET_NAMES, get_preset

MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 4096
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


_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
"""ASCII digits only: ``\\d`` would take every script's digits, and ``float()`` reads them."""


def parse_float(
    text: str,
    *,
    name: str,
    minimum: float,
    maximum: float,
    above_minimum: bool = False,
    below_maximum: bool = False,
) -> float:
    """Parse a decimal number typed by a user (``3e-3``, ``0.001``, ``.5``), in range.

    Rejects anything else with a message fit to show them: text, the empty string, ``nan``,
    ``inf``, hexadecimal, digits of other scripts, numbers out of range. White space around
    the number is dropped as :func:`parse_int` drops it (``str.strip``: pasted no-break spaces
    and control blanks too).

    Args:
        above_minimum: the value must be greater than ``minimum``, not equal to it.
        below_maximum: the value must be less than ``maximum``, not equal to it.
    """
    stripped = text.strip()
    if not stripped:
        raise ConfigError(f"{name} is required")
    if len(stripped) > 40 or not _DECIMAL.fullmatch(stripped):
        raise ConfigError(f"{name} must be a number such as 0.001 or 3e-3, got {shown(text)}")
    value = float(stripped)
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be at most {maximum:g}, got {shown(text)}")
    check_float(value, name=name, minimum=minimum, maximum=maximum,
                above_minimum=above_minimum, below_maximum=below_maximum)  # fmt: skip
    return value


def check_float(
    value: float,
    *,
    name: str,
    minimum: float,
    maximum: float,
    above_minimum: bool = False,
    below_maximum: bool = False,
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite number in range."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if value < minimum or (above_minimum and value == minimum):
        word = "greater than" if above_minimum else "at least"
        raise ConfigError(f"{name} must be {word} {minimum:g}, got {value:g}")
    if value > maximum or (below_maximum and value == maximum):
        word = "less than" if below_maximum else "at most"
        raise ConfigError(f"{name} must be {word} {maximum:g}, got {value:g}")


MAX_LEARNING_RATE = 1000.0
"""Far above any rate that trains (SGD at 1000 diverges within a few batches, which is how
the tests reach the divergence guard); a larger one is a typo such as ``1e308``."""


def parse_learning_rate(text: str) -> float:
    return parse_float(
        text, name="learning rate", minimum=0.0, maximum=MAX_LEARNING_RATE, above_minimum=True
    )


def parse_weight_decay(text: str) -> float:
    """A weight decay as typed: greater than 0 (choose Adam for none), at most 1."""
    return parse_float(text, name="weight decay", minimum=0.0, maximum=1.0, above_minimum=True)


def parse_momentum(text: str) -> float:
    return parse_float(text, name="momentum", minimum=0.0, maximum=1.0, below_maximum=True)


def parse_label_smoothing(text: str) -> float:
    return parse_float(text, name="label smoothing", minimum=0.0, maximum=1.0, below_maximum=True)


def parse_warmup_epochs(text: str) -> float:
    return parse_float(text, name="warm-up epochs", minimum=0.0, maximum=float(MAX_EPOCHS))


def parse_optimizer(text: str) -> str:
    name = text.strip().lower()
    if name not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {shown(text)}; choose one of {', '.join(OPTIMIZERS)}")
    return name


def parse_schedule(text: str) -> str:
    name = text.strip().lower()
    if name not in SCHEDULES:
        raise ConfigError(f"unknown schedule {shown(text)}; choose one of {', '.join(SCHEDULES)}")
    return name


def check_hyperparameters(training: Hyperparameters) -> None:
    """Raise :class:`ConfigError` naming the first setting out of range."""
    if training.optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {training.optimizer!r}")
    if training.schedule not in SCHEDULES:
        raise ConfigError(f"unknown schedule {training.schedule!r}")
    check_float(training.learning_rate, name="learning rate", minimum=0.0,
                maximum=MAX_LEARNING_RATE, above_minimum=True)  # fmt: skip
    check_float(training.weight_decay, name="weight decay", minimum=0.0, maximum=1.0)
    check_float(training.momentum, name="momentum", minimum=0.0, maximum=1.0, below_maximum=True)
    check_float(training.label_smoothing, name="label smoothing", minimum=0.0, maximum=1.0,
                below_maximum=True)  # fmt: skip
    check_float(training.warmup_epochs, name="warm-up epochs", minimum=0.0,
                maximum=float(MAX_EPOCHS))  # fmt: skip


def default_batch_size(model: str) -> int:
    """The batch size a new run of ``model`` (a preset, or a model file) uses unless told
    otherwise: the one its learning rate was tuned for (a file's ``BATCH_SIZE``)."""
    if looks_like_a_file(model):
        try:
            declared = read_model_file(model).batch_size
        except ModelFileError:
            declared = None
        return declared or DEFAULT_BATCH_SIZE
    return get_preset(model).batch_size


def parse_backend(text: str) -> Backend:
    """A backend name as typed (``--backend``), any case."""
    name = text.strip().lower()
    for backend in BACKENDS:
        if name == backend:
            return backend
    raise ConfigError(f"unknown backend {shown(text)}; choose one of {', '.join(BACKENDS)}")


def parse_model(text: str) -> str:
    """A preset's name, or the path of a model file (checked, not run)."""
    name = text.strip()
    if name in PRESET_NAMES:
        return name
    if looks_like_a_file(name):
        try:
            read_model_file(name)
        except ModelFileError as error:
            raise ConfigError(str(error)) from None
        return name
    raise ConfigError(
        f"unknown model {shown(name)}; choose one of {', '.join(PRESET_NAMES)}, "
        "or give a model file (PATH.py)"
    )


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything that defines a training run; saved as ``config.json``."""

    epochs: int = DEFAULT_EPOCHS
    """How many epochs the run is planned to have in all (training further raises it)."""
    model: str = DEFAULT_MODEL
    """A preset's name, or a model file's name (``model_file`` then says where it was)."""
    batch_size: int = DEFAULT_BATCH_SIZE
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
    hyperparameters: Hyperparameters | None = None
    """The optimizer, schedule and loss settings; ``None``: the model's own (its preset's;
    Adam at 0.001 for a model file). A new run saves the ones it used."""
    model_file: str | None = None
    """The model file the model was built from, as it was given (its run folder keeps a
    copy, which resuming builds from)."""
    model_sha256: str | None = None
    """The SHA-256 of the model file's text when the run started."""
    study: str | None = None
    """The sweep (Optuna study) the run is a trial of, when it is one."""
    trial: int | None = None
    """Its trial number in that study."""

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise ConfigError(f"epochs must be between 1 and {MAX_EPOCHS}, got {self.epochs}")
        if self.model_file is None:
            if self.model not in PRESET_NAMES:
                raise ConfigError(
                    f"unknown model {shown(self.model)}; choose one of {', '.join(PRESET_NAMES)}"
                )
        elif not (isinstance(self.model_sha256, str) and len(self.model_sha256) == 64):
            raise ConfigError(f"a run of {shown(self.model)} must record its file's SHA-256")
        if self.hyperparameters is not None:
            check_hyperparameters(self.hyperparameters)
        if (self.study is None) != (self.trial is None):
            raise ConfigError("a sweep's run names both its study and its trial number")
        if self.study is not None and not (
            isinstance(self.study, str)
            and self.study.isprintable()
            and type(self.trial) is int
            and self.trial >= 0
        ):
            raise ConfigError(f"invalid sweep trial {self.study!r} #{self.trial!r}")
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

    @property
    def is_preset(self) -> bool:
        return self.model_file is None

    @property
    def training(self) -> Hyperparameters:
        """The optimizer, schedule and loss settings the run trains with."""
        if self.hyperparameters is not None:
            return self.hyperparameters
        return get_preset(self.model).hyperparameters if self.is_preset else Hyperparameters()

    @property
    def flips(self) -> bool:
        """Whether the run trains on mirrored images too: asked for, or the preset's own."""
        return self.augment or (self.is_preset and get_preset(self.model).flips)

    def for_model(self, model: str) -> TrainConfig:
        """These settings for ``model`` (a preset's name or a model file's path, checked):
        its batch size and training settings are the model's own.

        Raises:
            ConfigError: no such preset, or the file cannot be used.
        """
        if not looks_like_a_file(model):
            parse_model(model)
            return self.with_changes(
                model=model,
                model_file=None,
                model_sha256=None,
                batch_size=get_preset(model).batch_size,
                hyperparameters=None,
            )
        source = self.model_source(model)
        return self.with_changes(
            model=source.name,
            model_file=str(source.path),
            model_sha256=source.sha256,
            batch_size=source.batch_size or DEFAULT_BATCH_SIZE,
            hyperparameters=None,
        )

    @staticmethod
    def model_source(path: str) -> ModelSource:
        try:
            return read_model_file(path)
        except ModelFileError as error:
            raise ConfigError(str(error)) from None

    def with_changes(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)

    def with_training(self, **changes: Any) -> TrainConfig:
        """These settings with some training settings changed (the rest the model's own)."""
        return replace(self, hyperparameters=replace(self.training, **changes))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        # Runs saved before the backend was a setting were all trained on TensorFlow.
        values.setdefault("backend", "tensorflow")
        training = values.get("hyperparameters")
        if training is not None:
            if not isinstance(training, dict):
                raise ConfigError(f"hyperparameters must be a mapping, got {training!r}")
            names = {f.name for f in fields(Hyperparameters)}
            values["hyperparameters"] = Hyperparameters(
                **{k: v for k, v in training.items() if k in names}
            )
        return cls(**values)
