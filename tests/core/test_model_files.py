"""A model of the user's own (``--model PATH.py``): every way a file can be wrong is one clear
line and leaves what was saved as it was; what a run of a file keeps (its ``model.py`` copy,
the copy's SHA-256) and how resuming holds to that copy; ``for_model`` and ``BATCH_SIZE``.

In-process, on the small synthetic data. The app's side (their traceback in the log pane) is
``tests/app/test_model_file_errors_app.py``; kill and resume on every backend is
``tests/cli/test_model_file_backends.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import resume_saved, session_for, train_new, write_data_dir

from core import model_files
from core.config import (
    DEFAULT_BATCH_SIZE,
    ConfigError,
    TrainConfig,
    default_batch_size,
    parse_model,
)
from core.data import Dataset, synthetic_raw
from core.errors import RunError
from core.hyperparameters import Hyperparameters
from core.model_files import SOURCE_COPY, ModelFileError
from core.requests import NewRun
from core.runs.layout import LOCK_FILE
from tui.cli import main
from tui.exit_codes import EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]
SEED_FILE = ROOT / "examples" / "seed.py"
SEED_PARAMS = 394_530

RAISES = """\
import keras


def helper():
    raise RuntimeError("boom in their code")


def build_model():
    return helper()
"""
RAISES_LINE = 5
"""The line of ``raise`` in :data:`RAISES`: the one their message must name."""


def seed_with(old: str, new: str) -> str:
    """``examples/seed.py`` with one piece of text replaced (it must be there)."""
    text = SEED_FILE.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new)


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def saved_state(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes (the run lock aside): what 'nothing saved was
    touched' compares."""
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != LOCK_FILE
    }


@pytest.fixture
def runs_root(tmp_path: Path) -> Path:
    """A runs folder that already holds something saved, which a bad file must not touch."""
    root = tmp_path / "runs"
    earlier = root / "20260101-000000-seed"
    earlier.mkdir(parents=True)
    (earlier / "config.json").write_text('{"model": "seed"}\n', encoding="utf-8")
    return root


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """The user's copy of ``examples/seed.py``, somewhere of their own."""
    folder = tmp_path / "mine"
    folder.mkdir()
    return Path(shutil.copy(SEED_FILE, folder / "seed.py"))


# --- Files refused when read (nothing of theirs runs) ---------------------------------------


def _missing(folder: Path) -> Path:
    return folder / "nowhere.py"


def _binary(folder: Path) -> Path:
    return write(folder, "picture.py", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")


def _nul_bytes(folder: Path) -> Path:
    return write(folder, "nul.py", b"def build_model():\n    return None\n\x00\x00")


def _syntax_error(folder: Path) -> Path:
    return write(folder, "typo.py", "import keras\n\ndef build_model(:\n    pass\n")


def _a_folder(folder: Path) -> Path:
    path = folder / "model.py"
    path.mkdir()
    return path


def _two_megabytes(folder: Path) -> Path:
    return write(folder, "big.py", "def build_model():\n    pass\n" + "# padding\n" * 200_000)


def _no_builder(folder: Path) -> Path:
    return write(folder, "nothing.py", "import keras\n\nMODEL = None\n")


REFUSED_WHEN_READ: list[tuple[Callable[[Path], Path], str]] = [
    (_missing, r"^{path}: no such model file$"),
    (_binary, r"^{path}: not a Python file \(not UTF-8 text\)$"),
    (_nul_bytes, r"^{path}: not a Python file \(.*null bytes\)$"),
    (_syntax_error, r"^{path}, line 3: syntax error: invalid syntax$"),
    (_a_folder, r"^{path}: a folder, not a model file$"),
    (_two_megabytes, r"^{path}: 2,000,0\d\d bytes is too large for a model file$"),
    (_no_builder, r"^{path}: defines no build_model\(\) function \(it should return a keras"),
]
READ_IDS = ["missing", "binary", "nul-bytes", "syntax-error", "folder", "2-MB", "no-builder"]


@pytest.mark.parametrize(("make", "expected"), REFUSED_WHEN_READ, ids=READ_IDS)
def test_a_file_that_cannot_be_read_is_one_line_wherever_it_is_given(
    make: Callable[[Path], Path], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    typed = make(tmp_path).name  # as typed, so the message names it as typed
    pattern = expected.format(path=re.escape(typed))
    with pytest.raises(ModelFileError, match=pattern) as read:
        model_files.read_model_file(typed)
    assert "\n" not in str(read.value)
    # The CLI's --model, the dialog's Model field and for_model say the same.
    with pytest.raises(ConfigError, match=pattern):
        TrainConfig().for_model(typed)
    with pytest.raises(ConfigError, match=pattern):
        parse_model(typed)


def test_a_long_path_keeps_the_end_that_names_the_file(tmp_path: Path) -> None:
    deep = tmp_path / ("a" * 60) / ("b" * 60) / "my_model.py"
    with pytest.raises(ModelFileError) as read:
        model_files.read_model_file(deep)
    message = str(read.value)
    assert message.startswith("…") and message.endswith("/my_model.py: no such model file")
    assert len(message) < 120


@pytest.mark.parametrize(("make", "expected"), REFUSED_WHEN_READ, ids=READ_IDS)
def test_the_cli_refuses_a_file_it_cannot_read_in_one_line_and_exits_2(
    make: Callable[[Path], Path],
    expected: str,
    tmp_path: Path,
    runs_root: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    typed = make(tmp_path).name
    before = saved_state(runs_root)
    with pytest.raises(SystemExit) as exited:  # refused as --model is parsed
        main(["train", "--model", typed, "--epochs", "1", "--runs-dir", str(runs_root)])
    out, err = capfd.readouterr()
    assert exited.value.code == EXIT_USAGE
    assert "Traceback" not in err
    [line] = err.strip("\n").splitlines()
    prefix, suffix = "fmnist-tui train: error: argument --model: ", " (see --help)"
    assert line.startswith(prefix) and line.endswith(suffix), line
    pattern = expected.format(path=re.escape(typed))
    assert re.match(pattern, line.removeprefix(prefix).removesuffix(suffix)), line
    assert out == ""
    assert saved_state(runs_root) == before


# --- Files refused when built (their code runs) ---------------------------------------------


BUILD_REFUSALS: list[tuple[str, str]] = [
    (
        RAISES,
        rf"^{{path}}, line {RAISES_LINE}: RuntimeError in build_model\(\): boom in their code$",
    ),
    (
        "import keras\n\nWIDTH = 1 // 0\n\ndef build_model():\n    pass\n",
        r"^{path}, line 3: ZeroDivisionError while loading: integer division or modulo by zero$",
    ),
    (
        "def build_model():\n    return 42\n",
        r"^{path}: build_model\(\) returned int, not a keras\.Model$",
    ),
    (
        """\
        import keras
        from keras import layers

        def build_model():
            return keras.Sequential(
                [keras.Input(shape=(32, 32, 3)), layers.Flatten(), layers.Dense(10)]
            )
        """,
        r"^{path}: the model takes \(32, 32, 3\); it must take \(28, 28, 1\) images in 0-1$",
    ),
    (
        """\
        import keras
        from keras import layers

        def build_model():
            return keras.Sequential(
                [keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(5)]
            )
        """,
        r"^{path}: the model gives \(5,\); it must give 10 class probabilities$",
    ),
    (
        """\
        import keras
        from keras import layers

        def build_model():
            return keras.Sequential([layers.Flatten(), layers.Dense(10)])
        """,
        r"^{path}: build_model\(\) returned a model that is not built: give it an input",
    ),
]
BUILD_IDS = ["raises", "raises-on-import", "not-a-model", "wrong-input", "5-outputs", "unbuilt"]


@pytest.mark.parametrize(("text", "expected"), BUILD_REFUSALS, ids=BUILD_IDS)
def test_a_file_whose_model_is_wrong_is_one_line_and_leaves_no_run(
    text: str, expected: str, tmp_path: Path, runs_root: Path, synthetic_dataset: Dataset
) -> None:
    path = write(tmp_path, f"{hashlib.sha256(text.encode()).hexdigest()[:8]}.py", text)
    config = TrainConfig(epochs=1).for_model(str(path))  # read, not run: accepted
    session = session_for(synthetic_dataset, runs_root)
    plan = session.plan(NewRun(config))
    before = saved_state(runs_root)
    with pytest.raises(ModelFileError, match=expected.format(path=re.escape(str(path)))) as built:
        session.run(plan, lambda event: None)
    assert "\n" not in str(built.value)
    assert saved_state(runs_root) == before, "no run folder, nothing saved touched"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return write_data_dir(tmp_path / "data", synthetic_raw(train=100, test=20, seed=0))


def test_the_cli_says_in_one_line_that_their_code_raised_and_exits_2(
    tmp_path: Path, runs_root: Path, data_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "raises.py", RAISES)
    before = saved_state(runs_root)
    code = main(
        ["train", "--model", str(path), "--epochs", "1", "--data-dir", str(data_dir),
         "--runs-dir", str(runs_root)]
    )  # fmt: skip
    out, err = capfd.readouterr()
    assert code == EXIT_USAGE
    assert "Traceback" not in err
    error, log = err.strip("\n").splitlines()
    assert error == (
        f"fmnist-tui train: error: {path}, line {RAISES_LINE}: RuntimeError in build_model(): "
        "boom in their code"
    )
    log_text = Path(log.removeprefix("fmnist-tui train: log: ")).read_text(encoding="utf-8")
    assert f'File "{path}", line {RAISES_LINE}, in helper' in log_text, "their traceback"
    assert "epoch" not in out
    assert saved_state(runs_root) == before


def test_summary_says_in_one_line_that_their_code_raised_and_logs_their_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "raises.py", RAISES)
    assert main(["summary", "--model", str(path)]) == EXIT_USAGE
    out, err = capfd.readouterr()
    assert "Traceback" not in err
    error, log = err.strip("\n").splitlines()
    assert error == (
        f"fmnist-tui summary: error: {path}, line {RAISES_LINE}: RuntimeError in build_model(): "
        "boom in their code"
    )
    log_text = Path(log.removeprefix("fmnist-tui summary: log: ")).read_text(encoding="utf-8")
    assert f'File "{path}", line {RAISES_LINE}, in helper' in log_text, "their traceback"
    assert out == ""


def test_their_traceback_starts_at_their_own_frame(tmp_path: Path) -> None:
    path = write(tmp_path, "raises.py", RAISES)
    with pytest.raises(ModelFileError) as built:
        model_files.build_body(model_files.read_model_file(path))
    details = built.value.details
    assert details is not None
    lines = details.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == f'  File "{path}", line 9, in build_model'
    assert f'  File "{path}", line {RAISES_LINE}, in helper' in lines
    assert lines[-1] == "RuntimeError: boom in their code"
    assert "model_files.py" not in details, "none of our frames"


def test_the_same_text_at_two_paths_names_each_its_own_file(tmp_path: Path) -> None:
    """As a run folder's ``model.py`` holds its original's text: one process loads both."""
    for folder in ("first", "second"):
        (tmp_path / folder).mkdir()
        path = write(tmp_path / folder, "raises.py", RAISES)
        with pytest.raises(ModelFileError) as built:
            model_files.build_body(model_files.read_model_file(path))
        assert str(built.value).startswith(f"{path}, line {RAISES_LINE}: RuntimeError")
        assert f'File "{path}", line {RAISES_LINE}, in helper' in (built.value.details or "")


def test_a_model_past_max_params_is_refused(
    tmp_path: Path, seed_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_files, "MAX_PARAMS", 1000)
    with pytest.raises(ModelFileError) as built:
        model_files.build_body(model_files.read_model_file(seed_copy))
    assert str(built.value) == (
        f"{seed_copy}: {SEED_PARAMS:,} parameters is too large (at most 1,000)"
    )


def test_the_example_files_build_the_presets_layers() -> None:
    body = model_files.build_body(model_files.read_model_file(SEED_FILE))
    assert body.count_params() == SEED_PARAMS
    deep = model_files.build_body(model_files.read_model_file(ROOT / "examples/seed_deep.py"))
    assert deep.count_params() == 100_614


# --- Settings: for_model and BATCH_SIZE -----------------------------------------------------


def test_for_model_takes_a_presets_settings_or_a_files(
    seed_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    improved = TrainConfig().for_model("improved")
    assert (improved.model, improved.model_file, improved.model_sha256) == ("improved", None, None)
    assert improved.batch_size == 128 and improved.is_preset

    monkeypatch.chdir(seed_copy.parent)
    mine = improved.for_model("./seed.py")
    assert mine.model == "seed.py"
    assert mine.model_file == str(seed_copy), "the path resolved, as the run records it"
    assert mine.model_sha256 == hashlib.sha256(seed_copy.read_bytes()).hexdigest()
    assert mine.batch_size == DEFAULT_BATCH_SIZE, "not the preset's 128"
    assert mine.hyperparameters is None and mine.training == Hyperparameters()
    assert not mine.is_preset and not mine.flips

    back = mine.for_model("seed")
    assert (back.model, back.model_file, back.model_sha256) == ("seed", None, None)


@pytest.mark.parametrize(
    ("line", "batch_size"),
    [("BATCH_SIZE = 64", 64), ("BATCH_SIZE = '64'", DEFAULT_BATCH_SIZE),
     ("BATCH_SIZE = 0", DEFAULT_BATCH_SIZE), ("", DEFAULT_BATCH_SIZE)],
)  # fmt: skip
def test_batch_size_is_read_from_the_file(tmp_path: Path, line: str, batch_size: int) -> None:
    path = write(
        tmp_path, "sized.py", seed_with("\n\ndef build_model", f"\n{line}\n\ndef build_model")
    )
    assert model_files.read_model_file(path).batch_size == (
        None if batch_size == DEFAULT_BATCH_SIZE else batch_size
    )
    assert TrainConfig().for_model(str(path)).batch_size == batch_size
    assert default_batch_size(str(path)) == batch_size


# --- What a run of a file keeps, and resuming from it ---------------------------------------


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    """Big enough for a few batches an epoch, small enough for a second of training."""
    from core.data import prepare

    return prepare(synthetic_raw(train=300, test=60, seed=0))


def test_a_run_keeps_a_copy_of_the_file_and_its_checksum(
    seed_copy: Path, tmp_path: Path, dataset: Dataset
) -> None:
    config = TrainConfig(epochs=1).for_model(str(seed_copy))
    _session, result, _events = train_new(dataset, tmp_path / "runs", config)
    run_dir = result.run_dir
    assert run_dir is not None and result.saved
    assert (run_dir / SOURCE_COPY).read_bytes() == seed_copy.read_bytes()
    saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert saved["model"] == "seed.py"
    assert saved["model_file"] == str(seed_copy)
    assert saved["model_sha256"] == hashlib.sha256(seed_copy.read_bytes()).hexdigest()
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["trainable_params"] == SEED_PARAMS
    assert run_dir.name.endswith("seed"), "the run is named after the file"


@pytest.fixture
def stopped_run(seed_copy: Path, tmp_path: Path, dataset: Dataset) -> Path:
    """A run of the user's file stopped after its first of two epochs: it can be resumed."""
    config = TrainConfig(epochs=2).for_model(str(seed_copy))
    _session, result, _events = train_new(dataset, tmp_path / "runs", config, stop_after=1)
    assert result.outcome == "stopped" and result.run_dir is not None
    return result.run_dir


@pytest.mark.parametrize("change", ["edited", "deleted"])
def test_resuming_builds_from_the_runs_copy_whatever_became_of_the_original(
    change: str, stopped_run: Path, seed_copy: Path, dataset: Dataset
) -> None:
    if change == "edited":
        seed_copy.write_text(seed_with("Dense(56", "Dense(99"), encoding="utf-8")
    else:
        seed_copy.unlink()
    result, _events = resume_saved(dataset, stopped_run)
    assert result.outcome == "finished" and result.saved
    assert [m.epoch for m in result.history] == [1, 2]
    metrics = json.loads((stopped_run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["trainable_params"] == SEED_PARAMS


@pytest.mark.parametrize(
    ("change", "reason"),
    [("edited", "not the model file the run was trained with"), ("deleted", "no such model file")],
)
def test_a_changed_or_missing_copy_in_the_run_folder_is_refused_on_resume(
    change: str, reason: str, stopped_run: Path, dataset: Dataset
) -> None:
    copy = stopped_run / SOURCE_COPY
    if change == "edited":
        copy.write_text(copy.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
    else:
        copy.unlink()
    before = saved_state(stopped_run)
    with pytest.raises(RunError, match=reason) as refused:
        resume_saved(dataset, stopped_run)
    assert f"{stopped_run.name}/{SOURCE_COPY}" in str(refused.value), "names the copy"
    assert "\n" not in str(refused.value)
    assert saved_state(stopped_run) == before, "nothing of the run touched"
