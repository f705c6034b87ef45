"""TensorBoard event files for a run, written as it trains or afterwards from its saved files.

Every run folder gets a ``tensorboard/`` folder laid out as Keras' TensorBoard callback lays
out its log folder, so ``tensorboard --logdir RUNS`` shows every run by its folder's name and
draws training and validation curves on one chart:

``tensorboard/``
    the run as a whole: the hyperparameters (HParams view), the config and the model summary
    (Text), at the end the test accuracy and loss (Scalars, ``test/...``) and the confusion
    matrix and the most confident mistakes (Images, ``evaluation/...``).
``tensorboard/train/``
    per epoch ``epoch_loss``, ``epoch_accuracy``, ``epoch_learning_rate``, ``epoch_seconds``
    (step: the 1-based epoch); per progress report ``batch_loss``, ``batch_accuracy`` (step:
    batches since the run began).
``tensorboard/validation/``
    per epoch ``epoch_loss`` and ``epoch_accuracy``.

Each folder holds one event file. A resumed run rewrites it first (atomically, under the same
name) without what came after its checkpoint, then appends: a run killed in epoch 4 and resumed
from epoch 2 shows each step once, whichever reader opens it.

``fmnist-tui export --tensorboard`` writes the files of a run saved before they existed, or
a copy elsewhere (``--out``): it adds what the run's saved files know and its event files lack,
and never drops what they hold (the per-batch curves recorded while it trained).

TensorFlow is never imported: the records are framed by TensorBoard's own ``RecordWriter``
and checked with its CRC when read back, and the summaries are TensorBoard's protocol buffers
with its plugins' metadata (``tensorboard.compat.tf`` would import TensorFlow when it is
installed, so nothing here touches it).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from tensorboard.plugins.hparams import summary_v2 as hparams_summary
from tensorboard.plugins.image import metadata as image_metadata
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.plugins.text import metadata as text_metadata
from tensorboard.summary.writer.record_writer import RecordWriter
from tensorboard.util import tensor_util

from core.config import TrainConfig
from core.errors import TensorBoardError, reraise_os_errors
from core.evaluation import Evaluation
from core.events import (
    BatchProgress,
    EpochEnded,
    EpochMetrics,
    EvaluationFinished,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
    TrainingStopped,
)
from core.files import atomic_path, first_line, fsync_dir
from core.runs.catalogue import load_run, parse_started
from core.runs.lock import is_in_use

TENSORBOARD_DIR = "tensorboard"
TRAIN_RUN = "train"
VALIDATION_RUN = "validation"
EVENT_FILE_PREFIX = "events.out.tfevents."
EVENT_FILE_SUFFIX = ".fmnist-tui"
FILE_VERSION = "brain.Event:2"

CONFIG_TAG = "config"
SUMMARY_TAG = "model_summary"
TEST_ACCURACY_TAG = "test/accuracy"
TEST_LOSS_TAG = "test/loss"
CONFUSION_TAG = "evaluation/confusion_matrix"
MISCLASSIFIED_TAG = "evaluation/misclassified"
EVALUATION_TAGS = (TEST_ACCURACY_TAG, TEST_LOSS_TAG, CONFUSION_TAG, MISCLASSIFIED_TAG)
EPOCH_PREFIX = "epoch_"
BATCH_PREFIX = "batch_"

_SCALAR_METADATA = scalar_metadata.create_summary_metadata(display_name=None, description=None)
_SCALAR_METADATA.data_class = summary_pb2.DATA_CLASS_SCALAR
_IMAGE_METADATA = image_metadata.create_summary_metadata(display_name=None, description=None)
_IMAGE_METADATA.data_class = summary_pb2.DATA_CLASS_BLOB_SEQUENCE
_TEXT_METADATA = text_metadata.create_summary_metadata(display_name=None, description=None)
_TEXT_METADATA.data_class = summary_pb2.DATA_CLASS_TENSOR

Event = Any
"""An ``event_pb2.Event`` (protobuf classes carry no static types)."""
Keep = Callable[[str, int], bool]
"""Whether an event already on disk with this tag and step stays when a file is rewritten."""


def tensorboard_dir(run_dir: Path) -> Path:
    """The folder under ``run_dir`` that TensorBoard reads (point ``--logdir`` above it)."""
    return run_dir / TENSORBOARD_DIR


# --- Summaries -----------------------------------------------------------------------------


def _event(tag: str, step: int, wall_time: float, metadata: Any, tensor: Any) -> Event:
    event = event_pb2.Event(wall_time=wall_time, step=step)
    event.summary.value.add(tag=tag, metadata=metadata, tensor=tensor)
    return event


def scalar_event(tag: str, value: float, step: int, wall_time: float) -> Event:
    tensor = tensor_util.make_tensor_proto(np.float32(value))
    return _event(tag, step, wall_time, _SCALAR_METADATA, tensor)


def text_event(tag: str, text: str, step: int, wall_time: float) -> Event:
    """Text for TensorBoard's Text tab, which renders it as Markdown."""
    tensor = tensor_util.make_tensor_proto(np.array(text.encode("utf-8"), dtype=object))
    return _event(tag, step, wall_time, _TEXT_METADATA, tensor)


def image_event(tag: str, png: bytes, step: int, wall_time: float) -> Event:
    """One PNG for the Images tab: a string tensor ``[width, height, png]``."""
    width, height = png_size(png)
    tensor = tensor_util.make_tensor_proto(
        np.array([str(width).encode(), str(height).encode(), png], dtype=object)
    )
    return _event(tag, step, wall_time, _IMAGE_METADATA, tensor)


def hparams_event(
    hparams: Mapping[str, bool | int | float | str], trial_id: str, start_time: float
) -> Event:
    """The run's hyperparameters for the HParams tab (its metrics are the scalars below)."""
    summary = hparams_summary.hparams_pb(
        dict(hparams), trial_id=trial_id, start_time_secs=start_time
    )
    return event_pb2.Event(wall_time=start_time, step=0, summary=summary)


def png_size(png: bytes) -> tuple[int, int]:
    """``(width, height)`` from a PNG's header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def config_markdown(config: TrainConfig, extra: Mapping[str, object] | None = None) -> str:
    """The config (and ``extra`` facts about the run) as a two-column Markdown table."""
    rows = [*config.to_dict().items(), *(extra or {}).items()]
    lines = ["| setting | value |", "| --- | --- |"]
    lines += [f"| {key} | {'none' if value is None else value} |" for key, value in rows]
    return "\n".join(lines)


def summary_markdown(table: str) -> str:
    """A model summary table kept in a fixed-width block."""
    return f"```\n{table}\n```"


def run_hparams(config: TrainConfig, planned_epochs: int) -> dict[str, bool | int | float | str]:
    """Hyperparameters for the HParams view: numbers stay numbers so runs sort and filter;
    "no early stopping" and "all samples" read 0."""
    training = config.training
    return {
        "model": config.model,
        "epochs": planned_epochs,
        "batch_size": config.batch_size,
        "optimizer": training.optimizer,
        "learning_rate": training.learning_rate,
        "weight_decay": training.weight_decay,
        "momentum": training.momentum,
        "label_smoothing": training.label_smoothing,
        "schedule": training.schedule,
        "warmup_epochs": training.warmup_epochs,
        "augment": config.flips,
        "val_split": config.val_split,
        "seed": config.seed,
        "patience": config.patience or 0,
        "limit_train": config.limit_train or 0,
        "limit_test": config.limit_test or 0,
    }


def epoch_events(metrics: EpochMetrics, wall_time: float) -> tuple[list[Event], list[Event]]:
    """One epoch's scalars: ``(train run's, validation run's)``."""
    step = metrics.epoch
    train = [
        scalar_event("epoch_loss", metrics.loss, step, wall_time),
        scalar_event("epoch_accuracy", metrics.accuracy, step, wall_time),
        scalar_event("epoch_seconds", metrics.seconds, step, wall_time),
    ]
    learning_rate = getattr(metrics, "learning_rate", None)
    if learning_rate is not None:
        train.append(scalar_event("epoch_learning_rate", float(learning_rate), step, wall_time))
    validation = [
        scalar_event("epoch_loss", metrics.val_loss, step, wall_time),
        scalar_event("epoch_accuracy", metrics.val_accuracy, step, wall_time),
    ]
    return train, validation


def evaluation_events(
    evaluation: Evaluation, test_images: np.ndarray, step: int, wall_time: float
) -> list[Event]:
    """Test accuracy and loss, and the confusion matrix and mistakes grid as PNG images."""
    from core.export import plot_confusion, plot_misclassified

    events = [
        scalar_event(TEST_ACCURACY_TAG, evaluation.test_accuracy, step, wall_time),
        scalar_event(TEST_LOSS_TAG, evaluation.test_loss, step, wall_time),
    ]
    # The report's own drawings, so TensorBoard shows what the PNG export shows.
    with tempfile.TemporaryDirectory(prefix="fmnist-tui-tb-") as scratch:
        confusion = plot_confusion(evaluation, Path(scratch) / "confusion.png").read_bytes()
        mistakes = plot_misclassified(
            test_images, evaluation, Path(scratch) / "misclassified.png"
        ).read_bytes()
    events.append(image_event(CONFUSION_TAG, confusion, step, wall_time))
    events.append(image_event(MISCLASSIFIED_TAG, mistakes, step, wall_time))
    return events


def batch_step(event: BatchProgress) -> int:
    """Batches since the run began: the x axis of the per-batch curves."""
    return (event.epoch - 1) * event.batches + event.batch


# --- Event files ---------------------------------------------------------------------------


def event_files(folder: Path) -> list[Path]:
    """The event files directly in ``folder``, in the order TensorBoard reads them."""
    try:
        return sorted(p for p in folder.glob(f"{EVENT_FILE_PREFIX}*") if p.is_file())
    except OSError:
        return []


def read_events(path: Path) -> list[Event]:
    """Every whole record in an event file; a record cut short by a kill, or damaged, ends the
    list (as it ends what TensorBoard reads).

    Raises:
        OSError: the file cannot be read.
    """
    return scan_events(path)[0]


_HEADER = struct.Struct("<QI")  # a record's length, and the masked CRC of that length
_FOOTER = struct.Struct("<I")  # the masked CRC of the record


def scan_events(path: Path) -> tuple[list[Event], str | None]:
    """The events of the whole records in ``path``, and what is wrong after them.

    The problem is ``None`` when the file ends cleanly or with a record cut short (a process
    killed while writing it, which :class:`EventLog` readers expect); otherwise it says where a
    record fails its checksum or does not decode, and nothing past it can be read.

    Raises:
        OSError: the file cannot be read.
    """
    data = path.read_bytes()
    events: list[Event] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _HEADER.size:
            return events, None
        length, length_crc = _HEADER.unpack_from(data, offset)
        if masked_crc32c(data[offset : offset + 8]) != length_crc:
            return events, f"a damaged record at byte {offset}"
        start = offset + _HEADER.size
        end = start + length
        if end + _FOOTER.size > len(data):
            return events, None
        record = data[start:end]
        if masked_crc32c(record) != _FOOTER.unpack_from(data, end)[0]:
            return events, f"a damaged record at byte {offset}"
        try:
            events.append(event_pb2.Event.FromString(record))
        except Exception as error:  # noqa: BLE001 (protobuf's DecodeError, or worse)
            return events, f"a record at byte {offset} does not decode ({first_line(error)})"
        offset = end + _FOOTER.size
    return events, None


def _tag_and_step(event: Event) -> tuple[str, int] | None:
    if not event.HasField("summary") or len(event.summary.value) != 1:
        return None
    return str(event.summary.value[0].tag), int(event.step)


def _kept(paths: Iterable[Path], keep: Keep) -> list[Event]:
    """Summaries in ``paths`` that ``keep`` accepts, each (tag, step) once: the last written."""
    latest: dict[tuple[str, int], Event] = {}
    for path in paths:
        for event in read_events(path):
            key = _tag_and_step(event)
            if key is not None and keep(*key):
                latest.pop(key, None)
                latest[key] = event
    return list(latest.values())


def _header(wall_time: float) -> Event:
    return event_pb2.Event(wall_time=wall_time, file_version=FILE_VERSION)


def _frame(events: Iterable[Event]) -> bytes:
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    for event in events:
        writer.write(event.SerializeToString())
    return buffer.getvalue()


def rewrite_event_file(folder: Path, keep: Keep, added: Sequence[Event] = ()) -> Path:
    """Make ``folder``'s event file hold what ``keep`` accepts of it, then ``added``.

    The file is rewritten atomically under its old name (a new one when there is none), so a
    kill at any instant leaves the old events or the new ones, never both. A second event file
    (left by a kill during an earlier rewrite) is folded into the first and removed.

    Raises:
        OSError: the folder or the file could not be read or written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    existing = event_files(folder)
    kept = _kept(existing, keep)
    added_keys = {_tag_and_step(e) for e in added}
    events = [e for e in kept if _tag_and_step(e) not in added_keys] + list(added)
    return _replace_event_files(folder, existing, events)


def _replace_event_files(folder: Path, existing: Sequence[Path], events: list[Event]) -> Path:
    """Write ``events`` as ``folder``'s one event file: atomically under the name of the first
    of ``existing`` (a new name when there is none), the others then removed."""
    now = time.time()
    new_name = f"{EVENT_FILE_PREFIX}{int(now):010d}{EVENT_FILE_SUFFIX}"
    path = existing[0] if existing else folder / new_name
    # Grouped by tag, steps ascending: the order every reader expects of one series.
    events.sort(key=lambda e: _tag_and_step(e) or ("", 0))
    with atomic_path(path) as tmp:
        tmp.write_bytes(_frame([_header(now), *events]))
    for extra in existing[1:]:
        extra.unlink(missing_ok=True)
    if existing[1:]:
        fsync_dir(folder)
    return path


def merge_event_file(source: Path, target: Path, added: Sequence[Event]) -> Path | None:
    """Make ``target``'s event file hold every event of ``source``'s and its own, and each of
    ``added`` whose tag and step none of them has. Nothing already written is dropped.

    ``source`` is only read (``target`` may be ``source`` itself). When ``target`` is
    ``source`` and nothing is missing there, nothing is written.

    Returns:
        The event file written, ``None`` when nothing had to be.

    Raises:
        TensorBoardError: a file to be replaced is damaged: rewriting it would lose what lies
            past the damage.
        OSError: a folder or a file could not be read or written.
    """
    existing = event_files(target)
    # The target's own events first, so that the run's (source's) win where both have one.
    paths = existing if source == target else [*existing, *event_files(source)]
    events: dict[tuple[str, int], Event] = {}
    for path in paths:
        found, problem = scan_events(path)
        if problem is not None and path in existing:
            raise TensorBoardError(
                f"{path}: damaged ({problem}); export with --out DIR to copy what can be read"
            )
        for event in found:
            key = _tag_and_step(event)
            if key is not None:
                events.pop(key, None)
                events[key] = event
    missing = [e for e in added if _tag_and_step(e) not in events]
    if source == target and not missing and len(existing) == 1:
        return None
    target.mkdir(parents=True, exist_ok=True)
    return _replace_event_files(target, existing, [*events.values(), *missing])


class EventLog:
    """One event file open for appending, each event flushed to the OS as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = open(path, "ab")  # noqa: SIM115 (held open)
        self._writer = RecordWriter(self._file)

    def write(self, events: Iterable[Event]) -> None:
        if self._file is None:
            raise ValueError(f"{self.path} is closed")
        for event in events:
            self._writer.write(event.SerializeToString())
        self._file.flush()

    def sync(self) -> None:
        """Put what was written on disk (an epoch's worth survives a power cut)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            file.close()


# --- Recording a run as it trains ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Resume:
    epochs: int
    batches_per_epoch: int

    def keep_train(self, tag: str, step: int) -> bool:
        if tag.startswith(BATCH_PREFIX):
            return step <= self.epochs * self.batches_per_epoch
        return tag.startswith(EPOCH_PREFIX) and step <= self.epochs

    def keep_validation(self, tag: str, step: int) -> bool:
        return tag.startswith(EPOCH_PREFIX) and step <= self.epochs


def _keep_nothing(tag: str, step: int) -> bool:
    return False


class TensorBoardRecorder:
    """Writes a run's TensorBoard event files from its training events.

    Call it with every event of one run (it is an ``EventHandler``), from the thread that
    trains, and :meth:`close` it when the run ends. It starts writing at ``TrainingStarted``;
    when that says the run resumes from a checkpoint (``initial_epoch > 0``), what the files
    hold beyond that checkpoint is dropped first, and epochs they lack (a run trained before
    this existed) are filled in from the event's history.

    An I/O error raises :class:`TensorBoardError` once; the recorder then stops writing and
    ignores later events (the run can go on without its event files), and :attr:`problem`
    keeps the message.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.folder = tensorboard_dir(run_dir)
        self.problem: str | None = None
        self._run_id: str | None = None
        self._logs: dict[str, EventLog] = {}
        self._epoch = 0

    def __call__(self, event: TrainingEvent) -> None:
        if self.problem is not None:
            return
        if isinstance(event, TrainingStarted):
            self._run_id = event.run_id
        elif event.run_id != self._run_id or not self._logs:
            return
        try:
            with _writing_events(self.folder):
                self._record(event)
        except TensorBoardError as error:
            self.problem = str(error)
            self._close_quietly()
            raise

    on_event = __call__

    def close(self) -> None:
        """Close the event files; safe to call twice and after a failure."""
        try:
            with _writing_events(self.folder):
                for log in self._logs.values():
                    log.close()
        except TensorBoardError as error:
            self.problem = self.problem or str(error)
            raise
        finally:
            self._logs.clear()

    def _record(self, event: TrainingEvent) -> None:
        now = time.time()
        if isinstance(event, TrainingStarted):
            self._start(event, now)
        elif isinstance(event, BatchProgress):
            step = batch_step(event)
            self._logs[TRAIN_RUN].write(
                [
                    scalar_event("batch_loss", event.loss, step, now),
                    scalar_event("batch_accuracy", event.accuracy, step, now),
                ]
            )
        elif isinstance(event, EpochEnded):
            train, validation = epoch_events(event.metrics, now)
            self._epoch = event.metrics.epoch
            for name, events in ((TRAIN_RUN, train), (VALIDATION_RUN, validation)):
                self._logs[name].write(events)
                self._logs[name].sync()
        elif isinstance(event, EvaluationFinished):
            log = self._logs[""]
            log.write(evaluation_events(event.evaluation, event.test_images, self._epoch, now))
            log.sync()
        elif isinstance(event, TrainingFinished | TrainingStopped | TrainingFailed):
            for log in self._logs.values():
                log.sync()

    def _start(self, event: TrainingStarted, now: float) -> None:
        self._close_quietly()
        resume = _Resume(event.initial_epoch, event.batches_per_epoch)
        kept_train = _kept(event_files(self.folder / TRAIN_RUN), resume.keep_train)
        have = {int(e.step) for e in kept_train if e.summary.value[0].tag == "epoch_loss"}
        missing = [m for m in event.history if m.epoch <= resume.epochs and m.epoch not in have]
        backfill_train: list[Event] = []
        backfill_validation: list[Event] = []
        for metrics, wall_time in zip(
            missing, epoch_wall_times(self.run_dir, missing, now), strict=True
        ):
            train, validation = epoch_events(metrics, wall_time)
            backfill_train += train
            backfill_validation += validation
        self._epoch = resume.epochs
        start = _started(self.run_dir, now)
        # A resumed run's config counts the epochs of this session; the run's whole plan
        # is what describes it.
        config = event.config.with_changes(epochs=event.final_epoch)
        extra = {
            "device": event.device,
            "data": event.data_source,
            "train samples": event.train_samples,
            "validation samples": event.val_samples,
            "batches per epoch": event.batches_per_epoch,
        }
        run_level = [
            hparams_event(run_hparams(config, event.final_epoch), self.run_dir.name, start),
            text_event(CONFIG_TAG, config_markdown(config, extra), 0, now),
            text_event(SUMMARY_TAG, summary_markdown(event.summary.format_table()), 0, now),
        ]
        paths = {
            TRAIN_RUN: rewrite_event_file(
                self.folder / TRAIN_RUN, resume.keep_train, backfill_train
            ),
            VALIDATION_RUN: rewrite_event_file(
                self.folder / VALIDATION_RUN, resume.keep_validation, backfill_validation
            ),
            # The run-level file is written whole each time: its test results belong to the
            # training that ends this session.
            "": rewrite_event_file(self.folder, _keep_nothing, run_level),
        }
        self._logs = {name: EventLog(path) for name, path in paths.items()}

    def _close_quietly(self) -> None:
        for log in self._logs.values():
            with contextlib.suppress(OSError):
                log.close()
        self._logs.clear()


# --- Exporting a saved run -----------------------------------------------------------------


def export_tensorboard(run_dir: Path, out_dir: Path | None = None) -> Path:
    """Write a saved run's event files from its files, without TensorFlow.

    The files go to ``out_dir/tensorboard`` (the run's own ``tensorboard`` folder without
    ``out_dir``; with it, the run folder is only read). They hold everything the run's event
    files hold, the per-batch curves recorded while it trained among them, and what those lack
    that ``config.json``, ``history.json`` and ``evaluation.npz`` know: the epochs of a run
    saved before event files were written, its config and its test results. Exporting twice
    gives the same steps once.

    Returns:
        The ``tensorboard`` folder written (give its parent's parent to ``tensorboard
        --logdir``).

    Raises:
        RunError: the run cannot be read (:class:`TensorBoardError`: or written, or it is
            being trained and no ``out_dir`` is given).
    """
    run = load_run(run_dir)
    source = tensorboard_dir(run_dir)
    target = source if out_dir is None else tensorboard_dir(out_dir)
    if target == source and is_in_use(run_dir):
        # Its recorder appends to these files: replacing one would cut it off from its file.
        raise TensorBoardError(
            f"{run_dir.name} is being trained by another process; export with --out DIR"
        )
    now = time.time()
    start = _started(run_dir, now)
    train: list[Event] = []
    validation: list[Event] = []
    for metrics, wall_time in zip(
        run.history, epoch_wall_times(run_dir, run.history, now), strict=True
    ):
        train_events, validation_events = epoch_events(metrics, wall_time)
        train += train_events
        validation += validation_events
    config = run.config.with_changes(epochs=run.planned_epochs)
    extra = {"status": run.status}
    run_level = [
        hparams_event(run_hparams(config, run.planned_epochs), run_dir.name, start),
        text_event(CONFIG_TAG, config_markdown(config, extra), 0, start),
    ]
    last_epoch = len(run.history)
    end = max([start, *(e.wall_time for e in train)])
    with _writing_events(target):
        evaluation, images = run.evaluation, run.test_images
        if (
            evaluation is not None
            and images is not None
            and run.metrics is not None
            # Drawn only when missing: the images take most of an export's time.
            and not _has_test_results([source, target], last_epoch)
        ):
            run_level += evaluation_events(evaluation, images, last_epoch, end)
        merge_event_file(source / TRAIN_RUN, target / TRAIN_RUN, train)
        merge_event_file(source / VALIDATION_RUN, target / VALIDATION_RUN, validation)
        merge_event_file(source, target, run_level)
    return target


def _has_test_results(folders: Iterable[Path], step: int) -> bool:
    """Whether the run-level event files in ``folders`` hold every test result for ``step``."""
    wanted = {(tag, step) for tag in EVALUATION_TAGS}
    for folder in folders:
        for path in event_files(folder):
            wanted -= {_tag_and_step(e) for e in scan_events(path)[0]}
    return not wanted


def _writing_events(folder: Path) -> contextlib.AbstractContextManager[None]:
    """OS errors in the block become :class:`TensorBoardError` naming ``folder`` and the file."""
    return reraise_os_errors(
        TensorBoardError, f"cannot write TensorBoard events in {folder}", name_file=True
    )


def epoch_wall_times(
    run_dir: Path, history: Sequence[EpochMetrics], fallback: float
) -> list[float]:
    """When each epoch ended, as well as the saved files tell: the run's start (from its
    folder's name) plus the epochs' seconds; ``fallback`` stands in for an unknown start."""
    start = _started(run_dir, fallback)
    times = []
    elapsed = 0.0
    for metrics in history:
        elapsed += max(float(metrics.seconds), 0.0)
        times.append(start + elapsed)
    return times


def _started(run_dir: Path, fallback: float) -> float:
    started = parse_started(run_dir.name)
    return fallback if started is None else started.timestamp()
