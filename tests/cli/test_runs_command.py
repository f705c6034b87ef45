"""``fmnist-tui runs`` compares runs (plain columns, ``--json``, ``--sort``) and
``fmnist-tui delete`` removes them: after asking on a terminal, only with ``--yes`` without
one, and never a run that is being trained or a folder that is not a run."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from helpers import fmnist_tui
from tui_fakes import fake_evaluation

from core.config import TrainConfig
from core.events import EpochMetrics
from core.runs.layout import (
    CONFIG_JSON,
    MODEL_FILE,
    create_run_dir,
    save_evaluation,
    save_history,
)
from core.runs.lock import RunLock
from tui.exit_codes import EXIT_OK, EXIT_USAGE

pytestmark = pytest.mark.slow  # every test starts the command

BASE = TrainConfig(epochs=3)


def saved_run(
    runs: Path, second: int, config: TrainConfig, val: list[float], status: str = "finished"
) -> Path:
    run_dir = create_run_dir(runs, config, now=datetime(2025, 1, 2, 3, 4, second))
    history = [EpochMetrics(e, 0.5, 0.8, 0.6, v, 10.0 * e) for e, v in enumerate(val, start=1)]
    save_history(run_dir, history, status=status, planned_epochs=config.epochs)
    if status == "finished":
        evaluation, images = fake_evaluation()
        save_evaluation(run_dir, evaluation, images, 394_530)
        (run_dir / MODEL_FILE).write_bytes(b"not read")
    return run_dir


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """Four runs: lr 0.001, lr 0.01, batch 64 (stopped after one epoch), and a damaged one."""
    root = tmp_path / "runs"
    saved_run(root, 1, BASE, [0.61, 0.72, 0.70])
    saved_run(root, 2, BASE.with_training(learning_rate=0.01), [0.80, 0.75, 0.79])
    saved_run(root, 3, BASE.with_changes(batch_size=64), [0.55], status="stopped")
    damaged = saved_run(root, 4, BASE, [0.5, 0.6, 0.7])
    (damaged / CONFIG_JSON).write_text("{cut")
    return root


def fmnist(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*fmnist_tui(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def names(stdout: str) -> list[str]:
    """The run folders' names, in the order listed."""
    return [Path(line.split()[-1]).name for line in stdout.splitlines()[2:] if line[:1] != " "]


def test_runs_lists_what_differs_with_the_best_epoch(runs: Path) -> None:
    result = fmnist("runs", "--runs-dir", str(runs))

    assert result.returncode == EXIT_OK, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "all runs: seed, adam, constant; no wd, smoothing, augment or early stop"
    assert lines[1].split() == [
        "started", "batch", "lr", "best", "val", "test", "acc", "epochs", "status", "time", "run"
    ]  # fmt: skip
    rows = {Path(line.split()[-1]).name: line.split() for line in lines[2:] if line[:1] != " "}
    assert rows["20250102-030402-seed"][2:10] == [
        "32", "0.01", "0.8000", "@1", "0.8000", "3/3", "finished", "1m00s"
    ]  # fmt: skip
    assert rows["20250102-030403-seed"][2:8] == ["64", "0.001", "0.5500", "@1", "-", "1/3"]
    assert rows["20250102-030403-seed"][8] == "stopped"
    assert rows["20250102-030404-seed"][2:6] == ["?", "?", "-", "-"]
    assert f"damaged: {runs / '20250102-030404-seed' / CONFIG_JSON}: " in result.stdout
    assert names(result.stdout) == [
        "20250102-030404-seed", "20250102-030403-seed", "20250102-030402-seed",
        "20250102-030401-seed",
    ], "newest first"  # fmt: skip


def test_runs_sorts_by_any_column(runs: Path) -> None:
    best = fmnist("runs", "--runs-dir", str(runs), "--sort", "best-val")
    assert best.returncode == EXIT_OK, best.stderr
    assert names(best.stdout)[:3] == [
        "20250102-030402-seed", "20250102-030401-seed", "20250102-030403-seed"
    ], "best first"  # fmt: skip
    assert names(best.stdout)[3] == "20250102-030404-seed", "unknown last"

    lowest = fmnist("runs", "--runs-dir", str(runs), "--sort", "best_val", "--reverse")
    assert names(lowest.stdout)[0] == "20250102-030403-seed"

    wrong = fmnist("runs", "--runs-dir", str(runs), "--sort", "accuracy")
    assert wrong.returncode == EXIT_USAGE and wrong.stdout == ""
    [line] = wrong.stderr.splitlines()
    assert "argument --sort: unknown column 'accuracy'; choose one of started," in line


def test_runs_json_has_every_field_in_its_own_type(runs: Path) -> None:
    result = fmnist("runs", "--runs-dir", str(runs), "--json", "--sort", "lr")

    assert result.returncode == EXIT_OK, result.stderr
    records = json.loads(result.stdout)
    assert [record["name"] for record in records] == [
        "20250102-030403-seed", "20250102-030401-seed", "20250102-030402-seed",
        "20250102-030404-seed",
    ]  # fmt: skip
    fields = {
        "path", "name", "started", "status", "problem", "epochs", "planned_epochs",
        "duration_seconds", "best_val_accuracy", "best_val_epoch", "test_accuracy",
        "resumable", "checkpoint_epoch", "unevaluated", "settings",
    }  # fmt: skip
    assert all(set(record) == fields for record in records)
    stopped, _, fast, damaged = records
    assert datetime.fromisoformat(fast["started"]) == datetime(2025, 1, 2, 3, 4, 2)
    assert fast["status"] == "finished" and fast["problem"] is None
    assert (fast["epochs"], fast["planned_epochs"]) == (3, 3)
    assert fast["duration_seconds"] == 60.0
    assert (fast["best_val_accuracy"], fast["best_val_epoch"]) == (0.8, 1)
    assert fast["test_accuracy"] == 0.8
    settings = fast["settings"]
    assert settings["learning_rate"] == 0.01 and isinstance(settings["learning_rate"], float)
    assert settings["batch_size"] == 32 and settings["optimizer"] == "adam"
    assert settings["augment"] is False and settings["early_stop"] is None
    assert settings["model"] == "seed" and settings["model_file"] is None
    assert stopped["test_accuracy"] is None and stopped["settings"]["batch_size"] == 64
    assert damaged["status"] == "damaged" and damaged["settings"] is None
    assert CONFIG_JSON in damaged["problem"]


def test_runs_json_of_no_runs_is_an_empty_list(tmp_path: Path) -> None:
    result = fmnist("runs", "--runs-dir", str(tmp_path / "none"), "--json")
    assert (result.returncode, result.stdout) == (EXIT_OK, "[]\n")


def test_delete_with_yes_and_the_refusals(runs: Path, tmp_path: Path) -> None:
    first, second, being_trained, damaged = sorted(runs.iterdir())

    # Without a terminal to ask on, --yes is required.
    refused = fmnist("delete", str(first), stdin="y\n")
    assert refused.returncode == EXIT_USAGE and refused.stdout == ""
    assert refused.stderr == (
        "fmnist-tui delete: error: not deleting 1 run without --yes (no terminal to ask on)\n"
    )
    assert first.is_dir()

    # One argument that is not a run: nothing at all is deleted.
    photos = tmp_path / "photos"
    photos.mkdir()
    mixed = fmnist("delete", "--yes", str(first), str(photos))
    assert mixed.returncode == EXIT_USAGE and mixed.stdout == ""
    assert mixed.stderr == (
        f"fmnist-tui delete: error: cannot delete {photos}: not a run folder (it has no "
        "config.json or history.json)\n"
    )
    assert first.is_dir() and photos.is_dir()

    with RunLock(being_trained):
        busy = fmnist("delete", "--yes", str(being_trained))
    assert busy.returncode == EXIT_USAGE
    assert busy.stderr == (
        f"fmnist-tui delete: error: cannot delete {being_trained}: it is being trained now\n"
    )
    assert being_trained.is_dir()

    deleted = fmnist("delete", "--yes", str(first), str(damaged), str(first))
    assert deleted.returncode == EXIT_OK, deleted.stderr
    assert deleted.stdout == f"deleted {first}\ndeleted {damaged}\n"
    assert sorted(runs.iterdir()) == [second, being_trained]


def _answer_on_a_terminal(run_dir: Path, answer: str) -> tuple[int, str]:
    """``fmnist-tui delete RUN_DIR`` on a terminal, answering ``answer`` when asked."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*fmnist_tui(), "delete", str(run_dir)],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # the command ended and closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"[y/N] " in seen:
                os.write(controller, answer.encode() + b"\r")
                answered = True
            if process.poll() is not None and not ready:
                break
        code = process.wait(timeout=30)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return code, seen.decode(errors="replace").replace("\r\n", "\n")


def test_delete_asks_first_on_a_terminal(runs: Path) -> None:
    first = sorted(runs.iterdir())[0]

    code, seen = _answer_on_a_terminal(first, "n")
    assert code == EXIT_OK
    assert f"  {first}\ndelete 1 run? [y/N] " in seen and "nothing deleted" in seen
    assert first.is_dir()

    code, seen = _answer_on_a_terminal(first, "y")
    assert code == EXIT_OK, seen
    assert f"deleted {first}" in seen
    assert not first.exists()
