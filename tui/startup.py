"""Starting the app in this terminal: the ML runtime's output to a log file, the screen on
the real terminal."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TextIO, cast

from textual.app import App
from textual.driver import Driver

from core.config import ConfigError, TrainConfig

ENGINE_GRACE_S = 1.0
"""How long a quit waits for the engine thread to finish writing the run's files."""


def _driver_drawing_on(terminal: TextIO, driver_class: type[Driver]) -> type[Driver]:
    """``driver_class``, drawing on ``terminal`` instead of file descriptor 2.

    Textual's Linux driver draws the screen on ``sys.__stderr__``; while the app runs that
    descriptor points at the log file (to catch TensorFlow's C++ output), so the driver is
    handed the real terminal, which ``native_stderr_to`` keeps open for us.
    """
    from textual.drivers.linux_driver import LinuxDriver

    if driver_class is not LinuxDriver:
        return driver_class

    class TerminalDriver(LinuxDriver):
        def __init__(
            self,
            app: App[object],
            *,
            debug: bool = False,
            mouse: bool = True,
            size: tuple[int, int] | None = None,
        ) -> None:
            super().__init__(app, debug=debug, mouse=mouse, size=size)
            # native_stderr_to hands out a TextIOWrapper; TextIO is its declared type.
            self._file = cast("io.TextIOWrapper", terminal)

    return TerminalDriver


def run_app(
    *,
    model: str,
    data_dir: str | None,
    runs_dir: Path,
    limit_train: int | None,
    limit_test: int | None,
) -> int:
    """Run the app in this terminal; TensorFlow's output goes to a log file. Exit code."""
    from core.logs import default_log_path, native_stderr_to, quiet_tensorflow_env
    from tui.app import FmnistApp
    from tui.engine import TrainingEngine, default_loader

    try:
        base_config = TrainConfig(
            model=model, limit_train=limit_train, limit_test=limit_test, data_dir=data_dir
        )
    except ConfigError as error:
        print(f"fmnist-tui: {error}", file=sys.stderr)
        return 2
    quiet_tensorflow_env()
    log_path = default_log_path()
    engine = TrainingEngine(
        dataset_loader=default_loader,
        runs_root=runs_dir,
        model=model,
        data_config=base_config,
    )
    app = FmnistApp(engine=engine, runs_dir=runs_dir, base_config=base_config, log_path=log_path)
    try:
        with native_stderr_to(log_path) as terminal:
            app.driver_class = _driver_drawing_on(terminal, app.driver_class)
            app.run()
            # Quitting asked the engine to abort; a run in flight gets a moment to record how
            # it ended (core checks the abort at every batch). Nothing else is waited for: not
            # an ML-framework import, not an idle engine.
            engine.run_settled.wait(ENGINE_GRACE_S)
    except OSError as error:
        print(f"fmnist-tui: cannot write the log {log_path}: {error}", file=sys.stderr)
        return 1
    code = app.return_code or 0
    if code:
        print(f"fmnist-tui: stopped on an error; details in {log_path}", file=sys.stderr)
    return code
