"""The app's state without Textual: what each report and request changes on screen."""

from __future__ import annotations

from pathlib import Path

from tui_fakes import FAKE_DEVICE, FAKE_RUN_ID, SEED_SUMMARY, fake_evaluation, fake_metrics

from core.config import TrainConfig
from core.events import (
    BatchProgress,
    EpochEnded,
    EvaluationFinished,
    RunSaved,
    RunWarning,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from core.requests import HeldModel
from tui.reports import (
    DataFailed,
    DataReady,
    EngineBusy,
    EngineCrashed,
    EngineError,
    EngineIdle,
    EngineReady,
    ExportFailed,
    ExportFinished,
    GpuSampled,
    OverlayLoaded,
    RunLoaded,
    RunsListed,
    SummaryReady,
    WorkFailed,
)
from tui.state import AppState, Notice


def started(run_id: str = FAKE_RUN_ID, initial: int = 0, final: int = 3) -> TrainingStarted:
    return TrainingStarted(
        run_id=run_id,
        config=TrainConfig(epochs=final),
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
    state.run_requested("waiting")
    changes = state.apply(started())
    assert changes.shown_run and changes.summary and state.summary is SEED_SUMMARY
    assert state.shown is state.live and state.live is not None
    assert state.live.run_id == FAKE_RUN_ID
    assert "Training seed" in changes.notes[0][0]
    # An event of another run (say one that was replaced) changes nothing.
    stale = state.apply(batch(1, 5, run_id="someone-else"))
    assert stale.chart_point is None and not stale.progress
    assert state.progress is not None and state.progress.batch == 0


def test_progress_charts_epochs_and_the_end_of_a_run() -> None:
    state = AppState()
    state.run_requested("waiting")
    state.apply(started())
    early = state.apply(batch(1, 1))
    assert early.chart_point is None, "the first batches' running means are noise"
    later = state.apply(batch(1, 7))
    assert later.chart_point is not None and later.chart_point.position == 7 / 13
    assert state.progress is not None and state.progress.batch == 7
    ended = state.apply(EpochEnded(FAKE_RUN_ID, fake_metrics(1), 3))
    assert ended.epoch == fake_metrics(1)
    assert state.sub_title() == "loading", "the device is not known yet"
    state.apply(EngineReady(FAKE_DEVICE))
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
    assert saved.runs_stale and str(state.live.run_dir) == "/runs/x"
    state.apply(EngineIdle(None))
    assert not state.training and state.has_results
    assert state.sub_title() == f"seed · finished · test {evaluation.test_accuracy:.4f}"


def test_the_log_counts_the_epochs_a_run_trained_in_words() -> None:
    for history, said in (
        ((fake_metrics(1),), "1 epoch in"),
        ((fake_metrics(1),) * 2, "2 epochs in"),
    ):
        state = AppState()
        state.run_requested("waiting")
        state.apply(started())
        changes = state.apply(TrainingFinished(FAKE_RUN_ID, history, 4.0))
        assert any(said in text for text, *_ in changes.notes), changes.notes


def test_a_stop_before_the_first_epoch_ends_is_still_evaluated() -> None:
    """Issue: `s` in the first epoch said "nothing to evaluate" and threw the work away,
    though what the batches so far taught the model is evaluated and saved."""
    state = AppState()
    state.run_requested("waiting")
    state.apply(started())
    state.stop_requested()
    assert state.stopping and state.message.startswith("Stopping")
    changes = state.apply(TrainingStopped(FAKE_RUN_ID, (), 1.0))
    assert "evaluating" in changes.notes[-1][0]
    assert state.message == "Evaluating the test set…"
    evaluation, images = fake_evaluation()
    state.apply(EvaluationFinished(FAKE_RUN_ID, evaluation, images))
    assert state.has_results, "its evaluation can be looked at and exported"


def test_the_log_counts_the_epochs_this_start_trained_and_names_one_epoch_so() -> None:
    """Issue: after resuming for 3 epochs the log said "8 epochs"; a one-epoch continue said
    "epochs 3-3"."""
    state = AppState()
    state.run_requested("waiting")
    resumed = state.apply(started(initial=5, final=8))
    assert "epochs 6-8" in resumed.notes[0][0]
    history = tuple(fake_metrics(e) for e in range(1, 9))
    ended = state.apply(TrainingFinished(FAKE_RUN_ID, history, 4.0))
    assert any("3 epochs in" in text for text, _ in ended.notes), ended.notes
    state.apply(EngineIdle(None))
    state.run_requested("waiting")
    one = state.apply(started(initial=8, final=9))
    assert "epoch 9," in one.notes[0][0] and "9-9" not in one.notes[0][0]


def test_continuing_keeps_the_run_and_takes_the_checkpoint_history() -> None:
    state = AppState()
    state.run_requested("waiting")
    state.apply(started(final=2))
    first = state.live
    state.apply(EngineIdle(None))
    state.run_requested("waiting")
    changes = state.apply(started(initial=2, final=4))
    assert state.live is first, "the same run trained further"
    assert [m.epoch for m in first.history] == [1, 2]
    assert changes.final_epoch == 4 and "Continuing" in changes.notes[0][0]


def test_a_failure_before_the_start_still_shows_a_failed_run() -> None:
    state = AppState("improved")
    state.run_requested("waiting")
    changes = state.apply(TrainingFailed("r1", "out of memory at batch size 4096", "out_of_memory"))
    assert changes.error == Notice("Out of memory", "out of memory at batch size 4096")
    assert state.shown is not None and state.shown.status == "failed"
    assert state.shown.model == "improved"


# --- Every report the app hears goes through the state -------------------------------------


def test_the_engine_starting_up_fills_the_status_line() -> None:
    state = AppState(runtime="JAX")
    assert state.status_line() == "Loading JAX…"
    assert state.apply(EngineBusy("Loading JAX…")).status
    ready = state.apply(EngineReady(FAKE_DEVICE))
    assert ready.status and state.engine_ready and state.status_line() == FAKE_DEVICE
    assert ready.notes == [(f"JAX ready on {FAKE_DEVICE}", "")]
    assert state.apply(EngineBusy("Loading data…")).status
    assert state.status_line() == f"{FAKE_DEVICE} · Loading data…"
    data = state.apply(DataReady("synthetic", 400, 100, 50))
    assert data.status and data.progress
    assert state.status_line() == f"{FAKE_DEVICE} · 400 train / 100 val / 50 test · synthetic"
    assert state.message == "Ready: press t to train"


def test_data_that_cannot_load_is_an_error_screen_and_a_status() -> None:
    state = AppState()
    changes = state.apply(DataFailed("train-images-idx3-ubyte.gz: truncated"))
    assert changes.error == Notice(
        "The data set could not be loaded", "train-images-idx3-ubyte.gz: truncated"
    )
    assert changes.status and state.data_description == "no data"
    assert changes.notes[0][1] == "red"


def test_a_summary_shows_only_for_the_model_chosen_and_never_over_a_run() -> None:
    state = AppState("seed")
    assert state.apply(SummaryReady("seed", SEED_SUMMARY)).summary
    assert state.summary is SEED_SUMMARY and state.summary_model == "seed"
    chosen = state.choose_model("improved")
    assert chosen.summary and state.summary is None and state.summary_model == "improved"
    assert not state.apply(SummaryReady("seed", SEED_SUMMARY)).summary, "stale: seed"
    assert state.summary is None
    state.run_requested("waiting")
    state.apply(started())
    assert state.summary is SEED_SUMMARY, "the run's own summary"
    assert not state.apply(SummaryReady("improved", SEED_SUMMARY)).summary, "a run is on"


def test_a_gpu_reading_becomes_the_gpu_line() -> None:
    from core.gpu import GpuSnapshot

    state = AppState()
    reading = GpuSnapshot(0, "NVIDIA H200", 87, 12_034.0, 143_771.0, 54, 12_034.0)
    assert state.apply(GpuSampled(reading)).gpu
    assert state.gpu_line == reading.line()


def test_idle_says_which_model_the_engine_holds() -> None:
    state = AppState()
    held = HeldModel(FAKE_RUN_ID, Path("/runs/x"), "seed", 2)
    state.run_requested("waiting")
    assert state.training and state.awaiting_run
    changes = state.apply(EngineIdle(held))
    assert changes.progress and not state.training and state.held == held
    state.apply(EngineIdle(None))
    assert state.held is None


def test_engine_errors_and_a_crash_are_error_screens() -> None:
    state = AppState()
    error = state.apply(EngineError("cannot create a run folder in /ro: Read-only file system"))
    assert error.error is not None and error.error.title == "Training could not run"
    assert error.notes[0] == ("cannot create a run folder in /ro: Read-only file system", "red")
    state.run_requested("waiting")
    crashed = state.apply(EngineCrashed("RuntimeError: boom"))
    assert crashed.error is not None and crashed.error.title == "The training engine stopped"
    assert "Restart the app" in crashed.error.message
    assert not state.training


def test_a_warning_is_a_yellow_line_in_the_log() -> None:
    state = AppState()
    state.run_requested("waiting")
    state.apply(started())
    changes = state.apply(RunWarning(FAKE_RUN_ID, "cannot write TensorBoard events"))
    assert changes.notes == [("Warning: cannot write TensorBoard events", "yellow")]


def test_what_the_workers_found_goes_through_the_state(tmp_path: Path) -> None:
    from core.runs.catalogue import RunListing

    state = AppState()
    listing = RunListing(tmp_path / "r1", None, "seed", 2, "finished", 0.9, 0.9)
    listed = state.apply(RunsListed((listing,)))
    assert listed.runs and state.runs == (listing,)

    failed = state.apply(WorkFailed("The run could not be opened", "r1: missing"))
    assert failed.error == Notice("The run could not be opened", "r1: missing")

    exported = state.apply(ExportFinished((tmp_path / "a.png", tmp_path / "b.png")))
    assert [text for text, _ in exported.notes] == [
        f"Wrote {tmp_path / 'a.png'}",
        f"Wrote {tmp_path / 'b.png'}",
    ]
    assert exported.toast is not None and exported.toast.title == "Exported"
    assert state.export_started(tmp_path).notes[0][0].startswith("Exporting PNGs to")
    broken = state.apply(ExportFailed("No space left on device"))
    assert broken.toast is not None and broken.toast.severity == "error"
    assert broken.notes == [("Export failed: No space left on device", "red")]


def test_a_saved_run_opens_on_the_train_tab(tmp_path: Path) -> None:
    from core.runs.catalogue import SavedRun

    saved = SavedRun(
        path=tmp_path / "20260101-120000-seed",
        config=TrainConfig(epochs=3),
        history=(fake_metrics(1), fake_metrics(2)),
        status="stopped",
        planned_epochs=3,
        metrics=None,
        evaluation=None,
        test_images=None,
    )
    state = AppState()
    changes = state.apply(RunLoaded(saved))
    assert changes.shown_run and changes.show_tab == "train" and changes.progress
    assert state.shown is not None and state.shown.saved
    assert state.shown.run_id == "20260101-120000-seed"
    assert [m.epoch for m in state.shown.history] == [1, 2]
    assert state.has_results


def test_overlays_are_added_replaced_and_removed_by_name() -> None:
    state = AppState()
    empty = state.apply(OverlayLoaded("r0", ()))
    assert not empty.overlays and empty.toast is not None and empty.toast.severity == "warning"
    assert state.apply(OverlayLoaded("r1", (fake_metrics(1),))).overlays
    state.apply(OverlayLoaded("r2", (fake_metrics(1),)))
    state.apply(OverlayLoaded("r1", (fake_metrics(1), fake_metrics(2))))
    assert [o.label for o in state.overlays] == ["r2", "r1"]
    assert len(state.overlays[-1].history) == 2
    assert state.has_overlay("r2")
    removed = state.remove_overlay("r2")
    assert removed.overlays and not state.has_overlay("r2")


def test_a_request_shows_the_train_tab_and_says_what_it_waits_for() -> None:
    state = AppState(runtime="PyTorch")
    changes = state.run_requested("Training starts once PyTorch has loaded…")
    assert changes.show_tab == "train" and changes.progress
    assert state.message == "Training starts once PyTorch has loaded…"
    state.apply(EngineReady(FAKE_DEVICE))
    state.apply(EngineIdle(None))
    state.run_requested("waiting", "Resuming r1…")
    assert state.message == "Resuming r1…"
