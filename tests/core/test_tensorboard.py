"""TensorBoard event files and history.csv, read back with TensorBoard's and Keras' own code.

The event files are read by TensorBoard's event accumulator (the reader its server uses when
it loads runs in Python), so these tests see what TensorBoard would show: tags, steps, values,
images and text. Events are built by hand: no training, and no TensorFlow in the writer.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing import plugin_event_accumulator as tb_accumulator
from tensorboard.plugins.hparams import plugin_data_pb2 as hparams_data
from tensorboard.util import tensor_util
from tui_fakes import fake_evaluation

from core.config import TrainConfig
from core.evaluation import Evaluation
from core.events import (
    BatchProgress,
    EpochEnded,
    EpochMetrics,
    EvaluationFinished,
    TrainingEvent,
    TrainingFinished,
    TrainingStarted,
)
from core.history_csv import HISTORY_CSV, format_history_csv, write_history_csv
from core.runs.layout import MODEL_FILE, save_config, save_evaluation, save_history
from core.summary import LayerRow, ModelSummary
from core.tensorboard_log import (
    CONFIG_TAG,
    CONFUSION_TAG,
    MISCLASSIFIED_TAG,
    SUMMARY_TAG,
    TENSORBOARD_DIR,
    TEST_ACCURACY_TAG,
    TEST_LOSS_TAG,
    TRAIN_RUN,
    VALIDATION_RUN,
    TensorBoardError,
    TensorBoardRecorder,
    event_files,
    export_tensorboard,
    tensorboard_dir,
)

ROOT = Path(__file__).resolve().parents[2]
RUN_NAME = "20250102-030405-seed"
BATCHES = 4
SUMMARY = ModelSummary(
    "seed",
    (
        LayerRow("conv2d", "Conv2D", "(None, 26, 26, 32)", 320),
        LayerRow("dense", "Dense", "(None, 10)", 1290),
    ),
    1610,
    1610,
    0,
)


# --- Helpers -------------------------------------------------------------------------------


def metrics(epoch: int, offset: float = 0.0) -> EpochMetrics:
    """A plausible learning curve; ``offset`` tells a retrained epoch from the first one."""
    return EpochMetrics(
        epoch=epoch,
        loss=round(0.9 / epoch + 0.2 + offset, 4),
        accuracy=round(0.95 - 0.25 / epoch, 4),
        val_loss=round(0.8 / epoch + 0.3 + offset, 4),
        val_accuracy=round(0.92 - 0.22 / epoch, 4),
        seconds=2.5,
    )


def evaluation() -> tuple[Evaluation, np.ndarray]:
    """100 synthetic test images, 20 of them misclassified (the app tests' fake)."""
    return fake_evaluation()


def started(
    initial_epoch: int = 0, final_epoch: int = 3, history: tuple[EpochMetrics, ...] = ()
) -> TrainingStarted:
    """As the training sends it: a resumed run's config counts the epochs left to train."""
    return TrainingStarted(
        run_id="run",
        config=TrainConfig(epochs=final_epoch - initial_epoch, limit_train=500),
        summary=SUMMARY,
        device="CPU",
        data_source="synthetic",
        train_samples=128,
        val_samples=32,
        batches_per_epoch=BATCHES,
        initial_epoch=initial_epoch,
        final_epoch=final_epoch,
        history=history,
    )


def epoch_events(epoch: int, final_epoch: int, offset: float = 0.0) -> list[TrainingEvent]:
    """Two progress reports (half-way, end) and the epoch's end."""
    return [
        BatchProgress("run", epoch, batch, BATCHES, 1.0 / epoch + batch / 100 + offset, 0.5, 99.0)
        for batch in (2, 4)
    ] + [EpochEnded("run", metrics(epoch, offset), final_epoch)]


def record(run_dir: Path, events: list[TrainingEvent], *, close: bool = True) -> None:
    recorder = TensorBoardRecorder(run_dir)
    for event in events:
        recorder(event)
    if close:
        recorder.close()


def whole_run(final_epoch: int = 3) -> list[TrainingEvent]:
    events: list[TrainingEvent] = [started(final_epoch=final_epoch)]
    for epoch in range(1, final_epoch + 1):
        events += epoch_events(epoch, final_epoch)
    result, images = evaluation()
    history = tuple(metrics(e) for e in range(1, final_epoch + 1))
    return [
        *events,
        TrainingFinished("run", history, 7.5),
        EvaluationFinished("run", result, images),
    ]


class Board:
    """One TensorBoard run folder as TensorBoard's event accumulator loads it."""

    def __init__(self, folder: Path) -> None:
        self.accumulator = tb_accumulator.EventAccumulator(
            str(folder), size_guidance={tb_accumulator.TENSORS: 0}
        )
        self.accumulator.Reload()

    @property
    def tags(self) -> set[str]:
        return set(self.accumulator.Tags()["tensors"])

    def steps(self, tag: str) -> list[int]:
        return [event.step for event in self.accumulator.Tensors(tag)]

    def scalars(self, tag: str) -> dict[int, float]:
        """``{step: value}``, after checking each step appears once."""
        events = self.accumulator.Tensors(tag)
        steps = [e.step for e in events]
        assert len(steps) == len(set(steps)), f"{tag}: duplicate steps {steps}"
        return {e.step: float(tensor_util.make_ndarray(e.tensor_proto)) for e in events}

    def text(self, tag: str) -> str:
        (event,) = self.accumulator.Tensors(tag)
        return bytes(tensor_util.make_ndarray(event.tensor_proto).item()).decode()

    def image(self, tag: str) -> tuple[int, Image.Image]:
        (event,) = self.accumulator.Tensors(tag)
        width, height, png = event.tensor_proto.string_val
        image = Image.open(io.BytesIO(png))
        image.load()
        assert image.size == (int(width), int(height))
        return event.step, image


def boards(run_dir: Path) -> tuple[Board, Board, Board]:
    """``(run-level, train, validation)``."""
    folder = tensorboard_dir(run_dir)
    return Board(folder), Board(folder / TRAIN_RUN), Board(folder / VALIDATION_RUN)


def assert_not_blank(image: Image.Image) -> None:
    pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.std() > 10, "the image is (nearly) one colour"
    assert image.width > 300 and image.height > 300


def rounded(values: dict[int, float]) -> dict[int, float]:
    return {step: round(value, 4) for step, value in values.items()}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "runs" / RUN_NAME
    folder.mkdir(parents=True)
    return folder


# --- A run recorded as it trains -----------------------------------------------------------


def test_a_finished_run_shows_its_scalars_text_images_and_hparams(run_dir: Path) -> None:
    record(run_dir, whole_run())
    run_level, train, validation = boards(run_dir)

    assert train.tags == {
        "epoch_loss",
        "epoch_accuracy",
        "epoch_seconds",
        "batch_loss",
        "batch_accuracy",
    }
    assert train.scalars("epoch_loss") == pytest.approx({e: metrics(e).loss for e in (1, 2, 3)})
    assert train.scalars("epoch_accuracy") == pytest.approx(
        {e: metrics(e).accuracy for e in (1, 2, 3)}
    )
    assert train.scalars("epoch_seconds") == {1: 2.5, 2: 2.5, 3: 2.5}
    # Batch steps count batches since the run began: epoch 2's half-way report is 4 + 2.
    assert train.steps("batch_loss") == [2, 4, 6, 8, 10, 12]
    assert train.scalars("batch_loss")[6] == pytest.approx(0.5 + 0.02)
    assert validation.tags == {"epoch_loss", "epoch_accuracy"}
    assert validation.scalars("epoch_loss") == pytest.approx(
        {e: metrics(e).val_loss for e in (1, 2, 3)}
    )
    assert validation.scalars("epoch_accuracy") == pytest.approx(
        {e: metrics(e).val_accuracy for e in (1, 2, 3)}
    )

    result, _ = evaluation()
    assert run_level.scalars(TEST_ACCURACY_TAG) == pytest.approx({3: result.test_accuracy})
    assert run_level.scalars(TEST_LOSS_TAG) == pytest.approx({3: result.test_loss})
    for tag in (CONFUSION_TAG, MISCLASSIFIED_TAG):
        step, image = run_level.image(tag)
        assert step == 3
        assert_not_blank(image)
    config = run_level.text(CONFIG_TAG)
    assert "| batch_size | 32 |" in config and "| device | CPU |" in config
    assert "| patience | none |" in config
    summary = run_level.text(SUMMARY_TAG)
    assert summary.startswith("```\n") and "Total params: 1,610" in summary

    assert run_level.accumulator.ActivePlugins() >= {"scalars", "images", "text", "hparams"}
    (content,) = run_level.accumulator.PluginTagToContent("hparams").values()
    start = hparams_data.HParamsPluginData.FromString(content).session_start_info
    assert start.group_name == RUN_NAME
    assert start.hparams["model"].string_value == "seed"
    assert start.hparams["batch_size"].number_value == 32
    assert start.hparams["epochs"].number_value == 3
    assert start.hparams["limit_train"].number_value == 500
    assert start.hparams["patience"].number_value == 0


def test_learning_rate_is_recorded_when_the_metrics_carry_it(run_dir: Path) -> None:
    # EpochMetrics may gain a learning_rate; a stand-in with the field shows the recorder
    # picks it up, and plain EpochMetrics (above) that it does without.
    class WithRate:
        def __init__(self, epoch: int) -> None:
            self.__dict__.update(metrics(epoch).to_dict(), learning_rate=0.001 / epoch)

    events: list[Any] = [started(final_epoch=2)]
    events += [EpochEnded("run", WithRate(e), 2) for e in (1, 2)]  # type: ignore[arg-type]
    record(run_dir, events)
    _, train, _ = boards(run_dir)
    assert rounded(train.scalars("epoch_learning_rate")) == {1: 0.001, 2: 0.0005}


def test_files_honour_the_umask(run_dir: Path) -> None:
    old = os.umask(0o027)
    try:
        record(run_dir, whole_run(final_epoch=1))
    finally:
        os.umask(old)
    folder = tensorboard_dir(run_dir)
    for sub in (folder, folder / TRAIN_RUN, folder / VALIDATION_RUN):
        assert sub.stat().st_mode & 0o777 == 0o750
        (event_file,) = event_files(sub)
        assert event_file.stat().st_mode & 0o777 == 0o640
    assert not [p for p in folder.rglob(".*")], "temporary files left behind"


def test_events_of_another_run_are_ignored(run_dir: Path) -> None:
    record(run_dir, [started(), *epoch_events(1, 3), EpochEnded("stale", metrics(2), 3)])
    _, train, _ = boards(run_dir)
    assert train.steps("epoch_loss") == [1]


# --- Kill and resume -----------------------------------------------------------------------


def test_a_resumed_run_shows_each_step_once(run_dir: Path) -> None:
    # The first session trains epochs 1-3 and half of 4, and dies without closing anything;
    # its newest checkpoint is epoch 2 (the epoch 3 save was lost).
    first: list[TrainingEvent] = [started(final_epoch=5)]
    for epoch in (1, 2, 3):
        first += epoch_events(epoch, 5)
    first += epoch_events(4, 5)[:1]
    record(run_dir, first, close=False)
    train_file = event_files(tensorboard_dir(run_dir) / TRAIN_RUN)[0]
    with open(train_file, "ab") as handle:
        handle.write(b"\x40\x00\x00\x00\x00\x00")  # a record the kill cut short

    second: list[TrainingEvent] = [started(2, 5, tuple(metrics(e) for e in (1, 2)))]
    for epoch in (3, 4, 5):
        second += epoch_events(epoch, 5, offset=1.0)
    result, images = evaluation()
    second.append(EvaluationFinished("run", result, images))
    record(run_dir, second)

    run_level, train, validation = boards(run_dir)
    assert event_files(tensorboard_dir(run_dir) / TRAIN_RUN) == [train_file]
    retrained = {e: metrics(e, 1.0) for e in (3, 4, 5)}
    expected = {**{e: metrics(e) for e in (1, 2)}, **retrained}
    assert rounded(train.scalars("epoch_loss")) == {e: m.loss for e, m in expected.items()}
    assert rounded(validation.scalars("epoch_loss")) == {e: m.val_loss for e, m in expected.items()}
    assert train.steps("batch_loss") == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    batch_loss = rounded(train.scalars("batch_loss"))
    assert batch_loss[8] == 0.54  # epoch 2, from before the kill
    assert batch_loss[10] == round(1 / 3 + 0.02 + 1.0, 4)  # epoch 3, trained again
    assert run_level.steps(TEST_ACCURACY_TAG) == [5]
    assert run_level.steps(CONFIG_TAG) == [0]
    assert "| epochs | 5 |" in run_level.text(CONFIG_TAG)  # the run's plan, not this session's
    assert len(run_level.accumulator.PluginTagToContent("hparams")) == 1


def test_a_run_killed_for_real_resumes_without_duplicates(run_dir: Path) -> None:
    # SIGKILL mid-epoch in a process of its own: whatever the OS had of the file stays.
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        sys.path[:0] = [{str(ROOT / "tests" / "core")!r}, {str(ROOT / "tests")!r}]
        from test_tensorboard import epoch_events, started
        from core.tensorboard_log import TensorBoardRecorder
        recorder = TensorBoardRecorder(Path({str(run_dir)!r}))
        recorder(started(final_epoch=4))
        for epoch in (1, 2, 3):
            for event in epoch_events(epoch, 4):
                recorder(event)
        recorder(epoch_events(4, 4)[0])
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=120)
    assert result.returncode == -signal.SIGKILL

    resumed: list[TrainingEvent] = [started(3, 4, tuple(metrics(e) for e in (1, 2, 3)))]
    resumed += epoch_events(4, 4, offset=1.0)
    record(run_dir, resumed)
    _, train, validation = boards(run_dir)
    assert train.steps("epoch_loss") == [1, 2, 3, 4]
    assert rounded(train.scalars("epoch_loss"))[4] == metrics(4, 1.0).loss
    assert train.steps("batch_loss") == [2, 4, 6, 8, 10, 12, 14, 16]
    assert validation.steps("epoch_accuracy") == [1, 2, 3, 4]


def test_resuming_a_run_without_event_files_fills_in_its_epochs(run_dir: Path) -> None:
    # Trained before event files existed: the resumed run's history gives epochs 1 and 2.
    events: list[TrainingEvent] = [started(2, 3, (metrics(1), metrics(2))), *epoch_events(3, 3)]
    record(run_dir, events)
    _, train, validation = boards(run_dir)
    assert rounded(train.scalars("epoch_loss")) == {e: metrics(e).loss for e in (1, 2, 3)}
    assert validation.steps("epoch_accuracy") == [1, 2, 3]
    assert train.steps("batch_loss") == [10, 12]


# --- Runs saved before event files ---------------------------------------------------------


def old_run(run_dir: Path, *, evaluated: bool = True) -> Path:
    """A finished run folder as saved before this feature, written without TensorFlow."""
    save_config(run_dir, TrainConfig(epochs=3))
    save_history(run_dir, [metrics(e) for e in (1, 2, 3)], status="finished", planned_epochs=3)
    if evaluated:
        result, images = evaluation()
        save_evaluation(run_dir, result, images, 394_530)
        (run_dir / MODEL_FILE).write_bytes(b"never read by the export")
    return run_dir


def test_an_old_run_exports_its_epochs_and_evaluation(run_dir: Path) -> None:
    folder = export_tensorboard(old_run(run_dir))
    assert folder == run_dir / TENSORBOARD_DIR
    export_tensorboard(run_dir)  # again: the same steps, once

    run_level, train, validation = boards(run_dir)
    assert rounded(train.scalars("epoch_loss")) == {e: metrics(e).loss for e in (1, 2, 3)}
    assert rounded(validation.scalars("epoch_accuracy")) == {
        e: metrics(e).val_accuracy for e in (1, 2, 3)
    }
    assert "batch_loss" not in train.tags  # batches are not saved
    result, _ = evaluation()
    assert run_level.scalars(TEST_ACCURACY_TAG) == pytest.approx({3: result.test_accuracy})
    for tag in (CONFUSION_TAG, MISCLASSIFIED_TAG):
        step, image = run_level.image(tag)
        assert step == 3
        assert_not_blank(image)
    assert "| status | finished |" in run_level.text(CONFIG_TAG)
    for sub in (tensorboard_dir(run_dir), tensorboard_dir(run_dir) / TRAIN_RUN):
        assert len(event_files(sub)) == 1
    # Wall times follow the saved seconds from the start the folder's name gives.
    wall_times = [e.wall_time for e in train.accumulator.Tensors("epoch_loss")]
    assert np.diff(wall_times) == pytest.approx([2.5, 2.5])


def test_an_unevaluated_run_exports_its_epochs(run_dir: Path) -> None:
    export_tensorboard(old_run(run_dir, evaluated=False))
    run_level, train, _ = boards(run_dir)
    assert train.steps("epoch_loss") == [1, 2, 3]
    assert TEST_ACCURACY_TAG not in run_level.tags


def test_export_over_recorded_events_replaces_them(run_dir: Path) -> None:
    old_run(run_dir)
    record(run_dir, whole_run())
    export_tensorboard(run_dir)
    _, train, _ = boards(run_dir)
    assert train.steps("epoch_loss") == [1, 2, 3]


# --- Failures ------------------------------------------------------------------------------


def test_an_unwritable_folder_is_one_line_and_then_silence(run_dir: Path) -> None:
    (run_dir / TENSORBOARD_DIR).write_text("a file where the folder should be")
    recorder = TensorBoardRecorder(run_dir)
    with pytest.raises(TensorBoardError) as raised:
        recorder(started())
    message = str(raised.value)
    assert "\n" not in message and str(run_dir / TENSORBOARD_DIR) in message
    for event in epoch_events(1, 3):
        recorder(event)  # ignored: training goes on without event files
    assert recorder.problem == message
    recorder.close()


def test_a_full_disk_mid_run_is_one_line(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = TensorBoardRecorder(run_dir)
    recorder(started())

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(TensorBoardError, match="No space left on device"):
        for event in epoch_events(1, 3):
            recorder(event)
    recorder(EpochEnded("run", metrics(2), 3))
    recorder.close()


def test_export_of_a_damaged_run_says_why(run_dir: Path) -> None:
    with pytest.raises(OSError, match=r"config\.json"):
        export_tensorboard(run_dir)


# --- No TensorFlow -------------------------------------------------------------------------


@pytest.mark.slow
def test_writing_and_exporting_import_no_tensorflow(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        sys.path[:0] = [{str(ROOT / "tests" / "core")!r}, {str(ROOT / "tests")!r}]
        import core.tensorboard_log, core.history_csv
        from test_tensorboard import whole_run, old_run, record, RUN_NAME
        live = Path({str(tmp_path)!r}) / "live" / RUN_NAME
        live.mkdir(parents=True)
        record(live, whole_run())
        old = Path({str(tmp_path)!r}) / "old" / RUN_NAME
        old.mkdir(parents=True)
        core.tensorboard_log.export_tensorboard(old_run(old))
        heavy = ("tensorflow", "keras", "jax", "torch")
        print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    assert event_files(tmp_path / "old" / RUN_NAME / TENSORBOARD_DIR / TRAIN_RUN)


# --- history.csv ---------------------------------------------------------------------------


def keras_csv(tmp_path: Path, history: list[EpochMetrics]) -> str:
    """What Keras' own CSVLogger writes for the same epochs."""
    from keras.callbacks import CSVLogger

    path = tmp_path / "keras.csv"
    logger = CSVLogger(str(path))
    logger.on_train_begin()
    for m in history:
        logs = {k: v for k, v in m.to_dict().items() if k != "epoch"}
        if getattr(m, "learning_rate", None) is not None:
            logs["learning_rate"] = m.learning_rate  # type: ignore[attr-defined]
        logger.on_epoch_end(m.epoch - 1, logs)
    logger.on_train_end()
    return path.read_bytes().decode()


def test_history_csv_matches_keras_csv_logger(run_dir: Path, tmp_path: Path) -> None:
    history = [metrics(e) for e in (1, 2, 3)]
    path = write_history_csv(run_dir, history)
    assert path == run_dir / HISTORY_CSV
    written = path.read_bytes().decode()
    assert written == keras_csv(tmp_path, history)
    assert written.splitlines()[0] == "epoch,accuracy,loss,seconds,val_accuracy,val_loss"
    assert written.splitlines()[1].startswith("0,0.7,1.1,2.5,")


def test_history_csv_grows_with_each_epoch(run_dir: Path) -> None:
    for epoch in (1, 2):
        write_history_csv(run_dir, [metrics(e) for e in range(1, epoch + 1)])
        rows = (run_dir / HISTORY_CSV).read_text().splitlines()
        assert len(rows) == 1 + epoch
    assert format_history_csv([]) == "epoch,accuracy,loss,seconds,val_accuracy,val_loss\r\n"


def test_history_csv_has_a_learning_rate_column_when_known(tmp_path: Path) -> None:
    class WithRate:
        def __init__(self, epoch: int) -> None:
            self.__dict__.update(metrics(epoch).to_dict(), learning_rate=0.01 / epoch)

        def to_dict(self) -> dict[str, Any]:
            return {k: v for k, v in self.__dict__.items() if k != "learning_rate"}

    history: Any = [WithRate(1), WithRate(2)]
    written = format_history_csv(history)
    assert written.splitlines()[0] == (
        "epoch,accuracy,learning_rate,loss,seconds,val_accuracy,val_loss"
    )
    assert written == keras_csv(tmp_path, history)


def test_history_csv_write_failure_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(OSError, match=r"cannot write .*history\.csv: No such file"):
        write_history_csv(tmp_path / "missing", [metrics(1)])
