"""What a sweep's reports mean for the app's state, without Textual: each trial's run is
adopted as the live run, the title says what the sweep does, ``s`` is remembered as "after
this trial", and the Sweep tab's polls count only for the study it watches."""

from __future__ import annotations

from pathlib import Path

from tui_fakes import SEED_SUMMARY, fake_metrics

from core.config import TrainConfig
from core.events import EpochEnded, TrainingFinished, TrainingStarted
from core.sweeps.events import StudyOpened, TrialEnded, TrialStarted, WaitingForTrials
from core.sweeps.watch import StudyListing, StudySnapshot
from tui.reports import (
    EngineReady,
    StudiesListed,
    StudyPolled,
    StudyUnreachable,
    SweepEnded,
)
from tui.state import AppState

SPACE = Path("/sweeps/lr.toml")


def started(run_id: str) -> TrainingStarted:
    return TrainingStarted(
        run_id=run_id,
        config=TrainConfig(epochs=2),
        summary=SEED_SUMMARY,
        device="cpu",
        data_source="synthetic",
        train_samples=400,
        val_samples=100,
        batches_per_epoch=13,
        initial_epoch=0,
        final_epoch=2,
    )


def a_sweep() -> AppState:
    state = AppState()
    state.apply(EngineReady("cpu"))
    state.sweep_requested(SPACE, "", "waiting")
    state.apply(StudyOpened("lr", "/runs/sweeps.journal", 0, 3, "maximize", "val_accuracy"))
    return state


def run_trial(state: AppState, number: int, run_id: str) -> None:
    state.apply(TrialStarted(number, {"learning_rate": 0.001}))
    state.apply(started(run_id))
    for epoch in (1, 2):
        state.apply(EpochEnded(run_id, fake_metrics(epoch), 2))
    history = tuple(fake_metrics(e) for e in (1, 2))
    state.apply(TrainingFinished(run_id, history, 4.0))
    state.apply(TrialEnded(number, "complete", 0.9, 2, f"/runs/{run_id}"))


def test_each_trials_run_is_the_live_run_in_turn() -> None:
    state = a_sweep()
    run_trial(state, 0, "run-a")
    assert state.live is not None and state.live.run_id == "run-a"
    # No EngineIdle between trials: the next trial's run is adopted all the same.
    run_trial(state, 1, "run-b")
    assert state.live.run_id == "run-b"
    assert [m.epoch for m in state.live.history] == [1, 2]
    assert state.shown is state.live


def test_the_title_says_the_study_and_the_trial() -> None:
    state = a_sweep()
    state.apply(TrialStarted(0, {"learning_rate": 0.001}))
    state.apply(started("run-a"))
    title = state.sub_title()
    assert title.startswith("sweep lr · trial 0 (1 here, 3 in all)"), title
    assert "epoch 1/2" in title
    changes = state.sweep_stop_requested()
    assert state.sweep_stopping and not state.stopping
    assert "stops after this trial" in state.sub_title()
    assert any("stops once trial 0 ends" in text for text, _ in changes.notes)
    state.apply(SweepEnded("lr", "interrupted", 1))
    assert state.sweep is None
    assert not state.sub_title().startswith("sweep")


def test_waiting_for_other_workers_is_said() -> None:
    state = a_sweep()
    changes = state.apply(WaitingForTrials((4, 5)))
    assert "waiting for other workers" in state.sub_title()
    assert "4, 5" in state.message and "s stops waiting" in state.message
    assert changes.progress


def test_a_failed_sweep_shows_why() -> None:
    state = a_sweep()
    changes = state.apply(SweepEnded("lr", "failed", 2, "the database went away"))
    assert changes.error is not None and "database" in changes.error.message
    # Never joined (the error came from the engine already): nothing more to say.
    state = a_sweep()
    assert state.apply(SweepEnded(None, "failed", 0)).error is None
    assert state.sweep is None


def study(name: str, trials: int = 0) -> StudySnapshot:
    return StudySnapshot(name, "maximize", "val_accuracy", (), None, (), None)


def test_a_sweep_run_here_is_the_study_watched() -> None:
    state = AppState()
    state.watch_study("postgresql://db/x", "other")
    state.sweep_requested(SPACE, "", "waiting")
    state.apply(StudyOpened("lr", "/runs/sweeps.journal", 0, 3, "maximize", "val_accuracy"))
    assert (state.watched.storage, state.watched.study) == ("", "lr")


def test_polls_count_only_for_the_study_watched() -> None:
    state = AppState()
    # Nothing picked yet: the newest study listed is.
    listed = (StudyListing("old", 3, "maximize", 0.8), StudyListing("new", 1, "maximize", None))
    assert state.apply(StudiesListed("", "/runs/sweeps.journal", listed)).sweep
    assert state.watched.study == "new"
    assert not state.apply(StudyPolled("", study("old"))).sweep
    assert state.study is None
    assert not state.apply(StudyPolled("/elsewhere.journal", study("new"))).sweep
    assert state.apply(StudyPolled("", study("new"))).sweep
    assert state.study == study("new")
    # The same again: nothing to redraw.
    assert not state.apply(StudyPolled("", study("new"))).sweep
    # Unreachable: said once, the last snapshot kept; another study's problem is not ours.
    assert not state.apply(StudyUnreachable("", "old", "gone")).sweep
    assert state.apply(StudyUnreachable("", "new", "db down")).sweep
    assert state.study_problem == "db down" and state.study is not None
    assert not state.apply(StudyUnreachable("", "new", "db down")).sweep
    assert state.apply(StudyPolled("", study("new"))).sweep
    assert state.study_problem is None
