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

from core import presets, training
from core.backend import active_backend
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
from core.training import TrainState, train

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
    """Report progress after every batch instead of at most every 0.1 s, one batch per call
    into the backend."""
    monkeypatch.setattr(training, "PROGRESS_INTERVAL_S", 0.0)
    monkeypatch.setattr(training, "FIRST_STEPS_PER_EXECUTION", 1)
    monkeypatch.setattr(training, "EXECUTION_TARGET_S", 0.0)


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


def test_stop_mid_epoch_ends_within_one_backend_call(
    synthetic_dataset: Dataset, every_batch: None
) -> None:
    """A stop is seen between calls into the backend: the call under way when it is asked
    is the last one trained. Here a call is one batch (``every_batch``), so that is the
    batch after the request; training sizes its calls to about ``EXECUTION_TARGET_S``
    (0.15 s), which is the promise the README makes and ``bench.stop_latency`` measures on
    each backend."""
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
    assert int(keras_value(state.model.optimizer.iterations)) == 4
    assert state.status == "stopped"
    assert state.history == []
    stopped = events[-1]
    assert isinstance(stopped, TrainingStopped)
    assert stopped.history == ()
    assert stopped.run_id == RUN_ID


def test_a_stop_lands_at_the_end_of_the_call_under_way(
    synthetic_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With several batches per call, the stop waits for the call under way and no more: a
    request after the 1st call of 4 batches ends training after the 2nd. Mutations caught:
    a stop checked only at an epoch's end (13 batches trained), or one more call after the
    request (12)."""
    from core.backend import batches_per_call_limit

    monkeypatch.setattr(training, "PROGRESS_INTERVAL_S", 0.0)
    monkeypatch.setattr(training, "FIRST_STEPS_PER_EXECUTION", 4)
    per_call = min(4, batches_per_call_limit(active_backend()) or 4)
    stop = threading.Event()

    def stop_after_the_first_call(event: TrainingEvent) -> None:
        if isinstance(event, BatchProgress) and event.epoch == 1:
            stop.set()

    state, events = run(synthetic_dataset, 2, on_event=stop_after_the_first_call, stop=stop)

    progress = [e.batch for e in events if isinstance(e, BatchProgress)]
    assert progress == [per_call], "progress after the stop"
    assert int(keras_value(state.model.optimizer.iterations)) == 2 * per_call
    assert state.status == "stopped"


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

    # The config says how many epochs the run has in all: one more.
    again, second = run(synthetic_dataset, 2, state=state)

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
    assert int(keras_value(state.model.optimizer.iterations)) == 2 * BATCHES


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
    seed = presets.PRESETS["seed"]
    exploding = dataclasses.replace(
        seed, hyperparameters=dataclasses.replace(seed.hyperparameters, learning_rate=1e10)
    )
    monkeypatch.setitem(presets.PRESETS, "seed", exploding)

    state, events = run(synthetic_dataset, 2)

    failed = events[-1]
    assert isinstance(failed, TrainingFailed)
    assert failed.kind == "nan_loss"
    assert failed.run_id == RUN_ID
    assert "\n" not in failed.message
    assert "diverged" in failed.message
    assert "nan" in failed.message
    assert "learning rate 1e+10" in failed.message, "it names the learning rate"
    assert not any(isinstance(e, TrainingFinished | TrainingStopped) for e in events)
    assert state.status == "failed"
    assert state.failure == failed.message


def test_other_errors_become_failed_events(
    synthetic_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_labels(*args: object, **kwargs: object) -> None:
        raise RuntimeError("pipeline exploded\nsecond line")

    monkeypatch.setattr(training, "labels_for", broken_labels)
    state, events = run(synthetic_dataset, 1)
    assert events == [TrainingFailed(RUN_ID, "RuntimeError: pipeline exploded", "error")]
    assert state.status == "failed"


class ResourceExhaustedError(Exception):
    """Named as TensorFlow's: recognised by name, whatever the backend."""


class XlaRuntimeError(Exception):
    """Named as JAX's runtime error."""


class OutOfMemoryError(RuntimeError):
    """Named as PyTorch's ``torch.OutOfMemoryError``."""


@pytest.mark.parametrize(
    "error",
    [
        ResourceExhaustedError("OOM when allocating tensor with shape[4096,28,26,26]"),
        XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 2.1GiB"),
        OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB"),
        MemoryError(),
    ],
    ids=["tensorflow", "jax", "torch", "host"],
)
def test_out_of_memory_on_any_backend_says_the_same(
    synthetic_dataset: Dataset, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def exhausted(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(training, "epoch_arrays", exhausted)
    state, events = run(synthetic_dataset, 1)
    failed = events[-1]
    assert isinstance(failed, TrainingFailed)
    assert failed.kind == "out_of_memory"
    assert failed.message == "out of memory at batch size 32: try a smaller batch size"
    assert state.status == "failed"


def test_other_runtime_errors_are_not_out_of_memory() -> None:
    from core.backend import is_out_of_memory

    assert not is_out_of_memory(XlaRuntimeError("INVALID_ARGUMENT: shapes differ"))
    assert not is_out_of_memory(RuntimeError("expected scalar type Float"))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))


def test_the_device_line_names_the_device_and_backend() -> None:
    from core.backend import device_line

    device = device_line()
    assert device.startswith(("CPU: ", "GPU: "))
    assert device.endswith(f" · {active_backend()}")
    if device.startswith("CPU: "):
        assert device.removesuffix(f" · {active_backend()}").endswith("threads)")


def test_several_batches_per_call_still_report_every_call_and_stop_at_the_next(
    synthetic_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With N batches per call into the backend, progress comes after every call (batches
    N, 2N, ... and the epoch's last), samples/s stay right, and a stop lands after the call
    running when it was asked for."""
    monkeypatch.setattr(training, "PROGRESS_INTERVAL_S", 0.0)
    monkeypatch.setattr(training, "FIRST_STEPS_PER_EXECUTION", 5)
    stop = threading.Event()

    def stop_in_epoch_2(event: TrainingEvent) -> None:
        if isinstance(event, BatchProgress) and event.epoch == 2 and event.batch >= 5:
            stop.set()

    monkeypatch.setattr(training, "steps_per_execution_for", lambda seconds, backend: 5)
    state, events = run(synthetic_dataset, 3, on_event=stop_in_epoch_2, stop=stop)

    epoch_1 = [e for e in events if isinstance(e, BatchProgress) and e.epoch == 1]
    assert [e.batch for e in epoch_1] == [5, 10, BATCHES]
    assert all(e.samples_per_second > 0 for e in epoch_1)
    epoch_2 = [e.batch for e in events if isinstance(e, BatchProgress) and e.epoch == 2]
    assert epoch_2 == [5]
    assert int(keras_value(state.model.optimizer.iterations)) == BATCHES + 10
    # What model.keras saves: PyTorch's Keras refuses to load more than one batch per call.
    assert state.model.get_compile_config()["steps_per_execution"] == 1
    assert state.status == "stopped"
    assert [m.epoch for m in state.history] == [1]


def keras_value(variable: Any) -> Any:
    import keras

    return keras.ops.convert_to_numpy(variable)


def test_steps_per_execution_follow_the_step_time() -> None:
    from core.training import steps_per_execution_for

    assert steps_per_execution_for(None, "tensorflow") == training.FIRST_STEPS_PER_EXECUTION
    assert steps_per_execution_for(0.015, "tensorflow") == 10  # 0.15 s per call
    assert steps_per_execution_for(0.0005, "jax") == 300
    assert steps_per_execution_for(1.0, "tensorflow") == 1
    assert steps_per_execution_for(1e-9, "jax") == training.MAX_STEPS_PER_EXECUTION
    assert steps_per_execution_for(0.0005, "torch") == 1


def test_epoch_order_depends_on_seed_and_epoch_alone() -> None:
    from core.batches import epoch_arrays, epoch_order

    orders = [epoch_order(20, 1, epoch).tolist() for epoch in range(3)]
    assert all(sorted(order) == list(range(20)) for order in orders), "each epoch sees all"
    assert len({tuple(order) for order in orders}) == 3, "a new order every epoch"
    assert epoch_order(20, 1, 2).tolist() == orders[2], "a resumed run gets the same batches"
    assert epoch_order(20, 2, 0).tolist() != orders[0]
    # Pinned: the order must not change between versions, or resumed runs would differ.
    assert epoch_order(10, 0, 0).tolist() == PINNED_ORDER

    images = np.arange(20, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), dtype=np.uint8)
    labels = (np.arange(20) % 10).astype(np.uint8)
    x, y = epoch_arrays(images, labels, seed=1, epoch=2, one_hot=True)
    assert x.dtype == np.uint8, "no float copy of the images"
    assert x[:, 0, 0].tolist() == orders[2]
    assert y.dtype == np.float32
    assert (y.argmax(axis=1) == x[:, 0, 0] % 10).all(), "every image keeps its label"
    _, sparse = epoch_arrays(images, labels, seed=1, epoch=2, one_hot=False)
    assert sparse.dtype == np.int32


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
            ResourceExhaustedError("OOM when allocating tensor with shape[4096,28,26,26]"),
            id="ResourceExhaustedError",
        ),
        pytest.param(
            XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate"),
            id="XlaRuntimeError",
        ),
        pytest.param(OutOfMemoryError("CUDA out of memory"), id="torch.OutOfMemoryError"),
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


PINNED_ORDER = [4, 6, 2, 7, 3, 5, 9, 0, 8, 1]
