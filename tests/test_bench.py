"""The benchmark harness: its quick mode end to end, and the report built from result files.

Nothing here checks a timing: the benchmarks measure, BENCHMARKS.md reports. These tests only
make sure the harness runs and writes what the report needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import QUICK_ALL, _selected
from bench.__main__ import main as bench_main
from bench.report import BEGIN_MARK, END_MARK, markdown, update_document

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_mode_runs_and_writes_results(tmp_path: Path) -> None:
    """Three cheap benchmarks in quick mode: headless Mistakes pane, the app on a
    pseudo-terminal with keys typed, and one ``fmnist-tui train`` run."""
    results = tmp_path / "results"
    names = ["mistakes", "responsiveness", "accuracy-seed"]
    command = [sys.executable, "-m", "bench", "--quick", "--results-dir", str(results)]
    for name in names:
        command += ["--only", name]
    command += ["--work-dir", str(tmp_path / "work")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]

    for name in names:
        data = json.loads((results / f"{name}.json").read_text(encoding="utf-8"))
        assert data["benchmark"] == name
        assert data["quick"] is True
        assert data["command"].startswith("uv run python -m bench --quick")
        assert data["machine"]["cpu"]
        assert data["date"]

    mistakes = json.loads((results / "mistakes.json").read_text(encoding="utf-8"))["summary"]
    assert mistakes["reached_position"] == mistakes["mistakes"] == 100
    assert mistakes["pagedown_key_to_frame_ms"]["count"] == mistakes["pagedown_presses"] > 0

    responsiveness = json.loads((results / "responsiveness.json").read_text(encoding="utf-8"))
    run = responsiveness["runs"][0]
    assert run["lag_ms"]["training"]["count"] > 0
    assert run["epoch_seconds"] and run["test_accuracy"] is not None

    accuracy = json.loads((results / "accuracy-seed.json").read_text(encoding="utf-8"))
    assert 0.0 <= accuracy["summary"]["test_accuracy_mean"] <= 1.0
    assert accuracy["summary"]["trainable_params"] == 394_530
    assert (results / accuracy["curves_png"]).stat().st_size > 0

    assert "## Accuracy on the real data" in done.stdout
    assert "quick mode" in done.stdout
    assert "Not yet run: `uv run python -m bench --only overhead`" in done.stdout


def test_report_without_results_names_the_commands(tmp_path: Path) -> None:
    text = markdown(tmp_path)
    for name in ("accuracy-seed", "overhead", "responsiveness", "coldstart", "mistakes"):
        assert f"uv run python -m bench --only {name}" in text
    assert "## GPU" in text


def test_the_document_keeps_everything_outside_its_generated_block(tmp_path: Path) -> None:
    document = tmp_path / "BENCHMARKS.md"
    document.write_text(f"# Title\n\nhand-written\n\n{BEGIN_MARK}\nold\n{END_MARK}\n\nafter\n")
    assert update_document(document, "new table\n")
    text = document.read_text()
    assert text.startswith("# Title\n\nhand-written\n\n")
    assert "new table" in text and "old" not in text
    assert text.endswith(f"{END_MARK}\n\nafter\n")
    unmarked = tmp_path / "unmarked.md"
    unmarked.write_text("no markers\n")
    assert not update_document(unmarked, "x")
    assert unmarked.read_text() == "no markers\n"


def test_quick_mode_runs_one_accuracy_preset_unless_asked() -> None:
    assert _selected(None, quick=True) == QUICK_ALL
    assert _selected(["accuracy"], quick=True) == [
        "accuracy-seed",
        "accuracy-seed-deep",
        "accuracy-improved",
    ]
    assert _selected(None, quick=False)[-1] == "accuracy-improved"


def test_quick_results_never_go_to_the_real_results_folder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = str(ROOT / "bench" / "results")
    code = bench_main(["--quick", "--only", "mistakes", "--results-dir", real])
    assert code == 2
    assert "never go to bench/results" in capsys.readouterr().err
