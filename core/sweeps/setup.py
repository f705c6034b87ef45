"""What a sweep worker needs before it joins its study, checked: the space file read, the
storage named, the study's name and its number of trials, the data settings its trials share.

Both front ends start workers from here, ``fmnist-tui sweep`` and the app's engine thread, so
they refuse the same mistakes with the same line. Reading the space file makes its
distributions, which imports Optuna; nothing else here does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config import ConfigError, TrainConfig

from .errors import SweepError
from .space import SweepSpace, load_space
from .storage import StorageSpec, parse_storage


@dataclass(frozen=True, slots=True, eq=False)
class SweepSetup:
    space: SweepSpace
    storage: StorageSpec
    study: str
    target: int
    """How many trials the study is to have in all, between every worker."""
    base: TrainConfig
    """The data settings every trial starts from."""
    first: TrainConfig
    """A trial's settings before its parameters: what to load the data for before the
    study is joined, so that bad data starts no trial."""


def set_up_sweep(
    space_path: Path,
    *,
    runs_root: Path,
    trials: int | None = None,
    storage: str | None = None,
    study: str | None = None,
    data_dir: str | None = None,
    limit_train: int | None = None,
    limit_test: int | None = None,
    how_to_count: str = "--trials N",
) -> SweepSetup:
    """Check what a worker is asked to do, before it does any of it.

    Args:
        space_path: the space file (TOML).
        runs_root: the runs folder (its journal is the default storage).
        trials: how many trials in all; ``None``: the space file's, or its grid's size.
        storage: as ``--storage`` takes it; ``None``: the runs folder's journal.
        study: the study's name; ``None``: the space file's name.
        how_to_count: how the user gives a number of trials, for the message that asks.

    Raises:
        SweepError: one line for the user (a bad space file names its line).
    """
    space = load_space(space_path)
    spec = parse_storage(storage, runs_root)
    name = study if study is not None else space_path.stem
    if not name.strip() or not name.isprintable():
        raise SweepError(f"invalid study name {name!r}")
    target = trials if trials is not None else space.default_trials()
    if target is None:
        raise SweepError(f"how many trials? give {how_to_count}, or trials = N in {space_path}")
    base = TrainConfig(data_dir=data_dir, limit_train=limit_train, limit_test=limit_test)
    try:
        first = space.config_for({}, base)
    except ConfigError as error:
        raise SweepError(str(error)) from None
    return SweepSetup(space, spec, name, target, base, first)
