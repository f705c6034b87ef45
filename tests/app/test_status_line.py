"""The status line under the tabs says the data of the run on show (not the data the app
would give a new run), and fits its width with the sample counts whole: at 120 and at 80
columns, with a long CPU name and a long data folder."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from helpers import text_of, wait_for
from tui_fakes import FAKE_DEVICE, ScriptedEngine, fake_evaluation, fake_metrics, fake_summary

from core.config import TrainConfig
from core.events import EpochMetrics, TrainingStarted
from core.runs.catalogue import load_run
from core.runs.layout import MODEL_FILE, create_run_dir, save_evaluation, save_history
from tui.app import FmnistApp
from tui.messages import Reported
from tui.reports import DataReady, EngineReady, RunLoaded
from tui.state import AppState
from tui.status_text import fit_status, source_forms
from tui.widgets.runs_table import RunsTable

KERAS_CACHE = "Keras cache (~/.keras/datasets/fashion-mnist)"
LONG_DEVICE = "CPU: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz (2 threads) · tensorflow"
FULL_COUNTS = "48,000 train / 12,000 val / 10,000 test"


def saved_run(runs: Path, config: TrainConfig, *, evaluated: bool = True) -> Path:
    """A finished two-epoch run folder trained with ``config`` (tested on the fake's 100
    images when ``evaluated``)."""
    run_dir = create_run_dir(runs, config, now=datetime(2025, 1, 2, 3, 4, 5))
    history: list[EpochMetrics] = [fake_metrics(epoch) for epoch in (1, 2)]
    save_history(run_dir, history, status="finished", planned_epochs=2)
    if evaluated:
        evaluation, images = fake_evaluation()
        save_evaluation(run_dir, evaluation, images, 394_530)
    (run_dir / MODEL_FILE).write_bytes(b"not read")
    return run_dir


def ready_state(data_config: TrainConfig, counts: tuple[int, int, int]) -> AppState:
    state = AppState(data_config=data_config)
    state.apply(EngineReady(FAKE_DEVICE))
    state.apply(DataReady(KERAS_CACHE, *counts))
    return state


def started(config: TrainConfig, train: int, val: int) -> TrainingStarted:
    return TrainingStarted(
        run_id="20260101-120000-seed",
        config=config,
        summary=fake_summary("seed"),
        device=FAKE_DEVICE,
        data_source=KERAS_CACHE,
        train_samples=train,
        val_samples=val,
        batches_per_epoch=10,
        initial_epoch=0,
        final_epoch=1,
    )


def test_a_saved_full_data_run_shows_its_own_split_not_the_apps(tmp_path: Path) -> None:
    """The app was started with ``--limit-train 6000 --limit-test 2000``; the run on show
    trained on everything.

    Mutation: ``status_line`` describing ``self.data`` whatever run is on show (as before)
    keeps "4,800 train / 1,200 val / 2,000 test" up.
    """
    state = ready_state(TrainConfig(limit_train=6000, limit_test=2000), (4800, 1200, 2000))
    assert "4,800 train / 1,200 val / 2,000 test" in state.status_line()
    full = saved_run(tmp_path, TrainConfig(epochs=2))
    changes = state.apply(RunLoaded(load_run(full)))
    assert changes.status
    # The whole training set's size is not known yet; the test set is the evaluation's.
    assert state.status_line() == (
        f"{FAKE_DEVICE} · all train images (20% val) / 100 test · {KERAS_CACHE}"
    )
    # A full-data run trained in this session counts the whole training set (and the saved
    # run's evaluation the whole test set)...
    state.awaiting_run = True
    state.apply(started(TrainConfig(epochs=1), 48_000, 12_000))
    assert "48,000 train / 12,000 val / 100 test" in state.status_line()
    # ...which the saved run, opened again, is counted with.
    state.apply(RunLoaded(load_run(full)))
    assert "48,000 train / 12,000 val / 100 test" in state.status_line()


def test_a_saved_limited_run_is_counted_from_its_settings(tmp_path: Path) -> None:
    """The app trains on everything; the run on show was limited, with its own split.

    Mutation: computing the split with the app's 0.2 instead of the run's ``val_split``
    says 800 / 200; ignoring ``limit_test`` says 10,000 test.
    """
    state = ready_state(TrainConfig(), (48_000, 12_000, 10_000))
    config = TrainConfig(epochs=2, limit_train=1000, limit_test=500, val_split=0.25)
    state.apply(RunLoaded(load_run(saved_run(tmp_path, config, evaluated=False))))
    assert state.status_line() == f"{FAKE_DEVICE} · 750 train / 250 val / 500 test · {KERAS_CACHE}"
    # Once nothing is on show the line is the app's own data again.
    state.shown = None
    assert FULL_COUNTS in state.status_line()


def test_the_line_fits_its_width_with_the_counts_whole() -> None:
    """Mutation: returning the full line whatever the width fails every width below."""
    for width in (118, 98, 78, 60):
        line = fit_status(LONG_DEVICE, FULL_COUNTS, KERAS_CACHE, width)
        assert len(line) <= width and FULL_COUNTS in line, (width, line)
    # What gives way first: trade marks and the clock, then the source's folder.
    assert fit_status(LONG_DEVICE, FULL_COUNTS, KERAS_CACHE, 118) == (
        f"CPU: Intel Xeon Platinum 8375C (2 threads) · tensorflow · {FULL_COUNTS} · Keras cache"
    )
    assert fit_status(LONG_DEVICE, FULL_COUNTS, KERAS_CACHE, 78) == (
        f"CPU: Intel Xeon Platinum 8375C · {FULL_COUNTS}"
    )
    assert fit_status(LONG_DEVICE, FULL_COUNTS, KERAS_CACHE, None).endswith(KERAS_CACHE)


def test_a_source_shortens_to_what_still_names_it() -> None:
    """Mutation: taking any parenthesis for a folder (as first written) shortened the fake
    data's ``synthetic (seed 0)`` to ``seed 0``, which reads as the model's name."""
    assert source_forms(KERAS_CACHE) == [
        KERAS_CACHE, "~/.keras/datasets/fashion-mnist", "Keras cache",
    ]  # fmt: skip
    assert source_forms("synthetic (seed 0)") == ["synthetic (seed 0)", "synthetic"]
    assert source_forms("--data-dir /data/fmnist") == [
        "--data-dir /data/fmnist", "/data/fmnist", "…/fmnist",
    ]  # fmt: skip
    assert source_forms("Keras download") == ["Keras download"]


def test_the_drawn_line_is_the_run_on_shows_and_fits_120_and_80_columns(tmp_path: Path) -> None:
    """Through the app: a long CPU name, the app's data limited, a full-data run opened from
    the Runs tab, then a resize to 80 columns.

    Mutation: ``StatusLine.render`` returning ``status_line()`` without the width lets the
    stylesheet's ellipsis cut the counts off at 80 columns (and the folder at 120).
    """
    runs = tmp_path / "runs"
    saved_run(runs, TrainConfig(epochs=2))
    app = FmnistApp(
        engine=ScriptedEngine(),
        runs_dir=runs,
        base_config=TrainConfig(limit_train=500, limit_test=100),
        cursor_blink=False,
    )

    def drawn() -> str:
        return text_of(app.query_one("#status")).strip()

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.data is not None, "the data")
            app.post_message(Reported(EngineReady(LONG_DEVICE)))
            app.post_message(Reported(DataReady(KERAS_CACHE, 400, 100, 100)))
            await wait_for(pilot, lambda: app.state.device == LONG_DEVICE, "the device")
            await wait_for(pilot, lambda: "400 train / 100 val / 100 test" in drawn(), "data")
            assert drawn().endswith("· Keras cache") and len(drawn()) <= 118

            await pilot.press("4")
            table = app.query_one(RunsTable)
            await wait_for(pilot, lambda: table.row_count == 1, "the saved run")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.state.shown is not None, "the run opened")
            counts = "all train images (20% val) / 100 test"
            await wait_for(pilot, lambda: counts in drawn(), "the run's own data")
            assert "400 train" not in drawn()

            await pilot.resize_terminal(80, 24)
            await wait_for(pilot, lambda: app.size.width == 80, "the resize")
            await pilot.pause()
            line: Any = drawn()
            assert counts in line and len(line) <= 78, line
            assert line.startswith("CPU: Intel Xeon Platinum 8375C"), line

    asyncio.run(scenario())
