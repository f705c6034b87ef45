"""The real app in a tmux pane watches a study that a ``fmnist-tui sweep`` process feeds: the
Sweep tab's rows appear as the other process runs its trials, as a user sees them."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from helpers import env_for, fmnist_tui, write_data_dir

from core.backend import installed
from core.data import synthetic_raw

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]

BACKEND = "torch" if installed("torch") else "tensorflow"


def tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, check=True, timeout=10
    ).stdout


def test_the_sweep_tab_in_tmux_shows_another_processs_trials(tmp_path: Path) -> None:
    data = write_data_dir(tmp_path / "data", synthetic_raw(train=600, test=100, seed=0))
    runs = tmp_path / "runs"
    space = tmp_path / "tmuxed.toml"
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
    session = f"fmnist-sweep-{os.getpid()}-{tmp_path.name}"
    env = {
        "FMNIST_RUNS_DIR": str(runs),
        "FMNIST_LOG_DIR": str(tmp_path / "logs"),
        "TERM": "xterm-256color",
        "KERAS_BACKEND": BACKEND,
    }
    app = ["exec", "env", *(f"{k}={v}" for k, v in env.items()), *fmnist_tui()]
    app += ["--data-dir", str(data)]
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", " ".join(app))
    worker = None
    try:

        def screen() -> str:
            return tmux("capture-pane", "-p", "-t", session)

        def wait_for_text(text: str, timeout: float) -> str:
            deadline = time.monotonic() + timeout
            while text not in (shown := screen()):
                assert time.monotonic() < deadline, f"no {text!r} on screen:\n{shown}"
                time.sleep(0.2)
            return shown

        wait_for_text("5 Sweep", 120)
        tmux("send-keys", "-t", session, "5")
        wait_for_text("No study yet", 60)
        argv = [*fmnist_tui(), "--backend", BACKEND, "sweep", str(space)]
        argv += ["--runs-dir", str(runs), "--data-dir", str(data)]
        worker = subprocess.Popen(
            argv,
            env=env_for(tmp_path, BACKEND),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        first = wait_for_text("tmuxed", 300)
        final = wait_for_text("3 trials: 3 ✓", 600)
        assert worker.wait(timeout=300) == 0, worker.stderr.read()  # type: ignore[union-attr]
        assert "Best: trial" in final and "Importance:" in final
        assert final.count("✓ complete") == 3, final
        assert "val_accuracy by trial" in final
        print(f"first:\n{first}\nfinal:\n{final}")  # for the report: -s shows them
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
