"""The lock on a run folder: which process, if any, is training it now.

``.lock`` is held (``flock``) by the process training the run. The kernel drops the lock when
the process dies however it dies, so a run whose history says "running" but whose lock is free
was interrupted. The lock file is opened without following a symbolic link: a ``.lock`` that
points elsewhere (planted, or copied along with a folder) is refused, never written through.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from pathlib import Path

from core.errors import RunError, reraise_os_errors
from core.runs.layout import LOCK_FILE

# Never follow a link, and never wait on a FIFO someone left in the folder.
_OPEN_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK


class RunLock:
    """An exclusive ``flock`` on a run folder, held while a process trains it."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        path = self.run_dir / LOCK_FILE
        with reraise_os_errors(RunError, f"cannot lock {self.run_dir}"):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | _OPEN_FLAGS, 0o644)
            except OSError as error:
                if error.errno == errno.ELOOP and path.is_symlink():
                    raise RunError(
                        f"cannot lock {self.run_dir}: its lock file {path} is a symbolic link"
                    ) from None
                raise
        try:
            with reraise_os_errors(RunError, f"cannot lock {self.run_dir}"):
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    raise RunError(
                        f"cannot lock {self.run_dir}: its lock file {path} is not a regular file"
                    )
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as error:
                    if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                        raise RunError(
                            f"{self.run_dir} is being trained by another process"
                        ) from None
                    raise
        except BaseException:
            os.close(fd)
            raise
        if info.st_nlink == 1:  # a hard link's other name would get the pid too
            with contextlib.suppress(OSError):  # the pid is for people reading the file
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def is_in_use(run_dir: Path) -> bool:
    """Whether some process (this one included) holds the run's lock."""
    try:
        fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY | _OPEN_FLAGS)
    except OSError:
        return False  # no lock file, or a link: nobody can be holding it
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as error:
        return error.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
    finally:
        os.close(fd)
    return False


def effective_status(run_dir: Path, recorded: str) -> str:
    """The status to show: a "running" run that nobody is training was interrupted."""
    if recorded == "running" and not is_in_use(run_dir):
        return "interrupted"
    return recorded
