"""A stop during the first epoch keeps what was learned: the model is evaluated and saved.

Issue: `s` during the first epoch said "Stopped before the first epoch ended: nothing to
evaluate", though the README promises that what was learned is evaluated and saved, and that
run was missing from the Runs tab until refreshed (it wrote no ``RunSaved``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import session_for

from core.config import TrainConfig
from core.data import Dataset
from core.events import BatchProgress, EvaluationFinished, RunSaved, TrainingEvent
from core.requests import ContinueRun, NewRun
from core.runs.catalogue import list_runs, load_run
from core.runs.layout import METRICS_JSON, MODEL_FILE


@pytest.mark.slow
def test_a_stop_in_the_first_epoch_is_evaluated_saved_and_listed(
    synthetic_dataset: Dataset, tmp_path: Path
) -> None:
    session = session_for(synthetic_dataset, tmp_path)
    events: list[TrainingEvent] = []

    def on_event(event: TrainingEvent) -> None:
        events.append(event)
        if isinstance(event, BatchProgress):
            session.signals.request_stop()

    result = session.run(session.plan(NewRun(TrainConfig(epochs=3))), on_event)

    assert result.outcome == "stopped" and not result.history
    assert result.saved and result.run_dir is not None
    assert any(isinstance(e, EvaluationFinished) for e in events)
    assert any(isinstance(e, RunSaved) for e in events), "the Runs tab refreshes on it"
    assert (result.run_dir / MODEL_FILE).is_file()
    assert (result.run_dir / METRICS_JSON).is_file()
    saved = load_run(result.run_dir)
    assert saved.test_accuracy is not None and saved.status == "stopped"
    (listing,) = list_runs(tmp_path)
    assert listing.status == "stopped" and listing.test_accuracy is not None
    assert listing.resume_refusal is not None, "no epoch finished: nothing to resume from"


@pytest.mark.slow
def test_a_model_with_no_finished_epoch_is_not_offered_to_continue(
    synthetic_dataset: Dataset, tmp_path: Path
) -> None:
    session = session_for(synthetic_dataset, tmp_path)

    def stop_at_once(event: TrainingEvent) -> None:
        if isinstance(event, BatchProgress):
            session.signals.request_stop()

    session.run(session.plan(NewRun(TrainConfig(epochs=2))), stop_at_once)
    assert session.held is None
    try:
        session.plan(ContinueRun(1))
    except OSError as error:
        assert "no trained model to continue" in str(error)
    else:
        raise AssertionError("continuing a model with no finished epoch was planned")
