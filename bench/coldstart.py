"""Cold start: the app's first frame against a bare ``python -c "import tensorflow"``.

Each round starts, in fresh processes and alternating:

- ``fmnist-tui`` exactly as a user types it, on a 120x40 pseudo-terminal; timed from the
  spawn to the moment the first frame's status line (``Loading TensorFlow…``) arrives on the
  terminal, and on to the moment the status line names the device (TensorFlow imported, in
  the engine thread); then ``q``;
- ``python -c "import tensorflow"``, timed from spawn to exit.

Two settings of Python's bytecode cache are measured, because they change everything:

- ``cached``: the ``.pyc`` files exist (``PYTHONPYCACHEPREFIX`` to a cache that one untimed
  warm-up round fills). This is what an installed program sees from its second start on.
- ``no bytecode``: ``PYTHONDONTWRITEBYTECODE=1`` and no cache, so every start compiles
  TensorFlow's and Textual's Python from source. This is how this sandbox runs by default
  (the variable is set machine-wide and ``uv sync`` compiles nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.common import (
    ROOT,
    BenchError,
    Settings,
    child_env,
    cli_command,
    data_dir_for,
    median,
    progress,
    python,
    run_child,
    write_result,
)
from bench.pty_session import PtySession

NAME = "coldstart"
FIRST_FRAME_MARK = b"Loading TensorFlow"
DEVICE_MARKS = (b"CPU: ", b"GPU: ")


@dataclass(frozen=True, slots=True)
class Plan:
    cached_rounds: int
    uncached_rounds: int
    warm_up: bool


FULL = Plan(cached_rounds=5, uncached_rounds=2, warm_up=True)
QUICK = Plan(cached_rounds=1, uncached_rounds=0, warm_up=False)


def _app_start(settings: Settings, data_dir: str, bytecode: bool, tag: str) -> dict[str, Any]:
    argv = [
        *cli_command(),
        "--data-dir",
        data_dir,
        "--runs-dir",
        str(settings.work_dir / f"runs-{NAME}-{tag}"),
    ]
    env = child_env(settings.work_dir, bytecode=bytecode)
    with PtySession.spawn(argv, env=env, cwd=ROOT, size=(120, 40)) as session:
        first_frame = session.wait_text(FIRST_FRAME_MARK, timeout=120)
        if first_frame is None:
            raise BenchError(f"no first frame within 120 s: {session.tail_text()}")
        device = session.wait_text(*DEVICE_MARKS, timeout=300)
        session.send(b"q")
        outcome = session.wait_exit(300)
    return {
        "first_frame_s": first_frame,
        "tensorflow_ready_in_app_s": device,
        "exit_code": outcome.returncode,
    }


def _import_tensorflow(settings: Settings, bytecode: bool) -> float:
    env = child_env(settings.work_dir, bytecode=bytecode)
    result = run_child([python(), "-c", "import tensorflow"], env=env, timeout=300)
    if result.returncode != 0:
        raise BenchError(f"import tensorflow failed: {result.stderr[-300:]}")
    return result.seconds


def run(settings: Settings) -> dict[str, Any]:
    plan = QUICK if settings.quick else FULL
    cached_rounds = settings.rounds or plan.cached_rounds
    data_dir, data = data_dir_for(settings, NAME)
    if plan.warm_up:
        progress(f"{NAME}: warm-up round (fills the bytecode cache, not counted)")
        _app_start(settings, str(data_dir), True, "warm-up")
        _import_tensorflow(settings, True)
    variants: dict[str, Any] = {}
    for variant, bytecode, rounds in (
        ("cached", True, cached_rounds),
        ("no_bytecode", False, plan.uncached_rounds),
    ):
        if rounds == 0:
            continue
        samples: list[dict[str, Any]] = []
        for index in range(rounds):
            progress(f"{NAME}: {variant} round {index + 1}/{rounds}")
            # Alternate which goes first, so neither always finds the disk cache warmer.
            if index % 2 == 0:
                app = _app_start(settings, str(data_dir), bytecode, f"{variant}-{index}")
                tf_seconds = _import_tensorflow(settings, bytecode)
            else:
                tf_seconds = _import_tensorflow(settings, bytecode)
                app = _app_start(settings, str(data_dir), bytecode, f"{variant}-{index}")
            samples.append({**app, "import_tensorflow_s": tf_seconds})
        first = [s["first_frame_s"] for s in samples]
        imports = [s["import_tensorflow_s"] for s in samples]
        ready = [s["tensorflow_ready_in_app_s"] for s in samples if s["tensorflow_ready_in_app_s"]]
        variants[variant] = {
            "rounds": rounds,
            "first_frame_s": {"median": median(first), "min": min(first), "max": max(first)},
            "import_tensorflow_s": {
                "median": median(imports),
                "min": min(imports),
                "max": max(imports),
            },
            "tensorflow_ready_in_app_s": {"median": median(ready)} if ready else {},
            "first_frame_over_import": median(
                [s["first_frame_s"] / s["import_tensorflow_s"] for s in samples]
            ),
            "samples": samples,
        }
    payload = {
        "config": {"screen": "120x40", "data": data, "command": " ".join(cli_command())},
        "summary": variants,
    }
    write_result(settings, NAME, payload)
    return payload
