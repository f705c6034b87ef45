"""The shared file helpers: atomic writes that honour the umask, and one-line error text."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.files import atomic_path, current_umask, one_line, os_reason, write_bytes, write_json_file


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_files_get_the_mode_open_would_give(tmp_path: Path, umask: int) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = write_bytes(tmp_path / "atomic.bin", b"data")
    as_json = write_json_file(tmp_path / "data.json", {"a": 1})
    assert current_umask() == umask
    assert mode(written) == mode(plain) == 0o666 & ~umask
    assert mode(as_json) == 0o666 & ~umask


def test_a_writer_that_replaces_the_file_still_gets_the_umask_mode(
    tmp_path: Path, umask: int
) -> None:
    target = tmp_path / "model.keras"
    with atomic_path(target) as tmp:
        tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"weights")
        os.close(fd)
    assert mode(target) == 0o666 & ~umask
    assert target.read_bytes() == b"weights"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = write_bytes(tmp_path / "keep.txt", b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_error_text_is_one_line() -> None:
    spread = OSError(errno.ENOSPC, "No space\n left on device")
    assert os_reason(spread) == "No space left on device"
    assert os_reason(OSError(errno.EACCES, "")) == os.strerror(errno.EACCES)
    assert one_line(ValueError("first\nsecond")) == "ValueError: first"
    assert one_line(KeyError()) == "KeyError"
