"""What is on screen goes away when what it says stops being true: the Quit dialog that warns
about a running training once the run has ended, the test-accuracy badge of weights that are
being trained on, keys offered for a run they can do nothing for."""

from __future__ import annotations

import asyncio

from helpers import ask_to_train, finish_a_run, wait_for
from textual.widgets import Static
from tui_fakes import (
    FAKE_DEVICE,
    FAKE_RUN_ID,
    SEED_SUMMARY,
    ScriptedEngine,
    fake_metrics,
    missing_runs_dir,
)

from core.config import TrainConfig
from core.events import EpochEnded, TrainingFailed, TrainingFinished, TrainingStarted
from tui.app import FmnistApp
from tui.reports import EngineIdle, EngineReady
from tui.screens.confirm import ConfirmQuit
from tui.state import AppState


def app_for(engine: ScriptedEngine) -> FmnistApp:
    return FmnistApp(engine=engine, runs_dir=missing_runs_dir(), cursor_blink=False)


def badge(app: FmnistApp) -> Static:
    return app.query_one("#test-accuracy", Static)


def test_the_quit_dialog_closes_when_the_run_ends_under_it() -> None:
    """Mutation: without the dismissal in ``FmnistApp.apply_changes`` the dialog stays up
    after the run has finished, still saying the test set will not be evaluated."""
    engine = ScriptedEngine(hold_in_epoch=2)
    app = app_for(engine)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await ask_to_train(pilot, 3)
            await wait_for(pilot, engine.holding.is_set, "the run half-way")
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit), "the question")
            engine.signals.stop.set()  # the run ends by itself while the question is open
            await wait_for(pilot, lambda: not app.state.training, "the run's end")
            await wait_for(
                pilot, lambda: not isinstance(app.screen, ConfirmQuit), "the question closed"
            )
            assert app.is_running, "the app did not quit on its own"
            await wait_for(pilot, lambda: badge(app).display, "the new test accuracy")

    asyncio.run(scenario())


def test_the_test_accuracy_badge_hides_while_the_run_trains_on() -> None:
    """Mutation: dropping the ``status == "running"`` test in ``TrainTab._show_accuracy``
    keeps the previous evaluation's badge up while a continued run trains."""
    engine = ScriptedEngine(hold_in_epoch=2)
    app = app_for(engine)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await finish_a_run(pilot, 1)
            await wait_for(pilot, lambda: badge(app).display, "the first evaluation")
            await ask_to_train(pilot, 2)  # the dialog offers to continue the run on show
            await wait_for(pilot, engine.holding.is_set, "the continued run half-way")
            await pilot.pause()
            assert app.state.training
            assert not badge(app).display
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.state.training, "the stop")
            await wait_for(pilot, lambda: badge(app).display, "the new evaluation")

    asyncio.run(scenario())


def test_the_idle_line_offers_only_the_keys_that_work_for_the_run_on_show() -> None:
    """A run that failed before its first epoch has nothing to train on from or to export.

    Mutation: the fixed ``· t train more · e export`` tail (as before) offers both for it.
    """
    state = AppState()
    state.apply(EngineReady(FAKE_DEVICE))
    state.run_requested("waiting")
    state.apply(TrainingFailed(FAKE_RUN_ID, "training diverged: loss became nan", "nan_loss"))
    state.apply(EngineIdle(None))
    assert state.message == "seed failed: 0 epochs · t train"
    state.awaiting_run = True
    state.apply(started_event())
    state.apply(EpochEnded(FAKE_RUN_ID, fake_metrics(1), 1))
    state.apply(TrainingFinished(FAKE_RUN_ID, (fake_metrics(1),), 2.0))
    state.apply(EngineIdle(None))
    assert state.message == "seed finished: 1 epoch · t train more · e export"


def started_event() -> TrainingStarted:
    return TrainingStarted(
        run_id=FAKE_RUN_ID,
        config=TrainConfig(epochs=1),
        summary=SEED_SUMMARY,
        device=FAKE_DEVICE,
        data_source="synthetic",
        train_samples=400,
        val_samples=100,
        batches_per_epoch=13,
        initial_epoch=0,
        final_epoch=1,
    )
