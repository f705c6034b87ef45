"""Where fmnist-tui keeps runs and logs: one seam, overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "fmnist-tui"


def runs_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The runs directory: ``override``, else ``$FMNIST_RUNS_DIR``, else the XDG data dir."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("FMNIST_RUNS_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / "runs"


def log_dir() -> Path:
    """Where TensorFlow's and the app's logs go: ``$FMNIST_LOG_DIR`` or the XDG state dir."""
    env = os.environ.get("FMNIST_LOG_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_state_dir(APP_NAME)) / "logs"
