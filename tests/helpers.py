"""Helpers shared by the test files: driving the app through Pilot, the installed CLI, and
the CLI on each backend in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from core import data
from core.backend import BACKENDS, installed
from core.config import TrainConfig
from core.data import Dataset, RawData, write_idx
from core.events import EpochEnded, TrainingEvent
from core.requests import ContinueRun, NewRun, ResumeRun, RunRequest
from core.runs.layout import CHECKPOINTS_DIR
from core.session import RunResult, RunSession
from tui.messages import Reported
from tui.reports import Report
from tui.screens.train_dialog import TrainDialog
from tui.widgets.charts import MetricChart

ROOT = Path(__file__).resolve().parents[1]


def fmnist_tui() -> list[str]:
    """The command that runs the installed ``fmnist-tui`` (its module when not installed)."""
    script = Path(sys.prefix) / "bin" / "fmnist-tui"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "tui.cli"]


# --- The CLI on each backend, in processes of their own ------------------------------------


def backend_param(name: str) -> Any:
    """``name`` as a test parameter, skipped with the install command when it is missing."""
    hint = {"jax": "uv sync --extra jax", "torch": "uv pip install torch (CPU wheel)"}
    return pytest.param(
        name,
        id=name,
        marks=pytest.mark.skipif(
            not installed(name),  # type: ignore[arg-type]
            reason=f"the {name} backend is not installed ({hint.get(name, 'uv sync')})",
        ),
    )


ALL_BACKENDS = [backend_param(name) for name in BACKENDS]


def env_for(tmp_path: Path, backend: str) -> dict[str, str]:
    """A CLI process's environment on ``backend``: runs and logs under ``tmp_path``."""
    return {
        **os.environ,
        "KERAS_BACKEND": backend,
        "FMNIST_LOG_DIR": str(tmp_path / "logs"),
        "FMNIST_RUNS_DIR": str(tmp_path / "runs"),
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


def cli(tmp_path: Path, backend: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``fmnist-tui ARGS`` on ``backend`` to its end (:func:`env_for`'s folders)."""
    return subprocess.run(
        [*fmnist_tui(), *args],
        env=env_for(tmp_path, backend),
        capture_output=True,
        text=True,
        timeout=600,
    )


def wait_for_checkpoint(runs: Path, epoch: int, process: subprocess.Popen[str]) -> Path:
    """The run folder under ``runs`` once its ``epoch`` checkpoint is saved; fails when
    ``process`` ends first or after 300 s."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = list(runs.glob(f"*/{CHECKPOINTS_DIR}/epoch-{epoch:04d}"))
        if found:
            return found[0].parent.parent
        if process.poll() is not None:
            raise AssertionError(f"training ended first: {process.stderr.read()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.02)
    raise AssertionError(f"no epoch {epoch} checkpoint in 300 s")


def reports(messages: list[Any]) -> list[Report]:
    """The reports among the messages an app received (a ``message_hook`` list), in order."""
    return [m.report for m in messages if isinstance(m, Reported)]


def text_of(widget: Widget, separator: str = "") -> str:
    """What the widget shows on screen, as plain text, its lines joined by ``separator``."""
    strips = widget.render_lines(Region(0, 0, *widget.region.size))
    return separator.join(strip.text.rstrip() for strip in strips)


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], bool], what: str = "", *, timeout: float = 60.0
) -> None:
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await pilot.pause(0.02)


async def ask_to_train(pilot: Pilot[Any], epochs: int) -> None:
    """Through the Train dialog, as a user: wait for the data, open the dialog, type
    ``epochs`` and press Enter (the run is asked for, not yet started)."""
    app: Any = pilot.app
    await wait_for(pilot, lambda: app.state.data_description is not None, "the data")
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(app.screen, TrainDialog), "the dialog")
    app.screen.query_one("#epochs", Input).value = str(epochs)
    await pilot.press("enter")


async def finish_a_run(pilot: Pilot[Any], epochs: int) -> None:
    """:func:`ask_to_train`, then wait for the end of the run (with the scripted engine of
    ``tui_fakes``, a fraction of a second)."""
    app: Any = pilot.app
    await ask_to_train(pilot, epochs)
    await wait_for(
        pilot, lambda: not app.state.training and app.state.shown is not None, "the run's end"
    )


async def charts_redrawn(pilot: Pilot[Any]) -> None:
    """Wait until the capped-rate redraw has drawn every chart's latest points (each chart is
    redrawn on a timer, not when its data change: up to 1.5 s after new running points),
    then for the frame that shows them."""
    charts = list(pilot.app.query(MetricChart))
    await wait_for(pilot, lambda: not any(c.redraw_pending for c in charts), "chart redraws")
    await pilot.pause()
    await pilot.pause()


def write_data_dir(
    folder: Path, raw: RawData, *, gzip_train: bool = True, gzip_test: bool = False
) -> Path:
    """``raw`` as the four Fashion-MNIST IDX files in ``folder`` (by default training files
    gzipped and test files plain, so a run reads both kinds)."""
    folder.mkdir(parents=True, exist_ok=True)
    train, test = (".gz" if gzip_train else ""), (".gz" if gzip_test else "")
    write_idx(folder / f"{data.TRAIN_IMAGES}{train}", raw.x_train)
    write_idx(folder / f"{data.TRAIN_LABELS}{train}", raw.y_train)
    write_idx(folder / f"{data.TEST_IMAGES}{test}", raw.x_test)
    write_idx(folder / f"{data.TEST_LABELS}{test}", raw.y_test)
    return folder


def session_for(dataset: Dataset, runs_root: Path) -> RunSession:
    """A run session that trains on ``dataset`` whatever a run's data settings say."""
    return RunSession(runs_root, load_data=lambda config: dataset)


def run_request(
    session: RunSession,
    request: RunRequest,
    *,
    on_event: Callable[[TrainingEvent], object] | None = None,
    stop_after: int | None = None,
) -> tuple[RunResult, list[TrainingEvent]]:
    """Plan and run ``request``; the events it emitted. ``stop_after``: ask to stop once
    that epoch has ended (as pressing Stop would)."""
    events: list[TrainingEvent] = []

    def record(event: TrainingEvent) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)
        if isinstance(event, EpochEnded) and event.metrics.epoch == stop_after:
            session.signals.request_stop()

    result = session.run(session.plan(request), record)
    return result, events


def train_new(
    dataset: Dataset,
    runs_root: Path,
    config: TrainConfig,
    *,
    on_event: Callable[[TrainingEvent], object] | None = None,
    stop_after: int | None = None,
) -> tuple[RunSession, RunResult, list[TrainingEvent]]:
    """A new run of ``config`` on ``dataset``, saved under ``runs_root``."""
    session = session_for(dataset, runs_root)
    result, events = run_request(session, NewRun(config), on_event=on_event, stop_after=stop_after)
    return session, result, events


def train_more(session: RunSession, epochs: int) -> tuple[RunResult, list[TrainingEvent]]:
    """Continue the model ``session`` holds for ``epochs`` more."""
    return run_request(session, ContinueRun(epochs))


def resume_saved(
    dataset: Dataset, run_dir: Path, epochs: int | None = None
) -> tuple[RunResult, list[TrainingEvent]]:
    """Resume a saved run in a fresh session, as another process would."""
    return run_request(session_for(dataset, run_dir.parent), ResumeRun(run_dir, epochs))
