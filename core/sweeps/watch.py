"""A read-only view of the sweeps in a storage, for a front end to poll (the app's Sweep tab).

:func:`list_studies` and :func:`study_snapshot` return plain frozen dataclasses, and write
nothing: a journal is read without its lock (and a missing one is not created), a database
with a connection that only selects. The storage is opened once per process and kept, so a
poll costs what reading the changes costs (on the journal, a ``stat`` and the new lines; on
PostgreSQL a few milliseconds, as finished trials are cached), and parameter importances are
computed again only when a trial has completed since. Optuna is imported on the first call.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import StorageError, SweepError
from .storage import StorageSpec, describe_storage_error, open_reader, parse_storage

if TYPE_CHECKING:
    import optuna
    from optuna.storages import BaseStorage
    from optuna.trial import FrozenTrial

MIN_TRIALS_FOR_IMPORTANCE = 10
"""Below this many complete trials importances are noise (PED-ANOVA gives numbers, or equal
shares, from two or three)."""


@dataclass(frozen=True, slots=True)
class StudyListing:
    name: str
    trials: int
    direction: str
    """``maximize`` or ``minimize``."""
    best_value: float | None


@dataclass(frozen=True, slots=True)
class TrialView:
    number: int
    state: str
    """``running``, ``complete``, ``pruned``, ``failed`` or ``waiting`` (a queued retry)."""
    params: Mapping[str, Any]
    value: float | None
    """Its objective: the trial's value when complete, else the best reported so far."""
    epochs_done: int
    duration_s: float | None
    run_dir: str | None
    retry_of: int | None = None


@dataclass(frozen=True, slots=True)
class StudySnapshot:
    name: str
    direction: str
    objective: str | None
    """``val_accuracy`` or ``val_loss``, as the sweep recorded it."""
    trials: tuple[TrialView, ...]
    best: TrialView | None
    objective_over_trials: tuple[tuple[int, float, float], ...]
    """``(trial number, its value, the best so far)`` for each complete trial, in order."""
    importances: tuple[tuple[str, float], ...] | None
    """Each parameter's share of the objective's variation (PED-ANOVA), largest first;
    ``None`` below :data:`MIN_TRIALS_FOR_IMPORTANCE` complete trials."""
    log_params: frozenset[str] = frozenset()
    """The parameters sampled on a log scale (a plot against one has a log axis)."""


_storages: dict[str, BaseStorage] = {}
_importances: dict[tuple[str, str, int], tuple[tuple[str, float], ...]] = {}
_lock = threading.Lock()


def _spec(storage: str | Path, runs_dir: Path | None) -> StorageSpec:
    if isinstance(storage, Path):
        return StorageSpec("journal", str(storage))
    return parse_storage(storage, runs_dir or Path.cwd())


def _reader(spec: StorageSpec) -> BaseStorage | None:
    """The storage, opened once per process; ``None`` for a journal not yet written or a
    database no sweep has written to (tried again at the next call)."""
    with _lock:
        found = _storages.get(spec.target)
        if found is None:
            try:
                found = open_reader(spec)
            except FileNotFoundError:
                return None
            _storages[spec.target] = found
        return found


def forget(storage: str | Path | None = None) -> None:
    """Drop the opened storages (all, or one), e.g. after a journal was deleted."""
    with _lock:
        if storage is None:
            _storages.clear()
        else:
            _storages.pop(_spec(storage, None).target, None)


def list_studies(storage: str | Path, *, runs_dir: Path | None = None) -> list[StudyListing]:
    """The studies in ``storage`` (a journal path, or a URL as ``--storage`` takes it).

    Raises:
        StorageError: it cannot be read or reached (one line, password hidden).
    """
    import optuna

    spec = _spec(storage, runs_dir)
    reader = _reader(spec)
    if reader is None:
        return []
    try:
        summaries = optuna.get_all_study_summaries(reader, include_best_trial=True)
    except Exception as error:  # noqa: BLE001 - a database or a damaged file: one line
        raise StorageError(describe_storage_error(error, spec, "cannot read")) from None
    return [
        StudyListing(
            s.study_name,
            s.n_trials,
            s.direction.name.lower(),
            None if s.best_trial is None else s.best_trial.value,
        )
        for s in summaries
    ]


def study_snapshot(
    storage: str | Path, name: str, *, runs_dir: Path | None = None
) -> StudySnapshot:
    """Everything about one study a view shows: its trials, best, curve and importances.

    Raises:
        SweepError: no study of that name.
        StorageError: the storage cannot be read or reached (one line, password hidden).
    """
    import optuna

    spec = _spec(storage, runs_dir)
    reader = _reader(spec)
    if reader is None:
        raise SweepError(f"no study {name!r} in {spec.shown}")
    try:
        study = optuna.load_study(study_name=name, storage=reader)
        trials = study.get_trials(deepcopy=False)
        direction = study.direction.name.lower()
        objective = study.user_attrs.get("objective")
    except KeyError:
        raise SweepError(f"no study {name!r} in {spec.shown}") from None
    except Exception as error:  # noqa: BLE001 - a database or a damaged file: one line
        raise StorageError(describe_storage_error(error, spec, "cannot read")) from None
    maximize = direction == "maximize"
    views = tuple(_view(t, maximize) for t in trials)
    complete = [v for v in views if v.state == "complete" and v.value is not None]
    best: TrialView | None = None
    best_value = math.nan
    curve: list[tuple[int, float, float]] = []
    for view in sorted(complete, key=lambda v: v.number):
        value = float(view.value)  # type: ignore[arg-type]  # complete ones have one
        if best is None or (value > best_value if maximize else value < best_value):
            best, best_value = view, value
        curve.append((view.number, value, best_value))
    importances = None
    if len(complete) >= MIN_TRIALS_FOR_IMPORTANCE:
        importances = _importance(spec, study, len(complete))
    return StudySnapshot(
        name=name,
        direction=direction,
        objective=objective if isinstance(objective, str) else None,
        trials=views,
        best=best,
        objective_over_trials=tuple(curve),
        importances=importances,
        log_params=frozenset(
            name
            for trial in trials
            for name, distribution in trial.distributions.items()
            if getattr(distribution, "log", False)
        ),
    )


def _view(trial: FrozenTrial, maximize: bool) -> TrialView:
    state = {"FAIL": "failed"}.get(trial.state.name, trial.state.name.lower())
    value = trial.value if trial.state.name == "COMPLETE" else None
    if value is None:
        reported = [v for v in trial.intermediate_values.values() if math.isfinite(v)]
        if reported:
            value = max(reported) if maximize else min(reported)
    start, end = trial.datetime_start, trial.datetime_complete
    duration = None
    if start is not None:
        duration = ((end or datetime.now()) - start).total_seconds()
    failed_trial = trial.system_attrs.get("failed_trial")
    run_dir = trial.user_attrs.get("run_dir")
    return TrialView(
        number=trial.number,
        state=state,
        params=dict(trial.params),
        value=value,
        epochs_done=len(trial.intermediate_values),
        duration_s=duration,
        run_dir=run_dir if isinstance(run_dir, str) else None,
        retry_of=failed_trial if isinstance(failed_trial, int) else None,
    )


def _importance(
    spec: StorageSpec, study: optuna.Study, complete: int
) -> tuple[tuple[str, float], ...] | None:
    key = (spec.target, study.study_name, complete)
    with _lock:
        if key in _importances:
            return _importances[key]
    from optuna.importance import get_param_importances

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "too few trials", "quantiles select the same"
            found = get_param_importances(study)
    except (ValueError, RuntimeError):
        return None
    result = tuple((name, float(share)) for name, share in found.items())
    with _lock:
        _importances[key] = result
    return result
