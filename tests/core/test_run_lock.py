"""The lock file is opened without following links: a ``.lock`` that points elsewhere is refused,
and nothing is ever written through it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import RunError
from core.runs.layout import LOCK_FILE
from core.runs.lock import RunLock, is_in_use


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("a file someone cares about\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / LOCK_FILE).symlink_to(target)

    with pytest.raises(RunError) as raised:
        RunLock(run_dir).acquire()
    message = str(raised.value)
    assert "\n" not in message
    assert message == (
        f"cannot lock {run_dir}: its lock file {run_dir / LOCK_FILE} is a symbolic link"
    )
    assert target.read_text() == "a file someone cares about\n"
    assert (run_dir / LOCK_FILE).is_symlink()


def test_a_dangling_link_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "created.txt"
    target.parent.mkdir()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / LOCK_FILE).symlink_to(target)
    with pytest.raises(RunError, match="is a symbolic link"):
        RunLock(run_dir).acquire()
    assert not target.exists()


def test_a_link_to_a_held_lock_is_not_in_use(tmp_path: Path) -> None:
    # The other run's lock is held; a link to it says nothing about this run.
    other, run_dir = tmp_path / "other", tmp_path / "run"
    other.mkdir()
    run_dir.mkdir()
    with RunLock(other):
        assert is_in_use(other)
        (run_dir / LOCK_FILE).symlink_to(other / LOCK_FILE)
        assert not is_in_use(run_dir)


def test_a_hard_linked_lock_file_is_locked_but_not_written(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    os.link(target, run_dir / LOCK_FILE)
    with RunLock(run_dir):
        assert is_in_use(run_dir)
    assert target.read_text() == "keep me\n"


def test_a_plain_lock_file_gets_the_pid(tmp_path: Path) -> None:
    with RunLock(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        assert is_in_use(tmp_path)
    assert not is_in_use(tmp_path)
