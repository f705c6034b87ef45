"""Runs side by side: what a listing knows of each run (settings, time, best epoch), which
columns are worth showing, the order, the JSON record, and deleting a run folder safely."""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from tui_fakes import fake_evaluation

from core.compare import (
    column_named,
    listing_record,
    shared_settings,
    shared_text,
    shown_columns,
    sort_listings,
)
from core.config import TrainConfig
from core.errors import RunError
from core.events import EpochMetrics
from core.runs.catalogue import RunListing, list_runs
from core.runs.delete import check_deletable, delete_run
from core.runs.layout import (
    CONFIG_JSON,
    HISTORY_JSON,
    LOCK_FILE,
    MODEL_FILE,
    create_run_dir,
    save_evaluation,
    save_history,
)
from core.runs.lock import RunLock

NAN = math.nan


def epoch(number: int, val_accuracy: float, seconds: float = 2.0) -> EpochMetrics:
    return EpochMetrics(number, 0.5, 0.8, 0.6, val_accuracy, seconds)


def saved_run(
    runs: Path,
    second: int,
    config: TrainConfig,
    history: list[EpochMetrics],
    *,
    evaluated: bool = True,
    status: str = "finished",
) -> Path:
    run_dir = create_run_dir(runs, config, now=datetime(2025, 1, 2, 3, 4, second))
    save_history(run_dir, history, status=status, planned_epochs=config.epochs)
    if evaluated:
        evaluation, images = fake_evaluation()
        save_evaluation(run_dir, evaluation, images, 394_530)
        (run_dir / MODEL_FILE).write_bytes(b"not read")
    return run_dir


def by_name(listings: list[RunListing]) -> dict[str, RunListing]:
    return {listing.path.name: listing for listing in listings}


# --- What a listing knows --------------------------------------------------------------------


def test_a_listing_has_the_config_the_time_and_the_best_epoch(tmp_path: Path) -> None:
    config = TrainConfig(epochs=4, batch_size=64).with_training(learning_rate=0.003)
    history = [epoch(1, NAN, 3.0), epoch(2, 0.70, NAN), epoch(3, 0.85, 4.5), epoch(4, 0.85)]
    run_dir = saved_run(tmp_path, 1, config, history)

    [listing] = list_runs(tmp_path)

    assert listing.path == run_dir
    assert listing.config == config
    assert listing.duration == pytest.approx(3.0 + 4.5 + 2.0), "an epoch of unknown length"
    # The first of two equal bests, and a diverged (NaN) epoch is no one's best.
    assert (listing.best_val_accuracy, listing.best_val_epoch) == (0.85, 3)


def test_a_run_with_no_timed_epoch_has_no_duration(tmp_path: Path) -> None:
    saved_run(tmp_path, 1, TrainConfig(epochs=2), [epoch(1, 0.5, NAN), epoch(2, 0.6, NAN)])
    saved_run(tmp_path, 2, TrainConfig(epochs=2), [], evaluated=False, status="stopped")

    listings = list_runs(tmp_path)

    assert [run.duration for run in listings] == [None, None]
    assert [run.best_val_epoch for run in listings] == [None, 2]
    assert [run.best_val_accuracy for run in listings] == [None, 0.6]


def test_a_damaged_run_keeps_its_reason_and_the_settings_it_still_has(tmp_path: Path) -> None:
    config = TrainConfig(epochs=3, batch_size=128)
    history_broken = saved_run(tmp_path, 1, config, [epoch(1, 0.5)])
    (history_broken / HISTORY_JSON).write_text("{cut short")
    config_broken = saved_run(tmp_path, 2, config, [epoch(1, 0.5)])
    (config_broken / CONFIG_JSON).write_text("[]")

    runs = by_name(list_runs(tmp_path))

    first, second = runs[history_broken.name], runs[config_broken.name]
    assert first.status == second.status == "damaged"
    assert first.problem is not None and HISTORY_JSON in first.problem
    assert first.config == config and first.model == "seed"
    assert second.problem is not None and CONFIG_JSON in second.problem
    assert second.config is None and second.model == "?"


# --- Columns, order, record ------------------------------------------------------------------


def test_only_the_settings_that_differ_are_columns(tmp_path: Path) -> None:
    base = TrainConfig(epochs=2)
    saved_run(tmp_path, 1, base, [epoch(1, 0.6), epoch(2, 0.7)])
    saved_run(tmp_path, 2, base.with_training(learning_rate=0.01), [epoch(1, 0.5), epoch(2, 0.8)])
    saved_run(tmp_path, 3, base.with_changes(batch_size=64), [epoch(1, 0.65), epoch(2, 0.66)])
    damaged = saved_run(tmp_path, 4, base.with_changes(patience=3), [epoch(1, 0.6)])
    (damaged / CONFIG_JSON).write_text("{")  # unknown settings: they differ from no one

    listings = list_runs(tmp_path)
    names = [column.name for column in shown_columns(listings)]
    shared = shared_settings(listings)

    assert names == [
        "started", "batch", "lr", "best-val", "test", "epochs", "status", "time", "folder"
    ]  # fmt: skip
    assert [column.name for column, _ in shared] == [
        "model", "optimizer", "wd", "smoothing", "schedule", "augment", "early-stop"
    ]  # fmt: skip
    assert shared_text(shared) == "seed, adam, constant; no wd, smoothing, augment or early stop"
    lr = column_named("lr")
    assert [lr.text(run) for run in listings] == ["?", "0.001", "0.01", "0.001"]


def test_sorting_puts_unknowns_last_either_way(tmp_path: Path) -> None:
    base = TrainConfig(epochs=1)
    for second, accuracy in ((1, 0.7), (2, 0.9), (3, 0.8)):
        saved_run(tmp_path, second, base, [epoch(1, accuracy)])
    saved_run(tmp_path, 4, base, [], evaluated=False, status="stopped")
    listings = list_runs(tmp_path)
    best = column_named("best-val")

    def seconds(runs: list[RunListing]) -> list[int]:
        return [int(run.path.name[13:15]) for run in runs]

    assert seconds(listings) == [4, 3, 2, 1], "newest first"
    assert seconds(sort_listings(listings, best)) == [2, 3, 1, 4], "best first, unknown last"
    assert seconds(sort_listings(listings, best, reverse=True)) == [1, 3, 2, 4]
    assert seconds(sort_listings(listings, column_named("started"), reverse=True)) == [1, 2, 3, 4]
    # Equal values keep the newest first, in both directions.
    assert seconds(sort_listings(listings, column_named("batch"))) == [4, 3, 2, 1]
    assert seconds(sort_listings(listings, column_named("batch"), reverse=True)) == [4, 3, 2, 1]


def test_column_names_take_any_spelling() -> None:
    assert column_named("best_val") is column_named("Best val") is column_named("best-val")
    with pytest.raises(KeyError, match="choose one of started, model"):
        column_named("accuracy")


def test_the_record_has_real_types_and_only_json_values(tmp_path: Path) -> None:
    config = TrainConfig(epochs=2, patience=1).with_training(learning_rate=0.003)
    run_dir = saved_run(tmp_path, 1, config, [epoch(1, 0.6), epoch(2, 0.7)])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["test_accuracy"] = NAN  # written by hand: JSON has no NaN
    (run_dir / "metrics.json").write_text(json.dumps(metrics))

    [listing] = list_runs(tmp_path)
    record = listing_record(listing)
    text = json.dumps(record, allow_nan=False)

    assert json.loads(text) == record
    assert record["started"] == "2025-01-02T03:04:01"
    assert record["test_accuracy"] is None
    assert (record["best_val_accuracy"], record["best_val_epoch"]) == (0.7, 2)
    assert record["duration_seconds"] == 4.0
    settings = record["settings"]
    assert settings["learning_rate"] == 0.003 and settings["batch_size"] == 32
    assert settings["early_stop"] == 1 and settings["augment"] is False


# --- Deleting ----------------------------------------------------------------------------------


def test_a_run_is_deleted_whole(tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path, 1, TrainConfig(epochs=1), [epoch(1, 0.5)])
    (run_dir / "checkpoints" / "epoch-0001").mkdir(parents=True)
    check_deletable(run_dir)
    assert not (run_dir / LOCK_FILE).exists(), "asking writes nothing"

    delete_run(run_dir)

    assert not run_dir.exists()
    assert os.listdir(tmp_path) == [], "nothing hidden left behind"


def test_a_run_being_trained_is_not_deleted(tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path, 1, TrainConfig(epochs=1), [epoch(1, 0.5)], status="running")
    with RunLock(run_dir):  # as the process training it holds it
        before = sorted(os.listdir(run_dir))
        for attempt in (check_deletable, delete_run):
            with pytest.raises(RunError) as raised:
                attempt(run_dir)
            assert str(raised.value) == f"cannot delete {run_dir}: it is being trained now"
        assert sorted(os.listdir(run_dir)) == before
    delete_run(run_dir)  # once the lock is free
    assert not run_dir.exists()


@pytest.mark.parametrize("content", ["empty", "other files"])
def test_a_folder_that_is_not_a_run_is_not_deleted(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    if content == "other files":
        (folder / "holiday.png").write_bytes(b"png")
        (folder / CONFIG_JSON).mkdir()  # a folder of that name is not a run's file

    for attempt in (check_deletable, delete_run):
        with pytest.raises(RunError) as raised:
            attempt(folder)
        message = str(raised.value)
        assert "\n" not in message
        assert message == (
            f"cannot delete {folder}: not a run folder (it has no config.json or history.json)"
        )
    assert folder.is_dir() and (content == "empty" or (folder / "holiday.png").exists())
    with pytest.raises(RunError, match="no such folder"):
        delete_run(tmp_path / "missing")


def test_a_link_to_a_run_is_not_followed(tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path / "runs", 1, TrainConfig(epochs=1), [epoch(1, 0.5)])
    link = tmp_path / "shortcut"
    link.symlink_to(run_dir, target_is_directory=True)

    with pytest.raises(RunError, match="is a symbolic link"):
        delete_run(link)

    assert link.is_symlink() and (run_dir / HISTORY_JSON).is_file()


def test_a_link_inside_a_run_goes_but_not_what_it_points_to(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work\n")
    run_dir = saved_run(tmp_path / "runs", 1, TrainConfig(epochs=1), [epoch(1, 0.5)])
    (run_dir / "data").symlink_to(precious, target_is_directory=True)

    delete_run(run_dir)

    assert not run_dir.exists()
    assert (precious / "thesis.txt").read_text() == "years of work\n"


def test_a_failed_removal_leaves_a_run_that_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    run_dir = saved_run(runs, 1, TrainConfig(epochs=1), [epoch(1, 0.5)])
    real_rmtree = shutil.rmtree

    def fails_half_way(path: Path) -> None:
        # What a file the user may not remove does: the removal stops part of the way.
        (Path(path) / MODEL_FILE).unlink()
        raise PermissionError(errno.EACCES, "Permission denied", str(Path(path) / "checkpoints"))

    monkeypatch.setattr(shutil, "rmtree", fails_half_way)
    with pytest.raises(RunError) as raised:
        delete_run(run_dir)
    monkeypatch.setattr(shutil, "rmtree", real_rmtree)

    message = str(raised.value)
    assert message.startswith(f"cannot delete {run_dir}: Permission denied ("), message
    assert "\n" not in message
    [listing] = list_runs(runs)
    assert listing.path == run_dir, "its name is back"
    assert listing.status == "damaged" and listing.problem is not None
    assert MODEL_FILE in listing.problem
    delete_run(run_dir)  # and it can be deleted again
    assert os.listdir(runs) == []
