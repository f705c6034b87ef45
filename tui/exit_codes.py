"""The command's exit codes, shared by the argument parser and the headless commands."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
"""Training failed (a diverged loss, out of memory, a full disk): the log file says more."""
EXIT_USAGE = 2
"""Bad input: an option, a data file, a run folder; one line on stderr says which."""
EXIT_INTERRUPTED = 130
"""Stopped with Ctrl-C (what was learned is saved), or aborted with a second one."""
