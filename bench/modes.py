"""The three ways of training the same model, each in a fresh process.

- (a) ``plain``: a bare ``keras.Model.fit`` script (``bench.plain_fit``);
- (b) ``cli``: ``fmnist-tui train`` on a pseudo-terminal, as typed in a terminal (so its live
  progress line is drawn too);
- (c) ``app``: the Textual app on a 120x40 pseudo-terminal with its real driver, live charts
  on the screen, driven by keys typed on that terminal (``bench.app_probe``).

Every mode trains with batch size 32 (the app's dialog default) on the same data, limits and
seed, and reports per-epoch seconds measured the same way: from Keras' ``on_epoch_begin`` to
``on_epoch_end`` (validation included).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    BenchError,
    child_env,
    cli_command,
    python,
    run_child,
)
from bench.pty_session import PtySession

SCREEN_SIZE = (120, 40)
BATCH_SIZE = 32
"""What the app's training dialog starts with; every mode uses it."""


@dataclass(frozen=True, slots=True)
class Workload:
    """What to train: the same for every mode of one comparison."""

    model: str
    epochs: int
    data_dir: Path
    limit_train: int | None = None
    limit_test: int | None = None
    seed: int = 0
    backend: str | None = None
    """The Keras backend of every mode (``None``: ``$KERAS_BACKEND``, else TensorFlow)."""

    def backend_args(self) -> list[str]:
        return [] if self.backend is None else ["--backend", self.backend]

    def limit_args(self) -> list[str]:
        args: list[str] = []
        if self.limit_train is not None:
            args += ["--limit-train", str(self.limit_train)]
        if self.limit_test is not None:
            args += ["--limit-test", str(self.limit_test)]
        return args

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "epochs": self.epochs,
            "batch_size": BATCH_SIZE,
            "seed": self.seed,
            "limit_train": self.limit_train,
            "limit_test": self.limit_test,
            "data_dir": str(self.data_dir),
            **({"backend": self.backend} if self.backend else {}),
        }


@dataclass(slots=True)
class ModeRun:
    mode: str
    epoch_seconds: list[float]
    max_rss_mib: float
    wall_s: float
    test_accuracy: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def train_s(self) -> float:
        return sum(self.epoch_seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "train_s": self.train_s,
            "epoch_seconds": self.epoch_seconds,
            "max_rss_mib": self.max_rss_mib,
            "wall_s": self.wall_s,
            "test_accuracy": self.test_accuracy,
            **self.extra,
        }


def _history_of(runs_dir: Path) -> tuple[list[dict[str, Any]], float | None, Path]:
    """The epochs and test accuracy of the one run folder under ``runs_dir``."""
    folders = [p for p in runs_dir.iterdir() if (p / "history.json").is_file()]
    if len(folders) != 1:
        raise BenchError(f"expected one run folder in {runs_dir}, found {len(folders)}")
    folder = folders[0]
    history = json.loads((folder / "history.json").read_text(encoding="utf-8"))
    accuracy = None
    metrics = folder / "metrics.json"
    if metrics.is_file():
        accuracy = float(json.loads(metrics.read_text(encoding="utf-8"))["test_accuracy"])
    return list(history["epochs"]), accuracy, folder


def run_plain(work: Workload, scratch: Path, tag: str, timeout: float = 3600) -> ModeRun:
    out = scratch / f"plain-{tag}.json"
    argv = [
        python(), "-m", "bench.plain_fit",
        "--model", work.model, "--epochs", str(work.epochs),
        "--batch-size", str(BATCH_SIZE), "--seed", str(work.seed),
        "--data-dir", str(work.data_dir), "--out", str(out), *work.limit_args(),
        *work.backend_args(),
    ]  # fmt: skip
    result = run_child(
        argv, env=child_env(scratch), timeout=timeout, log=scratch / f"plain-{tag}.log"
    )
    if result.returncode != 0 or not out.is_file():
        raise BenchError(f"plain fit failed (code {result.returncode}): {result.stderr[-500:]}")
    data = json.loads(out.read_text(encoding="utf-8"))
    return ModeRun(
        "plain",
        [float(e["seconds"]) for e in data["epochs"]],
        result.max_rss_mib,
        result.seconds,
        data["test_accuracy"],
        {"fit_wall_s": data["fit_wall_s"], "backend": data.get("backend")},
    )


def run_cli(work: Workload, scratch: Path, tag: str, timeout: float = 3600) -> ModeRun:
    runs_dir = scratch / f"runs-cli-{tag}"
    argv = [
        *cli_command(), *work.backend_args(), "train",
        "--epochs", str(work.epochs), "--model", work.model,
        "--batch-size", str(BATCH_SIZE), "--seed", str(work.seed),
        "--data-dir", str(work.data_dir), "--runs-dir", str(runs_dir), *work.limit_args(),
    ]  # fmt: skip
    with PtySession.spawn(argv, env=child_env(scratch), cwd=ROOT, size=SCREEN_SIZE) as session:
        outcome = session.wait_exit(timeout)
    if outcome.returncode != 0:
        raise BenchError(f"fmnist-tui train failed with code {outcome.returncode}")
    epochs, accuracy, _ = _history_of(runs_dir)
    return ModeRun(
        "cli",
        [float(e["seconds"]) for e in epochs],
        outcome.max_rss_mib,
        outcome.seconds,
        accuracy,
        {"terminal_bytes": outcome.output_bytes},
    )


@dataclass(frozen=True, slots=True)
class TabSwitching:
    """Switch to the Mistakes tab and back while training, to time key-to-screen."""

    every_s: float = 1.0
    stay_s: float = 0.4


def run_app(
    work: Workload,
    scratch: Path,
    tag: str,
    *,
    tab_switching: TabSwitching | None = None,
    lag_probe: bool = True,
    probe_args: tuple[str, ...] = (),
    timeout: float = 3600,
) -> ModeRun:
    """Start the app on a pseudo-terminal, type ``t``, the epochs and Enter, wait, quit."""
    runs_dir = scratch / f"runs-app-{tag}"
    out = scratch / f"app-{tag}.json"
    argv = [
        python(), "-m", "bench.app_probe", "--out", str(out),
        "--model", work.model, "--data-dir", str(work.data_dir),
        "--runs-dir", str(runs_dir), *work.limit_args(), *probe_args,
    ]  # fmt: skip
    if not lag_probe:
        argv.append("--no-lag")
    if work.seed != 0:
        raise BenchError("the app trains with seed 0 (its default); use seed 0 to compare")
    keys: list[dict[str, Any]] = []
    with PtySession.spawn(
        argv, env=child_env(scratch), cwd=ROOT, size=SCREEN_SIZE, status_pipe=True
    ) as session:
        session.wait_status("ready", 600)
        session.send(b"t")
        session.wait_status("dialog", 60)
        # The dialog opens with the epochs selected, so typing replaces them. No ctrl+u: when
        # keys arrive together, Textual runs a key binding's action (ctrl+u clears the field)
        # after the printable keys queued behind it, which would clear the digits just typed.
        for key in [*(digit.encode() for digit in str(work.epochs)), b"\r"]:
            session.sleep(0.15)
            session.send(key)
        session.wait_status("training", 120)
        if tab_switching is not None:
            keys = _switch_tabs(session, tab_switching, timeout)
        session.wait_status("idle", timeout)
        session.sleep(0.2)
        session.send(b"q")
        outcome = session.wait_exit(120)
    if outcome.returncode != 0 or not out.is_file():
        raise BenchError(f"the app failed with code {outcome.returncode}")
    probe = json.loads(out.read_text(encoding="utf-8"))
    if not probe["history"]:
        raise BenchError("the app finished without a trained epoch")
    extra = {
        key: probe[key]
        for key in (
            "lag_ms",
            "frame_ms",
            "frame_cpu_ms",
            "gc_training",
            "tabs",
            "frames_training",
            "training_wall_s",
            "ui_thread_cpu_training_s",
            "process_cpu_training_s",
        )
    }
    extra["terminal_bytes"] = outcome.output_bytes
    extra["keys"] = keys
    return ModeRun(
        "app",
        [float(e["seconds"]) for e in probe["history"]],
        outcome.max_rss_mib,
        outcome.seconds,
        probe["test_accuracy"],
        extra,
    )


def _switch_tabs(session: PtySession, plan: TabSwitching, timeout: float) -> list[dict[str, Any]]:
    """Press 2 then 1 repeatedly until training ends; time each key to the frame showing it."""
    keys: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout

    def training_over() -> bool:
        return any(s.get("kind") in ("ended", "failed") for s in session.statuses)

    while not training_over() and time.monotonic() < deadline:
        session.sleep(plan.every_s - plan.stay_s)
        if training_over():
            break
        for key, tab in ((b"2", "mistakes"), (b"1", "train")):
            seen = len(session.statuses)
            sent = session.send(key)
            status = session.wait_status("tab", 30, after=seen)
            if status.get("tab") != tab:
                raise BenchError(f"pressed {key!r} but the app showed {status.get('tab')!r}")
            action_t = status.get("action_t")
            keys.append(
                {
                    "key": key.decode(),
                    "tab": tab,
                    "key_to_frame_ms": (status["frame_t"] - sent) * 1000,
                    "key_to_action_ms": (action_t - sent) * 1000 if action_t else None,
                    "during_training": not training_over(),
                }
            )
            if tab == "mistakes":
                session.sleep(plan.stay_s)
    return keys
