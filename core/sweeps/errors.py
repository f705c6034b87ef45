"""The errors a sweep reports: each ``str(error)`` is one line for the user."""

from __future__ import annotations


class SweepError(Exception):
    """A sweep cannot start or go on; ``str(error)`` is one line for the user."""


class SpaceError(SweepError):
    """The space file is unreadable or describes no valid search (the line is named)."""


class StorageError(SweepError):
    """The study's storage cannot be opened or reached (any password is hidden)."""
