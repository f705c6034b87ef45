"""Writing files so that a crash never leaves half of one, and OS errors as one line of text.

Every file fmnist-tui writes (run folders, checkpoints, exports, benchmark results) goes
through :func:`atomic_path`: the data go to a temporary file beside the target, are flushed to
disk, and the temporary file is renamed over the target. A kill at any instant leaves the old
file or the new one. The new file gets the mode a plain ``open()`` would give it (``0666``
less the umask), not ``mkstemp``'s ``0600``: on a shared GPU box, teammates can read a run
exactly when the user's umask says they may.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_UMASK_LOCK = threading.Lock()


def os_reason(error: OSError) -> str:
    """The reason an OS call failed, as a short phrase (``No space left on device``)."""
    if error.strerror:
        reason = error.strerror
    elif error.errno is not None:
        reason = os.strerror(error.errno)
    else:
        reason = str(error) or type(error).__name__
    return " ".join(reason.split())


def one_line(error: BaseException) -> str:
    """``Type: first line of the message``, fit for a notification or a status line."""
    text = str(error).strip()
    first = text.splitlines()[0].strip() if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message, else its type's name."""
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # Elsewhere the only way is to set it and set it back: serialise that among our threads.
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def plain_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: ``0666`` less the umask."""
    return 0o666 & ~current_umask()


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (it survives a power cut, not only a kill)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as error:
        # Some file systems cannot sync a directory; the rename itself has happened.
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds.

    The temporary name keeps ``path``'s suffix because some writers (Keras) insist on it.
    A crash at any instant leaves either the old file or the new one, never half of one. The
    new file's mode honours the umask, as a plain ``open()`` would.
    """
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        # mkstemp creates 0600 whatever the umask; writers that replace the file (Keras)
        # create it with open()'s mode. Either way, set what open() would have given.
        os.chmod(tmp, plain_file_mode())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_with(path: Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically with ``write(tmp_path)``; OS errors propagate."""
    with atomic_path(path) as tmp:
        write(tmp)
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; OS errors propagate."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as stream:
            stream.write(data)

    return write_with(path, write)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; OS errors propagate."""
    return write_bytes(path, text.encode("utf-8"))


def write_json_file(path: Path, data: Any, *, default: Callable[[Any], Any] | None = None) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically; OS errors propagate."""
    return write_text(path, json.dumps(data, indent=2, default=default) + "\n")
