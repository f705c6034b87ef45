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
from bench.common import Settings
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


class _Done(Exception):
    """Ends a fake-clock run of the lag ticker."""


class _StallingClock:
    """``perf_counter`` and ``asyncio.sleep`` for the lag ticker: every sleep lasts exactly as
    asked, except one, which the event loop keeps ``stall_s`` longer (a blocked loop)."""

    def __init__(self, stall_at: float, stall_s: float, end: float) -> None:
        self.now = 0.0
        self.stall_at, self.stall_s, self.end = stall_at, stall_s, end
        self.stalled = False

    def perf_counter(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay
        if not self.stalled and self.now >= self.stall_at:
            self.stalled = True
            self.now += self.stall_s
        if self.now >= self.end:
            raise _Done


def test_a_stall_counts_once_for_every_tick_it_held_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """10 s of 10 ms ticks with one 300 ms stall: 30 ticks were served late (by 300, 290, ...
    10 ms), 3% of the ticks, so p99 must see the stall. One sample per late wake-up would make
    it 1 sample in 1,000 and p99 zero."""
    from bench import app_probe
    from bench.common import summarize

    clock = _StallingClock(stall_at=5.0, stall_s=0.300, end=10.0)
    monkeypatch.setattr(app_probe.time, "perf_counter", clock.perf_counter)
    monkeypatch.setattr(app_probe.asyncio, "sleep", clock.sleep)
    probe = app_probe.Probe(None)
    probe.phase = "training"
    with pytest.raises(_Done):
        probe.lag_ticker().send(None)
    lags_ms = [lag * 1000 for lag in probe.lags["training"]]
    late = sorted((lag for lag in lags_ms if lag > 1.0), reverse=True)
    assert len(late) == 30
    assert late[0] == pytest.approx(300, abs=0.01)
    assert late[-1] == pytest.approx(10, abs=0.01)
    assert len(lags_ms) == pytest.approx(1000, abs=2)
    stats = summarize(lags_ms)
    assert stats["p99"] == pytest.approx(200, abs=5)
    assert stats["p50"] == pytest.approx(0, abs=0.01)


def test_tick_lags_keeps_the_schedule() -> None:
    from bench.app_probe import tick_lags

    assert tick_lags(1.0, 0.999, 0.01) == ([], 1.0)  # woke early: nothing due yet
    lags, due = tick_lags(1.0, 1.025, 0.01)
    assert lags == pytest.approx([0.025, 0.015, 0.005])
    assert due == pytest.approx(1.03)


def _capture_settings(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Swap every benchmark for one that only keeps the settings it was given."""
    import bench.__main__ as bench_cli

    seen: list[Settings] = []

    def fake(settings: Settings) -> dict[str, object]:
        seen.append(settings)
        return {}

    monkeypatch.setattr(bench_cli, "BENCHMARKS", dict.fromkeys(bench_cli.BENCHMARKS, fake))
    return seen


@pytest.mark.parametrize(
    ("orig_argv", "uv", "expected"),
    [
        (
            ["/opt/py/bin/python3.11", "-X", "dev", "-m", "bench", "--only", "mistakes"],
            None,
            "/opt/py/bin/python3.11 -X dev -m bench --only mistakes",
        ),
        (
            [str(ROOT / ".venv/bin/python"), "-m", "bench", "--only", "mistakes"],
            "/usr/bin/uv",
            "uv run python -m bench --only mistakes",
        ),
        (
            [str(ROOT / ".venv/bin/python"), "bench/__main__.py", "--only", "mistakes"],
            None,
            f"{ROOT / '.venv/bin/python'} bench/__main__.py --only mistakes",
        ),
    ],
)
def test_the_recorded_command_is_the_real_invocation(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    orig_argv: list[str],
    uv: str | None,
    expected: str,
) -> None:
    seen = _capture_settings(monkeypatch)
    options = ["--results-dir", str(tmp_path), "--no-doc"]
    monkeypatch.setattr(sys, "orig_argv", [*orig_argv, *options])
    monkeypatch.setattr(sys, "argv", ["bench", *orig_argv[orig_argv.index("--only") :], *options])
    monkeypatch.delenv("UV", raising=False)
    if uv:
        monkeypatch.setenv("UV", uv)
    assert bench_main() == 0
    assert seen[0].command == f"{expected} --results-dir {tmp_path} --no-doc"


def test_a_call_with_arguments_records_the_equivalent_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = _capture_settings(monkeypatch)
    monkeypatch.delenv("UV", raising=False)
    assert bench_main(["--only", "mistakes", "--results-dir", str(tmp_path), "--no-doc"]) == 0
    assert seen[0].command == (
        f"{sys.executable} -m bench --only mistakes --results-dir {tmp_path} --no-doc"
    )
