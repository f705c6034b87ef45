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

from bench.__main__ import BENCHMARKS, QUICK_ALL, _selected
from bench.__main__ import main as bench_main
from bench.common import Settings
from bench.report import BEGIN_MARK, END_MARK, markdown, update_document
from core.backend import default_backend

ROOT = Path(__file__).resolve().parents[2]


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
    names = ("accuracy-seed", "overhead", "responsiveness", "coldstart", "mistakes")
    for name in (*names, "stop-latency", "improved-cost"):
        assert f"uv run python -m bench --only {name}" in text
    assert "## GPU" not in text, "the GPU tables come from bench/results/gpu only"


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
        "accuracy-seed-augment",
        "accuracy-seed-deep",
        "accuracy-improved",
    ]
    full = _selected(None, quick=False)
    assert full == list(BENCHMARKS), "a full run runs every benchmark, each once"
    assert "accuracy-improved" in full and "cost-seed-file" in full


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


# --- --reuse-runs -------------------------------------------------------------------------

REUSE_PRESET = "accuracy-seed"
DATA_DIR = "/data/fashion-mnist"
HARNESS_ARGUMENTS = [
    "train", "--epochs", "10", "--model", "seed", "--seed", "0", "--batch-size", "32",
    "--data-dir", DATA_DIR, "--runs-dir", "<runs-dir>", "--no-export",
]  # fmt: skip


def _harness_config(seed: int = 0) -> dict[str, object]:
    """The config.json that ``fmnist-tui train`` writes for the harness's seed-preset run."""
    return {
        "epochs": 10, "model": "seed", "batch_size": 32, "val_split": 0.2, "seed": seed,
        "limit_train": None, "limit_test": None, "data_dir": DATA_DIR, "patience": None,
        "augment": False, "backend": default_backend(), "hyperparameters": SEED_TRAINING,
        "model_file": None, "model_sha256": None, "study": None, "trial": None,
    }  # fmt: skip


SEED_TRAINING = {
    "optimizer": "adam", "learning_rate": 0.001, "weight_decay": 0.0, "momentum": 0.9,
    "label_smoothing": 0.0, "schedule": "constant", "warmup_epochs": 0.0,
}  # fmt: skip
"""The seed preset's own training settings, as config.json records them."""


def _write_run(
    folder: Path,
    config: dict[str, object],
    *,
    accuracy: float,
    provenance: dict[str, object] | None,
) -> Path:
    folder.mkdir(parents=True)
    epochs = [
        {"epoch": e, "seconds": 1.0, "accuracy": 0.9, "loss": 0.3, "val_accuracy": 0.9,
         "val_loss": 0.3}
        for e in range(1, int(str(config.get("epochs", 10))) + 1)
    ]  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "history.json").write_text(json.dumps({"status": "finished", "epochs": epochs}))
    (folder / "metrics.json").write_text(
        json.dumps({"test_accuracy": accuracy, "test_loss": 0.3, "trainable_params": 394_530})
    )
    if provenance is not None:
        (folder / "bench-run.json").write_text(json.dumps(provenance))
    return folder


def _run_accuracy_with_reuse(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reuse_dir: Path
) -> dict[str, object]:
    """``accuracy-seed`` with --reuse-runs, training faked (test accuracy 0.5 marks a trained
    seed) and the result file captured instead of written."""
    from bench import accuracy

    def fake_train(settings: Settings, preset: object, seed: int, data_dir: Path) -> Path:
        folder = tmp_path / "trained" / f"s{seed}"
        return _write_run(folder, _harness_config(seed), accuracy=0.5, provenance=None)

    written: dict[str, object] = {}
    monkeypatch.setattr(accuracy, "code_version", lambda: THIS_CODE, raising=False)
    monkeypatch.setattr(accuracy, "_train", fake_train)
    monkeypatch.setattr(accuracy, "_plot", lambda *args: None)
    monkeypatch.setattr(accuracy, "write_result", lambda s, n, payload: written.update(payload))
    settings = Settings(
        results_dir=tmp_path / "results",
        quick=False,
        command="test",
        data_dir=Path(DATA_DIR),
        work_dir=tmp_path / "work",
        reuse_runs=reuse_dir,
    )
    accuracy.run(settings, REUSE_PRESET)
    return written


THIS_CODE = {"commit": "c" * 40, "diff_sha256": None}
"""The code version the faked harness runs (``bench.accuracy.code_version`` is replaced)."""


def _good_provenance() -> dict[str, object]:
    return {"arguments": HARNESS_ARGUMENTS, "code": THIS_CODE}


DROP = object()
"""A config value that stands for a key missing from config.json."""
DIFFERENCES: dict[str, tuple[dict[str, object], dict[str, object] | None, str]] = {
    # name: (config changes, provenance (None: no bench-run.json), a word of the reason)
    "model": ({"model": "seed-deep"}, {}, "model"),
    "epochs": ({"epochs": 9}, {}, "epochs"),
    "batch size": ({"batch_size": 64}, {}, "batch_size"),
    "seed": ({"seed": 1}, {}, "seed"),
    "val split": ({"val_split": 0.1}, {}, "val_split"),
    "limit train": ({"limit_train": 2000}, {}, "limit_train"),
    "limit test": ({"limit_test": 500}, {}, "limit_test"),
    "patience": ({"patience": 3}, {}, "patience"),
    "learning rate": (
        {"hyperparameters": {**SEED_TRAINING, "learning_rate": 0.01}},
        {},
        "hyperparameters",
    ),
    "no patience key (older code)": ({"patience": DROP}, {}, "patience"),
    "data source": ({"data_dir": None}, {}, "data_dir"),
    "other data folder": ({"data_dir": "/elsewhere"}, {}, "data_dir"),
    "no record of its code": ({}, None, "bench-run.json"),
    "other commit": ({}, {"code": {"commit": "0" * 40, "diff_sha256": None}}, "commit"),
    "uncommitted changes": ({}, {"code": {"diff_sha256": "f" * 64}}, "uncommitted"),
    "other command": ({}, {"arguments": HARNESS_ARGUMENTS[:-1]}, "trained with"),
}


@pytest.mark.parametrize("difference", list(DIFFERENCES))
def test_reuse_rejects_a_run_that_differs_in_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, difference: str
) -> None:
    changes, provenance_changes, reason = DIFFERENCES[difference]
    config = {**_harness_config(), **changes}
    config = {key: value for key, value in config.items() if value is not DROP}
    provenance = None
    if provenance_changes is not None:
        good = _good_provenance()
        code = {**good["code"], **provenance_changes.get("code", {})}  # type: ignore[dict-item]
        provenance = {**good, **provenance_changes, "code": code}
    candidate = _write_run(
        tmp_path / "reuse" / "20261124-100000-seed", config, accuracy=0.99, provenance=provenance
    )
    result = _run_accuracy_with_reuse(monkeypatch, tmp_path, tmp_path / "reuse")

    runs = result["runs"]
    assert isinstance(runs, list)
    assert [run["source"] for run in runs] == ["trained"] * 3
    assert [run["test_accuracy"] for run in runs] == [0.5] * 3
    rejected = result["reuse"]["seeds"]["0"]["rejected"]  # type: ignore[index]
    assert [r["run_dir"] for r in rejected] == [str(candidate)]
    assert any(reason in why for why in rejected[0]["reasons"]), rejected[0]["reasons"]


def test_reuse_takes_a_run_the_harness_trained_with_this_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reuse = tmp_path / "reuse" / "runs-accuracy-seed-s0"
    _write_run(reuse / "20261124-090000-seed", _harness_config(), accuracy=0.98,
               provenance=_good_provenance())  # fmt: skip
    newer = _write_run(reuse / "20261124-100000-seed", _harness_config(), accuracy=0.99,
                       provenance=_good_provenance())  # fmt: skip
    result = _run_accuracy_with_reuse(monkeypatch, tmp_path, tmp_path / "reuse")
    runs = result["runs"]
    assert isinstance(runs, list)
    assert [(run["source"], run["test_accuracy"]) for run in runs] == [
        ("reused", 0.99), ("trained", 0.5), ("trained", 0.5)
    ]  # fmt: skip
    assert runs[0]["trained_by"]["arguments"] == HARNESS_ARGUMENTS
    assert result["reuse"]["seeds"]["0"]["reused"] == str(newer)  # type: ignore[index]


def test_the_published_reused_runs_are_not_what_the_harness_trains() -> None:
    """The two CPU runs of ``improved`` kept in bench/results were trained without
    ``--data-dir`` and with exports on, before patience existed, and record no commit."""
    from bench.accuracy import PRESETS, _expected_config, _train_arguments, find_reusable
    from bench.common import DEBIAN_DATA_DIR, code_version

    preset = PRESETS["accuracy-improved"]
    for seed in (0, 1):
        chosen, rejected = find_reusable(
            ROOT / "bench" / "results",
            _expected_config(preset, seed, DEBIAN_DATA_DIR, quick=False),
            _train_arguments(preset, seed, DEBIAN_DATA_DIR, quick=False),
            code_version(),
        )
        assert chosen is None
        reasons = next(r for r in rejected if r["run_dir"].endswith(f"seed{seed}"))["reasons"]
        assert any("data_dir is None" in why for why in reasons)
        assert any("no bench-run.json" in why for why in reasons)


# --- GPU result records -----------------------------------------------------------------------


def _fake_keras_on_jax(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keras 3.15.1 on JAX with one H200, without loading either."""
    from types import SimpleNamespace

    device = SimpleNamespace(platform="gpu", device_kind="NVIDIA H200")
    keras = SimpleNamespace(__version__="3.15.1", backend=SimpleNamespace(backend=lambda: "jax"))
    monkeypatch.setitem(sys.modules, "keras", keras)
    monkeypatch.setitem(sys.modules, "jax", SimpleNamespace(devices=lambda: [device]))


def test_gpu_records_name_device_backend_date_and_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime

    from bench import gpu_tune

    _fake_keras_on_jax(monkeypatch)
    monkeypatch.setattr(gpu_tune, "_version", lambda name: {"jax": "0.8.1"}.get(name))
    monkeypatch.setattr(gpu_tune, "code_version", lambda: {"commit": "a" * 40, "diff_sha256": None})
    stamp = gpu_tune.run_metadata()
    assert stamp["device"] == "gpu: NVIDIA H200"
    assert stamp["backend"] == {"name": "jax", "version": "0.8.1", "keras": "3.15.1"}
    assert datetime.fromisoformat(stamp["date"]).tzinfo is not None
    assert stamp["commit"] == "a" * 40


def test_gpu_records_take_the_commit_from_bench_code_without_git(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import gpu_tune

    _fake_keras_on_jax(monkeypatch)
    monkeypatch.setattr(gpu_tune, "code_version", lambda: {"commit": None, "diff_sha256": None})
    monkeypatch.delenv("BENCH_CODE", raising=False)
    with pytest.raises(SystemExit, match="BENCH_CODE"):
        gpu_tune.run_metadata()
    monkeypatch.setenv("BENCH_CODE", json.dumps({"commit": "b" * 40, "diff_sha256": "d" * 64}))
    stamp = gpu_tune.run_metadata()
    assert (stamp["commit"], stamp["diff_sha256"]) == ("b" * 40, "d" * 64)


def test_every_published_gpu_record_says_where_it_ran_or_that_it_cannot() -> None:
    """New records carry their metadata; the older ones say what was reconstructed, and how."""
    lines = [
        json.loads(line)
        for path in sorted((ROOT / "bench" / "results" / "gpu").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line
    ]
    assert lines
    for record in lines:
        if "reconstructed" in record:
            assert {"device", "backend", "date", "commit"}.isdisjoint(record)
            assert record["reconstructed"]["added_in_commit"]
        else:
            assert {"device", "backend", "date", "commit"} <= set(record)


def test_the_gpu_section_says_what_each_record_ran_on() -> None:
    from bench.report import gpu_provenance

    stamped = {
        "device": "gpu: NVIDIA H200", "date": "2026-11-30T10:00:00+00:00", "commit": "a" * 40,
        "diff_sha256": None, "backend": {"name": "jax", "version": "0.8.1", "keras": "3.15.1"},
    }  # fmt: skip
    older = {"reconstructed": {"added_in_commit": "b" * 40, "committed": "2026-11-24T12:00"}}
    text = " ".join(gpu_provenance([stamped, older]))
    assert "date (2026-11-30 to 2026-11-30) and commit (aaaaaaaaaa)" in text
    assert "name their device (gpu: NVIDIA H200), backend (jax 0.8.1, Keras 3.15.1)" in text
    assert "1 record(s) predate" in text and "added in commit bbbbbbbbbb on 2026-11-24" in text


# --- BENCHMARKS.md against the result files ---------------------------------------------------


def _document_parts() -> tuple[str, str]:
    """BENCHMARKS.md's hand-written prose and its generated block."""
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    head, rest = text.split(BEGIN_MARK, 1)
    generated, tail = rest.split(END_MARK, 1)
    return head + tail, generated


def test_the_cold_start_figures_in_benchmarks_md_are_the_result_file_s() -> None:
    """The cold-start table is the one built from coldstart.json, and every number of seconds
    the prose gives for starting without bytecode is one of that file's medians."""
    import re

    from bench.common import read_results
    from bench.provenance import Provenance
    from bench.report import coldstart_section

    results = read_results(ROOT / "bench" / "results")
    prose, generated = _document_parts()
    reference = generated.split("against commit ", 1)[1].split(" ", 1)[0]
    assert "\n".join(coldstart_section(results, Provenance(reference))).strip() in generated

    medians = {
        round(float(figure), 1)
        for variant in results["coldstart"]["summary"].values()
        for key in ("first_frame_s", "import_tensorflow_s", "tensorflow_ready_in_app_s")
        for figure in [variant[key].get("median")]
        if figure is not None
    }
    paragraph = next(p for p in prose.split("\n- ") if "PYTHONPYCACHEPREFIX" in p)
    quoted = [float(n) for n in re.findall(r"(\d+(?:\.\d+)?) s\b", paragraph)]
    assert quoted, paragraph
    assert [n for n in quoted if round(n, 1) not in medians] == [], (paragraph, medians)


# --- Accuracy presets and the overhead table ---------------------------------------------------


def test_each_accuracy_benchmark_trains_its_preset_as_a_user_would() -> None:
    """At the preset's own batch size (improved: 128), and ``--augment`` where it says so."""
    from bench.accuracy import PRESETS, _expected_config, _train_arguments
    from bench.common import DEBIAN_DATA_DIR

    def argument(arguments: list[str], name: str) -> str:
        return arguments[arguments.index(name) + 1]

    improved = _train_arguments(PRESETS["accuracy-improved"], 0, DEBIAN_DATA_DIR, quick=False)
    assert argument(improved, "--batch-size") == "128"
    assert "--augment" not in improved
    augmented = PRESETS["accuracy-seed-augment"]
    arguments = _train_arguments(augmented, 1, DEBIAN_DATA_DIR, quick=False)
    assert "--augment" in arguments
    assert argument(arguments, "--model") == "seed"
    assert argument(arguments, "--batch-size") == "32"
    config = _expected_config(augmented, 1, DEBIAN_DATA_DIR, quick=False)
    assert config["augment"] is True and config["model"] == "seed"
    plain = _expected_config(PRESETS["accuracy-seed"], 1, DEBIAN_DATA_DIR, quick=False)
    assert plain["augment"] is False
    assert {**config, "augment": False} == plain, "the same run but for the option"


def test_the_overhead_table_has_the_app_over_the_cli_per_round() -> None:
    from bench.report import app_over_cli

    def run(round_number: int, mode: str, train_s: float, epochs: list[float]) -> dict[str, object]:
        return {"round": round_number, "mode": mode, "train_s": train_s, "epoch_seconds": epochs}

    runs = [
        run(1, "plain", 30.0, [12.0, 9.0, 9.0]),
        run(1, "cli", 20.0, [8.0, 6.0, 6.0]),
        run(1, "app", 21.0, [8.0, 6.5, 6.5]),
        run(2, "app", 19.0, [7.0, 6.0, 6.0]),
        run(2, "cli", 20.0, [8.0, 6.0, 6.0]),
        run(3, "cli", 20.0, [8.0, 6.0, 6.0]),  # the app's run of round 3 failed
    ]
    whole, steady = app_over_cli(runs)
    assert whole == pytest.approx([1.05, 0.95])
    assert steady == pytest.approx([13 / 12, 1.0])
