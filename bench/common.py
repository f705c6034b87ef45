"""What every benchmark shares: settings, result files, child processes, statistics, data.

Nothing here imports TensorFlow: the benchmarks that train do it in child processes, one fresh
interpreter per measurement, so that no run inherits another's warm caches or memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.files import write_json_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RESULTS_DIR = ROOT / "bench" / "results"
QUICK_RESULTS_DIR = Path(tempfile.gettempdir()) / "fmnist-tui-bench-quick"
"""Quick (smoke-test) results go here unless told otherwise, never over the real ones."""
DEBIAN_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
PYCACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / (
    "fmnist-tui-bench/pycache"
)
"""Bytecode cache for the child processes (see :func:`child_env`)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the command line chose, handed to every benchmark."""

    results_dir: Path
    quick: bool
    command: str
    """The command line that produced the results, recorded in every file."""
    data_dir: Path | None
    """The real Fashion-MNIST folder, or None when it is missing (quick mode falls back to
    synthetic IDX files)."""
    work_dir: Path
    """Scratch space for run folders, logs and synthetic data; removed afterwards."""
    reuse_runs: Path | None = None
    rounds: int | None = None
    """Overrides a benchmark's default number of interleaved rounds."""
    extra: Mapping[str, Any] = field(default_factory=dict)


class BenchError(RuntimeError):
    """A benchmark could not run; ``str(error)`` says why in one line."""


# --- Result files ----------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def code_version(root: Path = ROOT) -> dict[str, Any]:
    """Which code is checked out in ``root``: the git commit and any uncommitted changes.

    ``commit`` is None where git cannot tell (no repository, no git); ``diff_sha256`` is the
    SHA-256 of ``git diff HEAD`` (tracked files only), None when they match the commit. Two
    runs ran the same code when both match.
    """

    def git(*args: str) -> bytes | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, timeout=60, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout

    head = git("rev-parse", "--verify", "HEAD")
    diff = git("diff", "HEAD", "--binary") if head else None
    if diff is None:
        return {"commit": None, "diff_sha256": None}
    return {
        "commit": head.decode().strip() if head else None,
        "diff_sha256": hashlib.sha256(diff).hexdigest() if diff else None,
    }


def result_path(results_dir: Path, name: str) -> Path:
    return results_dir / f"{name}.json"


def write_result(settings: Settings, name: str, payload: dict[str, Any]) -> Path:
    """Write ``results_dir/<name>.json`` atomically, stamped with date, command, code, machine."""
    from bench.machine import describe_machine

    record = {
        "benchmark": name,
        "quick": settings.quick,
        "date": now_iso(),
        "command": settings.command,
        "code": code_version(),
        "machine": describe_machine(),
        **payload,
    }
    settings.results_dir.mkdir(parents=True, exist_ok=True)
    path = result_path(settings.results_dir, name)
    write_json_file(path, record, default=_json_default)
    return path


def _json_default(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def read_results(results_dir: Path) -> dict[str, dict[str, Any]]:
    """Every ``<name>.json`` in ``results_dir`` by benchmark name (unreadable files skipped)."""
    found: dict[str, dict[str, Any]] = {}
    if not results_dir.is_dir():
        return found
    for path in sorted(results_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "benchmark" in data:
            found[str(data["benchmark"])] = data
    return found


# --- Statistics ------------------------------------------------------------------------------


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    """Count, mean, min, max, p50, p99 of ``values`` (empty dict entries become NaN-free 0)."""
    if not values:
        return {"count": 0}
    array = np.asarray(values, dtype=np.float64)
    return {
        "count": int(array.size),
        "mean": float(array.mean()),
        "min": float(array.min()),
        "p50": float(np.percentile(array, 50)),
        "p90": float(np.percentile(array, 90)),
        "p99": float(np.percentile(array, 99)),
        "max": float(array.max()),
    }


class GcPauses:
    """Python's garbage-collector runs, timed: a full collection stops every thread.

    ``install`` adds a ``gc.callbacks`` hook (a few microseconds a collection); ``pauses``
    holds (generation, start, end, cpu seconds) with times in ``perf_counter`` seconds. The
    CPU time is the collecting thread's, which other load on the machine does not inflate.
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float, float]] = []
        self._started = (0.0, 0.0)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = (time.perf_counter(), time.thread_time())
        else:
            wall, cpu = self._started
            self.pauses.append(
                (info["generation"], wall, time.perf_counter(), time.thread_time() - cpu)
            )

    def install(self) -> None:
        import gc

        gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        import gc

        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def summary(self, start: float = 0.0, end: float = float("inf")) -> dict[str, Any]:
        """Per generation: count, total and longest pause (ms) between ``start`` and ``end``."""
        result: dict[str, Any] = {}
        for generation in (0, 1, 2):
            chosen = [p for p in self.pauses if p[0] == generation and start <= p[1] <= end]
            walls = [(b - a) * 1000 for _, a, b, _ in chosen]
            cpus = [cpu * 1000 for *_, cpu in chosen]
            result[f"gen{generation}"] = {
                "count": len(chosen),
                "total_ms": sum(walls),
                "max_ms": max(walls, default=0.0),
                "max_cpu_ms": max(cpus, default=0.0),
            }
        return result

    def full_during(self, start: float, end: float) -> bool:
        """Whether a full (generation 2) collection overlapped [start, end]."""
        return any(g == 2 and a < end and b > start for g, a, b, _ in self.pauses)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


# --- Child processes -------------------------------------------------------------------------


def python() -> str:
    return sys.executable


def cli_command() -> list[str]:
    """How to run ``fmnist-tui``: the installed script beside this interpreter if present."""
    script = Path(sys.executable).with_name("fmnist-tui")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "tui.cli"]


def child_env(work_dir: Path, *, bytecode: bool = True, **extra: str) -> dict[str, str]:
    """The environment of a measured child process.

    With ``bytecode`` the children share a bytecode cache outside the project
    (``PYTHONPYCACHEPREFIX``), as an installed program has after its first start: without
    one, every start compiles TensorFlow's Python from source (``coldstart`` measures the cost).
    Logs go to the scratch folder, never into the user's XDG folders. ``TERM`` and
    ``COLORTERM`` describe a 24-bit-colour terminal.
    """
    env = dict(os.environ)
    env.pop("FMNIST_RUNS_DIR", None)
    env.pop("FMNIST_DATA_DIR", None)
    env["FMNIST_LOG_DIR"] = str(work_dir / "logs")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # The terminal the app is measured on: a modern emulator with 24-bit colour, which is
    # also the most bytes per frame.
    env["TERM"] = "xterm-256color"
    env["COLORTERM"] = "truecolor"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE_DIR)
    else:
        # An empty cache folder hides any __pycache__ beside the sources, and nothing is
        # written to it: every module is compiled from source.
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        empty = work_dir / "no-pycache"
        empty.mkdir(parents=True, exist_ok=True)
        env["PYTHONPYCACHEPREFIX"] = str(empty)
    env.update(extra)
    return env


@dataclass(slots=True)
class ChildResult:
    returncode: int
    seconds: float
    max_rss_mib: float
    """Peak resident set size of the child (``ru_maxrss`` from ``wait4``)."""
    stdout: str
    stderr: str


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    cwd: Path = ROOT,
    log: Path | None = None,
) -> ChildResult:
    """Run ``argv`` to completion; its wall time and peak RSS come from ``wait4``.

    stdout and stderr are collected through files, so that a chatty child never blocks on a
    full pipe while we wait for it.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), stdout=out, stderr=err, env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL
        )
        status, rusage = wait_with_timeout(process, timeout)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(
            f"$ {shlex.join(argv)}\n--- stdout\n{stdout}\n--- stderr\n{stderr}", encoding="utf-8"
        )
    return ChildResult(status, seconds, rusage.ru_maxrss / 1024, stdout, stderr)


def wait_with_timeout(process: subprocess.Popen[Any], timeout: float) -> tuple[int, Any]:
    """Reap ``process`` with ``wait4`` (for its rusage), killing it after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, rusage
        if time.monotonic() > deadline:
            process.kill()
            pid, status, rusage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            raise BenchError(f"{process.args!r} ran past {timeout:.0f} s")
        time.sleep(0.05)


# --- Data --------------------------------------------------------------------------------------


def find_data_dir(explicit: Path | None) -> Path | None:
    """The real Fashion-MNIST folder: ``--data-dir``, ``$FMNIST_DATA_DIR``, or Debian's."""
    for candidate in (explicit, os.environ.get("FMNIST_DATA_DIR"), DEBIAN_DATA_DIR):
        if candidate and (Path(candidate) / "train-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
        if candidate and (Path(candidate) / "train-images-idx3-ubyte").is_file():
            return Path(candidate)
    return None


def data_dir_for(settings: Settings, what: str) -> tuple[Path, str]:
    """The data folder a benchmark trains on, and a description of it.

    Full runs need the real data; quick runs fall back to synthetic IDX files (the learnable
    shapes of ``core.data.synthetic_raw``) so that CI without the data still smoke-tests.
    """
    if settings.data_dir is not None:
        return settings.data_dir, f"Fashion-MNIST ({settings.data_dir})"
    if not settings.quick:
        raise BenchError(
            f"{what} needs the real Fashion-MNIST: install the Debian package "
            "dataset-fashion-mnist or pass --data-dir DIR"
        )
    return synthetic_data_dir(settings.work_dir), "synthetic shapes (no real data found)"


def synthetic_data_dir(work_dir: Path) -> Path:
    from core.data import synthetic_raw, write_idx

    folder = work_dir / "synthetic-data"
    if (folder / "t10k-labels-idx1-ubyte.gz").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    raw = synthetic_raw(train=3000, test=1000, seed=0)
    write_idx(folder / "train-images-idx3-ubyte.gz", raw.x_train)
    write_idx(folder / "train-labels-idx1-ubyte.gz", raw.y_train)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", raw.x_test)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", raw.y_test)
    return folder


@contextmanager
def scratch_dir(keep: Path | None = None) -> Iterator[Path]:
    """A scratch folder for one invocation; ``keep`` names a folder to use and keep instead."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="fmnist-tui-bench-") as name:
        yield Path(name)


def progress(message: str) -> None:
    """A line on stderr saying what the suite is doing (stdout is kept for the table)."""
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)
