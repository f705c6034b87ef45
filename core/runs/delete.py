"""Deleting a run folder, never one that is being trained and never anything else.

A run is deleted under its own lock (:mod:`core.runs.lock`): while the lock is held no process
can start training it, and a process training it now holds the lock, so the deletion is
refused. The folder is first renamed to a hidden name beside it, which the listing skips and
which nothing resumes from, then removed; a removal that fails half-way puts the name back,
so what is left lists (as damaged) and can be deleted again.

Only a real run folder is deleted: a symbolic link is refused, not followed (neither is any
link inside the folder: the link goes, its target stays), and so is a folder with neither
``config.json`` nor ``history.json``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from core.errors import RunError, reraise_os_errors
from core.runs.layout import CONFIG_JSON, HISTORY_JSON
from core.runs.lock import RunLock, is_in_use

_HIDDEN_PREFIX = ".deleting-"
BEING_TRAINED = "it is being trained now"


def check_deletable(run_dir: Path) -> None:
    """Raise :class:`RunError` (one line) unless ``run_dir`` is a run folder that nobody is
    training now; nothing is written (what to ask about before :func:`delete_run`)."""
    run_dir = _absolute(run_dir)
    _check_run_folder(run_dir)
    if is_in_use(run_dir):
        raise RunError(f"cannot delete {run_dir}: {BEING_TRAINED}")


def delete_run(run_dir: Path) -> None:
    """Remove the run folder ``run_dir`` and everything in it.

    Raises:
        RunError: it is being trained, is not a run folder (a symbolic link, a file, a folder
            without ``config.json`` or ``history.json``), or cannot be removed; one line.
    """
    run_dir = _absolute(run_dir)
    _check_run_folder(run_dir)
    hidden = run_dir.with_name(f"{_HIDDEN_PREFIX}{run_dir.name}")
    with _locked(run_dir):
        with reraise_os_errors(RunError, f"cannot delete {run_dir}"):
            if hidden.exists() or hidden.is_symlink():
                # Left by a deletion that failed and could not even put the name back.
                raise RunError(f"cannot delete {run_dir}: {hidden} is in the way")
            os.rename(run_dir, hidden)
        try:
            with reraise_os_errors(RunError, f"cannot delete {run_dir}", name_file=True):
                # rmtree works from open folder descriptors and unlinks links without
                # following them, so nothing outside the folder can be reached through one.
                shutil.rmtree(hidden)
        except RunError:
            with contextlib.suppress(OSError):
                os.rename(hidden, run_dir)
            raise


def _absolute(run_dir: Path) -> Path:
    """``run_dir`` made absolute without resolving links (``.`` has no name to rename)."""
    return Path(os.path.abspath(run_dir))


def _check_run_folder(run_dir: Path) -> None:
    with reraise_os_errors(RunError, f"cannot delete {run_dir}"):
        try:
            info = run_dir.lstat()
        except FileNotFoundError:
            raise RunError(f"cannot delete {run_dir}: no such folder") from None
        if stat.S_ISLNK(info.st_mode):
            raise RunError(
                f"cannot delete {run_dir}: it is a symbolic link (delete the folder it points to)"
            )
        if not stat.S_ISDIR(info.st_mode):
            raise RunError(f"cannot delete {run_dir}: not a run folder")
        if not any(_is_file(run_dir / name) for name in (CONFIG_JSON, HISTORY_JSON)):
            raise RunError(
                f"cannot delete {run_dir}: not a run folder (it has no {CONFIG_JSON} or "
                f"{HISTORY_JSON})"
            )


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    try:
        lock = RunLock(run_dir).acquire()
    except RunError as error:
        reason = str(error)
        if reason.endswith("is being trained by another process"):
            raise RunError(f"cannot delete {run_dir}: {BEING_TRAINED}") from None
        raise RunError(f"cannot delete {run_dir}: {reason.split(': ', 1)[-1]}") from None
    try:
        yield
    finally:
        lock.release()
