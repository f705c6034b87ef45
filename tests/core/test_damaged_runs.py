"""A damaged file costs its own run, never the listing: every file of a real run folder, damaged
at random (random bytes, cut short, bytes flipped, a value of the wrong type), leaves
``list_runs``, ``load_run``, ``plan_resume``, ``fmnist-tui runs`` and ``fmnist-tui export``
answering with a reason at worst, and the run beside it listing, opening and resuming as before.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from helpers import train_new
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import core.export
from core.config import TrainConfig
from core.data import Dataset
from core.errors import RunError
from core.runs.catalogue import RunListing, list_runs, load_run
from core.runs.layout import EVALUATION_NPZ
from core.runs.resume import plan_resume
from tui.cli import main
from tui.exit_codes import EXIT_OK, EXIT_USAGE

GOOD = "20250101-000000-seed"
VICTIM = "20250102-000000-seed"


@pytest.fixture(scope="module")
def trained_run(synthetic_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder: two epochs on synthetic data, evaluated, with checkpoints and
    TensorBoard files."""
    _, result, _ = train_new(
        synthetic_dataset, tmp_path_factory.mktemp("trained"), TrainConfig(epochs=2)
    )
    assert result.run_dir is not None and result.saved
    return result.run_dir


class RunFiles(dict[str, bytes]):
    """A run folder's files by relative path (shown by name only: a failing example's report
    would otherwise print megabytes of models)."""

    def __repr__(self) -> str:
        return f"RunFiles({sorted(self)})"


@pytest.fixture(scope="module")
def run_files(trained_run: Path) -> RunFiles:
    """Every file the run folder holds that a reader may open, by relative path."""
    files = RunFiles(
        {
            path.relative_to(trained_run).as_posix(): path.read_bytes()
            for path in sorted(trained_run.rglob("*"))
            if path.is_file() and not path.name.startswith(".")
        }
    )
    names = set(files)
    for expected in ("config.json", "history.json", "metrics.json", "evaluation.npz"):
        assert expected in names
    assert {"model.keras", "history.csv"} <= names
    assert sum(name.startswith("checkpoints/") for name in names) == 4  # 2 x state + model
    assert sum(name.startswith("tensorboard/") for name in names) == 3
    return files


DRAWN_FROM = ("history.json", "evaluation.npz")
"""The files an export's PNGs are drawn from: damage to any other leaves the drawing as it is
for the undamaged run (:func:`good_listing` draws that once)."""


@pytest.fixture(scope="module")
def cheap_pngs() -> Iterator[None]:
    """Draw the export's PNGs at a tenth of their size: the drawing is what is tested, the
    pixels are not, and full-size images would take most of each example's time."""
    dpi = core.export.DPI
    core.export.DPI = 12
    yield
    core.export.DPI = dpi


@contextlib.contextmanager
def pngs_not_drawn() -> Iterator[None]:
    """Write a stand-in for each PNG (a blank pixel) instead of drawing it."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")

    def placeholder(figure: object, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
        return path

    with mock.patch.object(core.export, "_save", placeholder):
        yield


def copy_run(source: Path, target: Path) -> Path:
    """A copy of ``source``; its models are hard links (they are never written in place, and
    :func:`damage` replaces a file rather than writing into it)."""

    def link_or_copy(src: str, dst: str) -> object:
        if src.endswith(".keras"):
            os.link(src, dst)
            return dst
        return shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link_or_copy)
    return target


def damage(path: Path, content: bytes) -> None:
    path.unlink()
    path.write_bytes(content)


# --- What damage can be done -------------------------------------------------------------

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**20, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document a value can be swapped, the document itself included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += json_paths(child, (*prefix, index))
    return found


def swapped(document: Any, where: tuple[Any, ...], value: Any) -> Any:
    if not where:
        return value
    container = document
    for step in where[:-1]:
        container = container[step]
    container[where[-1]] = value
    return document


@st.composite
def wrong_json_type(draw: st.DrawFn, content: bytes) -> bytes:
    document = json.loads(content)
    where = draw(st.sampled_from(json_paths(document)))
    value = draw(JSON_VALUES)
    return json.dumps(swapped(document, where, value)).encode()


NPZ_ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.uint8, np.int32, np.int64, np.float32, np.float64, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
)


@st.composite
def wrong_npz_array(draw: st.DrawFn, content: bytes) -> bytes:
    with np.load(io.BytesIO(content)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    name = draw(st.sampled_from(sorted(arrays)))
    if draw(st.booleans()):
        arrays[name] = draw(NPZ_ARRAYS)
    else:
        del arrays[name]
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


@st.composite
def flipped(draw: st.DrawFn, content: bytes) -> bytes:
    data = bytearray(content)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(data) - 1))
        data[index] ^= draw(st.integers(1, 255))
    return bytes(data)


def damages(name: str, content: bytes) -> st.SearchStrategy[bytes]:
    kinds = [
        st.binary(max_size=300),
        st.integers(0, max(len(content) - 1, 0)).map(lambda size: content[:size]),
        flipped(content),
    ]
    if name.endswith(".json"):
        kinds.append(wrong_json_type(content))
    if name.endswith(".npz"):
        kinds.append(wrong_npz_array(content))
    return st.one_of(kinds)


# --- What must hold ------------------------------------------------------------------------


def listing_of(root: Path, name: str) -> RunListing:
    [listing] = [run for run in list_runs(root) if run.path.name == name]
    return replace(listing, path=Path(name))


def check_every_reader(root: Path, out: Path) -> None:
    """Everything that reads the damaged run answers with a reason at worst."""
    victim, good = root / VICTIM, root / GOOD
    listings = list_runs(root)
    assert [run.path.name for run in listings] == [VICTIM, GOOD]
    problem = listings[0].problem
    assert problem is None or "\n" not in problem

    for read in (load_run, lambda path: plan_resume(path, 1)):
        try:
            read(victim)
        except RunError as error:
            assert "\n" not in str(error) and str(error)

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main(["runs", "--runs-dir", str(root)]) == EXIT_OK
    assert str(victim) in stdout.getvalue() and str(good) in stdout.getvalue()

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["export", str(victim), "--out", str(out), "--tensorboard"])
    assert code in (EXIT_OK, EXIT_USAGE)
    if code == EXIT_USAGE:
        [line] = stderr.getvalue().splitlines()
        assert line.startswith("fmnist-tui export: error: ")


@pytest.fixture(scope="module")
def good_listing(trained_run: Path, cheap_pngs: None) -> RunListing:
    """How the undamaged run lists; and it exports, drawn for real."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        copy_run(trained_run, root / GOOD)
        out = root / "out"
        assert main(["export", str(root / GOOD), "--out", str(out), "--tensorboard"]) == EXIT_OK
        assert (out / core.export.CONFUSION_PNG).stat().st_size > 1000
        return listing_of(root, GOOD)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # isolated_env: environment variables only
    ],
)
@given(data=st.data())
def test_a_damaged_file_costs_only_its_own_run(
    trained_run: Path,
    run_files: RunFiles,
    good_listing: RunListing,
    cheap_pngs: None,
    data: st.DataObject,
) -> None:
    name = data.draw(st.sampled_from(sorted(run_files)), label="file")
    content = data.draw(damages(name, run_files[name]), label="content")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "runs"
        copy_run(trained_run, root / GOOD)
        victim = copy_run(trained_run, root / VICTIM)
        damage(victim / name, content)

        drawing = contextlib.nullcontext() if name in DRAWN_FROM else pngs_not_drawn()
        with drawing:
            check_every_reader(root, Path(scratch) / "out")

        assert listing_of(root, GOOD) == good_listing
        good = load_run(root / GOOD)
        assert [m.epoch for m in good.history] == [1, 2]
        assert plan_resume(root / GOOD, 1).final_epoch == 3


# --- The damage reported, one by one -------------------------------------------------------


def cut_in_half(content: bytes) -> bytes:
    return content[: len(content) // 2]


def flip_a_byte(content: bytes) -> bytes:
    data = bytearray(content)
    data[200] ^= 0xFF  # inside the compressed labels: the CRC check catches it
    return bytes(data)


def two_test_losses(content: bytes) -> bytes:
    with np.load(io.BytesIO(content)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["test_loss"] = np.array([0.25, 0.5])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (cut_in_half, "File is not a zip file"),
        (flip_a_byte, "Bad CRC-32"),
        (two_test_losses, "test_loss"),
    ],
)
def test_a_damaged_evaluation_is_the_runs_reason(
    trained_run: Path,
    run_files: RunFiles,
    cheap_pngs: None,
    tmp_path: Path,
    change: Callable[[bytes], bytes],
    reason: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "runs"
    copy_run(trained_run, root / GOOD)
    victim = copy_run(trained_run, root / VICTIM)
    damage(victim / EVALUATION_NPZ, change(run_files[EVALUATION_NPZ]))

    damaged, good = list_runs(root)
    assert damaged.status == "damaged" and good.status == "finished"
    assert damaged.problem is not None and reason in damaged.problem
    assert damaged.problem.startswith(f"{victim / EVALUATION_NPZ}: ")
    with pytest.raises(RunError, match=reason):
        load_run(victim)

    capsys.readouterr()
    assert main(["runs", "--runs-dir", str(root)]) == EXIT_OK
    listed = capsys.readouterr().out
    assert f"damaged: {damaged.problem}" in listed and str(root / GOOD) in listed

    assert main(["export", str(victim), "--out", str(tmp_path / "out")]) == EXIT_USAGE
    [line] = capsys.readouterr().err.splitlines()
    assert reason in line


@pytest.mark.parametrize(
    ("file_name", "where", "value", "reason"),
    [
        # Finite but near float64's limit: the plot's axis would overflow.
        ("history.json", ("epochs", 0, "accuracy"), 1e308, "accuracy 1e+308 is out of range"),
        ("history.json", ("epochs", 1, "epoch"), 10**30, "out of range"),
        ("history.json", ("planned_epochs",), 10**400, "planned_epochs"),
        ("history.json", ("early_stopping",), {"best_epoch": 1}, "stopped_epoch"),
        ("history.json", ("status",), ["finished"], "status"),
        ("config.json", ("seed",), 10**400, "seed"),
        ("config.json", ("seed",), [0], "seed"),
    ],
    ids=[
        "accuracy-near-float64-max",
        "epoch-too-large",
        "planned-epochs-too-large",
        "early-stopping-half-missing",
        "status-a-list",
        "seed-too-large",
        "seed-a-list",
    ],
)
def test_a_value_the_export_cannot_use_is_the_runs_reason(
    trained_run: Path,
    run_files: RunFiles,
    cheap_pngs: None,
    tmp_path: Path,
    file_name: str,
    where: tuple[Any, ...],
    value: Any,
    reason: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "runs"
    victim = copy_run(trained_run, root / VICTIM)
    document = swapped(json.loads(run_files[file_name]), where, value)
    damage(victim / file_name, json.dumps(document).encode())

    [listing] = list_runs(root)
    assert listing.status == "damaged"
    assert listing.problem is not None and reason in listing.problem
    assert file_name in listing.problem
    out = tmp_path / "out"
    assert main(["export", str(victim), "--out", str(out), "--tensorboard"]) == EXIT_USAGE
    [line] = capsys.readouterr().err.splitlines()
    assert reason in line
