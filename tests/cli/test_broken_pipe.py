"""``fmnist-tui runs | head -3``: a reader that goes away ends the command quietly."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from helpers import fmnist_tui
from tui_fakes import fake_metrics

from core.config import TrainConfig
from core.runs.layout import create_run_dir, save_history


@pytest.mark.slow
def test_a_pipe_closed_before_the_listing_ends_it_quietly(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for second in range(5):
        started = datetime(2025, 1, 2, 3, 4, second)
        run_dir = create_run_dir(runs, TrainConfig(epochs=3), now=started)
        save_history(run_dir, [fake_metrics(1)], status="stopped", planned_epochs=3)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line: every write fails
    try:
        result = subprocess.run(
            [*fmnist_tui(), "runs", "--runs-dir", str(runs)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 128 + signal.SIGPIPE  # what the shell shows for `ls | head`
