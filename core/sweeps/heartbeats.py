"""Storages that notice a dead worker, so that its trial is failed and retried, not lost.

Optuna's ``study.optimize`` keeps a heartbeat for a trial when the storage is a
``BaseHeartbeat`` with an interval, and before each trial fails the running trials whose
heartbeat went stale, handing each to a callback that queues a retry (the same parameters and
user attributes: the retry knows its run folder). Optuna 5 has heartbeats only for its RDB
storage; these fill the gap on the journal and make the RDB's survive a database blip.

This module imports Optuna: only a running sweep imports it.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages._heartbeat import BaseHeartbeat  # private in Optuna 5, as RDBStorage uses
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import FrozenTrial, TrialState

StaleCallback = Callable[[optuna.Study, FrozenTrial], None]

_LIVENESS_INTERVAL_S = 5
"""How often Optuna's heartbeat thread calls :meth:`LivenessJournalStorage.record_heartbeat`:
only the first call takes the lock, the others find it held."""


class LivenessJournalStorage(JournalStorage, BaseHeartbeat):
    """The journal, with each running trial's liveness as a lock its worker holds.

    At its first heartbeat a worker takes an exclusive ``flock`` on ``live/<trial id>`` and
    keeps it until the trial ends; the kernel drops it when the process dies, ``SIGKILL``
    included. Another worker counts a running trial as stale when it can take that lock, so a
    dead worker's trial is retried at once, not after a timeout. A running trial without a
    lock file (its worker died between starting it and its first beat) goes stale
    ``grace_period`` seconds after it started. The locks say nothing across machines: the
    journal is for workers on one machine (several machines share PostgreSQL). A child
    process forked without ``exec`` would inherit the lock and keep a dead worker's trial
    "alive"; training starts none (``os.open``'s descriptors close on ``exec``).
    """

    def __init__(
        self,
        path: str,
        live_dir: Path,
        *,
        grace_period: int,
        heartbeat_stale_trial_callback: StaleCallback | None = None,
    ) -> None:
        super().__init__(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
        live_dir.mkdir(parents=True, exist_ok=True)
        self._live_dir = live_dir
        self._grace = grace_period
        self._callback = heartbeat_stale_trial_callback
        self._held: dict[int, int] = {}
        self._held_lock = threading.Lock()

    def _live_path(self, trial_id: int) -> Path:
        return self._live_dir / str(trial_id)

    def record_heartbeat(self, trial_id: int) -> None:
        with self._held_lock:
            if trial_id in self._held:
                return
            # os.open's descriptors are not inherited by programs this one starts.
            fd = os.open(self._live_path(trial_id), os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._held[trial_id] = fd

    def release_trials(self) -> None:
        """Let go of the liveness locks of this process's trials (call when one has ended)."""
        with self._held_lock:
            for trial_id, fd in list(self._held.items()):
                os.close(fd)
                del self._held[trial_id]
                # The file goes with its trial; a worker that opened it meanwhile takes the
                # lock of a finished trial, which Optuna refuses to fail.
                self._live_path(trial_id).unlink(missing_ok=True)

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        stale: list[int] = []
        now = time.time()
        for trial in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            trial_id = trial._trial_id
            with self._held_lock:
                if trial_id in self._held:
                    continue
            try:
                fd = os.open(self._live_path(trial_id), os.O_RDWR)
            except FileNotFoundError:
                started = trial.datetime_start.timestamp() if trial.datetime_start else now
                if now - started > self._grace:
                    stale.append(trial_id)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its worker is alive
            else:
                stale.append(trial_id)
            finally:
                os.close(fd)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return _LIVENESS_INTERVAL_S

    def get_heartbeat_stale_trial_callback(self) -> StaleCallback | None:
        return self._callback


class TolerantRDBStorage(RDBStorage):
    """Optuna's RDB storage whose heartbeat thread outlives a database error.

    Optuna's own thread dies at the first failed beat and the trial runs on without one, so
    another worker would fail it as stale while it is alive. Here a failed beat is kept in
    :attr:`heartbeat_error` and tried again at the next interval.
    """

    heartbeat_error: BaseException | None = None

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except Exception as error:  # noqa: BLE001 - any database error; the next beat retries
            self.heartbeat_error = error
        else:
            self.heartbeat_error = None

    def release_trials(self) -> None:
        """Nothing to let go: a heartbeat row ages by itself."""


def release_trials(storage: Any) -> None:
    """Let go of what ``storage`` holds for this process's finished trials."""
    release = getattr(storage, "release_trials", None)
    if release is not None:
        release()
