"""Broken data, from the command line and in the app: one clear line, never a traceback.

``test_data.py`` checks each fault at the reader (``read_idx_*``, ``load_raw``) and
``test_cli.py`` a missing folder and a truncated file through ``fmnist-tui train``. Here every
kind of fault goes through ``train`` and the app's real engine; folders and files that cannot
be read are made with real permissions where possible (as root, by dropping the capability
that lets root ignore them), and properties cover arbitrary file contents and folder names.
"""

from __future__ import annotations

import asyncio
import errno
import gzip
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import wait_for, write_data_dir
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from textual.widgets import TabbedContent

from core import data
from core.config import TrainConfig
from core.data import (
    DataError,
    load_raw,
    read_idx_images,
    read_idx_labels,
    synthetic_raw,
    write_idx,
)
from tui.app import FmnistApp
from tui.cli import main
from tui.engine import TrainingEngine, default_loader
from tui.exit_codes import EXIT_USAGE
from tui.screens.error import ErrorScreen

ROOT = Path(__file__).resolve().parents[2]
TRAIN, TEST = 50, 20


VALID = synthetic_raw(train=TRAIN, test=TEST, seed=0)
"""A valid synthetic data set, for the faults to be made in."""


def one_line(text: str) -> str:
    assert "Traceback" not in text
    lines = text.strip("\n").splitlines()
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    return lines[0]


# --- The faults ------------------------------------------------------------------------------
# Each breaks a valid folder and returns the path the message must name and a fragment of
# what it must say.

Fault = Callable[[Path], tuple[str, str]]


def truncated_download(folder: Path) -> tuple[str, str]:
    path = folder / f"{data.TRAIN_IMAGES}.gz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return str(path), "not a valid gzip file (the compressed data end early"


def truncated_payload(folder: Path) -> tuple[str, str]:
    path = folder / f"{data.TRAIN_LABELS}.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-7]))
    return str(path), f"truncated: header says {TRAIN} labels but file holds {TRAIN - 7}"


def empty_file(folder: Path) -> tuple[str, str]:
    path = folder / data.TEST_LABELS
    path.write_bytes(b"")
    return str(path), "truncated: 0 bytes is too short for an IDX header"


def wrong_magic(folder: Path) -> tuple[str, str]:
    path = folder / data.TEST_LABELS
    write_idx(path, synthetic_raw(train=1, test=TEST).x_test)  # images where labels go
    return str(path), "wrong magic number 0x00000803 (expected 0x00000801"


def plain_file_named_gz(folder: Path) -> tuple[str, str]:
    path = folder / f"{data.TRAIN_LABELS}.gz"
    path.write_bytes(gzip.decompress(path.read_bytes()))
    return str(path), "not a valid gzip file"


def gzip_file_not_named_gz(folder: Path) -> tuple[str, str]:
    path = folder / data.TEST_IMAGES
    path.write_bytes(gzip.compress(path.read_bytes()))
    return str(path), "so its name should end in .gz"


def counts_disagree(folder: Path) -> tuple[str, str]:
    write_idx(folder / data.TEST_LABELS, synthetic_raw(train=1, test=TEST).y_test[:-3])
    path = folder / data.TEST_IMAGES
    return str(path), f"holds {TEST} images but {data.TEST_LABELS} holds {TEST - 3} labels"


def header_claims_more(folder: Path) -> tuple[str, str]:
    path = folder / data.TEST_IMAGES
    content = bytearray(path.read_bytes())
    content[4:8] = (TEST + 5).to_bytes(4, "big")
    path.write_bytes(bytes(content))
    return str(path), f"header says {TEST + 5} images but file holds {TEST}"


def label_out_of_range(folder: Path) -> tuple[str, str]:
    labels = np.array(synthetic_raw(train=TRAIN, test=1).y_train)
    labels[17] = 200
    path = folder / f"{data.TRAIN_LABELS}.gz"
    write_idx(path, labels)
    return str(path), "label 200 out of range 0-9 (item 17)"


def wrong_image_size(folder: Path) -> tuple[str, str]:
    path = folder / data.TEST_IMAGES
    write_idx(path, np.zeros((TEST, 32, 32), dtype=np.uint8))
    return str(path), "images are 32x32 pixels, expected 28x28"


def missing_file(folder: Path) -> tuple[str, str]:
    (folder / data.TEST_LABELS).unlink()
    return str(folder / data.TEST_LABELS), "missing file: "


def folder_where_a_file_goes(folder: Path) -> tuple[str, str]:
    (folder / data.TEST_LABELS).unlink()
    (folder / data.TEST_LABELS).mkdir()
    return str(folder / data.TEST_LABELS), "missing file: "


FAULTS: dict[str, Fault] = {
    fault.__name__: fault
    for fault in (
        truncated_download,
        truncated_payload,
        empty_file,
        wrong_magic,
        plain_file_named_gz,
        gzip_file_not_named_gz,
        counts_disagree,
        header_claims_more,
        label_out_of_range,
        wrong_image_size,
        missing_file,
        folder_where_a_file_goes,
    )
}


def train_with_data_dir(capfd: pytest.CaptureFixture[str], data_dir: str) -> tuple[int, str]:
    """``fmnist-tui train --epochs 1 --data-dir DATA_DIR`` in-process: (exit code, stderr)."""
    code = main(["train", "--epochs", "1", "--data-dir", data_dir])
    out, err = capfd.readouterr()
    assert out == "", "nothing may be printed before the data are loaded"
    return code, err


@pytest.mark.parametrize("fault", list(FAULTS))
def test_train_with_broken_data_exits_2_naming_the_file(
    capfd: pytest.CaptureFixture[str], tmp_path: Path, fault: str
) -> None:
    folder = write_data_dir(tmp_path / "data", VALID)
    path, fragment = FAULTS[fault](folder)

    code, err = train_with_data_dir(capfd, str(folder))

    assert code == EXIT_USAGE
    line = one_line(err)
    assert line.startswith("fmnist-tui train: error: ")
    assert path in line
    assert fragment in line


@pytest.mark.parametrize(
    ("data_dir", "fragment"),
    [
        ("~nosuchuser-fmnist/data", "--data-dir ~nosuchuser-fmnist/data: no such folder"),
        ("a" * 300, "cannot read the folder: File name too long"),
        ("/dev/null", "--data-dir /dev/null: no such folder"),
        ("bad\x00folder", "no such folder"),
    ],
    ids=["unknown-user-home", "name-too-long", "a-file", "nul-character"],
)
def test_train_with_an_impossible_data_dir_exits_2(
    capfd: pytest.CaptureFixture[str], data_dir: str, fragment: str
) -> None:
    code, err = train_with_data_dir(capfd, data_dir)
    assert code == EXIT_USAGE
    line = one_line(err)
    assert line.startswith("fmnist-tui train: error: ")
    assert fragment in line


def test_an_impossible_env_data_dir_is_one_line(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data.DATA_DIR_ENV, "~nosuchuser-fmnist")
    code = main(["train", "--epochs", "1"])
    _out, err = capfd.readouterr()
    assert code == EXIT_USAGE
    assert one_line(err) == (
        "fmnist-tui train: error: FMNIST_DATA_DIR ~nosuchuser-fmnist: no such folder"
    )


def test_an_unknown_home_in_keras_home_is_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KERAS_HOME", "~nosuchuser-fmnist/keras")
    assert data.keras_cache_dir() == Path("~nosuchuser-fmnist/keras/datasets/fashion-mnist")


# --- Folders and files that cannot be read ----------------------------------------------------


def _unprivileged_prefix(locked: Path) -> list[str]:
    """A command prefix under which file permissions apply, or skip the test.

    As root they do not, so root drops the capabilities that override them (``setpriv``).
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be enforced")
    prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    probe = subprocess.run([*prefix, "test", "-r", str(locked)], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("cannot drop root's permission override here")
    return prefix


@pytest.mark.parametrize("what", ["folder", "file"])
@pytest.mark.slow
def test_unreadable_data_exits_2_in_one_line(tmp_path: Path, what: str) -> None:
    """A real permission error, in a fresh ``fmnist-tui train``."""
    folder = write_data_dir(tmp_path / "data", VALID)
    locked = folder if what == "folder" else folder / data.TEST_IMAGES
    locked.chmod(0)
    try:
        prefix = _unprivileged_prefix(locked)
        result = subprocess.run(
            [
                *prefix,
                *(sys.executable, "-m", "tui.cli", "train", "--epochs", "1"),
                *("--data-dir", str(folder), "--runs-dir", str(tmp_path / "runs")),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "FMNIST_LOG_DIR": str(tmp_path / "logs")},
            timeout=60,
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert result.stdout == ""
    line = one_line(result.stderr)
    reason = "cannot read the folder" if what == "folder" else "cannot read"
    assert line == f"fmnist-tui train: error: {locked}: {reason}: Permission denied"


def deny_access(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make everything inside ``folder`` fail as in a folder without search permission:
    ``stat`` and ``open`` raise EACCES (the folder itself can still be looked at)."""
    real_stat, real_open = os.stat, io.open

    def denied(path: Any) -> bool:
        try:
            return Path(os.fsdecode(path)).parent.is_relative_to(folder)
        except TypeError:  # a file descriptor
            return False

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if denied(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    def open_(file: Any, *args: Any, **kwargs: Any) -> Any:
        if denied(file):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(io, "open", open_)


def test_the_simulated_denial_matches_the_real_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the app test below relies on: the same message as the real denial above."""
    folder = write_data_dir(tmp_path / "data", VALID)
    deny_access(monkeypatch, folder)
    with pytest.raises(DataError) as excinfo:
        load_raw(folder)
    assert str(excinfo.value) == f"{folder}: cannot read the folder: Permission denied"


# --- In the app, through the real engine and loader -------------------------------------------


@pytest.mark.parametrize("fault", ["truncated_download", "label_out_of_range", "unreadable"])
def test_the_app_shows_one_clear_line_for_broken_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    folder = write_data_dir(tmp_path / "data", VALID)
    if fault == "unreadable":
        path, fragment = str(folder), "cannot read the folder: Permission denied"
        deny_access(monkeypatch, folder)
    else:
        path, fragment = FAULTS[fault](folder)
    engine = TrainingEngine(
        dataset_loader=default_loader,
        runs_root=tmp_path / "runs",
        data_config=TrainConfig(data_dir=str(folder)),
    )
    app = FmnistApp(engine=engine, runs_dir=tmp_path / "runs", cursor_blink=False)
    shown: dict[str, str] = {}

    async def scenario() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ErrorScreen)
            shown["title"] = screen.title_text
            shown["message"] = screen.message
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, ErrorScreen)
            assert app.state.data_description == "no data"
            await pilot.press("2")
            assert app.query_one("#tabs", TabbedContent).active == "mistakes"

    asyncio.run(scenario())
    assert shown["title"] == "The data set could not be loaded"
    message = shown["message"]
    assert "\n" not in message and "Traceback" not in message
    assert path in message and fragment in message
    assert not message.startswith(("PermissionError", "OSError", "RuntimeError"))


# --- Properties: any file content, any folder name -------------------------------------------

VALID_LABELS = bytes([0, 0, 8, 1, 0, 0, 0, 5, 0, 1, 2, 9, 3])
VALID_IMAGES = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]) + bytes(range(256)) * 6
VALID_IMAGES = VALID_IMAGES[: 16 + 2 * 28 * 28]


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` truncated, overwritten in places, or with bytes inserted."""
    content = bytearray(original)
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(content)))
        action = draw(st.sampled_from(["cut", "set", "insert", "header"]))
        if action == "cut":
            del content[position:]
        elif action == "set" and position < len(content):
            content[position] = draw(st.integers(0, 255))
        elif action == "insert":
            content[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif action == "header":
            field = draw(st.integers(0, 3)) * 4
            content[field : field + 4] = draw(st.binary(min_size=4, max_size=4))
    return bytes(content)


CONTENTS = st.one_of(
    st.binary(max_size=64),
    damaged(VALID_LABELS),
    damaged(VALID_IMAGES),
    st.just(VALID_LABELS),
    st.just(VALID_IMAGES),
)


@settings(max_examples=300, deadline=None)
@given(
    content=CONTENTS,
    kind=st.sampled_from(["labels", "images"]),
    packing=st.sampled_from(["plain", "gzip", "gzip-damaged", "plain-named-gz"]),
    seed=st.integers(0, 2**16),
)
@example(content=VALID_IMAGES, kind="images", packing="gzip", seed=0)
@example(content=VALID_LABELS, kind="labels", packing="gzip-damaged", seed=3)
def test_any_file_content_is_a_valid_array_or_one_line(
    content: bytes, kind: str, packing: str, seed: int
) -> None:
    name = f"{kind}.gz" if packing != "plain" else kind
    stored = content
    if packing.startswith("gzip"):
        stored = gzip.compress(content, mtime=0)
    if packing == "gzip-damaged" and len(stored) > 10:
        rng = np.random.default_rng(seed)
        damaged_at = int(rng.integers(10, len(stored)))
        stored = stored[:damaged_at] + bytes([stored[damaged_at] ^ 0x5A]) + stored[damaged_at + 1 :]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(stored)
        try:
            array = read_idx_labels(path) if kind == "labels" else read_idx_images(path)
        except DataError as error:
            message = str(error)
            assert len(message.splitlines()) == 1
            assert str(path) in message
            return
    assert array.dtype == np.uint8 and not array.flags.writeable and len(array) > 0
    if kind == "labels":
        assert array.ndim == 1 and int(array.max()) < data.NUM_CLASSES
    else:
        assert array.shape[1:] == (28, 28)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data_dir=st.text(min_size=1))
@example(data_dir="~")
@example(data_dir="~nosuchuser-fmnist")
@example(data_dir="x" * 5000)
@example(data_dir="\x00")
def test_any_data_dir_is_loaded_or_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: str
) -> None:
    # Relative names and ~ land in an empty folder: nothing can be found, all must fail well.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(DataError) as excinfo:
        load_raw(data_dir)
    assert len(str(excinfo.value).splitlines()) == 1
