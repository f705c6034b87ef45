"""A sweep worker in this process, on synthetic data: what other workers of its study may see
of its trial the moment they can look."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import optuna
import pytest
from helpers import session_for
from optuna.storages._heartbeat import NullHeartbeatThread
from optuna.trial import TrialState

from core.config import TrainConfig
from core.data import Dataset
from core.sweeps.heartbeats import LivenessJournalStorage
from core.sweeps.space import load_space
from core.sweeps.storage import JournalStartLock, parse_storage
from core.sweeps.worker import SweepWorker


def test_a_trial_is_marked_alive_before_other_workers_may_count_it(
    tmp_path: Path, synthetic_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker lets go of the study's start lock once its trial exists; from then on
    another worker failing stale trials must find it alive. Optuna's heartbeat thread beats
    when it gets to run, which may be later (a busy machine: the other worker failed a live
    trial, and the live one then ended with "Cannot tell a FAIL trial"); here it never beats,
    so only the worker's own mark keeps the trial alive (mutation: ``_beat`` not called
    before the lock is let go)."""
    monkeypatch.setattr(
        "optuna.study._optimize.get_heartbeat_thread", lambda *args: NullHeartbeatThread()
    )
    path = tmp_path / "space.toml"
    path.write_text(
        textwrap.dedent(
            """
            trials = 1
            [params]
            epochs = 1
            learning_rate = [0.001, 0.002]
            """
        ),
        encoding="utf-8",
    )
    runs = tmp_path / "runs"
    spec = parse_storage(None, runs)
    stale_when_let_go: list[list[int]] = []
    release = JournalStartLock.release

    def look_then_release(lock: JournalStartLock) -> None:
        # What another worker would see now, with no grace for a trial without its lock.
        other = LivenessJournalStorage(spec.target, spec.helpers_dir / "live", grace_period=0)
        for study in other.get_all_studies():
            running = other.get_all_trials(study._study_id, states=(TrialState.RUNNING,))
            if running:
                stale_when_let_go.append(other._get_stale_trial_ids(study._study_id))
        release(lock)

    monkeypatch.setattr(JournalStartLock, "release", look_then_release)
    events: list[Any] = []
    worker = SweepWorker(
        load_space(path),
        spec,
        "s",
        session=session_for(synthetic_dataset, runs),
        base=TrainConfig(),
        target=1,
        on_event=events.append,
    )
    outcome = worker.run()
    assert outcome.status == "done", outcome
    assert stale_when_let_go == [[]]  # looked once, while trial 0 ran: alive
    study = optuna.load_study(study_name="s", storage=LivenessJournalStorage(
        spec.target, spec.helpers_dir / "live", grace_period=60))  # fmt: skip
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]
