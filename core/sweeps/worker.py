"""One sweep worker: joins a study, runs trials until the study has its number, then waits
for the trials other workers are running (to retry any whose worker dies).

Each trial is an ordinary run through :class:`~core.session.RunSession`, tagged with the
study and trial number. Every epoch's validation value is reported to the trial, and when
the pruner says so the run is ended as pruned; the trial's value is the best validation value
over its epochs (never a test-set figure). A trial whose worker died (its liveness lock or
heartbeat went stale) is failed by the next worker that starts a trial and retried with the
same parameters; the retry trains the same run folder on from its newest checkpoint, and
reports the epochs it already has again first. Two workers never train one run folder: the
run folder's own lock refuses the second.

Counting and starting a trial happen under a lock shared by the study's workers (a file lock
on the journal, an advisory lock on PostgreSQL), so they finish the number of trials asked
between them, no more.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from core.config import ConfigError, TrainConfig
from core.data import DataError
from core.errors import RunError
from core.events import EpochEnded, EpochMetrics, TrainingEvent, TrainingStarted
from core.requests import NewRun, ResumeRun
from core.runs.catalogue import load_run
from core.session import RunPlan, RunSession

from .errors import StorageError, SweepError
from .events import (
    StudyOpened,
    SweepEventHandler,
    TrialEnded,
    TrialStarted,
    WaitingForTrials,
)
from .space import SweepSpace
from .storage import (
    JournalStartLock,
    PostgresStartLock,
    StorageSpec,
    database_error_in,
    describe_storage_error,
    first_line,
    open_storage,
    repair_journal,
)

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial

DB_RETRY_S = 10.0
"""How long a storage write may keep failing (a database restarting) before the worker
gives up on it and stops."""


@dataclass(frozen=True, slots=True)
class WorkerOutcome:
    """How a worker ended: ``done`` (the study has its trials), ``interrupted`` (Ctrl-C: the
    trial it was running is queued to be carried on) or ``failed`` (``message`` says why)."""

    status: Literal["done", "interrupted", "failed"]
    trials_run: int
    message: str | None = None
    summary: str | None = None
    """When done: the study's trials by state and its best one, one line."""


class _StartLock(Protocol):
    def acquire(self) -> None: ...
    def release(self) -> None: ...


class _TrialFailed(Exception):
    """The trial failed (a diverged loss, say); the worker goes on with the next one."""


class _Requeue(Exception):
    """The trial ends without a result but its run folder can go on (Ctrl-C, a full disk):
    it is queued again, and the worker stops."""

    def __init__(self, status: Literal["interrupted", "failed"], message: str | None) -> None:
        super().__init__(message or status)
        self.status = status
        self.message = message


class _StorageGone(Exception):
    """The storage stopped answering during a trial."""


class SweepWorker:
    """Runs one worker's share of a study in the calling thread."""

    def __init__(
        self,
        space: SweepSpace,
        storage: StorageSpec,
        study_name: str,
        *,
        session: RunSession,
        base: TrainConfig,
        target: int,
        on_event: SweepEventHandler,
        db_retry_s: float = DB_RETRY_S,
    ) -> None:
        """
        Args:
            space: the space file, checked.
            storage: where the study lives.
            study_name: the study's name (workers of one study give the same).
            session: trains the trials (its runs folder holds their run folders).
            base: the settings every trial starts from: data, limits, backend.
            target: how many trials the study is to have in all.
            on_event: hears the sweep's events and every trial's training events.
            db_retry_s: how long to retry a failing storage write before stopping.
        """
        self.space = space
        self.storage = storage
        self.study_name = study_name
        self.session = session
        self.base = base
        self.target = target
        self.on_event = on_event
        self.db_retry_s = db_retry_s
        self.stopping = False
        self.after_trial = False
        """Stop once the trial being run has ended (:meth:`stop_after_trial`)."""
        self._lock: _StartLock | None = None
        self._distributions: dict[str, BaseDistribution] = {}
        self._trials_run = 0
        self._storage_error: BaseException | None = None
        # The trial being run, while it is.
        self._trial: optuna.Trial | None = None
        self._reported: set[int] = set()
        self._run_dir: Path | None = None
        self._final_epoch = 0
        self._pruned_at: int | None = None
        self._waiting = False
        """Waiting for other workers' trials (no trial of its own is training)."""

    def request_stop(self) -> None:
        """Stop after the current batch (from any thread, say a signal handler): the run is
        evaluated and saved as ``train`` does, and its trial is queued to be carried on."""
        self.stopping = True
        self.session.signals.request_stop()

    def stop_after_trial(self) -> None:
        """Stop once the trial being run has ended, trained to its end (or pruned), and
        start no other; a worker waiting for other workers' trials stops at once. From any
        thread (the app's ``s``)."""
        self.after_trial = True
        if self._waiting:
            self.session.signals.request_stop()  # wakes the wait; no trial is training

    # --- The loop ---------------------------------------------------------------------------

    def run(self) -> WorkerOutcome:
        """Join the study and run trials until it has its number.

        Raises:
            StorageError: the storage cannot be opened or reached at the start.
            SweepError: the study exists with another objective, direction or space.
        """
        import optuna

        from .heartbeats import TolerantRDBStorage

        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._distributions = self.space.distributions()
        repaired = 0
        if self.storage.kind == "journal":
            try:
                repaired = repair_journal(self.storage.journal)
            except OSError as error:
                raise StorageError(
                    f"cannot repair the journal {self.storage.journal}: {first_line(error)}"
                ) from None
        storage = open_storage(self.storage, self.space.workers)
        study = self._open_study(storage)
        lock: _StartLock
        if isinstance(storage, TolerantRDBStorage):
            lock = PostgresStartLock(storage.engine, self.study_name)
        else:
            lock = JournalStartLock(self.storage)
        self.on_event(
            StudyOpened(
                self.study_name,
                self.storage.shown,
                len(study.get_trials(deepcopy=False)),
                self.target,
                study.direction.name.lower(),
                self.space.objective,
                repaired,
            )
        )
        waiting_for: tuple[int, ...] | None = None
        while not (self.stopping or self.after_trial or self.session.signals.aborted):
            try:
                decision, running = self._one_step(study, storage, lock)
            except _Requeue as stop:
                self._requeue(study)
                return WorkerOutcome(stop.status, self._trials_run, stop.message)
            except Exception as error:
                gone = self._storage_error or database_error_in(error)
                if gone is None and not isinstance(error, OSError):
                    raise
                message = describe_storage_error(
                    gone or error, self.storage, "the study's storage stopped answering:"
                )
                return WorkerOutcome("failed", self._trials_run, self._with_kept(message))
            if decision == "done":
                return WorkerOutcome("done", self._trials_run, summary=self._summary(study))
            if decision == "wait":
                if running != waiting_for:
                    self.on_event(WaitingForTrials(running))
                    waiting_for = running
                self._waiting = True
                if not self.after_trial:
                    self.session.signals.stop.wait(self._poll_s)
                self._waiting = False
                if self.session.signals.stop.is_set() and not self.stopping:
                    self.session.signals.stop.clear()
        return WorkerOutcome("interrupted", self._trials_run)

    @property
    def _poll_s(self) -> float:
        if self.storage.kind == "journal":
            return 1.0
        return float(max(1, min(5, self.space.workers.heartbeat_interval)))

    def _one_step(
        self, study: optuna.Study, storage: object, lock: _StartLock
    ) -> tuple[str, tuple[int, ...]]:
        """Under the start lock: fail the stale trials, decide, and run a trial if there is
        room (the objective lets go of the lock once its trial is made)."""
        from optuna.storages import fail_stale_trials

        from .heartbeats import release_trials

        lock.acquire()
        try:
            fail_stale_trials(study)
            decision, running = self._next(study)
            if decision == "run":
                self._lock = lock
                try:
                    study.optimize(
                        self._objective, n_trials=1, catch=(_TrialFailed,), gc_after_trial=False
                    )
                finally:
                    self._lock = None
                    release_trials(storage)
        finally:
            lock.release()
        return decision, running

    def _next(self, study: optuna.Study) -> tuple[str, tuple[int, ...]]:
        """``run`` (a retry is queued, or there is room for a trial), ``wait`` (others are
        running the last ones) or ``done``."""
        from optuna.trial import TrialState

        trials = study.get_trials(deepcopy=False)
        if any(t.state == TrialState.WAITING for t in trials):
            return "run", ()
        running = tuple(t.number for t in trials if t.state == TrialState.RUNNING)
        # A retry stands in for the trial it retries: the study has one trial for both.
        attempts = sum(1 for t in trials if "failed_trial" not in t.system_attrs)
        room = attempts < self.target
        if self.space.is_grid:
            visited = {t.system_attrs.get("grid_id") for t in trials} - {None}
            room = room and len(visited) < self.space.grid_size
        if room:
            return "run", running
        return ("wait", running) if running else ("done", ())

    def _open_study(self, storage: Any) -> optuna.Study:
        import optuna

        try:
            study = optuna.create_study(
                study_name=self.study_name,
                storage=storage,
                load_if_exists=True,
                direction=self.space.direction,
                sampler=self.space.make_sampler(),
                pruner=self.space.make_pruner(),
            )
            self._check_study(study)
        except SweepError:
            raise
        except Exception as error:
            if database_error_in(error) is None and not isinstance(error, OSError):
                raise
            raise StorageError(
                describe_storage_error(
                    error, self.storage, f"cannot open study {self.study_name} in"
                )
            ) from None
        return study

    def _check_study(self, study: optuna.Study) -> None:
        """Refuse to join a study that was run with another objective or space: Optuna would
        fail each trial on it, or mix values that cannot be compared."""
        from optuna.distributions import check_distribution_compatibility

        name = self.study_name
        if study.direction.name.lower() != self.space.direction:
            raise SweepError(
                f"study {name} {study.direction.name.lower()}s its objective; this space "
                f"file's {self.space.objective} is to {self.space.direction}: give another "
                "--study name"
            )
        attrs = study.user_attrs
        mine = {"objective": self.space.objective, "fixed": dict(self.space.fixed)}
        for key, value in mine.items():
            if key not in attrs:
                study.set_user_attr(key, value)
            elif attrs[key] != value:
                raise SweepError(
                    f"study {name} was run with {key} {attrs[key]!r}, this space file has "
                    f"{value!r}: give another --study name"
                )
        for trial in study.get_trials(deepcopy=False):
            for param, old in trial.distributions.items():
                new = self._distributions.get(param)
                if new is None:
                    continue
                try:
                    check_distribution_compatibility(old, new)
                except ValueError:
                    raise SweepError(
                        f"study {name} was run with another {param} ({_describe(old)}; this "
                        f"file: {_describe(new)}): give another --study name"
                    ) from None

    def _requeue(self, study: optuna.Study) -> None:
        """Queue the trial that was just stopped, to be carried on from its run folder by the
        next worker (as a dead worker's trial is)."""
        from optuna.storages import RetryHeartbeatStaleTrialCallback

        if self._trial is None:
            return
        number = self._trial.number
        self._trial = None
        try:
            frozen = _frozen(study, number)
            if frozen is not None:
                retry = RetryHeartbeatStaleTrialCallback(max_retry=self.space.workers.max_retry)
                retry(study, frozen)
        except Exception as error:  # the storage may be what stopped us
            if database_error_in(error) is None and not isinstance(error, OSError):
                raise

    def _summary(self, study: optuna.Study) -> str:
        from optuna.trial import TrialState

        trials = study.get_trials(deepcopy=False)
        counts = {
            state: sum(1 for t in trials if t.state == TrialState[state.upper()])
            for state in ("complete", "pruned", "fail")
        }
        text = (
            f"study {self.study_name}: {len(trials)} trial(s), {counts['complete']} complete, "
            f"{counts['pruned']} pruned, {counts['fail']} failed"
        )
        complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
        if complete:
            pick = max if self.space.direction == "maximize" else min
            best = pick(complete, key=lambda t: float(t.value or 0.0))
            text += f"; best: trial {best.number}, {self.space.objective} {best.value:.4f}"
            if "run_dir" in best.user_attrs:
                text += f"  run: {best.user_attrs['run_dir']}"
        return text

    def _with_kept(self, message: str) -> str:
        run_dir = self._run_dir
        if run_dir is None:
            return message
        try:
            checkpoint = load_run(run_dir).checkpoint
        except RunError:
            checkpoint = None
        if checkpoint is None:
            return f"{message}; {run_dir} has no checkpoint yet"
        return f"{message}; {run_dir} keeps its epoch {checkpoint.epoch} checkpoint"

    # --- One trial --------------------------------------------------------------------------

    def _objective(self, trial: optuna.Trial) -> float:
        import optuna

        if self._lock is not None:
            # Other workers may count the trial once the lock is let go, and fail it as a dead
            # worker's if it is not marked alive by then: mark it now, not at the first beat
            # of Optuna's heartbeat thread, which may come later.
            _beat(trial)
            self._lock.release()
        self._trial = trial
        self._reported = set()
        self._run_dir = None
        self._pruned_at = None
        frozen = _frozen(trial.study, trial.number)
        retry_of = None
        if frozen is not None:
            from optuna.storages import RetryHeartbeatStaleTrialCallback

            retry_of = RetryHeartbeatStaleTrialCallback.retried_trial_number(frozen)
        params = {name: _suggest(trial, name, d) for name, d in self._distributions.items()}
        self._trials_run += 1
        earlier = trial.user_attrs.get("run_dir")
        plan, value = self._plan(trial.number, params, earlier if retry_of is not None else None)
        self.on_event(
            TrialStarted(
                trial.number,
                params,
                retry_of,
                None if plan is None or plan.run_dir is None else str(plan.run_dir),
                None if plan is None or plan.run_dir is None else plan.initial_epoch,
            )
        )
        if plan is None:  # its run had finished before its worker died: nothing to train
            assert value is not None and earlier is not None
            self._run_dir = Path(earlier)
            self._end(trial.number, "complete", value, None, len(load_run(self._run_dir).history))
            return value
        if self.stopping:
            raise _Requeue("interrupted", None)
        self._final_epoch = plan.final_epoch
        try:
            result = self.session.run(plan, self._on_training_event)
        except (RunError, DataError) as error:
            self._end(trial.number, "failed", None, str(error))
            raise _TrialFailed(str(error)) from None
        if self._storage_error is not None:
            raise _StorageGone(first_line(self._storage_error))
        history = result.history
        value = _best(history, self.space.objective)
        if result.outcome == "pruned":
            message = f"pruned after epoch {len(history)}"
            self._end(trial.number, "pruned", value, message)
            raise optuna.TrialPruned(message)
        if result.outcome in ("stopped", "aborted"):
            message = "stopped; the next sweep of this study carries it on"
            self._end(trial.number, "failed", value, message)
            raise _Requeue("interrupted", None)
        if result.outcome == "failed":
            failure = result.failure
            message = failure.message if failure is not None else "training failed"
            self._end(trial.number, "failed", value, message)
            if failure is not None and failure.kind == "io":
                raise _Requeue("failed", message)
            raise _TrialFailed(message)
        if value is None:
            message = "no epoch has a finite validation value"
            self._end(trial.number, "failed", None, message)
            raise _TrialFailed(message)
        self._end(trial.number, "complete", value, None)
        return value

    def _plan(
        self, number: int, params: Mapping[str, Any], earlier: str | None
    ) -> tuple[RunPlan | None, float | None]:
        """What the trial trains: the earlier attempt's run folder carried on from its newest
        checkpoint, else a new run. ``(None, value)`` when the earlier attempt's run had
        finished (its worker died before telling the study)."""
        session = self.session
        if earlier is not None and Path(earlier).is_dir():
            run_dir = Path(earlier)
            try:
                return session.plan(ResumeRun(run_dir, data_dir=self.base.data_dir)), None
            except RunError as error:
                try:
                    run = load_run(run_dir)
                except RunError:
                    run = None
                if run is not None and run.metrics is not None and run.status == "finished":
                    value = _best(run.history, self.space.objective)
                    if value is not None:
                        return None, value
                if run is not None and run.checkpoint is not None:
                    self._end(number, "failed", None, str(error))
                    raise _TrialFailed(str(error)) from None
                # Killed before its first checkpoint: nothing to carry on, start afresh.
        try:
            config = self.space.config_for(params, self.base)
            config = config.with_changes(study=self.study_name, trial=number)
            return session.plan(NewRun(config)), None
        except (ConfigError, RunError) as error:
            self._end(number, "failed", None, str(error))
            raise _TrialFailed(str(error)) from None

    def _on_training_event(self, event: TrainingEvent) -> None:
        trial = self._trial
        try:
            if trial is not None and isinstance(event, TrainingStarted):
                if self.stopping:
                    self.session.signals.request_stop()
                run_dir = self.session.runs_root / event.run_id
                if self._run_dir is None:
                    self._run_dir = run_dir
                if trial.user_attrs.get("run_dir") != str(self._run_dir):
                    self._write(trial.set_user_attr, "run_dir", str(self._run_dir))
                for metrics in event.history:  # a retry's epochs so far, reported again
                    self._report(trial, metrics)
                if event.history:
                    self._maybe_prune(trial, event.history[-1].epoch)
            elif trial is not None and isinstance(event, EpochEnded):
                self._report(trial, event.metrics)
                self._maybe_prune(trial, event.metrics.epoch)
        except _StorageGone:
            # Stop training at once; the run folder keeps its newest checkpoint.
            self.session.signals.request_abort()
        self.on_event(event)

    def _report(self, trial: optuna.Trial, metrics: EpochMetrics) -> None:
        value = getattr(metrics, self.space.objective)
        if metrics.epoch in self._reported or not math.isfinite(value):
            return
        self._write(trial.report, float(value), metrics.epoch)
        self._reported.add(metrics.epoch)

    def _maybe_prune(self, trial: optuna.Trial, epoch: int) -> None:
        # After the last epoch there is nothing left to save by stopping.
        if epoch >= self._final_epoch or self.session.signals.stop.is_set():
            return
        if self._write(trial.should_prune):
            self._pruned_at = epoch
            self.session.signals.request_prune()

    def _write(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` against the storage, retried for a while if the storage errs.

        Raises:
            _StorageGone: it still failed after :attr:`db_retry_s` seconds.
        """
        deadline = time.monotonic() + self.db_retry_s
        while True:
            try:
                return call(*args)
            except Exception as error:
                if database_error_in(error) is None and not isinstance(error, OSError):
                    raise
                if time.monotonic() >= deadline:
                    self._storage_error = error
                    raise _StorageGone(first_line(error)) from error
                time.sleep(1.0)

    def _end(
        self,
        number: int,
        state: Any,
        value: float | None,
        message: str | None,
        epochs: int | None = None,
    ) -> None:
        epochs = len(self._reported) if epochs is None else epochs
        run_dir = None if self._run_dir is None else str(self._run_dir)
        self.on_event(TrialEnded(number, state, value, epochs, run_dir, message))


# --- Helpers ------------------------------------------------------------------------------------


def _beat(trial: optuna.Trial) -> None:
    """Record the trial's heartbeat (on the journal: take its liveness lock) at once."""
    from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled

    storage = trial.study._storage
    if isinstance(storage, BaseHeartbeat) and is_heartbeat_enabled(storage):
        storage.record_heartbeat(trial._trial_id)


def _frozen(study: optuna.Study, number: int) -> FrozenTrial | None:
    """The stored trial ``number`` (a live ``Trial`` has no system attributes in Optuna 5)."""
    for trial in study.get_trials(deepcopy=False):
        if trial.number == number:
            return trial
    return None


def _suggest(trial: optuna.Trial, name: str, distribution: BaseDistribution) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    d = distribution
    if isinstance(d, FloatDistribution):
        return trial.suggest_float(name, d.low, d.high, step=d.step, log=d.log)
    if isinstance(d, IntDistribution):
        return trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
    assert isinstance(d, CategoricalDistribution)
    return trial.suggest_categorical(name, d.choices)


def _best(history: tuple[EpochMetrics, ...], objective: str) -> float | None:
    """The best validation value over the epochs (highest accuracy, lowest loss)."""
    values = [getattr(m, objective) for m in history]
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if objective == "val_accuracy" else min(finite)


def _describe(distribution: BaseDistribution) -> str:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    d = distribution
    if isinstance(d, CategoricalDistribution):
        return f"one of {list(d.choices)}"
    if isinstance(d, FloatDistribution | IntDistribution):
        kind = "whole numbers" if isinstance(d, IntDistribution) else "numbers"
        return f"{kind} {d.low:g} to {d.high:g}" + (" (log)" if d.log else "")
    return type(d).__name__
