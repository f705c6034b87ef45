"""How explanations are asked for and kept, without Textual: the engine's queue serves only the
newest pending request, and the app's state keeps what arrived per run, asks once per example,
and drops what was made for a model the run no longer has."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tui_fakes import FAKE_RUN_ID, fake_evaluation, fake_explanation

from core.config import TrainConfig
from core.events import EvaluationFinished, RunSaved, TrainingStarted
from core.requests import HeldModel
from core.summary import ModelSummary
from tui.engine import Engine, Explain, Predict, Summarize
from tui.reports import (
    EngineIdle,
    ExplanationFailed,
    ExplanationProgress,
    ExplanationReady,
)
from tui.state import AppState


def explain(index: int, request: int = 0) -> Explain:
    return Explain(FAKE_RUN_ID, index, request, np.zeros((28, 28), np.uint8), 0)


def test_the_engine_serves_only_the_newest_pending_explanation_in_its_place() -> None:
    engine = Engine()
    engine.submit(Summarize("seed"))
    for index in range(10):
        engine.submit(explain(index))
    engine.submit(Predict((Path("a.png"),), FAKE_RUN_ID))
    engine.submit(explain(10))
    served = [engine.next_command() for _ in range(3)]
    assert isinstance(served[0], Summarize)
    # The ten became the last of them, where the first stood; the one after the Predict
    # waits behind it.
    assert isinstance(served[1], Explain) and served[1].index == 10
    assert isinstance(served[2], Predict)
    engine.submit(explain(11))
    command = engine.next_command()
    assert isinstance(command, Explain) and command.index == 11


def shown_run() -> AppState:
    """A state showing the scripted run, finished, evaluated and saved, its model held."""
    state = AppState()
    config = TrainConfig(epochs=1)
    state.run_requested("")
    summary = ModelSummary("seed", (), 0, 0, 0)
    started = TrainingStarted(FAKE_RUN_ID, config, summary, "cpu", "synthetic", 400, 100, 13, 0, 1)
    state.apply(started)
    evaluation, images = fake_evaluation()
    state.apply(EvaluationFinished(FAKE_RUN_ID, evaluation, images))
    state.apply(RunSaved(FAKE_RUN_ID, "/runs/x"))
    state.apply(EngineIdle(HeldModel(FAKE_RUN_ID, Path("/runs/x"), "seed", 1)))
    return state


def ready(state: AppState, index: int, request: int) -> ExplanationReady:
    shown = state.shown
    assert shown is not None and shown.test_images is not None and shown.evaluation is not None
    explanation = fake_explanation(
        shown.test_images[index],
        int(shown.evaluation.labels[index]),
        int(shown.evaluation.predictions[index]),
    )
    return ExplanationReady(FAKE_RUN_ID, index, request, explanation)


def test_an_example_is_asked_for_once_and_kept_once_it_arrives() -> None:
    state = shown_run()
    first = state.request_explanation(2)
    assert first is not None
    assert state.request_explanation(2) is None, "asked for already"
    assert state.explanation_status(2) == "Explaining…"
    changes = state.apply(ExplanationProgress(FAKE_RUN_ID, first, "computing the features"))
    assert changes.explanation
    assert state.explanation_status(2) == "Explaining: computing the features"
    changes = state.apply(ready(state, 2, first))
    assert changes.explanation
    arrived = state.explanation(2)
    assert arrived is not None and arrived.index == 2
    assert state.request_explanation(2) is None, "explained already"
    assert state.explanation(3) is None


def test_what_was_asked_of_an_old_model_is_dropped_when_the_run_is_evaluated_again() -> None:
    state = shown_run()
    before = state.request_explanation(2)
    assert before is not None
    state.apply(ready(state, 2, before))
    # Trained on and evaluated again: what was explained described the old weights.
    state.run_requested("")
    summary = ModelSummary("seed", (), 0, 0, 0)
    config = TrainConfig(epochs=2)
    state.apply(TrainingStarted(FAKE_RUN_ID, config, summary, "cpu", "s", 400, 100, 13, 1, 2))
    assert state.explanation(2) is None
    while_training = state.request_explanation(3)
    assert while_training is not None
    assert state.explanation_status(3) == "The heat map comes once training ends"
    evaluation, images = fake_evaluation()
    state.apply(EvaluationFinished(FAKE_RUN_ID, evaluation, images))
    stale = state.apply(ready(state, 3, while_training))
    assert not stale.explanation and state.explanation(3) is None
    fresh = state.request_explanation(3)
    assert fresh is not None and fresh > while_training
    state.apply(ready(state, 3, fresh))
    assert state.explanation(3) is not None


def test_a_failure_is_said_once_and_not_asked_again_until_the_run_is_shown_anew() -> None:
    state = shown_run()
    request = state.request_explanation(2)
    assert request is not None
    changes = state.apply(ExplanationFailed(FAKE_RUN_ID, request, "model.keras: missing"))
    assert changes.notes and "model.keras: missing" in changes.notes[0][0]
    assert state.explanation_status(2) == "No heat map: model.keras: missing"
    assert state.request_explanation(5) is None
    assert not state.apply(ExplanationFailed(FAKE_RUN_ID, request, "again")).notes


def test_a_run_without_a_model_in_reach_is_not_asked_for() -> None:
    state = AppState()
    state.run_requested("")
    config = TrainConfig(epochs=1)
    summary = ModelSummary("seed", (), 0, 0, 0)
    state.apply(TrainingStarted(FAKE_RUN_ID, config, summary, "cpu", "s", 400, 100, 13, 0, 1))
    evaluation, images = fake_evaluation()
    state.apply(EvaluationFinished(FAKE_RUN_ID, evaluation, images))
    # Not saved (say the disk was full) and a new run took the engine's model.
    state.apply(EngineIdle(None))
    assert state.shown is not None
    state.shown.status = "failed"
    assert state.request_explanation(2) is None
    assert "neither in memory nor saved" in state.explanation_status(2)


def test_a_saved_runs_model_is_said_to_load_once_and_then_explanations_come_alone(
    tmp_path: Path,
) -> None:
    """Each progress report redraws the panel, taking the UI thread while the engine computes:
    once a saved run's model and features are in memory, an explanation is one report.

    Mutation caught: "loading the model…" reported before every explanation (as before)."""
    from types import SimpleNamespace
    from typing import cast

    from helpers import train_new, write_data_dir

    from core.data import prepare, synthetic_raw
    from core.runs.catalogue import load_run
    from core.session import RunSession
    from tui.engine_models import TrainedModels
    from tui.reports import Report

    raw = synthetic_raw(train=300, test=20, seed=0)
    data_dir = write_data_dir(tmp_path / "data", raw)
    config = TrainConfig(epochs=1, data_dir=str(data_dir))
    _session, result, _events = train_new(prepare(raw), tmp_path / "runs", config)
    assert result.run_dir is not None
    run = load_run(Path(result.run_dir))
    session = cast(RunSession, SimpleNamespace(state=None, run_dataset=None))
    models = TrainedModels(session, freeze=lambda: None)

    def reports_of(index: int, request: int) -> list[Report]:
        reports: list[Report] = []
        command = Explain(
            run.path.name,
            index,
            request,
            raw.x_test[index],
            int(raw.y_test[index]),
            run_dir=run.path,
            config=run.config,
        )
        models.explain(command, reports.append)
        return reports

    first = reports_of(0, 1)
    assert isinstance(first[-1], ExplanationReady)
    said = [r.text for r in first if isinstance(r, ExplanationProgress)]
    assert "loading the model…" in said and any("features" in text for text in said)
    for request, index in enumerate((1, 2, 3), start=2):
        later = reports_of(index, request)
        assert [type(r) for r in later] == [ExplanationReady]
