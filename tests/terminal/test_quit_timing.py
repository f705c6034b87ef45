"""``q`` ends the real ``fmnist-tui`` process within 2 s, timed as a user sees it: the app runs
in a tmux pane, the key is typed there, and the clock stops when the process is gone (every
thread, TensorFlow's included, has ended)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import fmnist_tui, write_data_dir

from core.data import synthetic_raw

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]

QUIT_WITHIN_S = 2.0


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = synthetic_raw(train=6000, test=300, seed=3)
    return write_data_dir(tmp_path_factory.mktemp("data"), raw, gzip_train=False)


class Pane:
    """``fmnist-tui`` in a detached tmux session of its own."""

    def __init__(self, session: str) -> None:
        self.session = session

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def wait_for_text(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen():
            assert time.monotonic() < deadline, f"no {text!r} on screen:\n{self.screen()}"
            time.sleep(0.2)

    def pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", self.session, "#{pane_pid}"))


@pytest.fixture
def pane(data_dir: Path, tmp_path: Path) -> Iterator[Pane]:
    session = f"fmnist-quit-{os.getpid()}-{tmp_path.name}"
    env = {
        "FMNIST_RUNS_DIR": str(tmp_path / "runs"),
        "FMNIST_LOG_DIR": str(tmp_path / "logs"),
        "TERM": "xterm-256color",
    }
    # exec: the pane's process is the app itself, not a shell waiting for it.
    command = ["exec", "env", *(f"{k}={v}" for k, v in env.items()), *fmnist_tui()]
    command += ["--data-dir", str(data_dir)]
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", " ".join(command)],
        check=True,
        timeout=10,
    )
    try:
        yield Pane(session)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def ended(pid: int) -> bool:
    """Whether process ``pid`` has ended: gone, or a zombie its parent has not reaped yet.

    tmux, the parent here, reaps its panes' processes on its own schedule (measured: about
    1.5 s after a process with TensorFlow loaded called ``_exit``, against 30 ms for a parent
    that waits); a shell, the parent in a real terminal, reaps at once.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def seconds_until_gone(pid: int, timeout: float = 30) -> float:
    """From now until process ``pid`` has ended."""
    start = time.monotonic()
    while not ended(pid):
        if time.monotonic() - start > timeout:
            return timeout
        time.sleep(0.01)
    return time.monotonic() - start


def test_q_when_idle_ends_the_process_within_2_s(pane: Pane) -> None:
    pane.wait_for_text("Ready: press t")
    pid = pane.pid()
    pane.keys("q")
    took = seconds_until_gone(pid)
    assert took < QUIT_WITHIN_S, f"the process outlived q by {took:.2f}s"


def test_q_while_training_asks_then_ends_the_process_within_2_s(pane: Pane) -> None:
    pane.wait_for_text("Ready: press t")
    pid = pane.pid()
    # In one burst, as over SSH: the keys wait for the dialog they are meant for.
    pane.keys("t", "C-u", "500", "Enter")
    pane.wait_for_text("Epoch 1/500")
    pane.keys("q")
    pane.wait_for_text("Quit while training?", timeout=10)
    assert Path(f"/proc/{pid}").exists(), "q asks first while training"
    pane.keys("y")
    took = seconds_until_gone(pid)
    assert took < QUIT_WITHIN_S, f"the process outlived the confirmed quit by {took:.2f}s"
