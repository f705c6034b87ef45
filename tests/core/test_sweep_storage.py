"""Where a sweep's study lives: the storage URL (password never shown), database errors as
one line, the journal's repair of a torn last line, the journal's liveness locks that let a
dead worker's trial be retried at once, and the read-only watch API."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from sweeps_pg import PASSWORD

from core.sweeps import watch
from core.sweeps.errors import StorageError, SweepError
from core.sweeps.heartbeats import LivenessJournalStorage
from core.sweeps.space import Workers
from core.sweeps.storage import (
    StorageSpec,
    describe_storage_error,
    hide_password,
    open_storage,
    parse_storage,
    repair_journal,
)

optuna.logging.set_verbosity(optuna.logging.ERROR)
SECRET = "s3cr3t-Pa55"


def test_the_default_storage_is_the_runs_folders_journal(tmp_path: Path) -> None:
    spec = parse_storage(None, tmp_path)
    assert (spec.kind, spec.journal) == ("journal", tmp_path / "sweeps.journal")
    # Its helpers are hidden, so the runs listing never takes them for runs.
    assert spec.helpers_dir.name.startswith(".")
    assert parse_storage("elsewhere.journal", tmp_path).journal == Path("elsewhere.journal")


def test_postgresql_urls_use_psycopg_and_never_show_the_password(tmp_path: Path) -> None:
    spec = parse_storage(f"postgresql://me:{SECRET}@db.example:5432/sweeps", tmp_path)
    assert spec.kind == "postgresql"
    assert spec.target.startswith("postgresql+psycopg://me:")
    assert SECRET not in spec.shown and "***" in spec.shown
    assert spec.scrub(f"failed for {SECRET}!") == "failed for ***!"
    assert SECRET not in hide_password(f"postgres://me:{SECRET}@host/db")
    with pytest.raises(StorageError) as caught:
        parse_storage(f"mysql://me:{SECRET}@host/db", tmp_path)
    assert SECRET not in str(caught.value) and "unsupported storage" in str(caught.value)


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path) -> None:
    spec = parse_storage(f"postgresql://me:{SECRET}@127.0.0.1:1/sweeps", tmp_path)
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        open_storage(spec, Workers())
    message = str(caught.value)
    assert "\n" not in message and SECRET not in message
    assert message.startswith("cannot open postgresql+psycopg://me:***@127.0.0.1:1/sweeps: ")
    assert "Connection refused" in message
    assert time.monotonic() - started < 30


def test_a_database_error_is_found_behind_optunas_unbound_local_error(tmp_path: Path) -> None:
    # What study.optimize raises when the database goes away during a trial (optuna#5280):
    # an UnboundLocalError whose context holds Optuna's, SQLAlchemy's and psycopg's errors.
    import psycopg
    import sqlalchemy.exc
    from optuna.exceptions import StorageInternalError

    spec = StorageSpec("postgresql", f"postgresql+psycopg://me:{SECRET}@127.0.0.1:5/db")
    driver = psycopg.OperationalError(
        f"connection failed: password {SECRET} refused\nIs the server running on that host?"
    )
    internal = StorageInternalError("An exception is raised during the commit.")
    internal.__cause__ = sqlalchemy.exc.OperationalError("SELECT 1", {}, driver)
    hidden = UnboundLocalError("cannot access local variable 'updated_state'")
    hidden.__context__ = internal
    message = describe_storage_error(hidden, spec, "the study's storage stopped answering:")
    assert message.startswith("the study's storage stopped answering: postgresql+psycopg://")
    assert "connection failed: password *** refused" in message
    assert "\n" not in message and SECRET not in message


def test_the_watch_api_reads_a_postgresql_study_and_says_when_the_server_is_down(
    postgres: Any,
) -> None:
    """On a real server: a database no sweep has written to has no study yet, rather than an
    error about Optuna's missing tables (mutation: ``open_reader`` without its undefined-table
    check); a study is read; the server stopped is one line without the password, and once
    it is back the same reader reads again."""
    url = postgres.url
    watch.forget()
    assert watch.list_studies(url) == []
    with pytest.raises(SweepError, match="no study 'w'"):
        watch.study_snapshot(url, "w")
    writer = optuna.storages.RDBStorage(parse_storage(url, Path()).target)
    study = optuna.create_study(study_name="w", storage=writer, direction="maximize")
    study.set_user_attr("objective", "val_accuracy")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    writer.engine.dispose()
    assert [s.name for s in watch.list_studies(url)] == ["w"]
    assert [t.state for t in watch.study_snapshot(url, "w").trials] == ["complete"] * 2
    postgres.stop("fast")
    try:
        with pytest.raises(StorageError) as caught:
            watch.study_snapshot(url, "w")
    finally:
        postgres.start()
    message = str(caught.value)
    assert message.startswith("cannot read postgresql+psycopg://sweeper:***@"), message
    assert "\n" not in message and PASSWORD not in message
    assert len(watch.study_snapshot(url, "w").trials) == 2
    watch.forget()


def _journal_with_trials(path: Path, count: int) -> None:
    storage = JournalStorage(JournalFileBackend(str(path)))
    study = optuna.create_study(study_name="s", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=count)


def test_a_torn_last_journal_line_is_cut_off_and_the_study_reads_again(tmp_path: Path) -> None:
    path = tmp_path / "sweeps.journal"
    _journal_with_trials(path, 2)
    whole = path.read_bytes()
    torn = b'{"op_code": 4, "worker_id": "dead", "trial_'  # killed in mid-append
    with open(path, "ab") as journal:
        journal.write(torn)
    # Unrepaired, the next append makes the whole journal unreadable (optuna#5138).
    poisoned = tmp_path / "poisoned.journal"
    poisoned.write_bytes(path.read_bytes())
    with pytest.raises(Exception):  # noqa: B017 - JSONDecodeError or AttributeError
        study = optuna.load_study(
            study_name="s", storage=JournalStorage(JournalFileBackend(str(poisoned)))
        )
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
        optuna.load_study(study_name="s", storage=JournalStorage(JournalFileBackend(str(poisoned))))
    assert repair_journal(path) == len(torn)
    assert path.read_bytes() == whole
    assert repair_journal(path) == 0
    study = optuna.load_study(study_name="s", storage=JournalStorage(JournalFileBackend(str(path))))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3


def test_a_running_trial_is_stale_once_nobody_holds_its_liveness_lock(tmp_path: Path) -> None:
    path = tmp_path / "sweeps.journal"
    live = tmp_path / ".sweeps.journal.d" / "live"
    storage = LivenessJournalStorage(str(path), live, grace_period=60)
    study = optuna.create_study(study_name="s", storage=storage)
    with pytest.warns(UserWarning, match="Heartbeat"):  # the worker runs trials in optimize
        trial = study.ask()
    study_id = study._study_id
    # Just started, no lock yet (its heartbeat thread has not beaten): within the grace.
    assert storage._get_stale_trial_ids(study_id) == []
    # Another worker's process holds the lock: alive.
    fd = os.open(live / str(trial._trial_id), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    assert storage._get_stale_trial_ids(study_id) == []
    # That process dies: the kernel drops its lock, and the trial is stale at once.
    os.close(fd)
    assert storage._get_stale_trial_ids(study_id) == [trial._trial_id]
    # This process's own running trial is alive while it holds the lock.
    storage.record_heartbeat(trial._trial_id)
    assert storage._get_stale_trial_ids(study_id) == []
    storage.release_trials()
    assert not (live / str(trial._trial_id)).exists()


def _study_of(path: Path, complete: int) -> None:
    storage = JournalStorage(JournalFileBackend(str(path)))
    study = optuna.create_study(study_name="w", storage=storage, direction="maximize")
    study.set_user_attr("objective", "val_accuracy")
    for number in range(complete):
        trial = study.ask()
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        opt = trial.suggest_categorical("optimizer", ["adam", "sgd"])
        trial.set_user_attr("run_dir", f"/runs/{number}")
        for epoch in (1, 2):
            trial.report(0.5 + lr + epoch / 100, epoch)
        study.tell(trial, 0.5 + lr + (opt == "adam") * 0.2)
    pruned = study.ask()
    pruned.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    pruned.suggest_categorical("optimizer", ["adam", "sgd"])
    pruned.report(0.1, 1)
    study.tell(pruned, state=TrialState.PRUNED)
    running = study.ask()
    running.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    running.report(0.3, 1)


def test_the_watch_api_reads_a_study_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "sweeps.journal"
    missing = tmp_path / "none.journal"
    watch.forget()
    assert watch.list_studies(missing) == []
    assert not missing.exists()  # never created by looking
    with pytest.raises(SweepError, match="no study 'w'"):
        watch.study_snapshot(missing, "w")

    _study_of(path, 4)
    before = path.read_bytes()
    assert [s.name for s in watch.list_studies(path)] == ["w"]
    snapshot = watch.study_snapshot(path, "w")
    assert path.read_bytes() == before
    assert (snapshot.direction, snapshot.objective) == ("maximize", "val_accuracy")
    states = [t.state for t in snapshot.trials]
    assert states == ["complete"] * 4 + ["pruned", "running"]
    assert [t.epochs_done for t in snapshot.trials] == [2, 2, 2, 2, 1, 1]
    assert snapshot.trials[0].run_dir == "/runs/0"
    assert snapshot.trials[5].value == 0.3  # a running trial's best so far
    complete = [t for t in snapshot.trials if t.state == "complete"]
    assert snapshot.best is not None
    assert snapshot.best.value == max(t.value for t in complete if t.value is not None)
    assert [n for n, _, _ in snapshot.objective_over_trials] == [0, 1, 2, 3]
    bests = [b for _, _, b in snapshot.objective_over_trials]
    assert bests == sorted(bests)
    assert snapshot.importances is None  # below ten complete trials
    with pytest.raises(SweepError, match="no study 'other'"):
        watch.study_snapshot(path, "other")


def test_importances_come_with_ten_complete_trials_and_polling_is_cheap(tmp_path: Path) -> None:
    path = tmp_path / "sweeps.journal"
    _study_of(path, 12)
    watch.forget()
    snapshot = watch.study_snapshot(path, "w")
    assert snapshot.importances is not None
    assert {name for name, _ in snapshot.importances} == {"learning_rate", "optimizer"}
    assert sum(share for _, share in snapshot.importances) == pytest.approx(1.0)
    started = time.perf_counter()
    for _ in range(20):
        watch.study_snapshot(path, "w")
    assert (time.perf_counter() - started) / 20 < 0.25
