"""Run a program in a pseudo-terminal, as a user's terminal would, and talk to it.

The parent plays the terminal emulator: it sets the window size, reads (and discards) every
byte the program draws, so the program never blocks on a full terminal, and writes keys. A
second channel, a pipe whose write end the child inherits, carries JSON status lines from a
probe inside the child (see ``bench.app_probe``).

Times on both sides are ``time.perf_counter()``, which on Linux is ``CLOCK_MONOTONIC``: one
clock for every process on the machine, so a key written here and a frame drawn there can be
subtracted.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import BenchError

ANSI_ESCAPE = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
SEARCH_WINDOW = 256 * 1024
"""Bytes of recent output kept for text searches."""


@dataclass(slots=True)
class PtyResult:
    returncode: int
    max_rss_mib: float
    seconds: float
    output_bytes: int


@dataclass(slots=True)
class PtySession:
    """A child process whose terminal is a pseudo-terminal that we hold the other end of."""

    process: subprocess.Popen[bytes]
    master: int
    status_fd: int | None
    started: float
    output_bytes: int = 0
    statuses: list[dict[str, Any]] = field(default_factory=list)
    _recent: bytearray = field(default_factory=bytearray)
    _searched_from: int = 0
    _status_buffer: bytes = b""
    _exit: tuple[int, Any] | None = None
    _output_closed: bool = False

    @classmethod
    def spawn(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        size: tuple[int, int] = (120, 40),
        status_pipe: bool = False,
    ) -> PtySession:
        """Start ``argv`` on a new pseudo-terminal of ``size`` (columns, rows).

        With ``status_pipe`` the child gets the write end of a pipe; its descriptor number is
        appended to ``argv`` as ``--status-fd N``.
        """
        master, slave = os.openpty()
        columns, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        status_read: int | None = None
        pass_fds: tuple[int, ...] = ()
        command = list(argv)
        if status_pipe:
            status_read, status_write = os.pipe()
            pass_fds = (status_write,)
            command += ["--status-fd", str(status_write)]
        started = time.perf_counter()
        try:
            process = subprocess.Popen(
                command,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=dict(env),
                cwd=cwd,
                pass_fds=pass_fds,
                start_new_session=True,
            )
        finally:
            os.close(slave)
            for fd in pass_fds:
                os.close(fd)
        os.set_blocking(master, False)
        if status_read is not None:
            os.set_blocking(status_read, False)
        return cls(process, master, status_read, started)

    # --- I/O -------------------------------------------------------------------------------

    def pump(self, timeout: float) -> None:
        """Read whatever the child wrote within ``timeout`` seconds; notice its exit."""
        fds = [fd for fd in (self.master, self.status_fd) if fd is not None]
        if self._output_closed:
            fds.remove(self.master)
        if fds:
            ready, _, _ = select.select(fds, [], [], timeout)
        else:
            time.sleep(timeout)
            ready = []
        if self.master in ready:
            self._read_output()
        if self.status_fd is not None and self.status_fd in ready:
            self._read_status()
        self._poll_exit()

    def _read_output(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno == errno.EIO:  # the child closed its terminal
                    self._output_closed = True
                    return
                raise
            if not chunk:
                self._output_closed = True
                return
            self.output_bytes += len(chunk)
            self._recent += chunk
            if len(self._recent) > SEARCH_WINDOW:
                cut = len(self._recent) - SEARCH_WINDOW
                del self._recent[:cut]
                self._searched_from = max(0, self._searched_from - cut)

    def _read_status(self) -> None:
        assert self.status_fd is not None
        while True:
            try:
                chunk = os.read(self.status_fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._status_buffer += chunk
        *lines, self._status_buffer = self._status_buffer.split(b"\n")
        for line in lines:
            if line.strip():
                self.statuses.append(json.loads(line))

    def _poll_exit(self) -> None:
        if self._exit is not None:
            return
        pid, status, rusage = os.wait4(self.process.pid, os.WNOHANG)
        if pid:
            self.process.returncode = os.waitstatus_to_exitcode(status)
            self._exit = (self.process.returncode, rusage)

    @property
    def exited(self) -> bool:
        return self._exit is not None

    def send(self, data: bytes) -> float:
        """Type ``data`` on the terminal; returns the time it was written."""
        os.write(self.master, data)
        return time.perf_counter()

    # --- Waiting -----------------------------------------------------------------------------

    def wait_status(self, kind: str, timeout: float, after: int = 0) -> dict[str, Any]:
        """The first status line of ``kind`` at index ``after`` or later, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            for status in self.statuses[after:]:
                if status.get("kind") == kind:
                    return status
            if self.exited:
                self.pump(0)
                for status in self.statuses[after:]:
                    if status.get("kind") == kind:
                        return status
                raise BenchError(
                    f"the app exited (code {self._exit_code()}) before {kind!r}: {self.tail_text()}"
                )
            if time.monotonic() > deadline:
                raise BenchError(
                    f"no {kind!r} from the app within {timeout:.0f} s; screen: {self.tail_text()}"
                )
            self.pump(0.05)

    def wait_text(self, *texts: bytes, timeout: float) -> float | None:
        """When one of ``texts`` next appears in the output (seconds after spawn), or None.

        The search goes on from the end of the last match, so successive calls find
        successive appearances.
        """
        deadline = time.monotonic() + timeout
        longest = max(len(text) for text in texts)
        while True:
            found = [
                position
                for text in texts
                if (position := self._recent.find(text, self._searched_from)) >= 0
            ]
            if found:
                self._searched_from = min(found) + 1
                return time.perf_counter() - self.started
            self._searched_from = max(self._searched_from, len(self._recent) - longest)
            if time.monotonic() > deadline or self._output_closed:
                return None
            self.pump(0.005)

    def tail_text(self, limit: int = 600) -> str:
        """The end of the output as plain text (escape sequences removed), for error messages."""
        text = ANSI_ESCAPE.sub(b"", bytes(self._recent[-20000:])).decode("utf-8", "replace")
        return " ".join(text.split())[-limit:]

    def sleep(self, seconds: float) -> None:
        """Keep reading the terminal for ``seconds``."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            self.pump(min(left, 0.05))

    def wait_exit(self, timeout: float) -> PtyResult:
        deadline = time.monotonic() + timeout
        while not self.exited:
            if time.monotonic() > deadline:
                self.kill()
                raise BenchError(f"the child did not exit within {timeout:.0f} s")
            self.pump(0.05)
        # Drain what it wrote last.
        for _ in range(20):
            if self._output_closed:
                break
            self.pump(0.01)
        return self._result()

    def _exit_code(self) -> int | None:
        return None if self._exit is None else self._exit[0]

    def _result(self) -> PtyResult:
        assert self._exit is not None
        code, rusage = self._exit
        return PtyResult(
            returncode=code,
            max_rss_mib=rusage.ru_maxrss / 1024,
            seconds=time.perf_counter() - self.started,
            output_bytes=self.output_bytes,
        )

    def kill(self) -> PtyResult | None:
        """End the child (its whole session) and reap it."""
        if self._exit is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            _, status, rusage = os.wait4(self.process.pid, 0)
            self.process.returncode = os.waitstatus_to_exitcode(status)
            self._exit = (self.process.returncode, rusage)
        return self._result()

    def close(self) -> None:
        if self._exit is None:
            self.kill()
        for fd in (self.master, self.status_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def __enter__(self) -> PtySession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
