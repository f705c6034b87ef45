"""core's errors about files, and the one way an OS error becomes one of them.

A run folder, an export or a TensorBoard file that cannot be read or written is the user's
problem to fix (a full disk, a permission, a damaged file), not a bug: it reaches them as one
line that names the file and the reason, never as a traceback. These errors subclass
:class:`OSError`, so code that handles "the disk said no" catches them too.

Errors about values rather than files stay beside the code that checks them: ``ConfigError``
(``core.config``), ``DataError`` (``core.data``) and ``BackendError`` (``core.backend``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from core.files import os_reason


class RunError(OSError):
    """A run folder cannot be written or read; ``str(error)`` is one line for the user."""


class ExportError(OSError):
    """A report file could not be written; ``str(error)`` is one line for the user."""


class TensorBoardError(RunError):
    """Event files cannot be written; ``str(error)`` is one line for the user.

    Training need not stop for it: the run's own files are written apart from these.
    """


@contextmanager
def reraise_os_errors(
    error_type: type[OSError], action: str, *, name_file: bool = False
) -> Iterator[None]:
    """Turn an :class:`OSError` raised in the block into ``error_type("{action}: {reason}")``.

    ``action`` says what was being done and to what (``f"cannot write {path}"``); the reason
    is the OS's short phrase (``No space left on device``). An ``error_type`` raised in the
    block already says what went wrong and passes through as it is.

    Args:
        error_type: the domain error to raise, one of the classes above.
        action: the start of the message.
        name_file: add the file the OS error names, for actions that touch several files.
    """
    try:
        yield
    except error_type:
        raise
    except OSError as error:
        reason = os_reason(error)
        if name_file and error.filename:
            reason = f"{reason} ({error.filename})"
        raise error_type(f"{action}: {reason}") from error
