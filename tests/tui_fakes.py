"""Test doubles for the app: a scripted engine that posts fixed core events, never TensorFlow.

The numbers are made up but shaped like a real run, so snapshots look like the real thing
and stay identical from run to run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.config import TrainConfig
from core.data import Dataset, prepare, synthetic_raw
from core.evaluation import NUM_CLASSES, Evaluation, evaluate_probabilities
from core.events import (
    BatchProgress,
    EpochEnded,
    EpochMetrics,
    EvaluationFinished,
    RunSaved,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from core.explanation import Explanation
from core.requests import ContinueRun, HeldModel, NewRun
from core.runs.layout import MODEL_FILE, save_config, save_evaluation, save_history
from core.summary import LayerRow, ModelSummary
from tui.engine import Engine, Explain, Post, Shutdown, Summarize
from tui.messages import Reported
from tui.reports import (
    DataFailed,
    DataReady,
    EngineBusy,
    EngineIdle,
    EngineReady,
    ExplanationReady,
    Report,
    SummaryReady,
)

FAKE_DEVICE = "CPU: Fake Processor (2 threads)"
FAKE_SOURCE = "synthetic (seed 0)"
FAKE_RUN_ID = "20260101-120000-seed"
FAKE_RUN_DIR = "/runs/20260101-120000-seed"
BATCHES = 13
"""Batches per epoch of the fake: 400 samples at batch size 32."""


SEED_SUMMARY = ModelSummary(
    model_name="seed",
    rows=(
        LayerRow("conv1", "Conv2D", "(None, 26, 26, 28)", 280),
        LayerRow("pool1", "MaxPooling2D", "(None, 13, 13, 28)", 0),
        LayerRow("conv2", "Conv2D", "(None, 11, 11, 56)", 14_168),
        LayerRow("flatten", "Flatten", "(None, 6776)", 0),
        LayerRow("dense", "Dense", "(None, 56)", 379_512),
        LayerRow("output", "Dense", "(None, 10)", 570),
    ),
    total_params=394_530,
    trainable_params=394_530,
    non_trainable_params=0,
)


def fake_summary(preset: str) -> ModelSummary:
    if preset == "seed":
        return SEED_SUMMARY
    return ModelSummary(
        model_name=preset.replace("-", "_"),
        rows=(LayerRow("conv", "Conv2D", "(None, 28, 28, 32)", 320),),
        total_params=320,
        trainable_params=320,
        non_trainable_params=0,
    )


def fake_metrics(epoch: int) -> EpochMetrics:
    """A plausible, fixed learning curve."""
    return EpochMetrics(
        epoch=epoch,
        loss=round(0.9 / epoch + 0.2, 4),
        accuracy=round(0.95 - 0.25 / epoch, 4),
        val_loss=round(0.8 / epoch + 0.3, 4),
        val_accuracy=round(0.92 - 0.22 / epoch, 4),
        seconds=2.0,
    )


def fake_evaluation() -> tuple[Evaluation, np.ndarray]:
    """A fixed evaluation of the 100 synthetic test images, about 80% right."""
    raw = synthetic_raw(train=20, test=100, seed=0)
    labels = raw.y_test.astype(np.int64)
    rng = np.random.default_rng(1)
    predictions = labels.copy()
    wrong = rng.choice(labels.size, size=20, replace=False)
    predictions[wrong] = (labels[wrong] + 1 + rng.integers(0, 3, size=wrong.size)) % NUM_CLASSES
    probabilities = np.full((labels.size, NUM_CLASSES), 0.02)
    probabilities[np.arange(labels.size), predictions] = 0.82
    return evaluate_probabilities(probabilities, labels), raw.x_test


def fake_explanation(image: np.ndarray, true_label: int, predicted: int) -> Explanation:
    """A fixed explanation of one of :func:`fake_evaluation`'s images: the prediction rests
    on a blob in the upper half, the true class was hidden by a blob in the lower half, and
    the nearest training images are the fake data set's first three."""
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float32)
    upper = np.exp(-((rows - 8) ** 2 + (cols - 14) ** 2) / 18).astype(np.float32)
    lower = np.exp(-((rows - 21) ** 2 + (cols - 14) ** 2) / 18).astype(np.float32)
    probabilities = np.full(NUM_CLASSES, 0.02, dtype=np.float32)
    probabilities[predicted] = 0.82
    raw = synthetic_raw(train=20, test=100, seed=0)
    return Explanation(
        image=np.ascontiguousarray(image, dtype=np.uint8),
        probabilities=probabilities,
        predicted=predicted,
        true_label=true_label,
        # In log-odds, as the real maps are: peaks above core.explanation.MAP_FLOOR.
        evidence=2.0 * upper,
        against_true=None if predicted == true_label else 1.5 * lower,
        neighbour_indices=np.array([3, 1, 4], dtype=np.int64),
        neighbour_labels=raw.y_train[[3, 1, 4]].astype(np.int64),
        neighbour_distances=np.array([0.02, 0.05, 0.09], dtype=np.float32),
        neighbour_images=raw.x_train[[3, 1, 4]],
        flip_averaged=False,
    )


class ScriptedEngine(Engine):
    """Posts what a real engine would, with fixed numbers, and records the commands it got.

    With ``hold_in_epoch`` set, a run pauses half-way through that epoch until it is stopped
    (or the app quits), so tests and snapshots can look at a run in progress.
    ``BATCHES`` batches per epoch, 400 training samples at batch size 32.

    It answers :class:`~tui.engine.Explain` with :func:`fake_explanation` (``explain=False``:
    never), each once ``explain_gate`` is set when one is given (so that tests can hold the
    engine busy while the cursor moves).
    """

    def __init__(
        self,
        *,
        hold_in_epoch: int | None = None,
        data_error: str | None = None,
        fail_with: str | None = None,
        run_dir: str = FAKE_RUN_DIR,
        explain: bool = True,
        explain_gate: threading.Event | None = None,
    ) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.hold_in_epoch = hold_in_epoch
        self.data_error = data_error
        self.fail_with = fail_with
        self.explain = explain
        self.explain_gate = explain_gate
        self.explaining = threading.Event()
        """Set once an :class:`Explain` was taken from the queue (it may wait at the gate)."""
        self.received: list[object] = []
        self.epochs_done = 0
        self.holding = threading.Event()
        """Set while a run waits half-way through ``hold_in_epoch``."""

    def serve(self, post: Post) -> None:
        def report(what: Report) -> None:
            post(Reported(what))

        report(EngineBusy("Loading TensorFlow…"))
        report(EngineReady(FAKE_DEVICE))
        report(SummaryReady("seed", SEED_SUMMARY))
        if self.data_error:
            report(DataFailed(self.data_error))
        else:
            report(DataReady(FAKE_SOURCE, 400, 100, 100))
        while True:
            command = self.next_command()
            self.received.append(command)
            if isinstance(command, Shutdown):
                return
            if isinstance(command, Summarize):
                report(SummaryReady(command.model, fake_summary(command.model)))
                continue
            if isinstance(command, Explain):
                self._explain(command, report)
                continue
            if isinstance(command, NewRun):
                self.epochs_done = 0
                model = command.config.model
                self._run(command.config, command.config.epochs, report)
            elif isinstance(command, ContinueRun):
                model = "seed"
                config = TrainConfig(
                    epochs=self.epochs_done + command.epochs,
                    batch_size=command.batch_size or 32,
                )
                self._run(config, command.epochs, report)
            else:
                continue
            report(EngineIdle(HeldModel(FAKE_RUN_ID, Path(self.run_dir), model, self.epochs_done)))

    def _explain(self, command: Explain, post: Callable[[Report], None]) -> None:
        self.explaining.set()
        if not self.explain:
            return
        if self.explain_gate is not None:
            self.explain_gate.wait()
        evaluation, _images = fake_evaluation()
        predicted = int(evaluation.predictions[command.index])
        explanation = fake_explanation(command.image, command.true_label, predicted)
        post(ExplanationReady(command.run_id, command.index, command.request_id, explanation))

    def _run(self, config: TrainConfig, epochs: int, post: Callable[[Report], None]) -> None:
        self.signals.stop.clear()
        first = self.epochs_done + 1
        final = self.epochs_done + epochs
        post(
            TrainingStarted(
                run_id=FAKE_RUN_ID,
                config=config,
                summary=SEED_SUMMARY,
                device=FAKE_DEVICE,
                data_source=FAKE_SOURCE,
                train_samples=400,
                val_samples=100,
                batches_per_epoch=BATCHES,
                initial_epoch=self.epochs_done,
                final_epoch=final,
            )
        )
        if self.fail_with:
            post(TrainingFailed(FAKE_RUN_ID, self.fail_with, "nan_loss"))
            return
        history = [fake_metrics(epoch) for epoch in range(1, self.epochs_done + 1)]
        for epoch in range(first, final + 1):
            metrics = fake_metrics(epoch)
            # One progress message per epoch: a burst of them would coalesce differently
            # from run to run, and the charts in snapshots must not change.
            batch = BATCHES // 2
            fraction = batch / BATCHES
            post(
                BatchProgress(
                    run_id=FAKE_RUN_ID,
                    epoch=epoch,
                    batch=batch,
                    batches=BATCHES,
                    loss=round(metrics.loss + 0.3 * (1 - fraction), 4),
                    accuracy=round(metrics.accuracy - 0.1 * (1 - fraction), 4),
                    samples_per_second=1600.0,
                )
            )
            if epoch == self.hold_in_epoch:
                self.holding.set()
                self.signals.stop.wait()
            if self.signals.stop.is_set():
                post(TrainingStopped(FAKE_RUN_ID, tuple(history), 3.0))
                self._evaluate(history, post)
                return
            history.append(metrics)
            self.epochs_done = epoch
            post(EpochEnded(FAKE_RUN_ID, metrics, final))
        post(TrainingFinished(FAKE_RUN_ID, tuple(history), 2.0 * epochs))
        self._evaluate(history, post)

    def _evaluate(self, history: list[EpochMetrics], post: Callable[[Report], None]) -> None:
        if not history or self.shutting_down:
            return
        evaluation, images = fake_evaluation()
        post(EvaluationFinished(FAKE_RUN_ID, evaluation, images))
        self._save(history, evaluation, images)
        post(RunSaved(FAKE_RUN_ID, self.run_dir))

    def _save(
        self, history: list[EpochMetrics], evaluation: Evaluation, images: np.ndarray
    ) -> None:
        """Write the run folder's files as the real session would (the app exports from it),
        when the fake's run folder is somewhere a test may write."""
        run_dir = Path(self.run_dir)
        if not run_dir.parent.is_dir():
            return
        run_dir.mkdir(exist_ok=True)
        save_config(run_dir, TrainConfig(epochs=len(history)))
        save_history(run_dir, history, status="finished", planned_epochs=len(history))
        save_evaluation(run_dir, evaluation, images, SEED_SUMMARY.trainable_params)
        (run_dir / MODEL_FILE).write_bytes(b"not a model: the fake trains nothing")


def synthetic_loader(train: int = 500, test: int = 100) -> Callable[[TrainConfig], Dataset]:
    """A dataset loader for the real engine: the learnable synthetic shapes, whatever a run's
    data settings say."""

    def load(config: TrainConfig) -> Dataset:
        return prepare(synthetic_raw(train=train, test=test, seed=0))

    return load


def missing_runs_dir() -> Path:
    """A runs folder that does not exist, so the Runs tab is empty and its path fixed."""
    return Path("/nonexistent/fmnist-runs")
