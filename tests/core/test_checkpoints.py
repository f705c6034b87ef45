"""Per-epoch checkpoints and resuming: atomic saves, damaged checkpoints, locks, and a resumed
run that matches the uninterrupted one epoch for epoch."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import resume_saved, session_for, train_new

from core.config import TrainConfig
from core.data import Dataset
from core.errors import RunError
from core.events import EpochEnded, EpochMetrics, TrainingEvent, TrainingFailed
from core.requests import ResumeRun
from core.runs.catalogue import list_runs, load_run
from core.runs.checkpoints import latest_checkpoint, read_checkpoint, save_checkpoint
from core.runs.layout import (
    CHECKPOINT_STATE,
    CHECKPOINTS_DIR,
    CONFIG_JSON,
    HISTORY_JSON,
    METRICS_JSON,
    MODEL_FILE,
    save_history,
)
from core.runs.lock import RunLock, effective_status, is_in_use
from core.runs.resume import plan_resume


def metrics(epoch: int, val_loss: float = 1.0) -> EpochMetrics:
    return EpochMetrics(epoch, 0.5, 0.8, val_loss, 0.8, 1.0)


def fake_model(content: bytes) -> object:
    def write(path: Path) -> None:
        path.write_bytes(content)

    return write


def save(run_dir: Path, epochs: int, *, best: int | None = None, content: bytes = b"m") -> Path:
    checkpoint = save_checkpoint(
        run_dir,
        config=TrainConfig(epochs=10),
        history=[metrics(e) for e in range(1, epochs + 1)],
        planned_epochs=10,
        schedule_end=10,
        write_model=fake_model(content + str(epochs).encode()),  # type: ignore[arg-type]
        best_epoch=best,
    )
    return checkpoint.path


def committed(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / CHECKPOINTS_DIR).iterdir())


# --- storage, no TensorFlow -------------------------------------------------------------


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    path = save(tmp_path, 3, best=2)
    assert path == tmp_path / CHECKPOINTS_DIR / "epoch-0003"
    checkpoint = read_checkpoint(path)
    assert (checkpoint.epoch, checkpoint.planned_epochs, checkpoint.schedule_end) == (3, 10, 10)
    assert checkpoint.history == tuple(metrics(e) for e in (1, 2, 3))
    assert checkpoint.best_epoch == 2
    assert checkpoint.config == TrainConfig(epochs=10)
    assert checkpoint.model_path.read_bytes() == b"m3"


def test_keeps_the_two_newest_and_the_best(tmp_path: Path) -> None:
    for epoch in range(1, 6):
        save(tmp_path, epoch, best=2)
    assert committed(tmp_path) == ["epoch-0002", "epoch-0004", "epoch-0005"]
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.epoch == 5


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    save(tmp_path, 1)

    def disk_full(path: Path) -> None:
        path.write_bytes(b"half a mod")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(RunError, match="cannot save the epoch 2 checkpoint: No space left"):
        save_checkpoint(
            tmp_path,
            config=TrainConfig(epochs=10),
            history=[metrics(1), metrics(2)],
            planned_epochs=10,
            schedule_end=10,
            write_model=disk_full,
        )
    assert committed(tmp_path) == ["epoch-0001"], "no temporary folder may be left"
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.epoch == 1
    assert latest.model_path.read_bytes() == b"m1"


def test_a_kill_before_the_rename_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    """What a SIGKILL halfway through a save leaves: a hidden temp folder, never read."""
    save(tmp_path, 1)
    stale = tmp_path / CHECKPOINTS_DIR / ".epoch-0002.abc123"
    stale.mkdir()
    (stale / MODEL_FILE).write_bytes(b"trunc")
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.epoch == 1
    save(tmp_path, 2)
    assert committed(tmp_path) == ["epoch-0001", "epoch-0002"], "the next save cleans up"


def test_damaged_newest_checkpoint_falls_back(tmp_path: Path) -> None:
    save(tmp_path, 1)
    newest = save(tmp_path, 2)
    (newest / MODEL_FILE).write_bytes(b"bit rot")
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.epoch == 1

    (tmp_path / CHECKPOINTS_DIR / "epoch-0001" / CHECKPOINT_STATE).write_text("{not json")
    with pytest.raises(RunError, match="checksum does not match"):
        latest_checkpoint(tmp_path)


def saved_run(root: Path, name: str, epochs: int = 2) -> Path:
    """A finished run folder with checkpoints, as training leaves it (fake model bytes)."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    (run_dir / CONFIG_JSON).write_text(json.dumps(TrainConfig(epochs=10).to_dict()))
    history = [metrics(e) for e in range(1, epochs + 1)]
    save_history(run_dir, history, status="finished", planned_epochs=10)
    for epoch in range(1, epochs + 1):
        save(run_dir, epoch)
    (run_dir / METRICS_JSON).write_text(json.dumps({"test_accuracy": 0.9, "test_loss": 0.3}))
    (run_dir / MODEL_FILE).write_bytes(b"model")
    return run_dir


def bad_checksum(run_dir: Path) -> str:
    for folder in (run_dir / CHECKPOINTS_DIR).iterdir():
        (folder / MODEL_FILE).write_bytes(b"bit rot")
    return "checksum does not match"


def bad_json(run_dir: Path) -> str:
    (run_dir / HISTORY_JSON).write_text('{"status": "finished", "epochs": [')
    return f"{HISTORY_JSON}: not valid JSON"


def missing_model(run_dir: Path) -> str:
    (run_dir / MODEL_FILE).unlink()
    return f"{run_dir / MODEL_FILE}: missing"


def missing_checkpoint_model(run_dir: Path) -> str:
    for folder in (run_dir / CHECKPOINTS_DIR).iterdir():
        (folder / MODEL_FILE).unlink()
    return f"{MODEL_FILE}: missing"


@pytest.mark.parametrize(
    "damage",
    [bad_json, missing_model, missing_checkpoint_model, bad_checksum],
    ids=lambda f: f.__name__,
)
def test_a_damaged_run_is_listed_damaged_with_the_reason(tmp_path: Path, damage: Any) -> None:
    """The README's reasons for "damaged": bad JSON, a missing model, a bad checksum."""
    good_before = saved_run(tmp_path, "20260101-000000-seed")
    damaged = saved_run(tmp_path, "20260102-000000-seed")
    good_after = saved_run(tmp_path, "20260103-000000-seed")
    reason = damage(damaged)

    listings = list_runs(tmp_path)

    assert [r.path for r in listings] == [good_after, damaged, good_before]
    bad = listings[1]
    assert bad.status == "damaged"
    assert bad.problem is not None and reason in bad.problem and "\n" not in bad.problem
    assert bad.checkpoint_epoch is None and not bad.resumable
    for good in (listings[0], listings[2]):
        assert (good.status, good.problem, good.checkpoint_epoch) == ("finished", None, 2)
    with pytest.raises(RunError, match=reason.split(":")[-1].strip()):
        plan_resume(damaged, 1)


def test_a_bad_checksum_on_the_newest_checkpoint_only_falls_back(tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path, "20260101-000000-seed")
    (run_dir / CHECKPOINTS_DIR / "epoch-0002" / MODEL_FILE).write_bytes(b"bit rot")
    [listing] = list_runs(tmp_path)
    assert (listing.status, listing.problem, listing.checkpoint_epoch) == ("finished", None, 1)


def test_state_that_disagrees_with_its_folder_is_rejected(tmp_path: Path) -> None:
    path = save(tmp_path, 2)
    state = json.loads((path / CHECKPOINT_STATE).read_text())
    state["history"] = state["history"][:1]
    (path / CHECKPOINT_STATE).write_text(json.dumps(state))
    with pytest.raises(RunError, match="does not match its history"):
        read_checkpoint(path)


def test_lock_excludes_a_second_trainer(tmp_path: Path) -> None:
    assert not is_in_use(tmp_path)
    with RunLock(tmp_path):
        assert is_in_use(tmp_path)
        assert effective_status(tmp_path, "running") == "running"
        with pytest.raises(RunError, match="being trained by another process"):
            RunLock(tmp_path).acquire()
    assert not is_in_use(tmp_path)
    assert effective_status(tmp_path, "running") == "interrupted"
    assert effective_status(tmp_path, "stopped") == "stopped"


# --- with TensorFlow: real training, stopped and resumed -------------------------------


def run_epochs(
    dataset: Dataset,
    runs_root: Path,
    config: TrainConfig,
    *,
    stop_after: int | None = None,
) -> tuple[Path, list[TrainingEvent]]:
    _, result, events = train_new(dataset, runs_root, config, stop_after=stop_after)
    assert result.run_dir is not None
    return result.run_dir, events


def resume(
    run_dir: Path, dataset: Dataset, extra: int | None = None
) -> tuple[Path, list[TrainingEvent]]:
    result, events = resume_saved(dataset, run_dir, extra)
    assert result.run_dir is not None
    return result.run_dir, events


def epochs_of(run_dir: Path) -> list[int]:
    return [row["epoch"] for row in json.loads((run_dir / HISTORY_JSON).read_text())["epochs"]]


@pytest.fixture(scope="module")
def uninterrupted(
    synthetic_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[TrainingEvent]]:
    return run_epochs(synthetic_dataset, tmp_path_factory.mktemp("runs"), TrainConfig(epochs=4))


@pytest.mark.slow
def test_resumed_run_matches_the_uninterrupted_one(
    synthetic_dataset: Dataset,
    uninterrupted: tuple[Path, list[TrainingEvent]],
    tmp_path: Path,
) -> None:
    run_dir, _ = run_epochs(synthetic_dataset, tmp_path, TrainConfig(epochs=4), stop_after=2)
    run = load_run(run_dir)
    assert (run.status, len(run.history), run.planned_epochs) == ("stopped", 2, 4)
    assert run.resumable and run.checkpoint is not None and run.checkpoint.epoch == 2

    resumed_dir, events = resume(run_dir, synthetic_dataset)
    assert resumed_dir == run_dir
    assert [e.metrics.epoch for e in events if isinstance(e, EpochEnded)] == [3, 4]
    assert epochs_of(run_dir) == [1, 2, 3, 4], "every epoch exactly once"
    resumed = load_run(run_dir)
    assert resumed.status == "finished" and not resumed.resumable

    # Same weights, optimizer moments and batches: the curves agree closely (CPU kernels are
    # not bit-for-bit deterministic across runs, so not exactly).
    reference = load_run(uninterrupted[0])
    for ours, theirs in zip(resumed.history, reference.history, strict=True):
        assert ours.loss == pytest.approx(theirs.loss, rel=2e-3)
        assert ours.val_accuracy == pytest.approx(theirs.val_accuracy, abs=0.02)
    assert resumed.test_accuracy == pytest.approx(reference.test_accuracy, abs=0.02)


def test_resume_more_epochs_and_nothing_left(
    synthetic_dataset: Dataset, uninterrupted: tuple[Path, list[TrainingEvent]], tmp_path: Path
) -> None:
    source = uninterrupted[0]
    run_dir = tmp_path / source.name
    shutil.copytree(source, run_dir)
    with pytest.raises(RunError, match="has trained all 4 planned epochs"):
        plan_resume(run_dir)
    _, events = resume(run_dir, synthetic_dataset, extra=1)
    assert [e.metrics.epoch for e in events if isinstance(e, EpochEnded)] == [5]
    assert epochs_of(run_dir) == [1, 2, 3, 4, 5]
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 5


def test_epochs_after_the_newest_checkpoint_are_trained_once_more(
    synthetic_dataset: Dataset, tmp_path: Path
) -> None:
    """A kill between the checkpoint and the history write, or a lost checkpoint: the
    history may run ahead of the newest checkpoint; resuming trusts the checkpoint."""
    run_dir, _ = run_epochs(synthetic_dataset, tmp_path, TrainConfig(epochs=3), stop_after=2)
    shutil.rmtree(run_dir / CHECKPOINTS_DIR / "epoch-0002")
    history = json.loads((run_dir / HISTORY_JSON).read_text())
    history["status"] = "running"  # as a killed process leaves it
    (run_dir / HISTORY_JSON).write_text(json.dumps(history))
    assert load_run(run_dir).status == "interrupted"

    _, events = resume(run_dir, synthetic_dataset)
    assert [e.metrics.epoch for e in events if isinstance(e, EpochEnded)] == [2, 3]
    assert epochs_of(run_dir) == [1, 2, 3]


def test_a_run_in_use_cannot_be_resumed(
    uninterrupted: tuple[Path, list[TrainingEvent]], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(uninterrupted[0], run_dir)
    with RunLock(run_dir), pytest.raises(RunError, match="being trained by another process"):
        plan_resume(run_dir, 1)


def test_checkpoint_write_error_stops_training_and_keeps_the_last_one(
    synthetic_dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.runs import checkpoints

    real_rename = os.rename
    calls = 0

    def failing_rename(src: str | Path, dst: str | Path) -> None:
        nonlocal calls
        if Path(dst).name == "epoch-0002":
            calls += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(checkpoints.os, "rename", failing_rename)
    run_dir, events = run_epochs(synthetic_dataset, tmp_path, TrainConfig(epochs=3))
    assert calls == 1
    failure = next(e for e in events if isinstance(e, TrainingFailed))
    assert failure.kind == "io"
    assert "cannot save the epoch 2 checkpoint: No space left on device" in failure.message
    assert "the epoch 1 checkpoint is kept" in failure.message
    assert committed(run_dir) == ["epoch-0001"]
    run = load_run(run_dir)
    assert run.status == "failed" and run.checkpoint is not None and run.checkpoint.epoch == 1
    assert run.resumable


@pytest.mark.parametrize(
    "when",
    [
        "first_step",  # every loss of epoch 2 is NaN
        # The last update of epoch 2 breaks the weights: only validation sees it.
        pytest.param("last_step"),
    ],
)
def test_nan_loss_keeps_the_last_good_checkpoint(
    synthetic_dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """The weights really turn NaN in epoch 2; the run fails and the checkpoint kept, the
    newest there is, still holds epoch 1's finite weights."""
    import keras

    from core import training

    original = training._EventCallback.on_train_batch_end

    def poison(self: training._EventCallback, batch: int, logs: dict[str, float] | None = None):  # type: ignore[no-untyped-def]
        original(self, batch, logs)
        if self._epoch == 2 and batch == (0 if when == "first_step" else self.batches - 1):
            for weight in self.model.trainable_weights:
                weight.assign(np.full(weight.shape, np.nan, dtype="float32"))

    monkeypatch.setattr(training._EventCallback, "on_train_batch_end", poison)
    monkeypatch.setattr(training, "PROGRESS_INTERVAL_S", 0.0)  # check every batch's loss
    # One batch per call into the backend, so that the callback sees every batch.
    monkeypatch.setattr(training, "FIRST_STEPS_PER_EXECUTION", 1)
    monkeypatch.setattr(training, "steps_per_execution_for", lambda seconds, backend: 1)
    run_dir, events = run_epochs(synthetic_dataset, tmp_path, TrainConfig(epochs=3))
    failure = next(e for e in events if isinstance(e, TrainingFailed))
    assert failure.kind == "nan_loss"
    assert "the epoch 1 checkpoint is kept" in failure.message
    assert [e.metrics.epoch for e in events if isinstance(e, EpochEnded)] == [1]
    assert committed(run_dir) == ["epoch-0001"], "no checkpoint of the NaN weights"
    run = load_run(run_dir)
    assert run.status == "failed" and run.checkpoint is not None and run.checkpoint.epoch == 1
    weights = keras.models.load_model(run.checkpoint.model_path).get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert [r.status for r in list_runs(tmp_path)] == ["failed"]


def test_early_stopping_restores_the_best_epoch(synthetic_dataset: Dataset, tmp_path: Path) -> None:
    from core import training

    losses = iter([0.9, 0.5, 0.6, 0.7, 0.8, 0.9])
    original = training._EventCallback.on_epoch_end

    def scripted(self: training._EventCallback, epoch: int, logs: dict[str, float] | None = None):  # type: ignore[no-untyped-def]
        original(self, epoch, {**(logs or {}), "val_loss": next(losses)})

    mp = pytest.MonkeyPatch()
    mp.setattr(training._EventCallback, "on_epoch_end", scripted)
    try:
        run_dir, events = run_epochs(synthetic_dataset, tmp_path, TrainConfig(epochs=6, patience=2))
    finally:
        mp.undo()
    assert [e.metrics.epoch for e in events if isinstance(e, EpochEnded)] == [1, 2, 3, 4]
    run = load_run(run_dir)
    assert run.early_stopping == {"stopped_epoch": 4, "best_epoch": 2}
    assert run.status == "finished" and not run.resumable
    best = read_checkpoint(run_dir / CHECKPOINTS_DIR / "epoch-0002")
    import keras

    final = keras.models.load_model(run.model_path).get_weights()
    kept = keras.models.load_model(best.model_path).get_weights()
    for a, b in zip(final, kept, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(RunError, match="early stopping ended"):
        plan_resume(run_dir)


def test_models_load_in_safe_mode_only(tmp_path: Path) -> None:
    """A ``.keras`` file from elsewhere with a Lambda layer (arbitrary Python) is refused,
    and so is one that is not a 28x28 -> 10 classifier or not a model at all."""
    import keras

    from core.training import load_saved_model

    lambda_model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Lambda(lambda x: x * 1.0),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    unsafe = tmp_path / "unsafe.keras"
    lambda_model.save(unsafe)
    with pytest.raises(RunError, match="cannot load the model"):
        load_saved_model(unsafe)

    wrong = tmp_path / "wrong.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]).save(wrong)
    with pytest.raises(RunError, match="not a Fashion-MNIST classifier"):
        load_saved_model(wrong)

    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(RunError, match="cannot load the model"):
        load_saved_model(garbage)


def test_a_damaged_checkpoint_is_replaced_when_its_epoch_is_trained_again(
    synthetic_dataset: Dataset, tmp_path: Path
) -> None:
    run_dir, _ = run_epochs(synthetic_dataset, tmp_path, TrainConfig(epochs=3), stop_after=2)
    (run_dir / CHECKPOINTS_DIR / "epoch-0002" / MODEL_FILE).write_bytes(b"bit rot")
    plan = plan_resume(run_dir)
    assert (plan.checkpoint.epoch, plan.epochs) == (1, 2)
    _, events = resume(run_dir, synthetic_dataset)
    assert [e.metrics.epoch for e in events if isinstance(e, EpochEnded)] == [2, 3]
    assert committed(run_dir) == ["epoch-0002", "epoch-0003"], "no set-aside copy is left"
    assert read_checkpoint(run_dir / CHECKPOINTS_DIR / "epoch-0002").epoch == 2


def test_a_run_killed_while_evaluating_is_finished_without_training(
    synthetic_dataset: Dataset, uninterrupted: tuple[Path, list[TrainingEvent]], tmp_path: Path
) -> None:
    from core.events import EvaluationFinished, TrainingStarted

    run_dir = tmp_path / uninterrupted[0].name
    shutil.copytree(uninterrupted[0], run_dir)
    (run_dir / "metrics.json").unlink()  # what a kill during the evaluation leaves
    history = json.loads((run_dir / HISTORY_JSON).read_text())
    history["status"] = "running"
    (run_dir / HISTORY_JSON).write_text(json.dumps(history))
    [listing] = list_runs(tmp_path)
    assert listing.status == "interrupted" and listing.resumable and listing.unevaluated

    plan = plan_resume(run_dir)
    assert plan.epochs == 0
    _, events = resume(run_dir, synthetic_dataset)
    started = next(e for e in events if isinstance(e, TrainingStarted))
    assert (started.initial_epoch, started.final_epoch, len(started.history)) == (4, 4, 4)
    assert not any(isinstance(e, EpochEnded) for e in events)
    assert any(isinstance(e, EvaluationFinished) for e in events)
    run = load_run(run_dir)
    assert run.status == "finished" and run.test_accuracy is not None
    assert epochs_of(run_dir) == [1, 2, 3, 4]


@pytest.mark.slow
def test_training_on_never_restarts_a_cosine_schedule_half_way(
    synthetic_dataset: Dataset, tmp_path: Path
) -> None:
    run_dir, _ = run_epochs(
        synthetic_dataset, tmp_path, TrainConfig(epochs=3, model="improved"), stop_after=1
    )
    with pytest.raises(RunError, match="schedule that ends at epoch 3: train 2 more epochs"):
        resume(run_dir, synthetic_dataset, extra=4)
    assert epochs_of(run_dir) == [1], "nothing was trained or rewritten"
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 3


def test_resume_checks_the_run_again_under_its_lock(
    synthetic_dataset: Dataset, tmp_path: Path
) -> None:
    run_dir, _ = run_epochs(synthetic_dataset, tmp_path, TrainConfig(epochs=3), stop_after=1)
    session = session_for(synthetic_dataset, tmp_path)
    plan = session.plan(ResumeRun(run_dir))
    resume(run_dir, synthetic_dataset)  # someone else resumed it meanwhile
    with pytest.raises(RunError, match="changed since it was opened"):
        session.run(plan, lambda event: None)


def test_early_stopping_state_survives_a_resume(synthetic_dataset: Dataset, tmp_path: Path) -> None:
    """Killed right after the best epoch: the resumed run must still restore that epoch."""
    from core.training import restore_state

    run_dir, _ = run_epochs(
        synthetic_dataset, tmp_path, TrainConfig(epochs=6, patience=2), stop_after=2
    )
    checkpoint = latest_checkpoint(run_dir)
    assert checkpoint is not None and checkpoint.best_epoch in (1, 2)
    plan = plan_resume(run_dir)
    state = restore_state(plan.checkpoint, run_dir.name, best=plan.best)
    assert state.best_weights is not None
    best = plan.best or plan.checkpoint
    import keras

    expected = keras.models.load_model(best.model_path).get_weights()
    for a, b in zip(state.best_weights, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (state.best_epoch, state.wait) == (checkpoint.best_epoch, checkpoint.wait)


def test_lock_errors_other_than_contention_say_what_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(RunError, match=r"cannot lock .*: No locks available"):
        RunLock(tmp_path).acquire()
    assert not is_in_use(tmp_path)
