"""What a run was trained with, as short text, and how two runs' settings differ.

The Runs tab, ``fmnist-tui runs`` and the charts' overlays all say a run's settings the same
way: the few that people vary (model, epochs, batch size, optimizer, learning rate, weight
decay, label smoothing, schedule, augmentation, early stopping), each as a short value.

The listing of runs side by side is described here once for both front ends: its columns
(:data:`LISTING_COLUMNS`, each with its text and what it sorts by), which settings every run
shares (folded into one line above the listing instead of a column each), the order, and a
run as a JSON record.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.config import TrainConfig

if TYPE_CHECKING:
    from core.runs.catalogue import RunListing

SETTINGS: tuple[tuple[str, str], ...] = (
    ("model", "model"),
    ("epochs", "epochs"),
    ("batch", "batch size"),
    ("optimizer", "optimizer"),
    ("lr", "learning rate"),
    ("wd", "weight decay"),
    ("smoothing", "label smoothing"),
    ("schedule", "schedule"),
    ("augment", "augment"),
    ("early stop", "early stop"),
)
"""(short name, what it means) of each setting, in the order listings show them."""


def _number(value: float) -> str:
    return f"{value:g}"


def run_settings(config: TrainConfig, planned_epochs: int | None = None) -> dict[str, str]:
    """Each setting of :data:`SETTINGS` as a short value (``lr``: ``0.003``)."""
    training = config.training
    schedule: str = training.schedule
    if training.cosine and training.warmup_epochs:
        schedule = f"cosine, {_number(training.warmup_epochs)} warm-up"
    return {
        "model": config.model,
        "epochs": str(planned_epochs if planned_epochs is not None else config.epochs),
        "batch": str(config.batch_size),
        "optimizer": training.optimizer,
        "lr": _number(training.learning_rate),
        "wd": _number(training.weight_decay) if training.weight_decay else "-",
        "smoothing": _number(training.label_smoothing) if training.label_smoothing else "-",
        "schedule": schedule,
        "augment": "flips" if config.flips else "-",
        "early stop": "-" if config.patience is None else str(config.patience),
    }


def differences(config: TrainConfig, other: TrainConfig) -> list[tuple[str, str, str]]:
    """The settings in which ``config`` differs from ``other``: (short name, its value,
    the other's). The planned epochs count only when nothing else differs."""
    mine, theirs = run_settings(config), run_settings(other)
    found = [
        (name, mine[name], theirs[name])
        for name, _ in SETTINGS
        if name != "epochs" and mine[name] != theirs[name]
    ]
    if not found and mine["epochs"] != theirs["epochs"]:
        found.append(("epochs", mine["epochs"], theirs["epochs"]))
    return found


def describe_differences(config: TrainConfig, other: TrainConfig, *, limit: int = 3) -> str:
    """``lr 0.01, optimizer sgd`` (``config``'s values where it differs from ``other``), or
    ``same settings``."""
    found = differences(config, other)
    if not found:
        return "same settings"
    shown = [f"{name} {value}" for name, value, _ in found[:limit]]
    if len(found) > limit:
        shown.append(f"+{len(found) - limit} more")
    return ", ".join(shown)


# --- Listings of runs side by side ---------------------------------------------------------

SettingValue = str | int | float | bool | None
SortKey = str | float


def setting_values(config: TrainConfig) -> dict[str, SettingValue]:
    """Every setting with its own type (``learning_rate``: ``0.003``), as ``runs --json``
    gives them: the model's own training settings where the run used those. ``augment`` is
    the option as asked; ``flips`` whether it trained on mirrored images (asked, or the
    preset's own)."""
    training = config.training
    return {
        "model": config.model,
        "model_file": config.model_file,
        "batch_size": config.batch_size,
        "optimizer": training.optimizer,
        "learning_rate": training.learning_rate,
        "weight_decay": training.weight_decay,
        "momentum": training.momentum,
        "label_smoothing": training.label_smoothing,
        "schedule": training.schedule,
        "warmup_epochs": training.warmup_epochs,
        "augment": config.augment,
        "flips": config.flips,
        "early_stop": config.patience,
        "val_split": config.val_split,
        "seed": config.seed,
        "limit_train": config.limit_train,
        "limit_test": config.limit_test,
        "backend": config.backend,
    }


def duration_text(seconds: float | None) -> str:
    """``42s``, ``4m05s``, ``1h02m``; ``-`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    total = max(0, round(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _accuracy_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _best_text(run: RunListing) -> str:
    if run.best_val_accuracy is None:
        return "-"
    epoch = f" @{run.best_val_epoch}" if run.best_val_epoch is not None else ""
    return f"{run.best_val_accuracy:.4f}{epoch}"


@dataclass(frozen=True, slots=True)
class ListingColumn:
    """A column of the runs listing (the Runs tab, ``fmnist-tui runs``)."""

    name: str
    """What ``--sort`` takes (``best-val``), and the column's key in the tab."""
    header: str
    meaning: str
    text: Callable[[RunListing], str]
    """The cell, as plain text (``-``: unknown or off)."""
    key: Callable[[RunListing], SortKey | None]
    """What the column sorts by; ``None`` (unknown) sorts last either way."""
    setting: str | None = None
    """The :data:`SETTINGS` name it shows: such a column is folded into one line above the
    listing when every run has the same value."""
    numeric: bool = False
    """Right-aligned."""
    best_first: bool = False
    """Sorted from the highest value down unless reversed (dates, accuracies)."""


def _setting_column(
    name: str,
    header: str,
    setting: str,
    key: Callable[[TrainConfig], SortKey | None],
    *,
    numeric: bool = False,
) -> ListingColumn:
    meaning = dict(SETTINGS)[setting]

    def text(run: RunListing) -> str:
        return "?" if run.config is None else run_settings(run.config)[setting]

    def sort_key(run: RunListing) -> SortKey | None:
        return None if run.config is None else key(run.config)

    return ListingColumn(name, header, meaning, text, sort_key, setting=setting, numeric=numeric)


def _started_key(run: RunListing) -> SortKey | None:
    return None if run.started is None else run.started.timestamp()


LISTING_COLUMNS: tuple[ListingColumn, ...] = (
    ListingColumn(
        "started",
        "Started",
        "when the run started",
        lambda run: f"{run.started:%Y-%m-%d %H:%M:%S}" if run.started else "?",
        _started_key,
        best_first=True,
    ),
    _setting_column("model", "Model", "model", lambda c: c.model),
    _setting_column("batch", "Batch", "batch", lambda c: c.batch_size, numeric=True),
    _setting_column("optimizer", "Opt", "optimizer", lambda c: c.training.optimizer),
    _setting_column("lr", "LR", "lr", lambda c: c.training.learning_rate, numeric=True),
    _setting_column("wd", "WD", "wd", lambda c: c.training.weight_decay, numeric=True),
    _setting_column(
        "smoothing", "Smooth", "smoothing", lambda c: c.training.label_smoothing, numeric=True
    ),
    _setting_column("schedule", "Schedule", "schedule", lambda c: run_settings(c)["schedule"]),
    _setting_column("augment", "Augment", "augment", lambda c: float(c.flips)),
    _setting_column(
        "early-stop",
        "Early stop",
        "early stop",
        lambda c: None if c.patience is None else float(c.patience),
        numeric=True,
    ),
    ListingColumn(
        "best-val",
        "Best val",
        "best validation accuracy @ its epoch",
        _best_text,
        lambda run: run.best_val_accuracy,
        best_first=True,
    ),
    ListingColumn(
        "test",
        "Test acc",
        "test accuracy",
        lambda run: _accuracy_text(run.test_accuracy),
        lambda run: run.test_accuracy,
        numeric=True,
        best_first=True,
    ),
    ListingColumn(
        "epochs",
        "Epochs",
        "epochs trained / planned",
        lambda run: run.epochs_text,
        lambda run: float(run.epochs),
        numeric=True,
    ),
    ListingColumn("status", "Status", "how it ended", lambda run: run.status, lambda r: r.status),
    ListingColumn(
        "time",
        "Time",
        "time spent training its epochs",
        lambda run: duration_text(run.duration),
        lambda run: run.duration,
        numeric=True,
    ),
    ListingColumn(
        "folder", "Folder", "the run folder", lambda run: run.path.name, lambda r: r.path.name
    ),
)
"""Every column, in the order listings show them."""

COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in LISTING_COLUMNS)


def column_named(name: str) -> ListingColumn:
    """The column ``name`` (``best-val``, ``best_val`` or ``best val``).

    Raises:
        KeyError: no such column; the message names them all.
    """
    wanted = name.strip().lower().replace("_", "-").replace(" ", "-")
    for column in LISTING_COLUMNS:
        if column.name == wanted:
            return column
    raise KeyError(f"unknown column {name!r}; choose one of {', '.join(COLUMN_NAMES)}")


def shared_settings(listings: Sequence[RunListing]) -> list[tuple[ListingColumn, str]]:
    """The setting columns with one value for every run whose settings are known, and that
    value; runs with an unreadable config are left out of the count."""
    shared: list[tuple[ListingColumn, str]] = []
    for column in LISTING_COLUMNS:
        if column.setting is None:
            continue
        values = {column.text(run) for run in listings if run.config is not None}
        if len(values) == 1:
            shared.append((column, values.pop()))
    return shared


def shown_columns(listings: Sequence[RunListing]) -> list[ListingColumn]:
    """The columns worth a place: every column but the settings that are the same for every
    run (:func:`shared_settings`) or unknown for all."""
    shown: list[ListingColumn] = []
    for column in LISTING_COLUMNS:
        if column.setting is not None:
            values = {column.text(run) for run in listings if run.config is not None}
            if len(values) <= 1:
                continue
        shown.append(column)
    return shown


def shared_text(shared: Sequence[tuple[ListingColumn, str]]) -> str:
    """``seed, batch 32, adam, lr 0.001, constant; no wd, augment or early stop`` for the
    settings that every run has in common: those in use, then those off."""
    used: list[str] = []
    off: list[str] = []
    for column, value in shared:
        name = column.setting or column.name
        if value == "-":
            off.append(name)
        elif name in ("model", "optimizer", "schedule"):
            used.append(value)
        else:
            used.append(f"{name} {value}")
    text = ", ".join(used)
    if off:
        listed = off[0] if len(off) == 1 else f"{', '.join(off[:-1])} or {off[-1]}"
        text = f"{text}; no {listed}" if text else f"no {listed}"
    return text


def sort_listings(
    listings: Sequence[RunListing], column: ListingColumn, *, reverse: bool = False
) -> list[RunListing]:
    """``listings`` sorted by ``column``: the highest first for a ``best_first`` column, else
    the lowest, the other way round when ``reverse``; unknown values last either way, and
    equal ones newest first."""
    newest_first = sorted(listings, key=lambda run: _started_key(run) or 0.0, reverse=True)
    known = [run for run in newest_first if column.key(run) is not None]
    unknown = [run for run in newest_first if column.key(run) is None]
    descending = column.best_first != reverse
    known.sort(key=lambda run: _key(column, run), reverse=descending)
    return known + unknown


def _key(column: ListingColumn, run: RunListing) -> SortKey:
    value = column.key(run)
    assert value is not None
    return value


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def listing_record(run: RunListing) -> dict[str, Any]:
    """One run as ``runs --json`` gives it: plain JSON values, ``null`` for what is unknown
    (``settings`` when its config cannot be read, ``problem`` unless it is damaged)."""
    return {
        "path": str(run.path),
        "name": run.path.name,
        "started": None if run.started is None else run.started.isoformat(),
        "status": run.status,
        "problem": run.problem,
        "epochs": run.epochs,
        "planned_epochs": run.planned_epochs or None,
        "duration_seconds": _finite(run.duration),
        "best_val_accuracy": _finite(run.best_val_accuracy),
        "best_val_epoch": run.best_val_epoch,
        "test_accuracy": _finite(run.test_accuracy),
        "resumable": run.resumable,
        "checkpoint_epoch": run.checkpoint_epoch,
        "unevaluated": run.unevaluated,
        "settings": None if run.config is None else setting_values(run.config),
    }
