"""Training: ``model.fit(verbose=0)`` driven by a callback that emits plain dataclass events.

Everything here runs in one thread (TensorFlow is not thread-safe): build, train, evaluate and
predict happen wherever :func:`train` is called. Importing this module imports Keras, and so
the framework of the backend chosen before (:func:`core.backend.select_backend`); what depends
on the framework (batches per call, JAX's device loop, its trained state) is asked of
:mod:`core.backend`.

Each epoch is one ``fit`` call on that epoch's order of the uint8 arrays
(:mod:`core.batches`), which also lets the number of batches per call into the backend
(``steps_per_execution``) follow the measured step time between epochs.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import keras
import numpy as np

from core.backend import (
    active_backend,
    batches_per_call_limit,
    configure_devices,
    device_line,
    is_out_of_memory,
    prepare_train_function,
    seed_everything,
    sync_trained_state,
)
from core.batches import epoch_arrays, labels_for
from core.config import TrainConfig
from core.data import Dataset
from core.errors import RunError
from core.evaluation import NUM_CLASSES, Evaluation, evaluate_probabilities
from core.events import (
    BatchProgress,
    EpochEnded,
    EpochMetrics,
    EventHandler,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from core.files import first_line, one_line
from core.model_files import ModelSource
from core.models import (
    IMAGE_SHAPE,
    INPUT_SHAPE,
    PLAIN_LOSS,
    build_model,
    compile_model,
    one_hot_labels,
    summarize,
    takes_raw_images,
    with_preprocessing,
)
from core.runs.checkpoints import Checkpoint

PROGRESS_INTERVAL_S = 0.1
"""Batch progress is reported at most this often: reading metrics syncs the device."""
EXECUTION_TARGET_S = 0.15
"""How long one call into the backend (``steps_per_execution`` batches) should take: the
callback, and so progress and stop requests, run between calls. 0.15 s keeps progress above
4 per second and a stop well under a second with room for a slower batch."""
FIRST_STEPS_PER_EXECUTION = 8
"""Batches per call in the first epoch, before any step has been timed: 8 steps of the seed
at batch 32 take 0.06-0.2 s on a 2-core CPU, and far less on a GPU."""
MAX_STEPS_PER_EXECUTION = 1000
VALIDATION_BATCH_SIZE = 256
"""Validation runs at ``max(batch_size, 256)``: it computes no gradients, so larger is faster."""

Status = Literal["running", "finished", "stopped", "failed"]


class _StopRequested(Exception):
    """Raised from the callback to leave ``fit`` at once (Keras would otherwise validate)."""


class _NonFiniteLoss(Exception):
    pass


@dataclass(slots=True)
class TrainState:
    """A model and what it has learned so far; pass it back to :func:`train` to continue."""

    run_id: str
    config: TrainConfig
    model: keras.Model
    history: list[EpochMetrics] = field(default_factory=list)
    status: Status = "running"
    failure: str | None = None
    schedule_end: int = 0
    """The epoch at which the compiled learning-rate schedule ends (0: not compiled yet)."""
    best_epoch: int | None = None
    best_val_loss: float | None = None
    wait: int = 0
    """Epochs since the validation loss last improved."""
    best_weights: list[np.ndarray] | None = None
    """The best epoch's weights, kept while early stopping is on."""
    early_stopping: dict[str, int] | None = None
    """``{"stopped_epoch": N, "best_epoch": M}`` once early stopping has ended the run."""
    step_seconds: float | None = None
    """The measured seconds per training batch (for ``steps_per_execution``)."""

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    def note_epoch(self, metrics: EpochMetrics, patience: int | None) -> bool:
        """Track the best validation loss; whether early stopping says to stop now."""
        if self.best_val_loss is None or metrics.val_loss < self.best_val_loss:
            self.best_epoch, self.best_val_loss, self.wait = metrics.epoch, metrics.val_loss, 0
            if patience is not None:
                self.best_weights = [np.array(w) for w in self.model.get_weights()]
            return False
        self.wait += 1
        return patience is not None and self.wait >= patience


def steps_per_execution_for(step_seconds: float | None, backend: str) -> int:
    """Batches per call into the backend, from the measured time of one batch."""
    limit = batches_per_call_limit(backend)  # type: ignore[arg-type]
    if step_seconds is None or step_seconds <= 0:
        steps = FIRST_STEPS_PER_EXECUTION
    else:
        steps = max(1, min(MAX_STEPS_PER_EXECUTION, int(EXECUTION_TARGET_S / step_seconds)))
    return steps if limit is None else min(steps, limit)


def _set_steps_per_execution(model: keras.Model, steps: int) -> None:
    """Change ``model``'s batches per call; its compiled functions are rebuilt for it. The
    compile config saved with the model keeps one batch per call (see ``compile_model``)."""
    if model.steps_per_execution == steps:
        return
    model.steps_per_execution = steps
    model.train_function = None
    model.test_function = None
    model.predict_function = None


class _EventCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Turns Keras callback calls into events, honours stop requests at every batch."""

    def __init__(
        self,
        *,
        run_id: str,
        on_event: EventHandler,
        stop_event: threading.Event,
        batches: int,
        batch_size: int,
        train_samples: int,
        final_epoch: int,
        state: TrainState,
        patience: int | None,
    ) -> None:
        super().__init__()
        self.run_id = run_id
        self.on_event = on_event
        self.stop_event = stop_event
        self.batches = batches
        self.batch_size = batch_size
        self.train_samples = train_samples
        self.final_epoch = final_epoch
        self.state = state
        self.patience = patience
        self._epoch = 0
        self._epoch_start = 0.0
        self._last_report = 0.0
        self._last_report_batch = 0

    def _check_stop(self) -> None:
        if self.stop_event.is_set():
            # What was learned up to here is kept.
            sync_trained_state(self.model)
            raise _StopRequested

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._check_stop()
        self._epoch = epoch + 1
        self._epoch_start = self._last_report = time.perf_counter()
        self._last_report_batch = 0
        self._timed_from: tuple[float, int] | None = None

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._check_stop()
        # With several batches per call, ``batch`` is the call's last one (and Keras may
        # count past the end of the epoch in the last call).
        done = min(batch + 1, self.batches)
        now = time.perf_counter()
        if self._timed_from is None:
            # Step time from the end of the first call on: that call may include tracing,
            # and so may the epoch's last (a smaller last batch is a new shape to compile).
            self._timed_from = (now, done)
        elif self._timed_from[1] < done < self.batches:
            self.state.step_seconds = (now - self._timed_from[0]) / (done - self._timed_from[1])
        if done < self.batches and now - self._last_report < PROGRESS_INTERVAL_S:
            return
        logs = logs or {}
        loss = float(logs.get(PLAIN_LOSS, logs.get("loss", math.nan)))
        if not math.isfinite(loss):
            raise _NonFiniteLoss(f"loss became {loss} in epoch {self._epoch}, batch {done}")
        samples = min(done * self.batch_size, self.train_samples) - min(
            self._last_report_batch * self.batch_size, self.train_samples
        )
        elapsed = now - self._last_report
        self._last_report, self._last_report_batch = now, done
        self.on_event(
            BatchProgress(
                run_id=self.run_id,
                epoch=self._epoch,
                batch=done,
                batches=self.batches,
                loss=loss,
                accuracy=float(logs.get("accuracy", math.nan)),
                samples_per_second=samples / elapsed if elapsed > 0 else 0.0,
            )
        )

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._check_stop()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        metrics = EpochMetrics(
            epoch=epoch + 1,
            loss=float(logs.get(PLAIN_LOSS, logs["loss"])),
            accuracy=float(logs["accuracy"]),
            val_loss=float(logs.get(f"val_{PLAIN_LOSS}", logs["val_loss"])),
            val_accuracy=float(logs["val_accuracy"]),
            seconds=time.perf_counter() - self._epoch_start,
            learning_rate=_learning_rate(self.model),
        )
        if not math.isfinite(metrics.loss):
            raise _NonFiniteLoss(f"loss became {metrics.loss} in epoch {metrics.epoch}")
        if not math.isfinite(metrics.val_loss):
            # The epoch's last updates broke the weights after its running loss was taken:
            # only the validation pass sees it. No checkpoint may keep such weights.
            raise _NonFiniteLoss(
                f"validation loss became {metrics.val_loss} after epoch {metrics.epoch}"
            )
        self.state.history.append(metrics)
        stop_early = self.state.note_epoch(metrics, self.patience)
        if stop_early and self.state.best_epoch is not None:
            self.state.early_stopping = {
                "stopped_epoch": metrics.epoch,
                "best_epoch": self.state.best_epoch,
            }
            self.model.stop_training = True
        # Handlers may save a checkpoint here: the epoch, its optimizer steps and the
        # early-stopping bookkeeping are all complete.
        self.on_event(EpochEnded(self.run_id, metrics, self.final_epoch))


def _learning_rate(model: keras.Model) -> float | None:
    """The optimizer's learning rate at its current step."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def new_state(config: TrainConfig, run_id: str, source: ModelSource | None = None) -> TrainState:
    """A freshly built (uncompiled) model for ``config.model`` (from ``source`` when it is a
    model file), seeded by ``config.seed``.

    Raises:
        ModelFileError: the model file's code failed or built the wrong kind of model.
    """
    configure_devices()
    seed_everything(config.seed)
    config = config.with_changes(backend=active_backend())
    model = build_model(config.model, augment=config.augment, source=source)
    return TrainState(run_id=run_id, config=config, model=model)


def train(
    config: TrainConfig,
    on_event: EventHandler,
    stop_event: threading.Event,
    *,
    dataset: Dataset,
    state: TrainState | None = None,
    run_id: str = "run",
) -> TrainState:
    """Train until the run has ``config.epochs`` epochs, emitting events; continue ``state``
    (which has some already) when given.

    Never raises for training problems: a stop, a non-finite loss, running out of memory or
    any other error ends with a :class:`TrainingStopped` or :class:`TrainingFailed` event and
    the returned state's ``status``. The model keeps whatever it learned before that.
    """
    started = time.perf_counter()
    if state is None:
        state = new_state(config, run_id)
    backend = active_backend()
    state.status = "running"
    if state.early_stopping is not None or (
        config.patience is not None and state.wait >= config.patience
    ):
        # Training on after early stopping: patience counts afresh from here.
        state.wait = 0
    state.early_stopping = None
    training = state.config.training
    initial_epoch = state.epochs_done
    final_epoch = config.epochs
    batches = math.ceil(dataset.train_samples / config.batch_size)
    one_hot = one_hot_labels(training)
    steps = steps_per_execution_for(state.step_seconds, backend)
    try:
        if getattr(state.model, "optimizer", None) is None or (
            training.cosine and final_epoch > state.schedule_end
        ):
            # A fresh model, or training past the end of a cosine schedule: compile for the
            # epochs ahead (for a cosine schedule, a warm restart). Otherwise the optimizer,
            # its moments and its schedule carry on where they were.
            compile_model(state.model, training, batches, final_epoch - initial_epoch)
            state.schedule_end = final_epoch
        validation = (
            dataset.x_val,
            labels_for(dataset.y_val, one_hot=one_hot),
        )
        callback = _EventCallback(
            run_id=state.run_id,
            on_event=on_event,
            stop_event=stop_event,
            batches=batches,
            batch_size=config.batch_size,
            train_samples=dataset.train_samples,
            final_epoch=final_epoch,
            state=state,
            patience=config.patience,
        )
        on_event(
            TrainingStarted(
                run_id=state.run_id,
                config=config.with_changes(backend=backend),
                summary=summarize(state.model),
                device=device_line(),
                data_source=dataset.source,
                train_samples=dataset.train_samples,
                val_samples=dataset.val_samples,
                batches_per_epoch=batches,
                initial_epoch=initial_epoch,
                final_epoch=final_epoch,
                history=tuple(state.history),
            )
        )
        for epoch in range(initial_epoch, final_epoch):
            if epoch > initial_epoch:
                # Follow the measured step time; only a clear change is worth the retrace.
                wanted = steps_per_execution_for(state.step_seconds, backend)
                current = state.model.steps_per_execution
                if wanted >= 2 * current or 2 * wanted <= current:
                    _set_steps_per_execution(state.model, wanted)
            else:
                _set_steps_per_execution(state.model, steps)
            prepare_train_function(state.model)
            x_train, y_train = epoch_arrays(
                dataset.x_train, dataset.y_train, seed=config.seed, epoch=epoch, one_hot=one_hot
            )
            state.model.fit(
                x_train,
                y_train,
                batch_size=config.batch_size,
                validation_data=validation,
                validation_batch_size=max(config.batch_size, VALIDATION_BATCH_SIZE),
                initial_epoch=epoch,
                epochs=epoch + 1,
                callbacks=[callback],
                shuffle=False,  # the order is the epoch's own (core.batches)
                verbose=0,
            )
            if state.early_stopping is not None:
                break
    except _StopRequested:
        state.status = "stopped"
        on_event(TrainingStopped(state.run_id, tuple(state.history), time.perf_counter() - started))
        return state
    except _NonFiniteLoss as error:
        rate = training.learning_rate
        return _fail(
            state,
            on_event,
            "nan_loss",
            f"training diverged at learning rate {rate:g}: {error}; try a smaller learning rate",
        )
    except Exception as error:  # noqa: BLE001 - any failure becomes an event, not a crash
        if is_out_of_memory(error):
            return _fail(
                state,
                on_event,
                "out_of_memory",
                f"out of memory at batch size {config.batch_size}: try a smaller batch size",
            )
        if isinstance(error, OSError):
            return _fail(state, on_event, "io", str(error))
        return _fail(state, on_event, "error", one_line(error))
    if state.early_stopping is not None and state.best_weights is not None:
        state.model.set_weights(state.best_weights)
    state.status = "finished"
    on_event(
        TrainingFinished(
            state.run_id,
            tuple(state.history),
            time.perf_counter() - started,
            early_stopping=state.early_stopping,
        )
    )
    return state


def _fail(
    state: TrainState,
    on_event: EventHandler,
    kind: Literal["nan_loss", "out_of_memory", "io", "error"],
    message: str,
) -> TrainState:
    state.status = "failed"
    state.failure = message
    on_event(TrainingFailed(state.run_id, message, kind))
    return state


def load_saved_model(path: Path, custom_objects: dict[str, Any] | None = None) -> keras.Model:
    """Load a ``.keras`` file in Keras' safe mode: a file from elsewhere cannot run code
    (lambda layers and other arbitrary code are refused), and it must map a 28x28 image to
    ten class probabilities. A file saved under any backend loads under any other.

    Args:
        custom_objects: the classes a model file defined, for a run of one (see
            :func:`core.model_files.custom_objects`).

    Raises:
        RunError: the file is missing, damaged, unsafe or not a Fashion-MNIST classifier.
    """
    try:
        model = keras.models.load_model(
            path, safe_mode=True, compile=True, custom_objects=custom_objects
        )
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds; all mean "cannot load"
        raise RunError(f"{path}: cannot load the model ({first_line(error)})") from None
    if not isinstance(model, keras.Model):
        raise RunError(f"{path}: not a Keras model")
    input_shape = tuple(model.inputs[0].shape[1:]) if model.inputs else None
    output_shape = tuple(model.outputs[0].shape[1:]) if model.outputs else None
    # Raw uint8 images (every model since preprocessing moved inside), or, from runs saved
    # before, images scaled to 0-1 with a channel axis (``predict`` scales for those).
    if input_shape not in (IMAGE_SHAPE, INPUT_SHAPE) or output_shape != (NUM_CLASSES,):
        raise RunError(
            f"{path}: not a Fashion-MNIST classifier (input {input_shape}, output {output_shape})"
        )
    return model


def restore_state(
    checkpoint: Checkpoint,
    run_id: str,
    best: Checkpoint | None = None,
    custom_objects: dict[str, Any] | None = None,
) -> TrainState:
    """The training state a checkpoint saved: weights, optimizer moments and schedule, history
    and early-stopping bookkeeping (with the best epoch's weights when ``best`` is given).

    Args:
        custom_objects: the classes the run's model file defined, when it has one.
    """
    configure_devices()
    seed_everything(checkpoint.config.seed + checkpoint.epoch)
    model = load_saved_model(checkpoint.model_path, custom_objects)
    state = TrainState(
        run_id=run_id,
        config=checkpoint.config.with_changes(backend=active_backend()),
        model=_trainable(model, checkpoint.config),
        history=list(checkpoint.history),
        status="stopped",
        schedule_end=checkpoint.schedule_end,
        best_epoch=checkpoint.best_epoch,
        best_val_loss=checkpoint.best_val_loss,
        wait=checkpoint.wait,
    )
    if checkpoint.config.patience is not None and checkpoint.best_epoch is not None:
        # Early stopping restores the best epoch's weights: this checkpoint's own, or those
        # of the best epoch's checkpoint.
        source = state.model if best is None else load_saved_model(best.model_path, custom_objects)
        state.best_weights = [np.array(w) for w in source.get_weights()]
    return state


def _trainable(model: keras.Model, config: TrainConfig) -> keras.Model:
    """A loaded model ready to train on uint8 batches: a model saved before preprocessing
    moved inside gets the preprocessing layers in front, and keeps its optimizer state."""
    if takes_raw_images(model):
        return model
    upgraded = with_preprocessing(model)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        compile_model(upgraded, config.training, 1, 1, optimizer=optimizer)
    return upgraded


def predict(model: keras.Model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Softmax outputs for uint8 images ``(N, 28, 28)``, as a float32 numpy array."""
    raw = takes_raw_images(model)
    probabilities: list[np.ndarray] = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        x = chunk if raw else (chunk.astype(np.float32) / 255.0)[..., np.newaxis]
        probabilities.append(keras.ops.convert_to_numpy(model(x, training=False)))
    return np.concatenate(probabilities) if probabilities else np.zeros((0, NUM_CLASSES))


def trained_on_flips(model: keras.Model) -> bool:
    """Whether the model learned from horizontally mirrored images (a ``RandomFlip`` layer)."""
    return any(isinstance(layer, keras.layers.RandomFlip) for layer in model.layers)


def evaluate_model(model: keras.Model, dataset: Dataset) -> Evaluation:
    """Evaluate ``model`` on the test set; all the numbers come from numpy.

    A model trained on mirrored images too is evaluated on both views of each test image, its
    predictions averaged (test-time flip averaging); the evaluation also says what one view
    alone scored, so the gain is never hidden.
    """
    single = predict(model, dataset.x_test)
    indices = dataset.test_indices
    if not trained_on_flips(model):
        return evaluate_probabilities(single, dataset.y_test, test_indices=indices)
    mirrored = predict(model, np.ascontiguousarray(dataset.x_test[:, :, ::-1]))
    evaluation = evaluate_probabilities(
        (single + mirrored) / 2, dataset.y_test, test_indices=indices
    )
    single_view = float((single.argmax(axis=1) == dataset.y_test).mean())
    return dataclasses.replace(evaluation, single_view_accuracy=single_view)
