"""Where fmnist-tui keeps runs and logs: one seam, overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "fmnist-tui"


def _expand(path: str | os.PathLike[str]) -> Path:
    """``~`` and ``~user`` expanded as the shell does; an unknown user's ``~name`` stays as
    typed (``Path.expanduser`` would raise)."""
    return Path(os.path.expanduser(os.fspath(path)))


def runs_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The runs directory: ``override``, else ``$FMNIST_RUNS_DIR``, else the XDG data dir."""
    if override:
        return _expand(override)
    env = os.environ.get("FMNIST_RUNS_DIR")
    if env:
        return _expand(env)
    return Path(platformdirs.user_data_dir(APP_NAME)) / "runs"


def log_dir() -> Path:
    """Where TensorFlow's and the app's logs go: ``$FMNIST_LOG_DIR`` or the XDG state dir."""
    env = os.environ.get("FMNIST_LOG_DIR")
    if env:
        return _expand(env)
    return Path(platformdirs.user_state_dir(APP_NAME)) / "logs"
