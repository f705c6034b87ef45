"""A full disk or a read-only folder while a checkpoint, an export or a run is saved: one clear
line, and the files that were there before are intact.

The disk fills for real on a tiny ``tmpfs`` (as root; skipped where mounting is not allowed),
folders are read-only for real in a subprocess that drops root's permission override
(``setpriv``, as in ``test_data_faults.py``), and end-of-run saves fail by a simulated
``ENOSPC`` at ``fsync`` (where a full disk surfaces for data the kernel has buffered).

Already covered elsewhere, not repeated here: a checkpoint whose rename fails
(``test_checkpoints.py``), ``write_json`` and a single PNG failing at ``fsync`` or ``replace``
(``test_pipeline_runs.py``, ``test_export.py``), a runs folder under a file (``test_cli.py``).
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import fmnist_tui, run_request, session_for, train_new, wait_for, write_data_dir
from PIL import Image
from textual.widgets import Input
from tui_fakes import fake_evaluation, fake_metrics, synthetic_loader

from core.config import TrainConfig
from core.data import (
    Dataset,
    synthetic_raw,
)
from core.errors import ExportError
from core.events import RunSaved, TrainingEvent, TrainingFailed
from core.export import ACCURACY_LOSS_PNG, CONFUSION_PNG, MISCLASSIFIED_PNG
from core.requests import ContinueRun, NewRun
from core.runs.catalogue import list_runs, load_run
from core.runs.checkpoints import latest_checkpoint, read_checkpoint
from core.runs.layout import (
    CHECKPOINTS_DIR,
    EVALUATION_NPZ,
    HISTORY_JSON,
    LOCK_FILE,
    METRICS_JSON,
    MODEL_FILE,
    save_config,
    save_evaluation,
    save_history,
)
from core.runs.resume import plan_resume
from core.session import RunSession
from tui.app import FmnistApp
from tui.engine import TrainingEngine
from tui.exit_codes import EXIT_FAILED, EXIT_USAGE
from tui.screens.error import ErrorScreen
from tui.screens.train_dialog import TrainDialog

ENOSPC = os.strerror(errno.ENOSPC)
PNGS = (ACCURACY_LOSS_PNG, MISCLASSIFIED_PNG, CONFUSION_PNG)
"""In the order ``export_all`` writes them."""
END_OF_RUN_FILES = (MODEL_FILE, EVALUATION_NPZ, METRICS_JSON)
"""In the order a finished run saves them: metrics.json last, as the mark of a complete run."""
PAGE = 4096


# --- Helpers -------------------------------------------------------------------------------


def cli(
    tmp_path: Path, *args: str, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``fmnist-tui ARGS`` in a fresh process, its log in ``tmp_path/logs``."""
    return subprocess.run(
        [*prefix, *fmnist_tui(), *args],
        env={**os.environ, "FMNIST_LOG_DIR": str(tmp_path / "logs")},
        capture_output=True,
        text=True,
        timeout=240,
    )


def error_line(stderr: str, command: str) -> str:
    """The single error line of ``fmnist-tui COMMAND`` (a training failure adds the log's)."""
    assert "Traceback" not in stderr
    lines = stderr.strip("\n").splitlines()
    if command == "train" and len(lines) == 2:
        assert lines[1].startswith("fmnist-tui train: log: "), lines
        lines = lines[:1]
    assert len(lines) == 1, f"expected one error line, got {lines!r}"
    assert lines[0].startswith(f"fmnist-tui {command}: error: "), lines
    return lines[0]


def snapshot(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under ``folder`` (itself included): its mode and, for files, its bytes."""
    paths = [folder, *sorted(folder.rglob("*"))]
    return {
        str(p.relative_to(folder)): (p.stat().st_mode, p.read_bytes() if p.is_file() else None)
        for p in paths
    }


def hidden_leftovers(folder: Path) -> list[str]:
    """Temporary files or folders left anywhere under ``folder`` (the lock file is no temp)."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob(".*")
        if p.name != LOCK_FILE and not p.name.startswith(".nfs")
    )


def committed_checkpoints(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / CHECKPOINTS_DIR).iterdir())


def epochs_in_history(run_dir: Path) -> list[int]:
    return [row["epoch"] for row in json.loads((run_dir / HISTORY_JSON).read_text())["epochs"]]


def fail_fsync(monkeypatch: pytest.MonkeyPatch, matches: Callable[[Path], bool]) -> list[Path]:
    """Make ``os.fsync`` raise ENOSPC for the files ``matches`` picks, as a full disk does
    when the kernel cannot place data it had buffered. Returns the paths it failed."""
    real_fsync = os.fsync
    failed: list[Path] = []

    def fsync(fd: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if matches(path):
            failed.append(path)
            raise OSError(errno.ENOSPC, ENOSPC)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return failed


def writing(name: str) -> Callable[[Path], bool]:
    """Whether a path is a run folder's ``name`` or the temporary file that
    ``core.files.atomic_path`` writes it in (checkpoints, also holding a model.keras, are not)."""
    stem = Path(name).stem

    def matches(path: Path) -> bool:
        if CHECKPOINTS_DIR in path.parts:
            return False
        return path.name == name or (path.name.startswith(f".{stem}.") and ".tmp" in path.name)

    return matches


def fake_run(run_dir: Path) -> Path:
    """A finished run folder written without TensorFlow, with old PNGs already in it."""
    run_dir.mkdir(parents=True)
    save_config(run_dir, TrainConfig(epochs=3))
    save_history(run_dir, [fake_metrics(e) for e in (1, 2, 3)], status="finished", planned_epochs=3)
    evaluation, images = fake_evaluation()
    save_evaluation(run_dir, evaluation, images, 394_530)
    (run_dir / MODEL_FILE).write_bytes(b"never read by export")
    for name in PNGS:
        (run_dir / name).write_bytes(f"the old {name}".encode())
    return run_dir


def is_png(path: Path) -> bool:
    with Image.open(path) as image:
        image.verify()
        return image.format == "PNG"


# --- Fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small synthetic IDX files: an epoch takes a fraction of a second."""
    raw = synthetic_raw(train=200, test=50, seed=1)
    return write_data_dir(tmp_path_factory.mktemp("data"), raw, gzip_train=False)


@pytest.fixture(scope="module")
def stopped_run(synthetic_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real seed-model run stopped after epoch 1 of 2: one checkpoint, resumable."""
    _, result, _ = train_new(
        synthetic_dataset, tmp_path_factory.mktemp("stopped"), TrainConfig(epochs=2), stop_after=1
    )
    run_dir = result.run_dir
    assert run_dir is not None and load_run(run_dir).resumable
    return run_dir


class Tmpfs:
    """A size-limited ``tmpfs`` at ``path``: a disk that really fills up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mounted = False

    def mount(self, size: int) -> Path:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("mounting a tmpfs needs root and mount(8)")
        self.path.mkdir(exist_ok=True)
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={_kib(size)}k,mode=0755", "tmpfs", self.path],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        self.mounted = True
        return self.path

    def resize(self, size: int) -> None:
        subprocess.run(
            ["mount", "-o", f"remount,size={_kib(size)}k", self.path],
            check=True,
            capture_output=True,
        )

    def used(self) -> int:
        stats = os.statvfs(self.path)
        return (stats.f_blocks - stats.f_bfree) * stats.f_frsize

    def unmount(self) -> None:
        if self.mounted:
            if subprocess.run(["umount", self.path], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", self.path], check=True)
            self.mounted = False


def _kib(size: int) -> int:
    return -(-size // 1024)


def pages(size: int) -> int:
    return -(-size // PAGE) * PAGE


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    disk = Tmpfs(tmp_path / "tmpfs")
    try:
        yield disk
    finally:
        disk.unmount()


def unprivileged(path: Path) -> tuple[str, ...]:
    """A command prefix under which ``path``'s permissions apply, or skip the test.

    As root they do not, so root drops the capabilities that override them (``setpriv``)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be enforced")
    prefix = (setpriv, "--bounding-set", "-dac_override,-dac_read_search")
    probe = subprocess.run([*prefix, "test", "-w", str(path)], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("cannot drop root's permission override here")
    return prefix


def make_read_only(path: Path, *, tree: bool) -> None:
    for item in [path, *(path.rglob("*") if tree else ())]:
        item.chmod(item.stat().st_mode & ~0o222)


def make_writable(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        item.chmod(item.stat().st_mode | 0o200)


# --- A disk that really fills up -------------------------------------------------------------


@pytest.mark.slow
def test_disk_full_at_a_checkpoint_then_resume_after_making_room(
    tmpfs: Tmpfs, stopped_run: Path, data_dir: Path, tmp_path: Path
) -> None:
    """The runs folder has room for the first checkpoint only: training stops at epoch 2 in
    one line, epoch 1's checkpoint is whole, and the run finishes once there is room."""
    checkpoint_size = (stopped_run / CHECKPOINTS_DIR / "epoch-0001" / MODEL_FILE).stat().st_size
    assert checkpoint_size > 1_000_000, "measured from a real seed checkpoint"
    runs = tmpfs.mount(checkpoint_size * 3 // 2) / "runs"

    result = cli(
        tmp_path, "train", "--epochs", "3", "--data-dir", str(data_dir), "--runs-dir", str(runs)
    )

    assert result.returncode == EXIT_FAILED, result.stderr
    line = error_line(result.stderr, "train")
    assert line.startswith(
        f"fmnist-tui train: error: cannot save the epoch 2 checkpoint: {ENOSPC}"
    ), line
    assert "the epoch 1 checkpoint is kept and the run can be resumed" in line
    assert "epoch 1/3" in result.stdout and "epoch 2/3" not in result.stdout
    [run_dir] = list(runs.iterdir())
    assert committed_checkpoints(run_dir) == ["epoch-0001"], "no temporary folder may be left"
    assert hidden_leftovers(run_dir) == []
    checkpoint = latest_checkpoint(run_dir)  # reads state.json and checks model.keras's hash
    assert checkpoint is not None and checkpoint.epoch == 1
    assert json.loads((run_dir / HISTORY_JSON).read_text())["status"] == "failed"

    listing = cli(tmp_path, "runs", "--runs-dir", str(runs))
    assert listing.returncode == 0, listing.stderr
    [row] = [r for r in listing.stdout.splitlines() if r.endswith(f"  {run_dir}")]
    assert " failed " in row, row
    assert f"resume: fmnist-tui train --resume {run_dir}" in listing.stdout

    tmpfs.resize(64 << 20)
    resumed = cli(tmp_path, "train", "--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {run_dir.name} after epoch 1, to epoch 3" in resumed.stdout
    assert epochs_in_history(run_dir) == [1, 2, 3], "every epoch exactly once"
    run = load_run(run_dir)
    assert run.status == "finished" and run.test_accuracy is not None
    assert hidden_leftovers(run_dir) == []


@pytest.mark.slow
def test_disk_full_during_export_keeps_the_old_png(tmpfs: Tmpfs, tmp_path: Path) -> None:
    """``fmnist-tui export`` on a disk with room for two of the three new PNGs: one line,
    the third PNG keeps its old bytes and no partial file is left."""
    from core.export import export_all

    source = fake_run(tmp_path / "source")
    saved = load_run(source)
    measured = export_all(tmp_path / "measured", saved.history, saved.evaluation, saved.test_images)
    sizes = {path.name: pages(path.stat().st_size) for path in measured}

    run_dir = tmpfs.mount(8 << 20) / source.name
    shutil.copytree(source, run_dir)
    old = snapshot(run_dir)
    room = sizes[ACCURACY_LOSS_PNG] + sizes[MISCLASSIFIED_PNG] + sizes[CONFUSION_PNG] // 2
    tmpfs.resize(tmpfs.used() + room)

    result = cli(tmp_path, "export", str(run_dir))

    assert result.returncode == EXIT_USAGE, result.stderr
    assert result.stdout == ""
    line = error_line(result.stderr, "export")
    assert line == f"fmnist-tui export: error: cannot write {run_dir / CONFUSION_PNG}: {ENOSPC}"
    assert (run_dir / CONFUSION_PNG).read_bytes() == old[CONFUSION_PNG][1]
    assert is_png(run_dir / ACCURACY_LOSS_PNG) and is_png(run_dir / MISCLASSIFIED_PNG)
    assert hidden_leftovers(run_dir) == []
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(old.keys() - {"."})


# --- Read-only folders ---------------------------------------------------------------------


@pytest.mark.slow
def test_read_only_runs_folder(data_dir: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o555)
    try:
        prefix = unprivileged(runs)
        result = cli(
            tmp_path,
            *("train", "--epochs", "1", "--data-dir", str(data_dir), "--runs-dir", str(runs)),
            prefix=prefix,
        )
    finally:
        runs.chmod(0o755)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert result.stdout == ""
    line = error_line(result.stderr, "train")
    assert (
        line == f"fmnist-tui train: error: cannot create a run folder in {runs}: Permission denied"
    )
    assert list(runs.iterdir()) == []


@pytest.mark.slow
def test_export_into_a_read_only_run_folder(tmp_path: Path) -> None:
    run_dir = fake_run(tmp_path / "20260101-000000-seed")
    make_read_only(run_dir, tree=False)
    before = snapshot(run_dir)
    try:
        result = cli(tmp_path, "export", str(run_dir), prefix=unprivileged(run_dir))
        after = snapshot(run_dir)
    finally:
        make_writable(run_dir)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert result.stdout == ""
    line = error_line(result.stderr, "export")
    assert line == (
        f"fmnist-tui export: error: cannot write {run_dir / ACCURACY_LOSS_PNG}: Permission denied"
    )
    assert after == before, "the PNGs and everything else are as they were"


@pytest.mark.parametrize("tree", [False, True], ids=["folder", "whole-tree"])
@pytest.mark.slow
def test_resume_a_read_only_run(stopped_run: Path, tmp_path: Path, tree: bool) -> None:
    """Resuming a run whose folder (or every file in it) is read-only: one line, exit 2.

    With only the folder read-only the lock file itself stays writable, so the resume gets as
    far as saving the config; the lock file then holds the new process id, the one change."""
    run_dir = tmp_path / stopped_run.name
    shutil.copytree(stopped_run, run_dir)
    make_read_only(run_dir, tree=tree)
    before = snapshot(run_dir)
    try:
        result = cli(tmp_path, "train", "--resume", str(run_dir), prefix=unprivileged(run_dir))
        after = snapshot(run_dir)
    finally:
        make_writable(run_dir)
    assert result.returncode == EXIT_USAGE, result.stderr
    line = error_line(result.stderr, "train")
    if tree:
        assert line == f"fmnist-tui train: error: cannot lock {run_dir}: Permission denied"
    else:
        assert line == (
            f"fmnist-tui train: error: cannot write {run_dir / 'config.json'}: Permission denied"
        )
        lock_mode, lock_content = after.pop(LOCK_FILE)
        assert lock_content is not None and lock_content.strip().isdigit()
        assert lock_mode == before.pop(LOCK_FILE)[0]
    assert after == before, "nothing else may change"
    assert load_run(run_dir).resumable


# --- Simulated ENOSPC when a run is saved --------------------------------------------------


def train_events(
    dataset: Dataset,
    runs_root: Path,
    epochs: int,
    *,
    continue_from: RunSession | None = None,
) -> tuple[RunSession, Path, list[TrainingEvent]]:
    """A new run of ``epochs`` epochs, or the model ``continue_from`` holds trained more."""
    session = continue_from or session_for(dataset, runs_root)
    request = NewRun(TrainConfig(epochs=epochs)) if continue_from is None else ContinueRun(epochs)
    result, events = run_request(session, request)
    assert result.run_dir is not None
    return session, result.run_dir, events


@pytest.mark.parametrize("failing", END_OF_RUN_FILES)
def test_disk_full_at_the_end_of_a_continued_run_keeps_the_previous_files(
    synthetic_dataset: Dataset, tmp_path: Path, failing: str
) -> None:
    """A finished run trained one epoch more (the app's "continue"): the disk fills while the
    new evaluation or model is saved. The failure is an "io" event in one line; the file being
    written keeps its previous content, and so do those that were to be written after it,
    except metrics.json: training on discards it (it described the earlier model), so the run
    reads as trained but not evaluated, which resuming finishes."""
    session, run_dir, _ = train_events(synthetic_dataset, tmp_path, 1)
    before = snapshot(run_dir)
    with pytest.MonkeyPatch.context() as patch:
        failed = fail_fsync(patch, writing(failing))
        _, _, events = train_events(synthetic_dataset, tmp_path, 1, continue_from=session)

    assert failed, "the simulated full disk was never reached"
    assert not any(isinstance(e, RunSaved) for e in events)
    failure = events[-1]
    assert isinstance(failure, TrainingFailed), events[-1]
    assert failure.kind == "io"
    assert failure.message == f"cannot write {run_dir / failing}: {ENOSPC}"
    untouched = END_OF_RUN_FILES[END_OF_RUN_FILES.index(failing) :]
    for name in untouched:
        if name == METRICS_JSON:
            assert not (run_dir / name).exists(), "stale test results must not stay"
        else:
            assert (run_dir / name).read_bytes() == before[name][1], f"{name} changed"
    assert load_run(run_dir).unevaluated
    assert plan_resume(run_dir).epochs == 0, "resuming evaluates, trains nothing"
    assert hidden_leftovers(run_dir) == [], "the temporary file must go"
    assert epochs_in_history(run_dir) == [1, 2]
    assert read_checkpoint(run_dir / CHECKPOINTS_DIR / "epoch-0001").epoch == 1
    newest = latest_checkpoint(run_dir)
    assert newest is not None and newest.epoch == 2
    assert committed_checkpoints(run_dir) == ["epoch-0001", "epoch-0002"]
    assert (run_dir / CHECKPOINTS_DIR / "epoch-0001" / MODEL_FILE).read_bytes() == before[
        f"{CHECKPOINTS_DIR}/epoch-0001/{MODEL_FILE}"
    ][1]


@pytest.mark.parametrize(
    "failing",
    [METRICS_JSON, EVALUATION_NPZ, MODEL_FILE],
)
def test_disk_full_at_the_end_of_a_new_run_leaves_it_usable(
    synthetic_dataset: Dataset, tmp_path: Path, failing: str
) -> None:
    """A new run whose end-of-run save fails: once there is room again it can still be listed,
    opened and trained further from its intact checkpoint."""
    with pytest.MonkeyPatch.context() as patch:
        failed = fail_fsync(patch, writing(failing))
        _, run_dir, events = train_events(synthetic_dataset, tmp_path, 1)

    assert failed
    failure = events[-1]
    assert isinstance(failure, TrainingFailed) and failure.kind == "io"
    assert failure.message == f"cannot write {run_dir / failing}: {ENOSPC}"
    assert hidden_leftovers(run_dir) == []
    checkpoint = latest_checkpoint(run_dir)
    assert checkpoint is not None and checkpoint.epoch == 1
    [listing] = list_runs(tmp_path)
    assert listing.status != "damaged", listing.problem
    load_run(run_dir)
    assert plan_resume(run_dir, 1).final_epoch == 2


def test_disk_full_in_the_middle_of_a_png(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``export_all`` where the third PNG's bytes only half fit: ``ExportError`` in one line,
    the half-written temporary file removed and the old PNG untouched."""
    from core import export, files

    run_dir = fake_run(tmp_path / "run")
    old = (run_dir / CONFUSION_PNG).read_bytes()
    saved = load_run(run_dir)
    partial: list[int] = []
    real_open = open

    class FillsUp:
        """A file that takes half of what is written, then reports a full disk."""

        def __init__(self, stream: Any) -> None:
            self.stream = stream

        def __enter__(self) -> FillsUp:
            return self

        def __exit__(self, *exc_info: object) -> None:
            self.stream.close()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.stream, name)

        def write(self, data: bytes) -> int:
            self.stream.write(data[: len(data) // 2])
            self.stream.flush()
            partial.append(os.fstat(self.stream.fileno()).st_size)
            raise OSError(errno.ENOSPC, ENOSPC)

    def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        stream = real_open(file, mode, *args, **kwargs)
        if "w" in mode and Path(CONFUSION_PNG).stem in Path(file).name:
            return FillsUp(stream)
        return stream

    # Every file is written through core.files' atomic writer.
    monkeypatch.setattr(files, "open", open_, raising=False)
    with pytest.raises(ExportError) as caught:
        export.export_all(run_dir, saved.history, saved.evaluation, saved.test_images)

    assert partial and partial[0] > 0, "half a PNG was on disk"
    assert str(caught.value) == f"cannot write {run_dir / CONFUSION_PNG}: {ENOSPC}"
    assert (run_dir / CONFUSION_PNG).read_bytes() == old
    assert is_png(run_dir / ACCURACY_LOSS_PNG) and is_png(run_dir / MISCLASSIFIED_PNG)
    assert hidden_leftovers(run_dir) == []


# --- In the app, through the real engine ---------------------------------------------------


def test_the_app_shows_a_checkpoint_write_error_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    failed = fail_fsync(
        monkeypatch,
        lambda path: path.name == MODEL_FILE and path.parent.name.startswith(".epoch-0002."),
    )
    engine = TrainingEngine(dataset_loader=synthetic_loader(), runs_root=runs)
    app = FmnistApp(engine=engine, runs_dir=runs, cursor_blink=False)
    shown: dict[str, str] = {}

    async def scenario() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.state.engine_ready, "the engine")
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, TrainDialog), "the dialog")
            await pilot.pause()
            app.screen.query_one("#epochs", Input).value = "3"
            await pilot.pause()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ErrorScreen)
            shown.update(title=screen.title_text, message=screen.message)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not app.state.training, "the run to end")
            assert not isinstance(app.screen, ErrorScreen)

    asyncio.run(scenario())
    assert failed
    assert shown["title"] == "Could not save the run"
    message = shown["message"]
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"cannot save the epoch 2 checkpoint: {ENOSPC}")
    assert "the epoch 1 checkpoint is kept" in message
    [run_dir] = list(runs.iterdir())
    assert committed_checkpoints(run_dir) == ["epoch-0001"]
    checkpoint = latest_checkpoint(run_dir)
    assert checkpoint is not None and checkpoint.epoch == 1
