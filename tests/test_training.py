"""Tests for core.training on the synthetic data set: events, stop, continue, failures."""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from core import models, training
from core.config import TrainConfig
from core.data import Dataset
from core.events import (
    BatchProgress,
    EpochEnded,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from core.training import (
    TrainState,
    detect_device,
    make_eval_pipeline,
    make_training_pipeline,
    train,
)

RUN_ID = "test-run"
BATCHES = 13
"""400 training images (500 less the 20% validation split) in batches of 32."""


def run(
    dataset: Dataset,
    epochs: int,
    *,
    on_event: Callable[[TrainingEvent], None] | None = None,
    stop: threading.Event | None = None,
    state: TrainState | None = None,
    seed: int = 0,
) -> tuple[TrainState, list[TrainingEvent]]:
    """Train and return the state and every event, in order."""
    events: list[TrainingEvent] = []

    def record(event: TrainingEvent) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    state = train(
        TrainConfig(epochs=epochs, seed=seed),
        record,
        stop or threading.Event(),
        dataset=dataset,
        state=state,
        run_id=RUN_ID,
    )
    return state, events


@pytest.fixture
def every_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Report progress after every batch instead of at most every 0.1 s."""
    monkeypatch.setattr(training, "PROGRESS_INTERVAL_S", 0.0)


def test_two_epochs_emit_events_in_order(synthetic_dataset: Dataset) -> None:
    state, events = run(synthetic_dataset, 2)

    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "TrainingStarted"
    assert kinds[-1] == "TrainingFinished"
    epoch_ends = [i for i, e in enumerate(events) if isinstance(e, EpochEnded)]
    assert [events[i].metrics.epoch for i in epoch_ends] == [1, 2]  # type: ignore[union-attr]
    assert epoch_ends[1] == len(events) - 2
    assert set(kinds) == {"TrainingStarted", "BatchProgress", "EpochEnded", "TrainingFinished"}
    assert all(e.run_id == RUN_ID for e in events)

    started = events[0]
    assert isinstance(started, TrainingStarted)
    assert (started.initial_epoch, started.final_epoch) == (0, 2)
    assert (started.train_samples, started.val_samples) == (400, 100)
    assert started.batches_per_epoch == BATCHES
    assert started.summary.trainable_params == 394_530
    assert started.data_source == synthetic_dataset.source
    assert started.device.startswith(("CPU: ", "GPU: "))

    for epoch, (begin, end) in enumerate([(0, epoch_ends[0]), epoch_ends], start=1):
        progress = [e for e in events[begin + 1 : end] if isinstance(e, BatchProgress)]
        assert progress, f"no progress reported in epoch {epoch}"
        assert all(p.epoch == epoch and p.batches == BATCHES for p in progress)
        batches = [p.batch for p in progress]
        assert batches == sorted(set(batches)), "batch counts must increase within an epoch"
        assert batches[-1] == BATCHES, "the last batch of every epoch is reported"
        assert all(p.samples_per_second > 0 for p in progress)
        assert all(math.isfinite(p.loss) and 0 <= p.accuracy <= 1 for p in progress)
        assert progress[-1].fractional_epoch == epoch

    history = [events[i].metrics for i in epoch_ends]  # type: ignore[union-attr]
    for metrics in history:
        values = (metrics.loss, metrics.accuracy, metrics.val_loss, metrics.val_accuracy)
        assert all(math.isfinite(v) for v in values)
        assert metrics.seconds > 0
        assert all(e.final_epoch == 2 for e in events if isinstance(e, EpochEnded))
    # The shapes are easy: a seed CNN is near-perfect after one or two epochs (1.0 on this
    # machine). 0.8 leaves room for other CPUs' rounding while still proving it learns.
    assert history[1].val_accuracy > 0.8
    assert history[1].loss < history[0].loss

    finished = events[-1]
    assert isinstance(finished, TrainingFinished)
    assert finished.history == tuple(history)
    assert state.history == history
    assert state.status == "finished"
    assert state.failure is None


def test_stop_mid_epoch_ends_within_one_batch(
    synthetic_dataset: Dataset, every_batch: None
) -> None:
    stop = threading.Event()
    triggers: list[BatchProgress] = []

    def stop_at_batch_3(event: TrainingEvent) -> None:
        if isinstance(event, BatchProgress) and event.epoch == 1 and event.batch >= 3:
            triggers.append(event)
            stop.set()

    state, events = run(synthetic_dataset, 2, on_event=stop_at_batch_3, stop=stop)

    assert [e.batch for e in triggers] == [3], "progress after the stop"
    after = events[events.index(triggers[0]) + 1 :]
    assert not any(isinstance(e, BatchProgress) for e in after), "progress after the stop"
    assert [type(e) for e in after] == [TrainingStopped]
    # Stops are checked at every batch end: the batch after the request (the 4th) is the
    # last one trained.
    assert int(state.model.optimizer.iterations.numpy()) == 4
    assert state.status == "stopped"
    assert state.history == []
    stopped = events[-1]
    assert isinstance(stopped, TrainingStopped)
    assert stopped.history == ()
    assert stopped.run_id == RUN_ID


def test_stop_in_second_epoch_keeps_the_first(
    synthetic_dataset: Dataset, every_batch: None
) -> None:
    stop = threading.Event()

    def stop_in_epoch_2(event: TrainingEvent) -> None:
        if isinstance(event, BatchProgress) and event.epoch == 2 and event.batch >= 2:
            stop.set()

    state, events = run(synthetic_dataset, 3, on_event=stop_in_epoch_2, stop=stop)

    progress_2 = [e.batch for e in events if isinstance(e, BatchProgress) and e.epoch == 2]
    assert progress_2 == [1, 2]
    assert [m.epoch for m in state.history] == [1]
    assert state.status == "stopped"
    assert isinstance(events[-1], TrainingStopped)
    assert events[-1].history == tuple(state.history)
    assert not any(isinstance(e, EpochEnded) and e.metrics.epoch == 2 for e in events)


def test_stop_during_validation_is_honoured(
    synthetic_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop asked for while the validation batches run ends training before the epoch ends."""
    test_batches_begun: list[int] = []

    def ask_to_stop(self: Any, batch: int, logs: dict[str, Any] | None = None) -> None:
        test_batches_begun.append(batch)
        self.stop_event.set()

    monkeypatch.setattr(training._EventCallback, "on_test_batch_begin", ask_to_stop)
    state, events = run(synthetic_dataset, 2)

    assert test_batches_begun == [0], "validation went on after the stop"
    progress = [e for e in events if isinstance(e, BatchProgress)]
    assert progress[-1].batch == BATCHES, "the whole epoch trained before validation"
    assert all(p.epoch == 1 for p in progress)
    assert not any(isinstance(e, EpochEnded) for e in events)
    assert isinstance(events[-1], TrainingStopped)
    assert state.status == "stopped"
    assert state.history == []


def test_stop_set_before_start(synthetic_dataset: Dataset) -> None:
    stop = threading.Event()
    stop.set()
    state, events = run(synthetic_dataset, 2, stop=stop)
    assert [type(e) for e in events] == [TrainingStarted, TrainingStopped]
    assert state.status == "stopped"


def test_continue_training(synthetic_dataset: Dataset) -> None:
    state, _ = run(synthetic_dataset, 1)
    assert [m.epoch for m in state.history] == [1]
    epoch_1 = state.history[0]

    again, second = run(synthetic_dataset, 1, state=state)

    assert again is state
    started = second[0]
    assert isinstance(started, TrainingStarted)
    assert (started.initial_epoch, started.final_epoch) == (1, 2)
    assert [m.epoch for m in state.history] == [1, 2]
    assert state.history[0] is epoch_1
    ended = [e.metrics.epoch for e in second if isinstance(e, EpochEnded)]
    assert ended == [2]
    assert all(e.epoch == 2 for e in second if isinstance(e, BatchProgress))
    assert isinstance(second[-1], TrainingFinished)
    assert [m.epoch for m in second[-1].history] == [1, 2]
    # The optimizer carried on rather than starting over.
    assert int(state.model.optimizer.iterations.numpy()) == 2 * BATCHES


@pytest.mark.slow
def test_same_seed_same_result(synthetic_dataset: Dataset) -> None:
    first, _ = run(synthetic_dataset, 1, seed=7)
    second, _ = run(synthetic_dataset, 1, seed=7)
    other, _ = run(synthetic_dataset, 1, seed=8)
    # Bit-identical on this machine's CPU; 1e-5 allows for nothing more than float rounding.
    assert second.history[0].loss == pytest.approx(first.history[0].loss, abs=1e-5)
    assert second.history[0].val_loss == pytest.approx(first.history[0].val_loss, abs=1e-5)
    assert other.history[0].loss != pytest.approx(first.history[0].loss, abs=1e-5)


def test_nan_loss_fails_cleanly(
    synthetic_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    exploding = dataclasses.replace(models.PRESETS["seed"], learning_rate=1e10)
    monkeypatch.setitem(models.PRESETS, "seed", exploding)

    state, events = run(synthetic_dataset, 2)

    failed = events[-1]
    assert isinstance(failed, TrainingFailed)
    assert failed.kind == "nan_loss"
    assert failed.run_id == RUN_ID
    assert "\n" not in failed.message
    assert "diverged" in failed.message
    assert "nan" in failed.message
    assert not any(isinstance(e, TrainingFinished | TrainingStopped) for e in events)
    assert state.status == "failed"
    assert state.failure == failed.message


def test_other_errors_become_failed_events(
    synthetic_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_pipeline(*args: object, **kwargs: object) -> None:
        raise RuntimeError("pipeline exploded\nsecond line")

    monkeypatch.setattr(training, "make_eval_pipeline", broken_pipeline)
    state, events = run(synthetic_dataset, 1)
    assert events == [TrainingFailed(RUN_ID, "RuntimeError: pipeline exploded", "error")]
    assert state.status == "failed"


def test_detect_device() -> None:
    device = detect_device()
    if tf.config.list_physical_devices("GPU"):
        assert device.startswith("GPU: ")
    else:
        assert device.startswith("CPU: ")
        assert device.endswith("threads)")


def test_eval_pipeline_normalises_uint8_batches_in_order() -> None:
    images = np.zeros((10, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = 255
    images[:, 1, 1] = 51
    labels = np.arange(10, dtype=np.uint8)

    batches = list(make_eval_pipeline(images, labels, batch_size=4))

    assert [tuple(x.shape) for x, _ in batches] == [(4, 28, 28, 1), (4, 28, 28, 1), (2, 28, 28, 1)]
    for x, y in batches:
        assert x.dtype == tf.float32
        assert y.dtype == tf.int32
        values = x.numpy()
        assert values.min() == 0.0
        assert values.max() == 1.0
        assert values[:, 1, 1, 0] == pytest.approx(0.2)
    assert np.concatenate([y.numpy() for _, y in batches]).tolist() == list(range(10))


def test_training_pipeline_shuffles_each_epoch_by_seed_and_epoch_alone() -> None:
    images = np.arange(20, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), dtype=np.uint8)
    labels = (np.arange(20) % 10).astype(np.uint8)

    def orders(first: int, last: int, seed: int = 1) -> list[list[int]]:
        pipeline = make_training_pipeline(
            images,
            labels,
            batch_size=8,
            seed=seed,
            first_epoch=first,
            last_epoch=last,
            one_hot=True,
        )
        batches = list(pipeline)
        assert [len(x) for x, _ in batches] == [8, 8, 4] * (last - first), "batches per epoch"
        xs = np.concatenate([x.numpy() for x, _ in batches])
        ys = np.concatenate([y.numpy() for _, y in batches])
        assert ys.sum(axis=1).tolist() == [1.0] * len(ys)
        order = np.rint(xs[:, 0, 0, 0] * 255).astype(int)
        # Shuffled, but every image still carries its own label.
        assert (ys.argmax(axis=1) == order % 10).all()
        return [order[i : i + 20].tolist() for i in range(0, len(order), 20)]

    epochs = orders(0, 3)
    assert all(sorted(epoch) == list(range(20)) for epoch in epochs), "each epoch sees all"
    assert len({tuple(epoch) for epoch in epochs}) == 3, "a new order every epoch"
    assert orders(1, 3) == epochs[1:], "a resumed run gets the same batches"
    assert orders(0, 1, seed=2) != epochs[:1]


@pytest.mark.slow
def test_label_smoothed_preset_reports_the_plain_cross_entropy(synthetic_dataset: Dataset) -> None:
    # The improved preset trains on a smoothed loss; the losses it reports must be the same
    # plain cross-entropy that the test-set evaluation computes, or the numbers disagree.
    from core.evaluation import evaluate_probabilities
    from core.training import predict

    state = train(
        TrainConfig(epochs=1, model="improved"),
        lambda event: None,
        threading.Event(),
        dataset=synthetic_dataset,
    )
    assert state.status == "finished"
    probabilities = predict(state.model, synthetic_dataset.x_val)
    plain = evaluate_probabilities(probabilities, synthetic_dataset.y_val).test_loss
    assert state.history[-1].val_loss == pytest.approx(plain, rel=1e-3, abs=1e-3)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(
            tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor"),
            id="ResourceExhaustedError",
        ),
        pytest.param(MemoryError(), id="MemoryError"),
    ],
)
def test_out_of_memory_suggests_a_smaller_batch_size(
    synthetic_dataset: Dataset,
    monkeypatch: pytest.MonkeyPatch,
    every_batch: None,
    error: BaseException,
) -> None:
    """The allocator gives up part-way through the first epoch, as it would on a GPU."""
    fit = keras.Model.fit

    class RunOutOfMemory(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if batch == 2:
                raise error

    def fit_that_runs_out(self: keras.Model, *args: Any, **kwargs: Any) -> Any:
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), RunOutOfMemory()]
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit_that_runs_out)
    state, events = run(synthetic_dataset, 2)

    failed = events[-1]
    assert isinstance(failed, TrainingFailed)
    assert failed.kind == "out_of_memory"
    assert failed.message == "out of memory at batch size 32: try a smaller batch size"
    assert failed.run_id == RUN_ID
    assert any(isinstance(e, BatchProgress) for e in events), "it failed mid-epoch"
    assert not any(isinstance(e, EpochEnded | TrainingFinished | TrainingStopped) for e in events)
    assert (state.status, state.failure) == ("failed", failed.message)
