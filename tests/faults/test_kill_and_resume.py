"""Real processes killed part-way through a run, then resumed: headless ``fmnist-tui train``
with SIGKILL, the app with SIGHUP (what a dropped SSH connection sends). Every finished epoch
must survive, appear once in the history, and the resumed run must end where an uninterrupted
run does. Also the Runs tab's resume and overlay, driven through Pilot."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import fmnist_tui, train_new, write_data_dir
from textual.widgets import Input
from tui_fakes import ScriptedEngine, fake_evaluation, fake_metrics, synthetic_loader

from core.config import TrainConfig
from core.data import synthetic_raw
from core.requests import ResumeRun
from core.runs.catalogue import list_runs, load_run
from core.runs.layout import (
    CHECKPOINTS_DIR,
    HISTORY_JSON,
    MODEL_FILE,
    save_evaluation,
    save_history,
)
from tui.app import FmnistApp
from tui.engine import TrainingEngine
from tui.screens.resume_dialog import ResumeDialog
from tui.widgets.charts import MetricChart
from tui.widgets.runs_table import RunsTable

EPOCHS = 6
LOSS_TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic IDX files big enough that an epoch takes a moment (a kill lands inside one)."""
    raw = synthetic_raw(train=6000, test=300, seed=1)
    return write_data_dir(tmp_path_factory.mktemp("data"), raw, gzip_train=False)


def env_for(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FMNIST_LOG_DIR": str(tmp_path / "logs"),
        "FMNIST_RUNS_DIR": str(tmp_path / "runs"),
        "TERM": "xterm-256color",
    }


def train(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*fmnist_tui(), "train", *args],
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


def wait_for_checkpoint(runs: Path, epoch: int, process: object, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(runs.glob(f"*/{CHECKPOINTS_DIR}/epoch-{epoch:04d}"))
        if found:
            return found[0].parent.parent
        time.sleep(0.05)
    raise AssertionError(f"no epoch {epoch} checkpoint in {timeout}s ({process})")


def epochs_in_history(run_dir: Path) -> list[int]:
    return [row["epoch"] for row in json.loads((run_dir / HISTORY_JSON).read_text())["epochs"]]


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in cmdline or text in environ:
            found.append(int(entry.name))
    return [pid for pid in found if pid != os.getpid()]


@pytest.fixture(scope="module")
def uninterrupted(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("uninterrupted")
    result = train(tmp_path, "--epochs", str(EPOCHS), "--data-dir", str(data_dir), "--no-export")
    assert result.returncode == 0, result.stderr
    [run] = list_runs(tmp_path / "runs")
    return run.path


def committed_epoch(run_dir: Path) -> int:
    """The newest checkpoint renamed into place: what a kill now cannot take back."""
    names = (run_dir / CHECKPOINTS_DIR).glob("epoch-*")
    return max(int(path.name.removeprefix("epoch-")) for path in names)


def resume_and_check(tmp_path: Path, run_dir: Path, uninterrupted: Path, committed: int) -> None:
    """Resume a run killed after epoch ``committed`` was committed and check it ends where the
    uninterrupted run does."""
    assert committed >= 2, "the kill came after the epoch 2 checkpoint was in place"
    [listing] = list_runs(tmp_path / "runs")
    assert listing.status == "interrupted" and listing.resumable
    assert listing.checkpoint_epoch == committed, "the run fell back from what was committed"
    checkpoint = load_run(run_dir).checkpoint
    assert checkpoint is not None
    assert [m.epoch for m in checkpoint.history] == list(range(1, committed + 1))
    # history.json is rewritten just after the checkpoint: a kill in between leaves it one
    # epoch behind, never ahead.
    assert epochs_in_history(run_dir) in (
        list(range(1, committed)),
        list(range(1, committed + 1)),
    )

    result = train(tmp_path, "--resume", str(run_dir), "--no-export")
    assert result.returncode == 0, result.stderr
    assert f"resuming {run_dir.name} after epoch {committed}, to epoch {EPOCHS}" in result.stdout
    assert epochs_in_history(run_dir) == list(range(1, EPOCHS + 1)), "every epoch once"
    resumed, reference = load_run(run_dir), load_run(uninterrupted)
    assert resumed.status == "finished"
    # The same batches, weights, optimizer moments and schedule: epoch for epoch the losses
    # are those of the uninterrupted run. A resume from the wrong epoch, with a fresh
    # optimizer or another batch order moves them by far more than this tolerance (on this
    # data the accuracies reach 1.0 either way, so they cannot tell).
    for got, want in zip(resumed.history, reference.history, strict=True):
        assert got.loss == pytest.approx(want.loss, rel=LOSS_TOLERANCE), got.epoch
        assert got.val_loss == pytest.approx(want.val_loss, rel=LOSS_TOLERANCE), got.epoch
    assert resumed.test_accuracy == pytest.approx(reference.test_accuracy, abs=0.02)


@pytest.mark.slow
def test_sigkill_headless_then_resume(data_dir: Path, uninterrupted: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*fmnist_tui(), "train", "--epochs", str(EPOCHS), "--data-dir", str(data_dir)],
        env=env_for(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run_dir = wait_for_checkpoint(tmp_path / "runs", 2, process)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        process.kill()
    resume_and_check(tmp_path, run_dir, uninterrupted, committed_epoch(run_dir))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_sighup_to_the_app_then_resume(data_dir: Path, uninterrupted: Path, tmp_path: Path) -> None:
    """Close the app's terminal mid-run (tmux sends the pane's process SIGHUP): nothing is
    left running, finished epochs are kept, and the run resumes."""
    session = f"fmnist-hup-{os.getpid()}"
    marker = str(tmp_path)  # every process of this app has it in its environment

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout

    command = [
        "env",
        *(f"{k}={v}" for k, v in env_for(tmp_path).items() if k.startswith(("FMNIST", "TERM"))),
        *fmnist_tui(),
        "--data-dir",
        str(data_dir),
    ]
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", " ".join(command))
    try:
        deadline = time.monotonic() + 120
        while "Ready: press t" not in tmux("capture-pane", "-p", "-t", session):
            assert time.monotonic() < deadline, tmux("capture-pane", "-p", "-t", session)
            time.sleep(0.3)
        # In one burst, as over SSH: the keys wait for the dialog they are meant for.
        tmux("send-keys", "-t", session, "t", "C-u", str(EPOCHS), "Enter")
        run_dir = wait_for_checkpoint(tmp_path / "runs", 2, "the app")
        app_pid = int(tmux("display-message", "-p", "-t", session, "#{pane_pid}"))
        assert processes_mentioning(marker), "the app should be running"
        tmux("kill-session", "-t", session)  # SIGHUP to the pane's process group
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)

    def alive() -> bool:
        return Path(f"/proc/{app_pid}").exists() or bool(processes_mentioning(marker))

    deadline = time.monotonic() + 15
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(), "no process may outlive its terminal"
    resume_and_check(tmp_path, run_dir, uninterrupted, committed_epoch(run_dir))


# --- The Runs tab -------------------------------------------------------------------------


def stopped_run(runs: Path, epochs: int, stop_after: int) -> Path:
    """A real run (synthetic data) stopped after ``stop_after`` of ``epochs`` epochs."""
    dataset = synthetic_loader()(TrainConfig())
    _, result, _ = train_new(dataset, runs, TrainConfig(epochs=epochs), stop_after=stop_after)
    assert result.run_dir is not None
    return result.run_dir


@pytest.mark.slow
def test_resume_from_the_runs_tab(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run_dir = stopped_run(runs, epochs=3, stop_after=1)
    engine = TrainingEngine(dataset_loader=synthetic_loader(), runs_root=runs)
    app = FmnistApp(engine=engine, runs_dir=runs, cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one(RunsTable)
            await pilot.press("4")
            while table.row_count != 1 or not app.state.engine_ready:
                await pilot.pause(0.1)
            row = table.row_texts(0)
            assert row["epochs"] == "1/3" and row["status"] == "stopped ↻"
            await pilot.press("r")
            while not isinstance(app.screen, ResumeDialog):
                await pilot.pause(0.05)
            assert app.screen.query_one("#resume-epochs", Input).value == "2"
            await pilot.press("enter")
            deadline = time.monotonic() + 120
            while (
                app.state.training or app.state.shown is None or app.state.shown.evaluation is None
            ):
                assert time.monotonic() < deadline, "the resumed run never finished"
                await pilot.pause(0.2)
            assert [m.epoch for m in app.state.shown.history] == [1, 2, 3]
            chart = app.query_one("#accuracy-chart", MetricChart)
            assert [x for x, _ in chart.validation_points] == [1.0, 2.0, 3.0]
            assert app.state.held is not None  # "train more" now works on it

    asyncio.run(scenario())
    assert epochs_in_history(run_dir) == [1, 2, 3]
    run = load_run(run_dir)
    assert run.status == "finished" and run.test_accuracy is not None


def saved_fake_run(runs: Path, name: str, epochs: int, status: str = "finished") -> Path:
    run_dir = runs / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(TrainConfig(epochs=epochs).to_dict()))
    save_history(
        run_dir, [fake_metrics(e) for e in range(1, epochs + 1)], status=status, planned_epochs=5
    )
    if status == "finished":
        evaluation, images = fake_evaluation()
        save_evaluation(run_dir, evaluation, images, 394_530)
        (run_dir / MODEL_FILE).write_bytes(b"not read")
    return run_dir


def test_runs_tab_statuses_and_overlay(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    saved_fake_run(runs, "20260103-000000-seed", 5)
    saved_fake_run(runs, "20260102-000000-seed", 3, status="running")  # killed: no lock held
    damaged = saved_fake_run(runs, "20260101-000000-seed", 2)
    (damaged / "history.json").write_text("{truncated")
    engine = ScriptedEngine()
    app = FmnistApp(engine=engine, runs_dir=runs, cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one(RunsTable)
            await pilot.press("4")
            while table.row_count != 3:
                await pilot.pause(0.05)
            statuses = [table.row_texts(i)["status"] for i in range(3)]
            assert statuses == ["finished", "interrupted", "damaged"]
            # A damaged run or one without a checkpoint is not offered for resuming.
            await pilot.press("down", "down", "r")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, ResumeDialog)
            assert not any(isinstance(c, ResumeRun) for c in engine.received)

            # Open the newest, overlay the interrupted one, then take the overlay off.
            await pilot.press("up", "up", "enter")
            while app.state.shown is None or app.state.shown.run_id != "20260103-000000-seed":
                await pilot.pause(0.05)
            await pilot.press("4", "down", "c")
            charts = app.query(MetricChart)
            while charts.first().overlay_label != "20260102-000000-seed":
                await pilot.pause(0.05)
            assert all(c.overlay_label == "20260102-000000-seed" for c in charts)
            await pilot.press("4", "c")
            await pilot.pause(0.1)
            assert all(c.overlay_label is None for c in charts)

    asyncio.run(scenario())


def test_the_resume_dialog_validates_the_epochs() -> None:
    from datetime import datetime

    from textual.app import App
    from textual.widgets import Static

    from core.runs.catalogue import RunListing

    listing = RunListing(
        path=Path("/runs/20260101-000000-seed"),
        started=datetime(2026, 1, 1),
        model="seed",
        epochs=998,
        status="interrupted",
        test_accuracy=None,
        best_val_accuracy=0.9,
        planned_epochs=999,
        resumable=True,
        checkpoint_epoch=998,
    )
    results: list[int | None] = []

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ResumeDialog(listing), results.append)

    async def scenario() -> None:
        app = Host()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            field = app.screen.query_one("#resume-epochs", Input)
            assert field.value == "1", "the planned epochs left"
            error = app.screen.query_one("#resume-error", Static)
            for text, message in (("abc", "whole number"), ("3", "at most 1000 epochs")):
                field.value = text
                await pilot.press("enter")
                await pilot.pause()
                assert isinstance(app.screen, ResumeDialog) and not results
                assert message in str(error.render()) and error.display
            field.value = "2"
            await pilot.press("enter")
            await pilot.pause()
            assert results == [2]

    asyncio.run(scenario())
