"""Ctrl-C on a real ``fmnist-tui train``, as a shell delivers it: SIGINT to the process.

One SIGINT stops within a batch, then evaluates and saves what was learned (exit 130); a second
one aborts at once with one line, "interrupted" (exit 130), without a traceback.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import fmnist_tui, write_data_dir

from core.data import synthetic_raw
from core.runs.layout import HISTORY_JSON, METRICS_JSON

pytestmark = pytest.mark.slow

EXIT_INTERRUPTED = 130
ABORT_WITHIN_S = 5.0
"""From the second SIGINT to the process gone: a batch, not an epoch or an evaluation."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough synthetic images that an epoch takes a few seconds."""
    raw = synthetic_raw(train=6000, test=2000, seed=2)
    return write_data_dir(tmp_path_factory.mktemp("data"), raw, gzip_train=False)


def start_training(data_dir: Path, tmp_path: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "FMNIST_RUNS_DIR": str(tmp_path / "runs"),
        "FMNIST_LOG_DIR": str(tmp_path / "logs"),
    }
    return subprocess.Popen(
        [*fmnist_tui(), "train", "--epochs", "50", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], prefix: str, timeout: float = 180) -> list[str]:
    """Read stdout until a line starts with ``prefix``; every line read so far."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=0.5):
                assert process.poll() is None, f"exited early: {lines}"
                continue
            line = process.stdout.readline()
            assert line, f"stdout closed: {lines}"
            lines.append(line.rstrip("\n"))
            if line.startswith(prefix):
                return lines
    raise AssertionError(f"no line starting {prefix!r} in {timeout}s: {lines}")


def finish(process: subprocess.Popen[str], timeout: float) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return process.returncode, out, err


def test_one_ctrl_c_stops_evaluates_and_saves(data_dir: Path, tmp_path: Path) -> None:
    process = start_training(data_dir, tmp_path)
    wait_for_line(process, "epoch 1/50")
    process.send_signal(signal.SIGINT)
    code, out, err = finish(process, timeout=120)

    assert code == EXIT_INTERRUPTED, err
    assert "Traceback" not in err and "interrupted" not in err
    lines = out.splitlines()
    stopped = [line for line in lines if line.startswith("stopped after ")]
    assert stopped and stopped[0] in (
        "stopped after 1 complete epoch(s)",
        "stopped after 2 complete epoch(s)",
    ), lines
    assert any(line.startswith("test_accuracy=") for line in lines), "what was learned is evaluated"
    [run_dir] = (tmp_path / "runs").iterdir()
    assert json.loads((run_dir / HISTORY_JSON).read_text())["status"] == "stopped"
    assert (run_dir / METRICS_JSON).is_file(), "and saved"


def test_a_second_ctrl_c_aborts_at_once(data_dir: Path, tmp_path: Path) -> None:
    process = start_training(data_dir, tmp_path)
    wait_for_line(process, "epoch 1/50")
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    second = time.monotonic()
    code, out, err = finish(process, timeout=60)
    took = time.monotonic() - second

    assert code == EXIT_INTERRUPTED, (out, err)
    assert took < ABORT_WITHIN_S, f"the second Ctrl-C took {took:.1f}s to end it: {out}{err}"
    assert err.strip().splitlines() == ["fmnist-tui train: interrupted"], err
    assert "test_accuracy=" not in out, "an abort does not evaluate"
