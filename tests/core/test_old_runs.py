"""Runs saved before run files had a format version still open, list, export and resume.

``tests/fixtures/runs-v1/`` holds a run folder written by fmnist-tui before this version (its
``history.json`` has no ``format``, its checkpoint is format 1): ``seed-deep`` on the synthetic
shapes (``synthetic_raw(train=300, test=60, seed=0)``), 4 epochs planned, killed after the
epoch 3 checkpoint (the older checkpoint pruned to keep the fixture small).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import run_request, session_for, write_data_dir

from core.data import prepare, synthetic_raw
from core.requests import ResumeRun
from core.runs.catalogue import load_run
from core.runs.layout import HISTORY_JSON
from core.runs.resume import plan_resume

FIXTURE = Path(__file__).parent / "fixtures" / "runs-v1"


@pytest.fixture
def old_run(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    shutil.copytree(FIXTURE, runs)
    [run_dir] = list(runs.iterdir())
    return run_dir


def test_an_old_run_opens_and_plans_a_resume_without_tensorflow(old_run: Path) -> None:
    assert "format" not in json.loads((old_run / HISTORY_JSON).read_text())
    run = load_run(old_run)
    assert run.status == "interrupted"
    assert [m.epoch for m in run.history] == [1, 2, 3]
    assert run.checkpoint is not None and run.checkpoint.epoch == 3
    assert run.resumable and run.resume_refusal is None
    plan = plan_resume(old_run)
    assert (plan.checkpoint.epoch, plan.final_epoch) == (3, 4)


@pytest.mark.slow
def test_an_old_run_resumes_to_the_end_and_is_saved_in_todays_format(
    old_run: Path, tmp_path: Path
) -> None:
    raw = synthetic_raw(train=300, test=60, seed=0)
    data_dir = write_data_dir(tmp_path / "data", raw)
    session = session_for(prepare(raw), old_run.parent)
    result, _ = run_request(session, ResumeRun(old_run, data_dir=str(data_dir)))
    assert result.outcome == "finished" and result.saved
    run = load_run(old_run)
    assert [m.epoch for m in run.history] == [1, 2, 3, 4]
    assert run.status == "finished" and run.test_accuracy is not None
    assert json.loads((old_run / HISTORY_JSON).read_text())["format"] == 2
