"""The Sweep tab watches a study: one that another process is feeding, live; Enter on a trial
opens its run; a storage that cannot be reached is a line in the heading while the tab keeps
polling; it reads nothing while hidden; and polls of one study coalesce."""

from __future__ import annotations

import asyncio
import subprocess
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import env_for, fmnist_tui, text_of, wait_for, write_data_dir
from textual.widgets import Select
from textual.widgets._select import SelectOverlay  # Select's list: no public name in 8.2
from tui_fakes import ScriptedEngine, fake_evaluation, fake_metrics

from core.backend import installed
from core.config import TrainConfig
from core.data import synthetic_raw
from core.events import BatchProgress
from core.runs.layout import MODEL_FILE, create_run_dir, save_evaluation, save_history
from core.sweeps import watch
from tui.app import FmnistApp
from tui.messages import Reported
from tui.reports import StudiesListed, StudyPolled, StudyUnreachable
from tui.screens.error import ErrorScreen
from tui.tabs import sweep as sweep_tab
from tui.tabs.sweep import SweepTab
from tui.widgets.sweep_plot import SweepPlot
from tui.widgets.sweep_table import TrialsTable

BACKEND = "torch" if installed("torch") else "tensorflow"


def write_study(runs: Path, name: str = "lr", *, trials: int = 3) -> list[Path]:
    """A study in ``runs``' journal, written as a worker writes one: ``trials`` complete
    trials (more, if it exists) whose run folders are real finished runs. Their folders."""
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runs.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(runs / "sweeps.journal")))
    study = optuna.create_study(
        study_name=name, storage=storage, direction="maximize", load_if_exists=True
    )
    study.set_user_attr("objective", "val_accuracy")
    folders = []
    for number in range(trials):
        trial = study.ask({"learning_rate": FloatDistribution(1e-4, 1e-2, log=True)})
        run_dir = create_run_dir(
            runs, TrainConfig(epochs=3), now=datetime(2026, 1, 2, 3, 4, number)
        )
        history = [fake_metrics(e) for e in (1, 2, 3)]
        save_history(run_dir, history, status="finished", planned_epochs=3)
        evaluation, images = fake_evaluation()
        save_evaluation(run_dir, evaluation, images, 394_530)
        (run_dir / MODEL_FILE).write_bytes(b"not read")
        for metrics in history:
            trial.report(metrics.val_accuracy, metrics.epoch)
        trial.set_user_attr("run_dir", str(run_dir))
        study.tell(trial, history[-1].val_accuracy - 0.01 * number)
        folders.append(run_dir)
    return folders


def trial_rows(app: FmnistApp) -> dict[int, dict[str, str]]:
    table = app.query_one("#sweep-trials", TrialsTable)
    rows = (table.row_texts(row) for row in range(table.row_count))
    return {int(row["number"]): row for row in rows}


def app_for(runs: Path) -> FmnistApp:
    return FmnistApp(engine=ScriptedEngine(), runs_dir=runs, cursor_blink=False)


@pytest.mark.slow
def test_the_tab_shows_a_study_that_another_process_is_feeding(tmp_path: Path) -> None:
    data = write_data_dir(tmp_path / "data", synthetic_raw(train=600, test=100, seed=0))
    space = tmp_path / "fed.toml"
    space.write_text(
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
    runs = tmp_path / "runs"
    argv = [*fmnist_tui(), "--backend", BACKEND, "sweep", str(space), "--runs-dir", str(runs)]
    argv += ["--data-dir", str(data)]
    worker = subprocess.Popen(
        argv,
        env=env_for(tmp_path, BACKEND),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    app = app_for(runs)
    seen_while_running: list[dict[int, dict[str, str]]] = []

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("5")

            def first_trial_shown() -> bool:
                assert worker.poll() in (None, 0), worker.stderr.read()  # type: ignore[union-attr]
                rows = trial_rows(app)
                if rows and worker.poll() is None:
                    seen_while_running.append(rows)
                return bool(seen_while_running)

            await wait_for(pilot, first_trial_shown, "a trial on the tab", timeout=300)

            def all_complete() -> bool:
                rows = trial_rows(app)
                return len(rows) == 3 and all("complete" in r["state"] for r in rows.values())

            await wait_for(pilot, all_complete, "the three trials complete", timeout=600)
            rows = trial_rows(app)
            heading = text_of(app.query_one("#sweep-heading"))
            assert "3 trials" in heading and "fed" in str(app.state.watched), heading
            best = text_of(app.query_one("#sweep-best"))
            values = {n: float(r["value"]) for n, r in rows.items()}
            # The first to reach the best value (synthetic data: several reach 1.0).
            top = min(n for n in values if values[n] == max(values.values()))
            assert f"trial {top}" in best and f"{values[top]:.4f}" in best
            assert all(r["epochs"] == "2" for r in rows.values())
            assert app.query_one(SweepTab).polls >= 2

    try:
        asyncio.run(scenario())
    finally:
        worker.wait(timeout=600)
    # It was read while the other process was still writing it, and read again after.
    assert seen_while_running
    assert worker.returncode == 0


def test_enter_opens_a_trials_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    folders = write_study(runs)
    app = app_for(runs)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("5")
            await wait_for(pilot, lambda: len(trial_rows(app)) == 3, "three trials", timeout=30)
            table = app.query_one("#sweep-trials", TrialsTable)
            assert table.has_focus
            # Newest first: the cursor is on trial 2; one row down is trial 1.
            await pilot.press("down")
            assert table.highlighted_trial() is not None
            assert table.highlighted_trial().number == 1  # type: ignore[union-attr]
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: app.state.shown is not None and app.state.shown.run_id == folders[1].name,
                "trial 1's run on show",
                timeout=30,
            )
            assert app.main.active_tab == "train"
            assert len(app.state.shown.history) == 3  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_p_picks_another_study_whose_label_counts_its_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The picker lists the storage's studies with their trial counts, kept up to date as
    another process adds trials (mutation: the options redrawn only when the names change),
    and ``p`` opens it from the trials (mutation: no ``p`` binding): picking one watches it
    and gives the focus back to the trials."""
    monkeypatch.setattr(sweep_tab, "POLL_S", 0.05)
    runs = tmp_path / "runs"
    write_study(runs, "older", trials=1)
    write_study(runs, "newer", trials=1)
    app = app_for(runs)

    def labels() -> list[str]:
        overlay = app.query_one(SelectOverlay)
        return [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("5")
            await wait_for(pilot, lambda: app.state.watched.study == "newer", "the newest")
            await wait_for(pilot, lambda: "older (1)" in labels(), "the studies listed")
            write_study(runs, "older", trials=2)  # as another process would
            await wait_for(pilot, lambda: "older (3)" in labels(), "older's new count")
            table = app.query_one("#sweep-trials", TrialsTable)
            assert table.has_focus
            await pilot.press("p")
            await wait_for(pilot, lambda: app.query_one(Select).expanded, "the picker open")
            assert labels() == ["Study", "older (3)", "newer (1)"]
            await pilot.press("up", "enter")
            await wait_for(pilot, lambda: app.state.watched.study == "older", "older watched")
            await wait_for(pilot, lambda: len(trial_rows(app)) == 3, "older's three trials")
            assert table.has_focus
            against = app.query_one("#sweep-against", SweepPlot)
            assert against.data.title == "val_accuracy vs learning_rate"

    asyncio.run(scenario())


def test_the_trials_sort_by_any_column_best_value_first(tmp_path: Path) -> None:
    """``>`` moves the sort a column right, the best value first whatever the direction
    (mutation: ``best_first`` ignored), ``o`` reverses; the cursor stays on its trial."""
    runs = tmp_path / "runs"
    write_study(runs, trials=3)  # values fall with the trial number
    app = app_for(runs)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("5")
            await wait_for(pilot, lambda: len(trial_rows(app)) == 3, "three trials", timeout=30)
            table = app.query_one("#sweep-trials", TrialsTable)
            order = lambda: [t.number for t in table.trials]  # noqa: E731
            assert order() == [2, 1, 0]  # newest first
            await pilot.press(">", ">", ">")  # learning_rate, state, value
            assert table.sort_key == "value"
            assert order() == [0, 1, 2]
            assert "Val acc ▼" in table.header_labels()
            assert table.highlighted_trial().number == 2  # type: ignore[union-attr]
            await pilot.press("o")
            assert order() == [2, 1, 0]
            assert "Val acc ▲" in table.header_labels()

    asyncio.run(scenario())


def test_an_unreachable_storage_is_one_line_and_polling_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_tab, "POLL_S", 0.2)
    app = app_for(tmp_path / "runs")
    # Nothing listens on port 1: the connection is refused at once.
    url = "postgresql://sweeper:hunter2@127.0.0.1:1/sweeps"

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            app.apply_changes(app.state.watch_study(url, "lr"))
            await pilot.press("5")
            tab = app.query_one(SweepTab)
            heading = app.query_one("#sweep-heading")
            await wait_for(pilot, lambda: "⚠" in text_of(heading), "the problem", timeout=60)
            polls = tab.polls
            await wait_for(pilot, lambda: tab.polls >= polls + 3, "more polls", timeout=60)
            text = text_of(heading)
            assert "127.0.0.1" in text and "hunter2" not in text, text
            assert "trying again" in text
            assert not any(isinstance(screen, ErrorScreen) for screen in app.screen_stack)
            assert trial_rows(app) == {}

    asyncio.run(scenario())


def test_a_runs_folder_without_a_journal_says_so(tmp_path: Path) -> None:
    app = app_for(tmp_path / "runs")

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("5")
            heading = app.query_one("#sweep-heading")
            await wait_for(pilot, lambda: "No study" in text_of(heading), "no study", timeout=30)
            # The folder comes last, cut short on a narrow screen; its tooltip has it whole.
            assert str(tmp_path / "runs" / "sweeps.journal") in str(heading.tooltip)
            assert not (tmp_path / "runs").exists()  # watching wrote nothing

    asyncio.run(scenario())


def test_the_hidden_tab_reads_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_tab, "POLL_S", 0.05)
    runs = tmp_path / "runs"
    write_study(runs, trials=1)
    app = app_for(runs)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            tab = app.query_one(SweepTab)
            await pilot.press("5")
            await wait_for(pilot, lambda: len(trial_rows(app)) == 1, "the trial", timeout=30)
            await pilot.press("1")
            await wait_for(pilot, lambda: app.main.active_tab == "train", "the Train tab")
            await pilot.pause()
            polls, ticks = tab.polls, tab.ticks
            await wait_for(pilot, lambda: tab.ticks >= ticks + 10, "ten ticks", timeout=30)
            assert tab.polls == polls
            await pilot.press("5")
            await wait_for(pilot, lambda: tab.polls > polls, "a poll once shown", timeout=30)

    asyncio.run(scenario())


def snapshot(name: str) -> watch.StudySnapshot:
    return watch.StudySnapshot(name, "maximize", "val_accuracy", (), None, (), None)


@pytest.mark.parametrize(
    ("new", "old", "replaces"),
    [
        (StudyPolled("", snapshot("a")), StudyPolled("", snapshot("a")), True),
        (StudyPolled("", snapshot("a")), StudyUnreachable("", "a", "down"), True),
        (StudyUnreachable("", "a", "down"), StudyPolled("", snapshot("a")), True),
        (StudyPolled("", snapshot("a")), StudyPolled("", snapshot("b")), False),
        (StudyPolled("", snapshot("a")), StudyPolled("/other.journal", snapshot("a")), False),
        (StudiesListed("", "j", ()), StudiesListed("", "j", ()), True),
        (StudiesListed("", "j", ()), StudiesListed("x", "j", ()), False),
        (StudyPolled("", snapshot("a")), StudiesListed("", "j", ()), False),
        (
            StudyPolled("", snapshot("a")),
            BatchProgress("run", 1, 1, 10, 0.5, 0.5, 100.0),
            False,
        ),
    ],
)
def test_snapshots_of_the_same_study_coalesce(new: Any, old: Any, replaces: bool) -> None:
    assert Reported(new).can_replace(Reported(old)) is replaces
