"""``fmnist-tui export --tensorboard`` never drops data and honours ``--out`` for every file.

The event files are read back with TensorBoard's own loader. The run folder is made without
training: its files saved as a session saves them, its events recorded as it records them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tui_fakes import fake_evaluation, fake_metrics

from core.config import TrainConfig
from core.events import (
    BatchProgress,
    EpochEnded,
    EvaluationFinished,
    TrainingEvent,
    TrainingFinished,
    TrainingStarted,
)
from core.export import ACCURACY_LOSS_PNG, CONFUSION_PNG, MISCLASSIFIED_PNG
from core.history_csv import HISTORY_CSV
from core.runs.layout import MODEL_FILE, save_config, save_evaluation, save_history
from core.runs.lock import RunLock
from core.summary import LayerRow, ModelSummary
from core.tensorboard_log import (
    SUMMARY_TAG,
    TEST_ACCURACY_TAG,
    TRAIN_RUN,
    VALIDATION_RUN,
    TensorBoardRecorder,
    event_files,
    tensorboard_dir,
)
from tui.cli import main
from tui.exit_codes import EXIT_OK, EXIT_USAGE

RUN_NAME = "20250102-030405-seed"
EPOCHS = 2
BATCHES = 4
SUMMARY = ModelSummary("seed", (LayerRow("dense", "Dense", "(None, 10)", 1290),), 1290, 1290, 0)

Series = dict[tuple[str, str], dict[int, bytes]]
"""``{(folder, tag): {step: the summary's bytes}}``: what TensorBoard shows of a run."""


def trained_events(epochs: int = EPOCHS) -> list[TrainingEvent]:
    """What a session sends while it trains ``EPOCHS`` and evaluates; cut short (killed) after
    ``epochs`` when that is fewer."""
    config = TrainConfig(epochs=EPOCHS)
    events: list[TrainingEvent] = [
        TrainingStarted("run", config, SUMMARY, "CPU", "synthetic", 128, 32, BATCHES, 0, EPOCHS)
    ]
    for epoch in range(1, epochs + 1):
        events += [
            BatchProgress("run", epoch, batch, BATCHES, 1.0 / epoch + batch / 100, 0.5, 99.0)
            for batch in (2, 4)
        ]
        events.append(EpochEnded("run", fake_metrics(epoch), EPOCHS))
    if epochs < EPOCHS:
        return events
    evaluation, images = fake_evaluation()
    history = tuple(fake_metrics(e) for e in range(1, epochs + 1))
    return [
        *events,
        TrainingFinished("run", history, 5.0),
        EvaluationFinished("run", evaluation, images),
    ]


def saved_run(root: Path, *, recorded: bool = True, recorded_epochs: int = EPOCHS) -> Path:
    """A finished, evaluated run folder; with ``recorded``, event files written as it trained
    (the first ``recorded_epochs`` of its epochs)."""
    run_dir = root / RUN_NAME
    run_dir.mkdir(parents=True)
    save_config(run_dir, TrainConfig(epochs=EPOCHS))
    history = [fake_metrics(e) for e in range(1, EPOCHS + 1)]
    save_history(run_dir, history, status="finished", planned_epochs=EPOCHS)
    evaluation, images = fake_evaluation()
    save_evaluation(run_dir, evaluation, images, 1290)
    (run_dir / MODEL_FILE).write_bytes(b"not read by an export")
    if recorded:
        recorder = TensorBoardRecorder(run_dir)
        for event in trained_events(recorded_epochs):
            recorder(event)
        recorder.close()
    return run_dir


def shown(folder: Path) -> Series:
    """Every summary in the event files under ``folder`` (a ``tensorboard`` folder)."""
    series: Series = {}
    for sub in ("", TRAIN_RUN, VALIDATION_RUN):
        for path in event_files(folder / sub):
            for event in EventFileLoader(str(path)).Load():
                for value in event.summary.value:
                    series.setdefault((sub, value.tag), {})[event.step] = value.SerializeToString()
    return series


def snapshot(folder: Path) -> dict[str, tuple[bytes | None, int]]:
    """Each file's bytes and each entry's modification time, by path under ``folder``."""
    found: dict[str, tuple[bytes | None, int]] = {}
    for root, folders, files in os.walk(folder):
        for name in [*folders, *files, "."]:
            path = Path(root, name)
            found[str(path.relative_to(folder))] = (
                path.read_bytes() if path.is_file() else None,
                path.stat().st_mtime_ns,
            )
    return found


def export(*args: str) -> int:
    return main(["export", *args, "--tensorboard"])


def test_export_keeps_the_events_recorded_while_training(tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path)
    before = shown(tensorboard_dir(run_dir))
    assert before[(TRAIN_RUN, "batch_loss")].keys() == {2, 4, 6, 8}
    assert (tensorboard_dir(run_dir) / TRAIN_RUN).is_dir()

    assert export(str(run_dir)) == EXIT_OK

    after = shown(tensorboard_dir(run_dir))
    assert after == before  # nothing was missing, so nothing changes
    for sub in ("", TRAIN_RUN, VALIDATION_RUN):
        assert len(event_files(tensorboard_dir(run_dir) / sub)) == 1


def test_export_adds_what_the_events_lack_and_keeps_the_rest(tmp_path: Path) -> None:
    # Killed after epoch 1's events, before the files' other epoch and the test results.
    run_dir = saved_run(tmp_path, recorded_epochs=1)
    before = shown(tensorboard_dir(run_dir))
    assert export(str(run_dir)) == EXIT_OK
    after = shown(tensorboard_dir(run_dir))

    for key, steps in before.items():
        # Every recorded step, with its recorded value.
        assert {step: after[key].get(step) for step in steps} == steps, key
    assert after[(TRAIN_RUN, "batch_loss")].keys() == {2, 4}
    assert after[(TRAIN_RUN, "epoch_loss")].keys() == {1, 2}
    assert after[(VALIDATION_RUN, "epoch_accuracy")].keys() == {1, 2}
    assert ("", SUMMARY_TAG) in after
    assert after[("", TEST_ACCURACY_TAG)].keys() == {EPOCHS}


def test_export_to_out_writes_every_file_there_and_leaves_the_run_alone(tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path / "runs")
    recorded = shown(tensorboard_dir(run_dir))
    untouched = snapshot(run_dir)
    out = tmp_path / "out"

    assert export(str(run_dir), "--out", str(out)) == EXIT_OK

    assert snapshot(run_dir) == untouched
    for name in (ACCURACY_LOSS_PNG, MISCLASSIFIED_PNG, CONFUSION_PNG, HISTORY_CSV):
        assert (out / name).is_file(), name
    assert shown(tensorboard_dir(out)) == recorded
    assert not [p for p in out.rglob(".*")], "temporary files left behind"

    # Again: the same steps, once.
    assert export(str(run_dir), "--out", str(out)) == EXIT_OK
    assert shown(tensorboard_dir(out)) == recorded
    assert snapshot(run_dir) == untouched
    for sub in ("", TRAIN_RUN, VALIDATION_RUN):
        assert len(event_files(tensorboard_dir(out) / sub)) == 1


def test_an_old_run_exports_to_out_without_writing_into_its_folder(tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path / "runs", recorded=False)
    untouched = snapshot(run_dir)
    out = tmp_path / "out"
    assert export(str(run_dir), "--out", str(out)) == EXIT_OK
    assert snapshot(run_dir) == untouched
    exported = shown(tensorboard_dir(out))
    assert exported[(TRAIN_RUN, "epoch_loss")].keys() == {1, 2}
    assert exported[("", TEST_ACCURACY_TAG)].keys() == {EPOCHS}


def test_a_damaged_event_file_is_never_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = saved_run(tmp_path / "runs", recorded_epochs=1)
    [train_file] = event_files(tensorboard_dir(run_dir) / TRAIN_RUN)
    data = bytearray(train_file.read_bytes())
    # Inside the first event after the header record: nothing past it can be read.
    second_record = 8 + 4 + int.from_bytes(data[:8], "little") + 4
    data[second_record + 12 + 2] ^= 0xFF
    train_file.write_bytes(bytes(data))

    assert export(str(run_dir)) == EXIT_USAGE  # epoch 2 is missing: the file would be rewritten
    [line] = capsys.readouterr().err.splitlines()
    assert str(train_file) in line and "damaged" in line and "--out" in line
    assert train_file.read_bytes() == bytes(data)

    out = tmp_path / "out"
    assert export(str(run_dir), "--out", str(out)) == EXIT_OK
    assert shown(tensorboard_dir(out))[(TRAIN_RUN, "epoch_loss")].keys() == {1, 2}
    assert train_file.read_bytes() == bytes(data)


def test_a_run_being_trained_exports_only_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = saved_run(tmp_path / "runs", recorded_epochs=1)
    untouched = snapshot(tensorboard_dir(run_dir))
    with RunLock(run_dir):
        assert export(str(run_dir)) == EXIT_USAGE
        [line] = capsys.readouterr().err.splitlines()
        assert "being trained" in line and "--out" in line
        assert snapshot(tensorboard_dir(run_dir)) == untouched
        assert export(str(run_dir), "--out", str(tmp_path / "out")) == EXIT_OK
