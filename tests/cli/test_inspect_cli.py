"""``fmnist-tui explain`` and ``fmnist-tui predict`` (tui.inspect_cli): exit codes 0/1/2, one
line per problem, the --json shape, and nothing from TensorFlow on the terminal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import fmnist_tui, train_new, write_data_dir
from PIL import Image

from core.config import TrainConfig
from core.data import prepare, synthetic_raw
from tui.cli import main
from tui.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved one-epoch run on synthetic data, trained on mirrored images too (so what is
    shown must be flip-averaged as its evaluation is), its data in IDX files of its own."""
    raw = synthetic_raw(train=500, test=100, seed=0)
    data_dir = write_data_dir(tmp_path_factory.mktemp("data"), raw)
    config = TrainConfig(epochs=1, data_dir=str(data_dir), augment=True)
    _session, result, _events = train_new(prepare(raw), tmp_path_factory.mktemp("runs"), config)
    assert result.run_dir is not None
    return Path(result.run_dir)


def run_cli(*args: str, log_dir: Path) -> subprocess.CompletedProcess[str]:
    # Without our TF_CPP_MIN_LOG_LEVEL: the command must keep TensorFlow quiet by itself.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["FMNIST_LOG_DIR"] = str(log_dir)
    return subprocess.run(
        [*fmnist_tui(), *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )


def one_line(text: str) -> str:
    assert "Traceback" not in text
    lines = text.strip("\n").splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def boot_picture(path: Path) -> Path:
    pixels = np.full((240, 200), 255, np.uint8)
    pixels[20:200, 40:100] = 30
    pixels[160:220, 40:180] = 30
    Image.fromarray(pixels).save(path)
    return path


# --- explain -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_explain_writes_a_png_per_image_and_says_what_it_saw(run_dir: Path, tmp_path: Path) -> None:
    done = run_cli("explain", str(run_dir), "0", "7", log_dir=tmp_path / "logs")
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stderr == "", "TensorFlow's output went to the terminal"
    for index in (0, 7):
        png = run_dir / "explanations" / f"test-{index:05d}.png"
        assert png.read_bytes().startswith(b"\x89PNG")
        assert f"test #{index}: true " in done.stdout
        assert f"wrote {png}" in done.stdout
    assert done.stdout.count("looked like: ") == 2


@pytest.mark.slow
def test_explain_json_agrees_with_the_runs_evaluation(run_dir: Path, tmp_path: Path) -> None:
    from core.runs.catalogue import load_run

    out = tmp_path / "pngs"
    done = run_cli(
        "explain", str(run_dir), "3", "0", "99", "--json", "--out", str(out), log_dir=tmp_path
    )
    assert done.returncode == EXIT_OK, done.stderr
    document = json.loads(done.stdout)
    assert document["flip_averaged"] is True
    assert len(document["classes"]) == 10
    evaluation = load_run(run_dir).evaluation
    assert evaluation is not None
    assert [e["index"] for e in document["explanations"]] == [3, 0, 99]
    for entry in document["explanations"]:
        index = entry["index"]
        probabilities = np.array(entry["probabilities"])
        assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1, abs=1e-4)
        assert entry["predicted"] == int(evaluation.predictions[index])
        assert probabilities.max() == pytest.approx(float(evaluation.confidences[index]), abs=1e-5)
        assert entry["true"] == int(evaluation.labels[index])
        assert np.array(entry["evidence"]).shape == (28, 28)
        wrong = entry["predicted"] != entry["true"]
        assert (entry["against_true"] is not None) == wrong
        if wrong:
            assert np.array(entry["against_true"]).shape == (28, 28)
        assert len(entry["nearest"]) == 3
        assert {"index", "label", "name", "similarity"} <= set(entry["nearest"][0])
        assert Path(entry["png"]).parent == out and Path(entry["png"]).is_file()


def test_explain_an_index_out_of_range_is_one_line(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["explain", str(run_dir), "0", "100", "--out", str(out)]) == EXIT_USAGE
    line = one_line(capsys.readouterr().err)
    assert "test image 100 does not exist (the test set has 0-99)" in line
    assert not out.exists(), "refused before anything was computed or written"


@pytest.mark.parametrize("argv", [["-1"], ["abc"], []])
def test_explain_bad_indices_are_usage_errors(
    run_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["explain", str(run_dir), *argv])
    assert exited.value.code == EXIT_USAGE
    one_line(capsys.readouterr().err)


def test_explain_a_run_without_a_model_is_one_line(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "model.keras").unlink()
    assert main(["explain", str(copy), "0"]) == EXIT_USAGE
    assert "model.keras" in one_line(capsys.readouterr().err)
    assert main(["explain", str(tmp_path / "nowhere"), "0"]) == EXIT_USAGE
    assert "not a run folder" in one_line(capsys.readouterr().err)


# --- predict -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_predict_classifies_the_good_files_and_names_each_bad_one(
    run_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    boot_picture(folder / "boot.png")
    Image.open(folder / "boot.png").convert("RGB").save(folder / "boot.jpg")
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a picture")
    empty_folder = tmp_path / "nothing"
    empty_folder.mkdir()
    missing = tmp_path / "missing.png"
    done = run_cli(
        "predict", str(run_dir), str(folder), str(missing), str(empty_folder), "--show",
        log_dir=tmp_path / "logs",
    )  # fmt: skip
    assert done.returncode == EXIT_FAILED
    assert "Traceback" not in done.stderr
    problems = done.stderr.strip().splitlines()
    assert [line.split(": ")[1] for line in problems] == [
        str(folder / "empty.png"),
        str(folder / "notes.jpg"),
        str(missing),
        str(empty_folder),
    ]
    output = done.stdout.splitlines()
    results = [line for line in output if line and not line.startswith(" ")]
    assert [line.split(": ")[0] for line in results] == [
        str(folder / "boot.jpg"),
        str(folder / "boot.png"),
    ]
    assert all(line.count("%") == 3 for line in results), "the three likeliest classes"
    assert len(output) == 2 + 2 * 28, "each followed by the 28 rows of what the model saw"
    assert any("@" in line for line in output), "the garment drawn bright"


@pytest.mark.slow
def test_predict_json_holds_the_28x28_and_the_top_three(run_dir: Path, tmp_path: Path) -> None:
    picture = boot_picture(tmp_path / "boot.png")
    out = tmp_path / "pngs"
    done = run_cli(
        "predict", str(run_dir), str(picture), "--json", "--out", str(out), log_dir=tmp_path
    )
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stderr == ""
    document = json.loads(done.stdout)
    assert document["problems"] == [] and document["flip_averaged"] is True
    [entry] = document["pictures"]
    image = np.array(entry["image"])
    assert image.shape == (28, 28) and image.min() >= 0 and image.max() <= 255
    assert image[0, 0] == 0 and image.max() > 200, "light on black, as trained"
    top = entry["top"]
    assert len(top) == 3 and top[0]["probability"] >= top[1]["probability"] >= top[2]["probability"]
    assert top[0]["label"] == int(np.argmax(entry["probabilities"]))
    assert "negated (light background)" in entry["steps"]
    assert Path(entry["png"]) == out / "boot.png" and (out / "boot.png").is_file()


def test_predict_with_no_picture_argument_is_a_usage_error(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["predict", str(run_dir)])
    assert exited.value.code == EXIT_USAGE
    one_line(capsys.readouterr().err)


def test_predict_only_bad_files_exits_1_without_loading_a_model(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "zero.png").write_bytes(b"")
    assert main(["predict", str(run_dir), str(tmp_path / "zero.png")]) == EXIT_FAILED
    assert "zero.png: an empty file" in one_line(capsys.readouterr().err)


def test_predict_with_a_run_that_is_not_one_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = boot_picture(tmp_path / "boot.png")
    assert main(["predict", str(tmp_path / "nowhere"), str(picture)]) == EXIT_USAGE
    assert "not a run folder" in one_line(capsys.readouterr().err)


@pytest.mark.slow
def test_the_light_modules_import_neither_keras_nor_matplotlib() -> None:
    # The command checks every file and argument before Keras loads; the PNGs import
    # matplotlib when they draw.
    script = (
        "import sys, core.images, core.explain_plot, tui.inspect_cli\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', 'matplotlib')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
