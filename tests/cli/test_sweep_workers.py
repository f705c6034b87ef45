"""``fmnist-tui sweep`` workers as processes, on the journal file and on a real PostgreSQL
server: two at once finish the study's trials between them with none run twice, counting and
starting each under the study's start lock; a worker killed mid-trial has its trial failed
and retried on the same run folder by the worker waiting for it; pruning ends a trial that
learns nothing; the database going away stops a worker with one line; Ctrl-C stops a trial
as ``train`` does.

Each worker is a process that imports Keras (most of its cost): the tests start as few as
their promises need, on 600 synthetic images whose epochs take a fraction of a second.
"""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers import env_for, fmnist_tui, wait_for_checkpoint, write_data_dir

from core.backend import installed
from core.data import synthetic_raw
from core.sweeps import watch
from core.sweeps.storage import JournalStartLock, PostgresStartLock, parse_storage

pytestmark = pytest.mark.slow

BACKEND = "torch" if installed("torch") else "tensorflow"
"""The quickest to start a trial on this project's CPU (its epochs on these shapes take well
under a second); any backend does."""
STORAGES = ["journal", "postgres"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sweep-data")
    return write_data_dir(folder, synthetic_raw(train=600, test=100, seed=0))


@pytest.fixture(params=STORAGES)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """``--storage`` for the test: the runs folder's journal (the default), or PostgreSQL."""
    if request.param == "journal":
        return ""
    server = request.getfixturevalue("postgres")
    return str(server.url)


def write_space(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def sweep_argv(space: Path, tmp_path: Path, data_dir: Path, storage: str, *extra: str) -> list[str]:
    argv = [*fmnist_tui(), "--backend", BACKEND, "sweep", str(space)]
    argv += ["--runs-dir", str(tmp_path / "runs"), "--data-dir", str(data_dir), *extra]
    return argv + (["--storage", storage] if storage else [])


def start(argv: list[str], tmp_path: Path, log: str) -> subprocess.Popen[str]:
    out = open(tmp_path / f"{log}.out", "w", encoding="utf-8")  # noqa: SIM115 - the child's
    return subprocess.Popen(
        argv,
        env=env_for(tmp_path, BACKEND),
        stdout=out,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def finish(process: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


def output(tmp_path: Path, log: str) -> str:
    return (tmp_path / f"{log}.out").read_text(encoding="utf-8")


def snapshot(tmp_path: Path, storage: str, study: str) -> watch.StudySnapshot:
    target = storage or tmp_path / "runs" / "sweeps.journal"
    watch.forget()
    return watch.study_snapshot(target, study)


class HeldStartLock:
    """The study's start lock, taken by the test before its workers start: each worker joins
    the study, then queues for the lock to count its trials and start one (the kernel, or
    PostgreSQL, lists it waiting). Let go once all are queued, they run at the same time."""

    def __init__(self, storage: str, tmp_path: Path, study: str) -> None:
        self.storage = storage
        self.lock: Any
        if storage:
            import sqlalchemy

            target = parse_storage(storage, tmp_path).target
            self.lock = PostgresStartLock(sqlalchemy.create_engine(target), study)
        else:
            self.lock = JournalStartLock(parse_storage(None, tmp_path / "runs"))
        self.lock.acquire()
        self.inode = None if storage else self.lock.path.stat().st_ino

    def waiting(self) -> int:
        """How many processes wait for the lock."""
        if self.inode is not None:
            lines = Path("/proc/locks").read_text().splitlines()
            return sum(1 for line in lines if "->" in line and f":{self.inode} " in line)
        import psycopg

        with psycopg.connect(self.storage) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()
        return int(row[0]) if row else 0

    def wait_for(self, workers: list[subprocess.Popen[str]]) -> None:
        """Until every one of ``workers`` waits for the lock."""
        deadline = time.monotonic() + 300
        while self.waiting() < len(workers):
            for worker in workers:
                assert worker.poll() is None, f"a worker ended: {worker.stderr.read()[-2000:]}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the workers never waited for the start lock"
            time.sleep(0.05)

    def release(self) -> None:
        self.lock.release()


def trials_started(text: str) -> list[int]:
    """The trials a worker's output says it started (``trial N: params``)."""
    return [
        int(line.split(":")[0].split()[1])
        for line in text.splitlines()
        if line.startswith("trial ") and line.split(":")[0].count(" ") == 1
    ]


def history(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "history.json").read_text(encoding="utf-8"))


def config(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8"))


def test_two_workers_finish_the_trials_between_them_with_none_run_twice(
    tmp_path: Path, data_dir: Path, storage: str
) -> None:
    """Both workers join the study, then queue for its start lock, which the test holds: no
    trial starts until it is let go (mutation: a start lock that locks nothing never has them
    queued), and from then on they run at the same time, so a worker that counted only the
    finished trials would start more than four between them (mutation: ``_next`` counting
    finished trials only)."""
    # A grid on one, a random search on the other (no seed: each worker draws its own).
    sampler = "grid" if not storage else "random"
    rates = "[0.0005, 0.001, 0.002, 0.004]" if sampler == "grid" else "{ low = 1e-4, high = 1e-2 }"
    space = write_space(
        tmp_path,
        "pair",
        f"""
        trials = 4
        [params]
        epochs = 1
        learning_rate = {rates}
        [sampler]
        type = "{sampler}"
        """,
    )
    argv = sweep_argv(space, tmp_path, data_dir, storage)
    held = HeldStartLock(storage, tmp_path, "pair")
    try:
        workers = [start(argv, tmp_path, f"worker-{i}") for i in range(2)]
        held.wait_for(workers)
        assert snapshot(tmp_path, storage, "pair").trials == ()
    finally:
        held.release()
    results = [finish(worker) for worker in workers]
    for code, err in results:
        assert code == 0, err[-2000:]
    study = snapshot(tmp_path, storage, "pair")
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == [0, 1, 2, 3]
    assert [t.state for t in study.trials] == ["complete"] * 4
    params = Counter(t.params["learning_rate"] for t in study.trials)
    assert all(count == 1 for count in params.values()), params
    if sampler == "grid":
        assert set(params) == {0.0005, 0.001, 0.002, 0.004}
    runs = sorted(p for p in (tmp_path / "runs").iterdir() if (p / "config.json").is_file())
    assert len(runs) == 4
    for trial in study.trials:
        assert trial.run_dir is not None and Path(trial.run_dir) in runs
        tag = config(trial.run_dir)
        assert (tag["study"], tag["trial"]) == ("pair", trial.number)
        assert tag["hyperparameters"]["learning_rate"] == trial.params["learning_rate"]
        assert history(trial.run_dir)["status"] == "finished"
    # Each worker ran some (the first holds trial 0 while the second starts trial 1), and
    # between them every one, once.
    started = [trials_started(output(tmp_path, f"worker-{i}")) for i in range(2)]
    assert all(started), started
    assert sorted(started[0] + started[1]) == [0, 1, 2, 3], started


def test_a_killed_workers_trial_is_retried_on_the_same_run_folder(
    tmp_path: Path, data_dir: Path, storage: str
) -> None:
    """Two workers, one trial: one trains it, the other waits for it (to retry it if its
    worker dies). The first is killed mid-trial; the waiting one fails the trial (on the
    journal at once, its liveness lock gone; on PostgreSQL once its heartbeat is older than
    the grace period) and retries it on the same run folder from its checkpoint."""
    space = write_space(
        tmp_path,
        "kill",
        """
        trials = 1
        [params]
        epochs = 4
        learning_rate = [0.001, 0.002]
        [workers]
        heartbeat_interval = 1
        grace_period = 3
        """,
    )
    argv = sweep_argv(space, tmp_path, data_dir, storage)
    held = HeldStartLock(storage, tmp_path, "kill")
    try:
        workers = [start(argv, tmp_path, f"kill-{i}") for i in range(2)]
        held.wait_for(workers)
    finally:
        held.release()
    deadline = time.monotonic() + 300
    while not any(trials_started(output(tmp_path, f"kill-{i}")) for i in range(2)):
        assert time.monotonic() < deadline, "no worker started the trial"
        time.sleep(0.02)
    first = 0 if trials_started(output(tmp_path, "kill-0")) else 1
    killed, survivor = workers[first], workers[1 - first]
    run_dir = wait_for_checkpoint(tmp_path / "runs", 1, killed)
    while "waiting for trial(s) 0" not in output(tmp_path, f"kill-{1 - first}"):
        assert survivor.poll() is None, survivor.stderr.read()  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the other worker never waited for trial 0"
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(60) == -signal.SIGKILL
    assert history(run_dir)["status"] == "running"  # killed mid-trial
    killed_at = len(history(run_dir)["epochs"])
    assert killed_at < 4, "the trial ended before it was killed: train more epochs"

    code, err = finish(survivor)
    assert code == 0, err[-2000:]
    study = snapshot(tmp_path, storage, "kill")
    assert [(t.number, t.state) for t in study.trials] == [(0, "failed"), (1, "complete")]
    failed, retry = study.trials
    assert retry.retry_of == 0
    assert retry.params == failed.params
    assert retry.run_dir == failed.run_dir == str(run_dir)
    # The same folder trained on: every epoch once, and the trial saw all four.
    saved = history(run_dir)
    assert [e["epoch"] for e in saved["epochs"]] == [1, 2, 3, 4]
    assert saved["status"] == "finished"
    assert retry.epochs_done == 4
    assert [p.name for p in (tmp_path / "runs").iterdir() if p.is_dir() and p.name[0] != "."] == [
        run_dir.name
    ]
    said = output(tmp_path, f"kill-{1 - first}")
    assert "retry of trial 0" in said
    assert f"carries on {run_dir} after epoch" in said


def test_pruning_ends_a_trial_that_learns_nothing(
    tmp_path: Path, data_dir: Path, storage: str
) -> None:
    # The grid's seed 1 runs the rate that learns first; the one too small to learn anything
    # then falls below the median of its first epoch and is pruned.
    space = write_space(
        tmp_path,
        "prune",
        """
        objective = "val_accuracy"
        [params]
        epochs = 3
        learning_rate = [0.003, 1e-9]
        [sampler]
        type = "grid"
        seed = 1
        [pruner]
        type = "median"
        n_startup_trials = 1
        """,
    )
    code, err = finish(start(sweep_argv(space, tmp_path, data_dir, storage), tmp_path, "prune"))
    assert code == 0, err[-2000:]
    study = snapshot(tmp_path, storage, "prune")
    good, bad = study.trials
    assert good.params["learning_rate"] == 0.003, "the grid's order changed: pick another seed"
    assert good.state == "complete" and good.epochs_done == 3
    assert bad.state == "pruned"
    assert bad.epochs_done < 3
    assert bad.run_dir is not None
    assert history(bad.run_dir)["status"] == "pruned"
    assert len(history(bad.run_dir)["epochs"]) == bad.epochs_done
    listing = subprocess.run(
        [*fmnist_tui(), "runs", "--runs-dir", str(tmp_path / "runs")],
        env=env_for(tmp_path, BACKEND),
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = [line for line in listing.stdout.splitlines() if line.endswith(bad.run_dir)]
    assert rows and " pruned " in rows[0], listing.stdout
    assert "trial 1 pruned: val_accuracy" in output(tmp_path, "prune")


def test_the_database_going_away_stops_the_worker_with_one_line(
    tmp_path: Path, data_dir: Path, postgres: Any
) -> None:
    space = write_space(
        tmp_path,
        "gone",
        """
        trials = 2
        [params]
        epochs = 30
        learning_rate = [0.001, 0.002]
        """,
    )
    worker = start(sweep_argv(space, tmp_path, data_dir, postgres.url), tmp_path, "gone")
    try:
        run_dir = wait_for_checkpoint(tmp_path / "runs", 1, worker)
        postgres.stop("fast")
        code, err = finish(worker, timeout=300)
    finally:
        postgres.start()
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2, err  # the message, and where the log is
    assert "stopped answering" in lines[0]
    assert postgres.url.split(":")[2].split("@")[0] not in err  # the password
    kept = sorted((run_dir / "checkpoints").glob("epoch-*"))
    assert kept, "the run folder lost its checkpoints"
    assert f"{run_dir} keeps its epoch" in lines[0]
    assert "Traceback" not in err


def test_ctrl_c_stops_the_trial_as_train_does_and_the_next_worker_carries_it_on(
    tmp_path: Path, data_dir: Path
) -> None:
    space = write_space(
        tmp_path,
        "stop",
        """
        trials = 1
        [params]
        epochs = 4
        learning_rate = [0.001, 0.002]
        """,
    )
    argv = sweep_argv(space, tmp_path, data_dir, "")
    worker = start(argv, tmp_path, "stopped")
    run_dir = wait_for_checkpoint(tmp_path / "runs", 1, worker)
    worker.send_signal(signal.SIGINT)
    code, err = finish(worker)
    assert code == 130, err
    saved = history(run_dir)
    stopped_at = len(saved["epochs"])
    assert saved["status"] == "stopped" and stopped_at < 4
    assert (run_dir / "metrics.json").is_file()  # evaluated and saved, as train does
    study = snapshot(tmp_path, "", "stop")
    assert [t.state for t in study.trials] == ["failed", "waiting"]

    code, err = finish(start(argv, tmp_path, "again"))
    assert code == 0, err[-2000:]
    study = snapshot(tmp_path, "", "stop")
    assert [t.state for t in study.trials] == ["failed", "complete"]
    assert study.trials[1].run_dir == str(run_dir)
    assert [e["epoch"] for e in history(run_dir)["epochs"]] == [1, 2, 3, 4]
