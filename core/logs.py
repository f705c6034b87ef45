"""Keep TensorFlow's output off the terminal.

TensorFlow's C++ runtime writes straight to file descriptor 2 (the oneDNN notice appears on
every import, whatever ``TF_CPP_MIN_LOG_LEVEL`` says), so redirecting ``sys.stderr`` is not
enough: the descriptor itself is pointed at a log file, and restored afterwards.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TextIO

from core.locations import log_dir

QUIET_TF_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_CPP_MAX_VLOG_LEVEL": "0",
    "ABSL_MIN_LOG_LEVEL": "2",
}
"""The backend is not chosen here: :func:`core.backend.select_backend` does that."""


def quiet_tensorflow_env() -> None:
    """Ask TensorFlow to log less; call before it is imported. User settings win."""
    for key, value in QUIET_TF_ENV.items():
        os.environ.setdefault(key, value)


def default_log_path(name: str = "fmnist-tui") -> Path:
    return log_dir() / f"{name}-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"


@contextmanager
def native_stderr_to(log_path: Path) -> Iterator[TextIO]:
    """Point file descriptor 2 at ``log_path`` for the duration; yield the real terminal.

    Python's ``sys.stderr``, warnings and the ``tensorflow``/``absl`` loggers follow the
    descriptor into the log. The yielded stream writes to the original stderr, for the
    messages meant for the user.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved_fd = os.dup(2)
    log_file = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
    terminal = io.TextIOWrapper(
        os.fdopen(os.dup(saved_fd), "wb", buffering=0),
        encoding="utf-8",
        line_buffering=True,
        write_through=True,
    )
    os.dup2(log_file.fileno(), 2)
    old_stderr = sys.stderr
    sys.stderr = log_file
    handler = logging.StreamHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("tensorflow", "absl", "py.warnings", "core")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    logging.captureWarnings(True)
    with warnings.catch_warnings():
        # Python's own filters stay: library deprecation notices (Keras calls numpy in
        # ways numpy 2 frowns on) are for library authors, not for this log.
        try:
            yield terminal
        finally:
            logging.captureWarnings(False)
            for logger in loggers:
                logger.removeHandler(handler)
                logger.propagate = True
            sys.stderr = old_stderr
            log_file.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            terminal.close()
            log_file.close()
