"""The Runs tab as a comparison table: the settings that differ are columns (the rest one line
above), any column sorts from the keyboard, and d deletes a run after asking, never one that
is being trained."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import ask_to_train, text_of, wait_for
from textual.pilot import Pilot
from tui_fakes import FAKE_RUN_ID, ScriptedEngine, fake_evaluation

from core.config import TrainConfig
from core.events import EpochEnded, EpochMetrics
from core.requests import HeldModel
from core.runs import catalogue
from core.runs.catalogue import RunListing
from core.runs.layout import MODEL_FILE, create_run_dir, save_config, save_evaluation, save_history
from core.runs.lock import RunLock
from tui.app import FmnistApp
from tui.reports import Report, RunDeleted
from tui.screens.confirm_delete import ConfirmDelete
from tui.state import AppState, Continuation, RunView
from tui.tabs.runs import RunsTab
from tui.widgets.log_pane import LogPane
from tui.widgets.runs_table import RunsTable

BASE = TrainConfig(epochs=2)


def saved_run(runs: Path, second: int, config: TrainConfig, val: tuple[float, float]) -> Path:
    run_dir = create_run_dir(runs, config, now=datetime(2025, 1, 2, 3, 4, second))
    history = [EpochMetrics(e, 0.5, 0.8, 0.6, v, 1.5 * e) for e, v in enumerate(val, start=1)]
    save_history(run_dir, history, status="finished", planned_epochs=config.epochs)
    evaluation, images = fake_evaluation()
    save_evaluation(run_dir, evaluation, images, 394_530)
    (run_dir / MODEL_FILE).write_bytes(b"not read")
    return run_dir


def three_runs(runs: Path) -> list[Path]:
    """Oldest first: lr 0.001 batch 32, lr 0.01 batch 32, lr 0.001 batch 64."""
    return [
        saved_run(runs, 1, BASE, (0.61, 0.72)),
        saved_run(runs, 2, BASE.with_training(learning_rate=0.01), (0.80, 0.75)),
        saved_run(runs, 3, BASE.with_changes(batch_size=64), (0.55, 0.66)),
    ]


async def runs_tab(pilot: Pilot[Any], rows: int) -> RunsTable:
    app: Any = pilot.app
    await pilot.press("4")
    table = app.query_one(RunsTable)
    await wait_for(pilot, lambda: table.row_count == rows, f"{rows} rows")
    await wait_for(pilot, lambda: app.focused is table, "the table's focus")
    return table


def column(table: RunsTable, name: str) -> list[str]:
    return [table.row_texts(row)[name] for row in range(table.row_count)]


def test_the_columns_are_the_settings_that_differ(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    three_runs(runs)
    app = FmnistApp(engine=ScriptedEngine(), runs_dir=runs, cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            table = await runs_tab(pilot, 3)
            assert [c.name for c in table.columns_shown] == [
                "started", "batch", "lr", "best-val", "test", "epochs", "status", "time",
                "folder",
            ]  # fmt: skip
            assert column(table, "lr") == ["0.001", "0.01", "0.001"]
            assert column(table, "batch") == ["64", "32", "32"]
            assert column(table, "best-val") == ["0.6600 @2", "0.8000 @1", "0.7200 @2"]
            assert column(table, "time") == ["4s", "4s", "4s"]
            shared = text_of(app.query_one("#runs-shared"), " ")
            assert "all: seed, adam, constant; no wd, smoothing, augment or early stop" in shared
            heading = text_of(app.query_one("#runs-heading")).strip()
            assert heading.startswith("3 saved runs · by Started ▼ · Enter opens one · in /")
            # At 80 columns the settings and both accuracies are in view.
            table_text = text_of(table, "\n")
            assert "0.01" in table_text and "0.8000 @1" in table_text
            assert "0.8000" in table_text.split("\n")[2], "the test accuracy column"

    asyncio.run(scenario())


def test_any_column_sorts_from_the_keyboard(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    oldest, middle, newest = three_runs(runs)
    app = FmnistApp(engine=ScriptedEngine(), runs_dir=runs, cursor_blink=False)

    def order(table: RunsTable) -> list[Path]:
        return [run.path for run in table.listings]

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            table = await runs_tab(pilot, 3)
            assert order(table) == [newest, middle, oldest]
            await pilot.press("down")  # the cursor stays on its run through every sort
            assert table.highlighted_run() is not None
            assert table.highlighted_run().path == middle

            await pilot.press("greater_than_sign")
            assert table.sort_column.name == "batch" and order(table) == [middle, oldest, newest]
            assert str(table.ordered_columns[1].label) == "Batch ▲"
            await pilot.press("greater_than_sign")
            assert table.sort_column.name == "lr" and order(table)[-1] == middle
            await pilot.press("o")
            assert order(table)[0] == middle
            assert str(table.ordered_columns[2].label) == "LR ▼"
            assert "by LR ▼" in text_of(app.query_one("#runs-heading"))
            await pilot.press("greater_than_sign")  # best validation accuracy: best first
            assert table.sort_column.name == "best-val" and not table.reverse
            assert order(table) == [middle, oldest, newest]
            await pilot.press("less_than_sign", "less_than_sign", "less_than_sign")
            assert table.sort_column.name == "started"
            await pilot.press("less_than_sign")  # round to the last column
            assert table.sort_column.name == "folder"
            assert table.highlighted_run() is not None
            assert table.highlighted_run().path == middle

            # A new listing keeps the order chosen.
            newer = saved_run(runs, 4, BASE, (0.1, 0.2))
            await app.run_action("refresh_runs")
            await wait_for(pilot, lambda: table.row_count == 4, "the new run")
            assert order(table) == [oldest, middle, newest, newer]

    asyncio.run(scenario())


def test_delete_asks_then_removes_the_folder(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    oldest, middle, newest = three_runs(runs)
    app = FmnistApp(engine=ScriptedEngine(), runs_dir=runs, cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            table = await runs_tab(pilot, 3)
            # Open the middle run: it stays on show once its folder is gone.
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: app.state.shown is not None, "the run on show")
            await wait_for(pilot, lambda: app.focused not in (None, table), "the Train tab's focus")
            await pilot.press("4")
            await wait_for(pilot, lambda: app.focused is table, "the Runs tab again")
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete), "the question")
            title = app.screen.query_one(".dialog-title")
            await wait_for(pilot, lambda: middle.name in text_of(title), "the run named")
            detail = text_of(app.screen.query_one("#delete-detail"), " ")
            assert "seed, finished, 2 of 2 epochs, test accuracy 0.8000" in detail
            await pilot.press("n")
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDelete), "no")
            assert middle.is_dir() and table.row_count == 3

            await pilot.press("delete")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete), "the question")
            await pilot.press("y")
            await wait_for(pilot, lambda: table.row_count == 2, "the listing without it")
            assert not middle.exists() and oldest.is_dir() and newest.is_dir()
            assert [run.path for run in table.listings] == [newest, oldest]
            assert table.highlighted_run() is not None
            assert table.highlighted_run().path == oldest, "the cursor stays on its row"

            shown = app.state.shown
            assert shown is not None and shown.run_id == middle.name
            await pilot.press("1")
            pane = app.query_one(LogPane)

            def logged() -> str:
                return " ".join(" ".join(strip.text for strip in pane.lines).split())

            await wait_for(pilot, lambda: "its folder is gone" in logged(), "the note")
            assert f"{middle.name} stays on show from memory" in logged()
            continuation = app.state.continuation()
            assert continuation is not None and continuation.refusal is not None
            assert "was deleted" in continuation.refusal

    asyncio.run(scenario())


def test_a_run_being_trained_is_never_deleted(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    oldest, _, _ = three_runs(runs)
    # The folder of the run the app trains (the fake engine writes it only at the end).
    training = runs / FAKE_RUN_ID
    training.mkdir()
    save_config(training, BASE)
    engine = ScriptedEngine(hold_in_epoch=1, run_dir=str(training))
    app = FmnistApp(engine=engine, runs_dir=runs, cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await ask_to_train(pilot, 2)
            await wait_for(pilot, engine.holding.is_set, "the run in its first epoch")

            await wait_for(pilot, lambda: app.screen is app.main, "the dialog gone")
            table = await runs_tab(pilot, 4)
            row = [run.path for run in table.listings].index(training)
            table.move_cursor(row=row)
            await pilot.press("d")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, ConfirmDelete)
            assert training.is_dir()
            assert any("is being trained" in n.message for n in app._notifications)

            # Another process's run: it says it is running, and its lock is held.
            history = [EpochMetrics(1, 0.5, 0.8, 0.6, 0.61, 1.5)]
            save_history(oldest, history, status="running", planned_epochs=2)
            with RunLock(oldest):
                await app.run_action("refresh_runs")
                await wait_for(
                    pilot,
                    lambda: any(r.status == "running" for r in table.listings),
                    "the locked run listed as running",
                )
                table.move_cursor(row=[r.path for r in table.listings].index(oldest))
                await pilot.press("d")
                await pilot.pause(0.2)
                assert not isinstance(app.screen, ConfirmDelete)
                assert oldest.is_dir()
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.state.training, "the run's end")

    asyncio.run(scenario())


def test_a_deleted_run_is_not_offered_to_continue() -> None:
    """The model the engine holds trained into a folder that is gone: continuing it would
    fail at its first checkpoint, so the Train dialog says why instead."""
    folder = Path("/runs") / FAKE_RUN_ID
    state = AppState()
    state.shown = RunView(run_id=FAKE_RUN_ID, model="seed", run_dir=folder, status="finished")
    state.shown.history = [EpochMetrics(1, 0.5, 0.8, 0.6, 0.7, 1.0)]
    state.held = HeldModel(FAKE_RUN_ID, folder, "seed", 1)
    assert state.continuation() == Continuation(FAKE_RUN_ID, "seed", 1)

    changes = state.apply(RunDeleted(folder))

    assert changes.runs_stale, "the listing is read again"
    assert changes.notes[0] == (f"Deleted {folder}", "")
    assert "stays on show from memory; its folder is gone" in changes.notes[1][0]
    continuation = state.continuation()
    assert continuation is not None and continuation.refusal is not None
    assert state.held is None and state.shown is not None

    other = AppState()
    other.held = HeldModel("20200101-000000-seed", folder.parent / "x", "seed", 1)
    other.apply(RunDeleted(folder))
    assert other.held is not None, "another run's model is kept"


class CheckpointingEngine(ScriptedEngine):
    """Writes the run's history before each epoch's end is reported, as core does (its
    checkpoint and ``history.json`` come before :class:`~core.events.EpochEnded`), each
    epoch once the test opens its gate."""

    def __init__(self, run_dir: Path, epochs: int) -> None:
        super().__init__(hold_in_epoch=epochs, run_dir=str(run_dir))
        self.folder = run_dir
        self.planned = epochs
        self.gates = {epoch: threading.Event() for epoch in range(1, epochs + 1)}

    def _run(self, config: TrainConfig, epochs: int, post: Callable[[Report], None]) -> None:
        history: list[EpochMetrics] = []

        def checkpointed(report: Report) -> None:
            if isinstance(report, EpochEnded):
                self.gates[report.metrics.epoch].wait(timeout=60)
                history.append(report.metrics)
                save_history(self.folder, history, status="running", planned_epochs=self.planned)
            post(report)

        super()._run(config, epochs, checkpointed)


def test_the_runs_tab_follows_the_run_being_trained_epoch_by_epoch(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    other = saved_run(runs, 1, BASE, (0.61, 0.72))
    training = runs / FAKE_RUN_ID
    training.mkdir()
    save_config(training, BASE.with_changes(epochs=3))
    engine = CheckpointingEngine(training, 3)
    app = FmnistApp(engine=engine, runs_dir=runs, cursor_blink=False)

    def row(table: RunsTable, folder: str) -> dict[str, str]:
        rows = [table.row_texts(row) for row in range(table.row_count)]
        return next(row for row in rows if row["folder"] == folder)

    def live_row(table: RunsTable) -> dict[str, str]:
        return row(table, FAKE_RUN_ID)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await ask_to_train(pilot, 3)
            await wait_for(pilot, lambda: app.screen is app.main, "the dialog gone")
            table = await runs_tab(pilot, 2)
            assert live_row(table)["epochs"] == "0"  # no epoch saved yet
            assert row(table, other.name)["epochs"] == "2/2"
            # Another process trains the other run on: only the whole listing reads it.
            more = [EpochMetrics(e, 0.5, 0.8, 0.6, 0.7, 1.5) for e in (1, 2, 3)]
            save_history(other, more, status="finished", planned_epochs=3)

            engine.gates[1].set()  # epoch 1 ends while the tab is on show
            await wait_for(pilot, lambda: live_row(table)["epochs"] == "1/3", "epoch 1 listed")
            assert live_row(table)["status"] == "running"
            assert live_row(table)["best-val"] == "0.7000 @1"
            assert row(table, other.name)["epochs"] == "2/2", "an epoch reads its own run only"

            await pilot.press("1")
            tab = app.main.tab(RunsTab)
            await wait_for(pilot, lambda: not tab.display, "the Runs tab hidden")
            engine.gates[2].set()  # epoch 2 ends while another tab is on show
            await wait_for(pilot, lambda: len(app.state.live.history) == 2, "epoch 2")  # type: ignore[union-attr]
            await pilot.pause()
            assert live_row(table)["epochs"] == "1/3", "no listing for a hidden tab"
            await pilot.press("4")
            await wait_for(pilot, lambda: live_row(table)["epochs"] == "2/3", "epoch 2 listed")

            await wait_for(pilot, engine.holding.is_set, "the run in its last epoch")
            await pilot.press("s")
            await wait_for(pilot, lambda: not app.state.training, "the run's end")
            # Saved at its end: every run is listed again.
            await wait_for(pilot, lambda: row(table, other.name)["epochs"] == "3/3", "all")

    with RunLock(training):  # as core holds it while it trains
        asyncio.run(scenario())


def test_a_slow_read_of_one_run_never_overwrites_a_newer_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    run = saved_run(runs, 1, BASE, (0.61, 0.72))
    release = threading.Event()
    original = catalogue.listing_of
    reads: list[Path] = []

    def slow_first_read(path: Path) -> RunListing:
        reads.append(path)
        if len(reads) == 1:  # the one-run read, before the whole listing asked after it
            release.wait(timeout=60)
            return replace(original(path), status="running", epochs=1)
        return original(path)

    app = FmnistApp(engine=ScriptedEngine(), runs_dir=runs, cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            table = await runs_tab(pilot, 1)
            monkeypatch.setattr(catalogue, "listing_of", slow_first_read)
            tab = app.main.tab(RunsTab)
            tab.refresh_run_on_show(run.name)
            await wait_for(pilot, lambda: len(reads) == 1, "the one-run read under way")
            tab.refresh_runs()
            await wait_for(pilot, lambda: len(reads) == 2, "the whole listing read")
            listing = [w for w in app.workers if w.group == "runs"]
            await wait_for(pilot, lambda: all(w.is_finished for w in listing), "the listing")
            await pilot.pause()
            release.set()
            await wait_for(pilot, lambda: all(w.is_finished for w in app.workers), "the read")
            await pilot.pause()
            assert column(table, "status") == ["finished"]
            assert app.state.runs[0].status == "finished"

    asyncio.run(scenario())
