"""Tests for core.pipeline and core.runs: a run end to end, its folder, and reading it back."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import run_request, session_for

from core import training
from core.config import TrainConfig
from core.data import Dataset
from core.errors import RunError
from core.evaluation import CLASS_NAMES
from core.events import (
    EpochEnded,
    EpochMetrics,
    EvaluationFinished,
    RunSaved,
    TrainingEvent,
    TrainingFailed,
    TrainingStarted,
)
from core.history_csv import HISTORY_CSV
from core.presets import get_preset
from core.requests import ContinueRun, NewRun, RunRequest
from core.runs.catalogue import list_runs, load_run
from core.runs.layout import (
    CHECKPOINT_STATE,
    CHECKPOINTS_DIR,
    CONFIG_JSON,
    EVALUATION_NPZ,
    HISTORY_JSON,
    LOCK_FILE,
    METRICS_JSON,
    MODEL_FILE,
    create_run_dir,
    save_history,
    write_json,
)
from core.session import RunSession
from core.tensorboard_log import TENSORBOARD_DIR
from core.training import TrainState


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def train_run(
    dataset: Dataset,
    runs_root: Path,
    epochs: int,
    *,
    on_event: Any = None,
    session: RunSession | None = None,
) -> tuple[TrainState, Path, list[TrainingEvent]]:
    """A new run of ``epochs`` epochs, or, given the ``session`` that trained a run, that
    run's model trained ``epochs`` more."""
    if session is None:
        session = session_for(dataset, runs_root)
        request: RunRequest = NewRun(TrainConfig(epochs=epochs))
    else:
        request = ContinueRun(epochs)
    result, events = run_request(session, request, on_event=on_event)
    assert session.state is not None and result.run_dir is not None
    return session.state, result.run_dir, events


@pytest.fixture(scope="module")
def one_epoch_run(
    synthetic_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> tuple[TrainState, Path, list[TrainingEvent]]:
    """One finished 1-epoch run, shared by the tests that only read it.

    Ten test labels are moved to the next class, so the run is sure to make mistakes (the
    synthetic shapes alone are easy enough to get all right in one epoch)."""
    labels = synthetic_dataset.y_test.copy()
    labels[:10] = (labels[:10] + 1) % 10
    noisy = dataclasses.replace(synthetic_dataset, y_test=labels)
    return train_run(noisy, tmp_path_factory.mktemp("runs"), 1)


def test_run_folder_contents(one_epoch_run: tuple[TrainState, Path, list[TrainingEvent]]) -> None:
    state, run_dir, events = one_epoch_run

    assert run_dir.name == state.run_id
    assert all(e.run_id == state.run_id for e in events)
    assert {p.name for p in run_dir.iterdir()} == {
        CONFIG_JSON,
        HISTORY_JSON,
        HISTORY_CSV,
        TENSORBOARD_DIR,
        METRICS_JSON,
        EVALUATION_NPZ,
        MODEL_FILE,
        CHECKPOINTS_DIR,
        LOCK_FILE,
    }, "no temporary files may be left behind"
    assert [p.name for p in (run_dir / CHECKPOINTS_DIR).iterdir()] == ["epoch-0001"]
    assert {p.name for p in (run_dir / CHECKPOINTS_DIR / "epoch-0001").iterdir()} == {
        MODEL_FILE,
        CHECKPOINT_STATE,
    }

    # The run records the training settings it used (the seed's own), not "the default".
    saved = TrainConfig(epochs=1).with_training()
    assert saved.hyperparameters == get_preset("seed").hyperparameters
    assert read_json(run_dir / CONFIG_JSON) == saved.to_dict()

    history = read_json(run_dir / HISTORY_JSON)
    assert history["status"] == "finished"
    assert history["planned_epochs"] == 1
    assert [row["epoch"] for row in history["epochs"]] == [1]
    assert history["epochs"][0] == state.history[0].to_dict()
    assert history["device"].startswith(("CPU", "GPU"))
    assert history["data_source"] == "synthetic (seed 0)"

    metrics = read_json(run_dir / METRICS_JSON)
    evaluated = next(e for e in events if isinstance(e, EvaluationFinished))
    assert metrics["test_accuracy"] == evaluated.evaluation.test_accuracy
    assert metrics["test_loss"] == pytest.approx(evaluated.evaluation.test_loss)
    assert metrics["trainable_params"] == 394_530
    assert metrics["test_samples"] == 100
    assert list(metrics["per_class_accuracy"]) == list(CLASS_NAMES)
    assert np.array(metrics["confusion_matrix"]).shape == (10, 10)
    assert np.array(metrics["confusion_matrix"]).sum() == 100

    saved = next(e for e in events if isinstance(e, RunSaved))
    assert saved.run_dir == str(run_dir)
    assert {Path(f).name for f in saved.files} == {METRICS_JSON, EVALUATION_NPZ, MODEL_FILE}
    kinds = [type(e).__name__ for e in events]
    assert kinds[-3:] == ["TrainingFinished", "EvaluationFinished", "RunSaved"]


def test_saved_model_loads_and_predicts_the_same(
    one_epoch_run: tuple[TrainState, Path, list[TrainingEvent]], synthetic_dataset: Dataset
) -> None:
    import keras

    state, run_dir, _ = one_epoch_run
    model = keras.models.load_model(run_dir / MODEL_FILE)
    images = synthetic_dataset.x_test[:8]
    np.testing.assert_allclose(
        training.predict(model, images), training.predict(state.model, images), atol=1e-6
    )


def test_load_run_round_trip(
    one_epoch_run: tuple[TrainState, Path, list[TrainingEvent]], synthetic_dataset: Dataset
) -> None:
    state, run_dir, events = one_epoch_run
    evaluated = next(e for e in events if isinstance(e, EvaluationFinished)).evaluation

    run = load_run(run_dir)

    assert run.path == run_dir
    assert run.config == TrainConfig(epochs=1).with_training()
    assert run.history == tuple(state.history)
    assert (run.status, run.planned_epochs) == ("finished", 1)
    assert run.test_accuracy == evaluated.test_accuracy
    assert run.model_path == run_dir / MODEL_FILE
    loaded = run.evaluation
    assert loaded is not None
    assert loaded.test_accuracy == evaluated.test_accuracy
    assert loaded.test_loss == pytest.approx(evaluated.test_loss)
    np.testing.assert_array_equal(loaded.labels, evaluated.labels)
    np.testing.assert_array_equal(loaded.predictions, evaluated.predictions)
    np.testing.assert_allclose(loaded.confidences, evaluated.confidences, rtol=1e-6)
    np.testing.assert_array_equal(loaded.confusion, evaluated.confusion)
    np.testing.assert_array_equal(loaded.per_class_accuracy, evaluated.per_class_accuracy)

    wrong = loaded.misclassified_indices
    np.testing.assert_array_equal(wrong, evaluated.misclassified_indices)
    assert wrong.size > 0, "the fixture run should make some mistakes to compare"
    assert run.test_images is not None
    assert run.test_images.shape == synthetic_dataset.x_test.shape
    np.testing.assert_array_equal(run.test_images[wrong], synthetic_dataset.x_test[wrong])


def test_list_runs_lists_it(one_epoch_run: tuple[TrainState, Path, list[TrainingEvent]]) -> None:
    state, run_dir, _ = one_epoch_run
    [listing] = list_runs(run_dir.parent)
    assert listing.path == run_dir
    assert (listing.model, listing.epochs, listing.status) == ("seed", 1, "finished")
    assert listing.test_accuracy == load_run(run_dir).test_accuracy
    assert listing.best_val_accuracy == state.history[0].val_accuracy
    assert listing.problem is None
    assert listing.started is not None


def test_history_is_written_after_every_epoch(synthetic_dataset: Dataset, tmp_path: Path) -> None:
    on_disk: dict[int, dict[str, Any]] = {}
    run_dirs: list[Path] = []

    def check(event: TrainingEvent) -> None:
        if isinstance(event, TrainingStarted):
            [run_dir] = (tmp_path / "runs").iterdir()
            run_dirs.append(run_dir)
        if isinstance(event, EpochEnded):
            on_disk[event.metrics.epoch] = read_json(run_dirs[0] / HISTORY_JSON)

    _, run_dir, _ = train_run(synthetic_dataset, tmp_path / "runs", 3, on_event=check)

    assert run_dirs == [run_dir]
    assert sorted(on_disk) == [1, 2, 3]
    for epoch, history in on_disk.items():
        assert [row["epoch"] for row in history["epochs"]] == list(range(1, epoch + 1))
        assert history["status"] == "running"
        assert history["planned_epochs"] == 3
    assert read_json(run_dir / HISTORY_JSON)["status"] == "finished"


def test_continuing_appends_epochs(synthetic_dataset: Dataset, tmp_path: Path) -> None:
    session = session_for(synthetic_dataset, tmp_path)
    first, _ = run_request(session, NewRun(TrainConfig(epochs=1)))
    run_dir = first.run_dir
    assert run_dir is not None
    first_epoch = first.history[0]

    state, same_dir, events = train_run(synthetic_dataset, tmp_path, 2, session=session)

    assert same_dir == run_dir
    assert [p.name for p in tmp_path.iterdir()] == [run_dir.name], "no second run folder"
    started = next(e for e in events if isinstance(e, TrainingStarted))
    assert (started.initial_epoch, started.final_epoch) == (1, 3)
    assert read_json(run_dir / CONFIG_JSON)["epochs"] == 3
    run = load_run(run_dir)
    assert run.config.epochs == 3
    assert [m.epoch for m in run.history] == [1, 2, 3]
    assert run.history[0] == state.history[0] == first_epoch
    assert (run.status, run.planned_epochs) == ("finished", 3)
    evaluated = next(e for e in events if isinstance(e, EvaluationFinished)).evaluation
    assert run.test_accuracy == evaluated.test_accuracy, "metrics.json is rewritten"
    assert isinstance(events[-1], RunSaved)


def test_unwritable_runs_root_fails_before_training(
    synthetic_dataset: Dataset, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    events: list[TrainingEvent] = []

    session = session_for(synthetic_dataset, blocker / "runs")
    with pytest.raises(RunError) as excinfo:
        session.run(session.plan(NewRun(TrainConfig(epochs=1))), events.append)

    message = str(excinfo.value)
    assert "\n" not in message
    assert str(blocker / "runs") in message
    assert "Not a directory" in message
    assert events == [], "nothing may start when the run cannot be saved"


def test_failed_run_is_saved_but_not_evaluated(
    synthetic_dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weights turned NaN in epoch 2: history keeps epoch 1, the NaN model is not evaluated."""
    original = training._EventCallback.on_epoch_begin

    def poison_second_epoch(self: Any, epoch: int, logs: dict[str, Any] | None = None) -> None:
        original(self, epoch, logs)
        if epoch == 1:
            for weight in self.model.trainable_weights:
                weight.assign(np.full(weight.shape, np.nan, dtype="float32"))

    monkeypatch.setattr(training._EventCallback, "on_epoch_begin", poison_second_epoch)

    state, run_dir, events = train_run(synthetic_dataset, tmp_path, 3)

    assert state.status == "failed"
    failed = [e for e in events if isinstance(e, TrainingFailed)]
    assert [e.kind for e in failed] == ["nan_loss"]
    assert events[-1] is failed[0]
    assert not any(isinstance(e, EvaluationFinished | RunSaved) for e in events)
    history = read_json(run_dir / HISTORY_JSON)
    assert history["status"] == "failed"
    assert [row["epoch"] for row in history["epochs"]] == [1]
    assert not (run_dir / METRICS_JSON).exists()
    assert not (run_dir / MODEL_FILE).exists()
    [listing] = list_runs(tmp_path)
    assert (listing.status, listing.epochs, listing.test_accuracy) == ("failed", 1, None)


# --- core.runs without training ------------------------------------------------------------


def make_run(root: Path, second: int, epochs: int = 2) -> Path:
    config = TrainConfig(epochs=epochs)
    run_dir = create_run_dir(root, config, now=datetime(2025, 1, 2, 3, 4, second))
    history = [EpochMetrics(e, 1.0 / e, 0.5, 1.0, 0.4 + e / 10, 1.0) for e in range(1, epochs + 1)]
    save_history(run_dir, history, status="finished", planned_epochs=epochs)
    return run_dir


def test_create_run_dir_names_are_unique(tmp_path: Path) -> None:
    now = datetime(2025, 1, 2, 3, 4, 5)
    first = create_run_dir(tmp_path, TrainConfig(), now=now)
    second = create_run_dir(tmp_path, TrainConfig(), now=now)
    assert first.name == "20250102-030405-seed"
    assert second.name == "20250102-030405-seed-2"


@pytest.mark.parametrize(
    ("file_name", "content", "fragment"),
    [
        (HISTORY_JSON, '{"status": "finished", "epochs": [', "not valid JSON"),
        (HISTORY_JSON, '{"status": "finished"}', "invalid history"),
        (HISTORY_JSON, '[{"epoch": 1}]', "invalid history"),
        (CONFIG_JSON, '{"epochs": 0}', "invalid config"),
        (CONFIG_JSON, '["not", "a", "dict"]', "invalid config"),
        (METRICS_JSON, '["not", "a", "dict"]', "invalid metrics"),
        (METRICS_JSON, '{"test_loss": 0.5}', "invalid metrics"),
        (EVALUATION_NPZ, "not a zip file", "unreadable"),
    ],
)
def test_damaged_run_is_listed_with_a_reason(
    tmp_path: Path, file_name: str, content: str, fragment: str
) -> None:
    good_before = make_run(tmp_path, 1)
    damaged = make_run(tmp_path, 2)
    good_after = make_run(tmp_path, 3)
    (damaged / file_name).write_text(content, encoding="utf-8")

    listings = list_runs(tmp_path)

    assert [r.path for r in listings] == [good_after, damaged, good_before], "newest first"
    bad = listings[1]
    assert bad.status == "damaged"
    assert bad.problem is not None
    assert "\n" not in bad.problem
    assert file_name in bad.problem
    assert fragment in bad.problem
    for good in (listings[0], listings[2]):
        assert (good.status, good.epochs, good.problem) == ("finished", 2, None)
        assert good.best_val_accuracy == pytest.approx(0.6)
    with pytest.raises(RunError, match=fragment):
        load_run(damaged)


def test_missing_history_and_non_run_folders(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, 1)
    (run_dir / HISTORY_JSON).unlink()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "stray-file.txt").write_text("x")
    [listing] = list_runs(tmp_path)
    assert listing.status == "damaged"
    assert listing.problem == f"{run_dir / HISTORY_JSON}: missing"
    with pytest.raises(RunError, match="not a run folder"):
        load_run(tmp_path / "absent")
    assert list_runs(tmp_path / "absent") == []


def test_write_json_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "data.json"
    write_json(target, {"version": 1})

    def disk_full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(RunError) as excinfo:
        write_json(target, {"version": 2, "padding": "x" * 10_000})

    message = str(excinfo.value)
    assert message == f"cannot write {target}: No space left on device"
    assert read_json(target) == {"version": 1}, "the old file must survive"
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"], "temporary file left behind"


def test_write_json_failure_in_the_writer_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    with pytest.raises(TypeError):
        write_json(target, {"not json": object()})
    assert list(tmp_path.iterdir()) == []
