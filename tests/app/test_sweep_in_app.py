"""A sweep started from the app: the palette's dialog sends the engine a RunSweep; its trials'
events reach the Train tab as a run's do; ``s`` lets the trial being run train to its end and
then ends the sweep; ``q`` asks first, saying a sweep is running.

A scripted engine plays the sweep (trial 0 waits half-way until it is told to stop); the last
test runs a real sweep on the real engine, on synthetic data."""

from __future__ import annotations

import asyncio
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers import text_of, wait_for
from textual.widgets import Input
from tui_fakes import BATCHES, SEED_SUMMARY, ScriptedEngine, fake_metrics, synthetic_loader

from core.config import TrainConfig
from core.events import BatchProgress, EpochEnded, TrainingFinished, TrainingStarted
from core.sweeps.events import StudyOpened, TrialEnded, TrialStarted
from tui.app import FmnistApp
from tui.engine import EngineCommand, Post, RunSweep, TrainingEngine
from tui.messages import Reported
from tui.reports import EngineIdle, Report, SweepEnded
from tui.screens.confirm import ConfirmQuit
from tui.screens.sweep_dialogs import SweepDialog
from tui.widgets.charts import MetricChart
from tui.widgets.log_pane import LogPane

TRIALS = 3


class SweepingEngine(ScriptedEngine):
    """Plays a sweep of :data:`TRIALS` one-epoch trials; trial 0 holds half-way through its
    epoch until a stop comes (``s`` twice), or ``release`` is set (then it ends as trained to
    its end)."""

    def __init__(self) -> None:
        super().__init__()
        self.trials_started: list[int] = []
        self.trial_held = threading.Event()
        self.release = threading.Event()
        self._post: Post | None = None

    def serve(self, post: Post) -> None:
        self._post = post
        super().serve(post)

    def next_command(self) -> EngineCommand:
        while True:
            command = super().next_command()
            if not isinstance(command, RunSweep):
                return command
            self.received.append(command)
            assert self._post is not None
            post = self._post

            def report(what: Report, post: Post = post) -> None:
                post(Reported(what))

            self._sweep(report)
            report(EngineIdle(None))

    def _sweep(self, report: Any) -> None:
        report(StudyOpened("lr", "/runs/sweeps.journal", 0, TRIALS, "maximize", "val_accuracy"))
        trials = 0
        for number in range(TRIALS):
            if self.after_trial.is_set() or self.shutting_down:
                break
            self.trials_started.append(number)
            trials += 1
            run_id = f"trial-{number}"
            report(TrialStarted(number, {"learning_rate": 0.001 * (number + 1)}))
            self.signals.stop.clear()
            report(
                TrainingStarted(
                    run_id=run_id,
                    config=TrainConfig(epochs=1),
                    summary=SEED_SUMMARY,
                    device="cpu",
                    data_source="synthetic",
                    train_samples=400,
                    val_samples=100,
                    batches_per_epoch=BATCHES,
                    initial_epoch=0,
                    final_epoch=1,
                )
            )
            report(BatchProgress(run_id, 1, BATCHES // 2, BATCHES, 0.9, 0.6, 1600.0))
            if number == 0:
                self.trial_held.set()
                while not (self.release.is_set() or self.signals.stop.is_set()):
                    self.release.wait(0.01)
            if self.signals.stop.is_set():
                report(TrialEnded(number, "failed", None, 0, None, "stopped"))
                break
            metrics = fake_metrics(1)
            report(EpochEnded(run_id, metrics, 1))
            report(TrainingFinished(run_id, (metrics,), 2.0))
            report(TrialEnded(number, "complete", metrics.val_accuracy, 1, f"/runs/{run_id}"))
        self.after_trial.clear()
        report(SweepEnded("lr", "interrupted" if trials < TRIALS else "done", trials))


def space_file(folder: Path) -> Path:
    path = folder / "lr.toml"
    path.write_text(
        textwrap.dedent(
            """
            trials = 3
            [params]
            epochs = 2
            learning_rate = { low = 1e-4, high = 1e-2, log = true }
            """
        ),
        encoding="utf-8",
    )
    return path


async def start_sweep(pilot: Any, space: Path, trials: str = "3", *, ready_s: float = 60) -> None:
    """Run ``space`` from the palette's dialog once the data is loaded (``ready_s``: a real
    engine imports its ML runtime first, slow on a busy machine)."""
    app = pilot.app
    await wait_for(
        pilot, lambda: app.state.data_description is not None, "the data", timeout=ready_s
    )
    await app.run_action("run_sweep")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, SweepDialog) and bool(app.screen.query("#sweep-space")),
        "the sweep dialog",
    )
    app.screen.query_one("#sweep-space", Input).value = str(space)
    app.screen.query_one("#sweep-trials", Input).value = trials
    await pilot.press("enter")


def log_text(app: FmnistApp) -> str:
    """The log pane's lines as one text, its wrapped lines joined again."""
    return " ".join(strip.text.strip() for strip in app.query_one(LogPane).lines)


def test_s_during_a_sweep_stops_after_the_current_trial(tmp_path: Path) -> None:
    engine = SweepingEngine()
    app = FmnistApp(engine=engine, runs_dir=tmp_path / "runs", cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await start_sweep(pilot, space_file(tmp_path))
            await wait_for(pilot, engine.trial_held.is_set, "trial 0 half-way")
            assert RunSweep(tmp_path / "lr.toml", 3, None, None) in engine.received
            await wait_for(
                pilot, lambda: app.state.sweep is not None and app.state.sweep.trial == 0
            )
            assert app.main.active_tab == "train"
            await pilot.press("s")
            await wait_for(pilot, engine.after_trial.is_set, "the engine told")
            assert not engine.signals.stop.is_set()  # the trial goes on
            assert "stops after this trial" in app.sub_title
            engine.release.set()
            await wait_for(pilot, lambda: not app.state.training, "the sweep's end", timeout=30)
            # It trained its epoch to the end, and no other trial began.
            assert engine.trials_started == [0]
            live = app.state.live
            assert live is not None and live.run_id == "trial-0" and len(live.history) == 1
            assert app.state.sweep is None
            log = log_text(app)
            assert "The sweep stops once trial 0 ends (it trains to its end)" in log
            assert "Trial 0 complete" in log
            assert "Sweep of study lr stopped (1 trial run here)" in log
            # Its epoch reached the Train tab's charts as any run's does.
            chart = app.query_one("#accuracy-chart", MetricChart)
            assert [x for x, _ in chart.validation_points] == [1.0]

    asyncio.run(scenario())


def test_the_title_says_a_sweep_runs_and_that_it_stops_after_the_trial(tmp_path: Path) -> None:
    engine = SweepingEngine()
    app = FmnistApp(engine=engine, runs_dir=tmp_path / "runs", cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await start_sweep(pilot, space_file(tmp_path))
            await wait_for(pilot, lambda: "trial 0" in app.sub_title, "the title")
            assert app.sub_title.startswith("sweep lr · trial 0"), app.sub_title
            await pilot.press("s")
            await wait_for(pilot, lambda: "stops after this trial" in app.sub_title, "s said")
            # s again stops the trial itself, as s stops a run.
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.state.training, "the sweep's end", timeout=30)
            assert "Trial 0 failed" in log_text(app)

    asyncio.run(scenario())


def test_q_during_a_sweep_asks_first_and_says_so(tmp_path: Path) -> None:
    engine = SweepingEngine()
    app = FmnistApp(engine=engine, runs_dir=tmp_path / "runs", cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await start_sweep(pilot, space_file(tmp_path))
            await wait_for(pilot, engine.trial_held.is_set, "trial 0 half-way")
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit), "the question")
            await pilot.pause()
            shown = " ".join(text_of(w, " ") for w in app.screen.query("#confirm-dialog > *"))
            assert "Quit while a sweep is running?" in shown
            assert "study lr" in shown
            await pilot.press("n")
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmQuit), "dismissed")
            assert app.state.training
            await pilot.press("s", "s")
            await wait_for(pilot, lambda: not app.state.training, "the sweep's end", timeout=30)

    asyncio.run(scenario())


def test_the_dialog_refuses_a_missing_file_and_a_bad_count(tmp_path: Path) -> None:
    engine = SweepingEngine()
    app = FmnistApp(engine=engine, runs_dir=tmp_path / "runs", cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await start_sweep(pilot, tmp_path / "nowhere.toml")
            error = app.screen.query_one("#sweep-dialog-error")
            await wait_for(pilot, lambda: "no file" in text_of(error), "the missing file")
            app.screen.query_one("#sweep-space", Input).value = str(space_file(tmp_path))
            app.screen.query_one("#sweep-trials", Input).value = "0"
            await pilot.press("enter")
            await wait_for(pilot, lambda: "1 to 100,000" in text_of(error), "the count")
            assert isinstance(app.screen, SweepDialog)
            assert not any(isinstance(c, RunSweep) for c in engine.received)

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_real_sweep_in_the_engine_stops_after_its_trial(tmp_path: Path) -> None:
    from core.sweeps import watch

    runs = tmp_path / "runs"
    engine = TrainingEngine(dataset_loader=synthetic_loader(), runs_root=runs)
    app = FmnistApp(engine=engine, runs_dir=runs, cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await start_sweep(pilot, space_file(tmp_path), ready_s=300)
            await wait_for(
                pilot,
                lambda: app.state.sweep is not None and app.state.sweep.trial == 0,
                "trial 0",
                timeout=300,
            )
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.state.training, "the sweep's end", timeout=300)
            live = app.state.live
            assert live is not None and len(live.history) == 2  # the trial trained to its end
            log = log_text(app)
            assert "Trial 0 complete" in log and "Trial 1" not in log, log

    asyncio.run(scenario())
    watch.forget()
    study = watch.study_snapshot(runs / "sweeps.journal", "lr")
    assert [(t.number, t.state, t.epochs_done) for t in study.trials] == [(0, "complete", 2)]
