"""Tests for the headless CLI (tui.cli, tui.headless): in-process where cheap, else subprocess."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import write_data_dir

from core import data
from core.data import synthetic_raw
from core.export import ACCURACY_LOSS_PNG, CONFUSION_PNG, MISCLASSIFIED_PNG
from core.runs.layout import HISTORY_JSON
from tui.cli import build_parser, main
from tui.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]
PNGS = (ACCURACY_LOSS_PNG, MISCLASSIFIED_PNG, CONFUSION_PNG)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TF_LOG_LINE = re.compile(r"^([IWEF]\d{4} |WARNING|To enable the following)")


def only_line(text: str) -> str:
    """The single line of ``text``; fails if there are more, or a traceback."""
    assert "Traceback" not in text
    lines = text.strip("\n").splitlines()
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    return lines[0]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess, without our TensorFlow log setting: the CLI
    must quiet TensorFlow by itself."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",)}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data_dir(tmp_path_factory.mktemp("data"), synthetic_raw(train=500, test=100))


@dataclasses.dataclass
class TrainedRun:
    result: subprocess.CompletedProcess[str]
    runs_root: Path
    log_dir: Path

    @property
    def run_dir(self) -> Path:
        [run_dir] = self.runs_root.iterdir()
        return run_dir


@pytest.fixture(scope="module")
def trained(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    """One real ``fmnist-tui train --epochs 1`` in a fresh interpreter."""
    base = tmp_path_factory.mktemp("cli")
    runs_root, log_dir = base / "runs", base / "logs"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "tui.cli", "train", "--epochs", "1"),
            *("--data-dir", str(data_dir), "--runs-dir", str(runs_root)),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=cli_env(FMNIST_LOG_DIR=str(log_dir), FMNIST_RUNS_DIR=str(base / "not-here")),
        timeout=300,
    )
    return TrainedRun(result, runs_root, log_dir)


# --- Parsing, without TensorFlow -----------------------------------------------------------


@pytest.mark.slow
def test_help_and_argument_errors_never_import_tensorflow() -> None:
    script = textwrap.dedent(
        """
        import sys
        from tui.cli import main
        codes = []
        for argv in (["--help"], ["train", "--help"], ["train", "--epochs", "abc"], ["train"]):
            try:
                main(argv)
            except SystemExit as exit:
                codes.append(exit.code)
        heavy = sorted(m for m in ("tensorflow", "keras", "textual") if m in sys.modules)
        print(codes, heavy)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[0, 0, 2, 2] []"


@pytest.mark.slow
def test_help_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == EXIT_OK
    assert result.stderr == ""
    for command in ("train", "summary", "export", "runs"):
        assert command in result.stdout


@pytest.mark.slow
def test_bad_epochs_subprocess_is_one_line_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "train", "--epochs", "abc"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == EXIT_USAGE
    assert result.stdout == ""
    line = only_line(result.stderr)
    assert line == (
        "fmnist-tui train: error: argument --epochs: epochs must be a whole number, got 'abc' "
        "(see --help)"
    )


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("abc", "whole number"),
        ("0", "at least 1"),
        ("-1", "at least 1"),
        ("10.5", "whole number"),
        ("1001", "at most 1000"),
        ("", "required"),
    ],
)
def test_bad_epochs(capsys: pytest.CaptureFixture[str], value: str, fragment: str) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["train", "--epochs", value])
    assert excinfo.value.code == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    line = only_line(err)
    assert line.startswith("fmnist-tui train: error: argument --epochs: epochs ")
    assert fragment in line


def test_missing_epochs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["train"])
    assert excinfo.value.code == EXIT_USAGE
    line = only_line(capsys.readouterr().err)
    assert "the following arguments are required: --epochs" in line


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--epochs", "1", "--model", "resnet"], "unknown model 'resnet'"),
        (["train", "--epochs", "1", "--batch-size", "0"], "batch size must be at least 1"),
        (["train", "--epochs", "1", "--val-split", "1"], "validation split"),
        (["train", "--epochs", "1", "--limit-train", "5"], "limit must be at least 10"),
        (["train", "--epochs", "1", "--seed", "-3"], "seed must be at least 0"),
        (["train", "--epochs", "1", "--bogus"], "unrecognized arguments: --bogus"),
        (["fly"], "invalid choice: 'fly'"),
        (["export"], "required: RUN_DIR"),
    ],
)
def test_other_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == EXIT_USAGE
    assert fragment in only_line(capsys.readouterr().err)


def test_options_before_the_command_are_kept() -> None:
    parser = build_parser()
    args = parser.parse_args(
        [
            *("--model", "improved", "--runs-dir", "R", "--data-dir", "D"),
            *("--limit-train", "100", "train", "--epochs", "2"),
        ]
    )
    assert (args.model, args.runs_dir, args.data_dir, args.limit_train) == (
        "improved",
        Path("R"),
        "D",
        100,
    )
    after = parser.parse_args(["--model", "improved", "train", "--epochs", "2", "--model", "seed"])
    assert after.model == "seed", "the option nearest the command wins"
    defaults = parser.parse_args(["train", "--epochs", "2"])
    # No --model means the default preset (seed); None lets --resume tell "not given" apart.
    assert (defaults.model, defaults.runs_dir, defaults.limit_test) == (None, None, None)
    assert parser.parse_args(["--runs-dir", "R", "runs"]).runs_dir == Path("R")
    assert parser.parse_args(["--model", "seed-deep", "summary"]).model == "seed-deep"
    assert parser.parse_args(["summary"]).model is None  # main() reads None as "seed"


# --- train: errors before training ---------------------------------------------------------


def test_missing_data_dir(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    code = main(["train", "--epochs", "1", "--data-dir", str(missing)])
    out, err = capfd.readouterr()
    assert code == EXIT_USAGE
    assert only_line(err) == f"fmnist-tui train: error: --data-dir {missing}: no such folder"
    assert out == ""


def test_corrupt_data_dir_names_the_file(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = write_data_dir(tmp_path / "data", synthetic_raw(train=50, test=20))
    broken = folder / data.TEST_IMAGES
    broken.write_bytes(broken.read_bytes()[:-100])

    code = main(["train", "--epochs", "1", "--data-dir", str(folder)])

    out, err = capfd.readouterr()
    assert code == EXIT_USAGE
    line = only_line(err)
    assert line.startswith(f"fmnist-tui train: error: {broken}: truncated")
    assert out == ""


def test_runs_dir_under_a_file(
    capfd: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")

    code = main(
        ["train", "--epochs", "1", "--data-dir", str(data_dir), "--runs-dir", str(blocker / "r")]
    )

    out, err = capfd.readouterr()
    assert code == EXIT_USAGE
    line = only_line(err)
    assert line.startswith(f"fmnist-tui train: error: cannot create a run folder in {blocker}")
    assert "epoch" not in out


@pytest.mark.parametrize("argv", [["summary"], ["train", "--epochs", "1"]])
def test_unusable_log_dir_is_one_line(
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("FMNIST_LOG_DIR", str(blocker / "logs"))

    assert main(argv) == EXIT_USAGE

    out, err = capfd.readouterr()
    line = only_line(err)
    assert line.startswith(f"fmnist-tui {argv[0]}: error: cannot write the log file {blocker}/")
    assert line.endswith(": Not a directory")
    assert out == ""


# --- train: in-process runs that end early -------------------------------------------------


def test_diverging_training_exits_1_with_the_log_path(
    capfd: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path
) -> None:
    """SGD at the largest learning rate the CLI takes diverges within the first epoch."""
    code = main(
        ["train", "--epochs", "2", "--data-dir", str(data_dir), "--runs-dir", str(tmp_path),
         "--optimizer", "sgd", "--learning-rate", "1000"]
    )  # fmt: skip

    out, err = capfd.readouterr()
    assert code == EXIT_FAILED
    assert "Traceback" not in err
    error, log = err.strip().splitlines()
    assert error.startswith(
        "fmnist-tui train: error: training diverged at learning rate 1000: loss became nan"
    )
    assert error.endswith("try a smaller learning rate")
    log_path = Path(log.removeprefix("fmnist-tui train: log: "))
    assert log_path.parent == Path(os.environ["FMNIST_LOG_DIR"])
    assert log_path.is_file()
    assert "test_accuracy" not in out


def test_ctrl_c_stops_training_and_exits_130(
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core import training
    from tui import headless

    monkeypatch.setattr(training, "PROGRESS_INTERVAL_S", 0.0)
    printer_call = headless._Printer.__call__
    interrupted: list[object] = []

    def interrupt_on_first_batch(self: headless._Printer, event: object) -> None:
        printer_call(self, event)  # type: ignore[arg-type]
        if type(event).__name__ == "BatchProgress" and not interrupted:
            interrupted.append(event)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(headless._Printer, "__call__", interrupt_on_first_batch)
    runs_root = tmp_path / "runs"
    handler_before = signal.getsignal(signal.SIGINT)

    code = main(
        ["train", "--epochs", "3", "--data-dir", str(data_dir), "--runs-dir", str(runs_root)]
    )

    out, err = capfd.readouterr()
    assert code == EXIT_INTERRUPTED
    assert err == ""
    assert "stopped after 0 complete epoch(s)" in out
    assert "epoch 1/3" not in out
    [run_dir] = runs_root.iterdir()
    assert '"status": "stopped"' in (run_dir / HISTORY_JSON).read_text()
    assert signal.getsignal(signal.SIGINT) is handler_before, "the SIGINT handler is restored"


# --- summary -------------------------------------------------------------------------------


def test_summary(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["summary"]) == EXIT_OK
    out, err = capfd.readouterr()
    assert "Model: seed" in out
    assert "Trainable params: 394,530" in out.splitlines()
    assert err == "", "TensorFlow's output belongs in the log"


def test_summary_model_before_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--model", "seed-deep", "summary"]) == EXIT_OK
    assert capsys.readouterr().out.startswith("Model: seed_deep\n")


# --- A real run in a subprocess, then export and runs --------------------------------------


@pytest.mark.slow
def test_train_subprocess(trained: TrainedRun, data_dir: Path) -> None:
    result = trained.result
    assert result.returncode == EXIT_OK, result.stderr
    tf_lines = [line for line in result.stderr.splitlines() if TF_LOG_LINE.match(line)]
    assert tf_lines == [], "TensorFlow wrote to the terminal"
    assert result.stderr == ""

    lines = result.stdout.splitlines()
    assert lines[0] == "model seed: 394,530 trainable params"
    assert lines[1].startswith(("device: CPU: ", "device: GPU: "))
    assert lines[2] == f"data: --data-dir {data_dir}: 400 train, 100 validation, batch size 32"
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == 1
    assert re.fullmatch(
        r"epoch 1/1  loss \d+\.\d{4}  accuracy [01]\.\d{4}  val_loss \d+\.\d{4}  "
        r"val_accuracy [01]\.\d{4}  \d+\.\ds",
        epoch_lines[0],
    ), epoch_lines[0]
    # The synthetic shapes are easy enough that 1.0000 is possible, so no "0." here.
    assert any(re.fullmatch(r"test_accuracy=[01]\.\d{4} test_loss=\d+\.\d{4}", x) for x in lines)
    run_dir = trained.run_dir
    assert f"run: {run_dir}" in lines
    assert any(re.fullmatch(r"peak memory: host [\d,]+ MiB", x) for x in lines)
    for name in PNGS:
        assert f"wrote {run_dir / name}" in lines
        assert (run_dir / name).read_bytes().startswith(PNG_MAGIC)
    assert "\r" not in result.stdout, "no progress bar when stdout is not a terminal"

    assert list(trained.log_dir.glob("train-*.log")), "the log goes to $FMNIST_LOG_DIR"
    assert not (trained.runs_root.parent / "not-here").exists(), "--runs-dir beats the env"


@pytest.mark.slow
def test_export_to_another_folder(trained: TrainedRun, tmp_path: Path) -> None:
    out_dir = tmp_path / "pngs"
    code = main(["export", str(trained.run_dir), "--out", str(out_dir)])
    assert code == EXIT_OK
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(PNGS)
    for name in PNGS:
        assert (out_dir / name).read_bytes().startswith(PNG_MAGIC)


@pytest.mark.slow
def test_export_recreates_pngs_in_the_run_folder(
    trained: TrainedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = shutil.copytree(trained.run_dir, tmp_path / trained.run_dir.name)
    for name in PNGS:
        (copy / name).unlink()

    assert main(["export", str(copy)]) == EXIT_OK

    out = capsys.readouterr().out.splitlines()
    assert out == [f"wrote {copy / name}" for name in PNGS]
    for name in PNGS:
        assert (copy / name).read_bytes().startswith(PNG_MAGIC)


def test_export_missing_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    assert main(["export", str(missing)]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert only_line(err) == f"fmnist-tui export: error: {missing}: not a run folder"


@pytest.mark.slow
def test_runs_lists_the_run(
    trained: TrainedRun, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = str(trained.runs_root)
    for argv in (["runs", "--runs-dir", root], ["--runs-dir", root, "runs"]):
        assert main(argv) == EXIT_OK
        # One run: each setting is the same for every run listed, so none is a column.
        shared, header, row = capsys.readouterr().out.splitlines()
        assert shared.startswith("all runs: seed, batch 32, adam, lr 0.001, constant; no ")
        assert header.split() == [
            "started", "best", "val", "test", "acc", "epochs", "status", "time", "run"
        ]  # fmt: skip
        assert row.endswith(str(trained.run_dir))
        assert row.split()[3:7] == ["@1", row.split()[4], "1/1", "finished"]

    monkeypatch.setenv("FMNIST_RUNS_DIR", root)
    assert main(["runs"]) == EXIT_OK
    assert str(trained.run_dir) in capsys.readouterr().out


def test_runs_when_there_are_none(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["runs", "--runs-dir", str(tmp_path)]) == EXIT_OK
    assert capsys.readouterr().out == f"no runs in {tmp_path}\n"
