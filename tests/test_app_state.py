"""The app's state without Textual: what each training event changes on screen."""

from __future__ import annotations

from tui_fakes import FAKE_DEVICE, FAKE_RUN_ID, SEED_SUMMARY, fake_evaluation, fake_metrics

from core.config import TrainConfig
from core.events import (
    BatchProgress,
    EpochEnded,
    EvaluationFinished,
    RunSaved,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from tui.state import AppState


def started(run_id: str = FAKE_RUN_ID, initial: int = 0, final: int = 3) -> TrainingStarted:
    return TrainingStarted(
        run_id=run_id,
        config=TrainConfig(epochs=final - initial),
        summary=SEED_SUMMARY,
        device=FAKE_DEVICE,
        data_source="synthetic",
        train_samples=400,
        val_samples=100,
        batches_per_epoch=13,
        initial_epoch=initial,
        final_epoch=final,
        history=tuple(fake_metrics(e) for e in range(1, initial + 1)),
    )


def batch(epoch: int, number: int, run_id: str = FAKE_RUN_ID) -> BatchProgress:
    return BatchProgress(run_id, epoch, number, 13, 0.5, 0.8, 1600.0)


def test_a_run_is_adopted_by_its_first_event_and_stale_runs_are_dropped() -> None:
    state = AppState()
    assert not state.accepts(batch(1, 5))
    state.run_requested()
    changes = state.apply(started())
    assert changes.shown_run and changes.summary is SEED_SUMMARY
    assert state.shown is state.live and state.live is not None
    assert state.live.run_id == FAKE_RUN_ID
    assert "Training seed" in changes.notes[0][0]
    # An event of another run (say one that was replaced) changes nothing.
    stale = state.apply(batch(1, 5, run_id="someone-else"))
    assert stale.chart_point is None and not stale.progress
    assert state.progress is not None and state.progress.batch == 0


def test_progress_charts_epochs_and_the_end_of_a_run() -> None:
    state = AppState()
    state.run_requested()
    state.apply(started())
    early = state.apply(batch(1, 1))
    assert early.chart_point is None, "the first batches' running means are noise"
    later = state.apply(batch(1, 7))
    assert later.chart_point is not None and later.chart_point.position == 7 / 13
    assert state.progress is not None and state.progress.batch == 7
    ended = state.apply(EpochEnded(FAKE_RUN_ID, fake_metrics(1), 3))
    assert ended.epoch == fake_metrics(1)
    assert state.sub_title() == "loading", "the device is not known yet"
    state.ready(FAKE_DEVICE)
    assert state.sub_title() == "training seed · epoch 2/3"

    history = (fake_metrics(1), fake_metrics(2))
    early_stop = {"stopped_epoch": 2, "best_epoch": 1}
    finished = state.apply(TrainingFinished(FAKE_RUN_ID, history, 4.0, early_stop))
    assert finished.marker and state.live is not None and state.live.marker == 2
    assert state.message == "Evaluating the test set…" and state.progress is None
    evaluation, images = fake_evaluation()
    evaluated = state.apply(EvaluationFinished(FAKE_RUN_ID, evaluation, images))
    assert evaluated.evaluation and evaluated.toast is not None
    saved = state.apply(RunSaved(FAKE_RUN_ID, "/runs/x"))
    assert saved.runs_saved and str(state.live.run_dir) == "/runs/x"
    state.engine_idle()
    assert not state.training and state.has_results
    assert state.sub_title() == f"seed · finished · test {evaluation.test_accuracy:.4f}"


def test_the_log_counts_the_epochs_a_run_trained_in_words() -> None:
    for history, said in (
        ((fake_metrics(1),), "1 epoch in"),
        ((fake_metrics(1),) * 2, "2 epochs in"),
    ):
        state = AppState()
        state.run_requested()
        state.apply(started())
        changes = state.apply(TrainingFinished(FAKE_RUN_ID, history, 4.0))
        assert any(said in text for text, *_ in changes.notes), changes.notes


def test_a_stop_before_the_first_epoch_has_nothing_to_evaluate() -> None:
    state = AppState()
    state.run_requested()
    state.apply(started())
    state.stop_requested()
    assert state.stopping and state.message.startswith("Stopping")
    changes = state.apply(TrainingStopped(FAKE_RUN_ID, (), 1.0))
    assert "nothing to evaluate" in changes.notes[-1][0]
    assert not state.has_results


def test_continuing_keeps_the_run_and_takes_the_checkpoint_history() -> None:
    state = AppState()
    state.run_requested()
    state.apply(started(final=2))
    first = state.live
    state.engine_idle()
    state.run_requested()
    changes = state.apply(started(initial=2, final=4))
    assert state.live is first, "the same run trained further"
    assert [m.epoch for m in first.history] == [1, 2]
    assert changes.final_epoch == 4 and "Continuing" in changes.notes[0][0]


def test_a_failure_before_the_start_still_shows_a_failed_run() -> None:
    state = AppState("improved")
    state.run_requested()
    changes = state.apply(TrainingFailed("r1", "out of memory at batch size 4096", "out_of_memory"))
    assert changes.error == ("Out of memory", "out of memory at batch size 4096")
    assert state.shown is not None and state.shown.status == "failed"
    assert state.shown.model == "improved"
