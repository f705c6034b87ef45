"""BENCHMARKS.md says one thing at a time, about named code on a named machine: every table is
the result files', each names its machine and commit, and older results say how old."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.provenance import Provenance
from bench.report import BEGIN_MARK, END_MARK, markdown

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
DOCUMENT = ROOT / "BENCHMARKS.md"


def _generated_block() -> tuple[str, str, str]:
    text = DOCUMENT.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN_MARK, 1)
    generated, tail = rest.split(END_MARK, 1)
    return head, generated, tail


def _reference(generated: str) -> str:
    found = re.search(r"against commit ([0-9a-f]{7,40}) \(the report's\)", generated)
    assert found, "the generated block names no commit it was made against"
    return found.group(1)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def history(tmp_path: Path) -> list[str]:
    """A repository of four commits, the oldest first, dated a day apart."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    commits = []
    for day in range(1, 5):
        (root / "f").write_text(str(day), encoding="utf-8")
        _git(root, "add", "f")
        date = f"2026-11-2{day}T12:00:00+00:00"
        subprocess.run(
            ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "commit",
             "-q", "-m", str(day), "--date", date],
            check=True, env={"GIT_COMMITTER_DATE": date, "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        commits.append(_git(root, "rev-parse", "HEAD"))
    return commits


def _result(**fields: Any) -> dict[str, Any]:
    return {
        "benchmark": "x",
        "date": "2026-11-23T13:00:00+00:00",
        "command": "uv run python -m bench --only x",
        "machine": {"cpu": "Intel(R) Xeon(R) Processor", "usable_cpus": 2, "load_average": [3.5]},
        **fields,
    }


def test_a_result_from_older_code_says_how_many_commits_older(
    history: list[str], tmp_path: Path
) -> None:
    """Mutations caught: a stamp that names the commit but not that it is older than the
    report's (the issue's 'predate 25 commits' that no table said); a stamp that does not
    warn when the shared machine had more work waiting than cores."""
    prov = Provenance(history[-1], tmp_path / "repo")
    old = _result(code={"commit": history[0], "diff_sha256": None})
    stamp = prov.stamp(old)
    assert "**older code**" in stamp and "3 commits before the report's" in stamp
    assert "Intel Xeon (2 cores, load 3.5)" in stamp
    assert "The machine was overloaded (load 3.5 on 2 cores)" in stamp
    quiet = _result(machine={"cpu": "AMD EPYC", "usable_cpus": 2, "load_average": [1.2]})
    assert "overloaded" not in prov.stamp(quiet)
    assert not prov.is_current(old)
    current = _result(code={"commit": history[-1], "diff_sha256": "d" * 64})
    assert "older code" not in prov.stamp(current)
    assert "with uncommitted changes (not traceable to a commit)" in prov.stamp(current)
    assert "3 commits old" in prov.cell(old) and "Intel Xeon" in prov.cell(old)


def test_a_result_without_a_commit_counts_the_commits_made_since_its_date(
    history: list[str], tmp_path: Path
) -> None:
    prov = Provenance(history[-1], tmp_path / "repo")
    stamp = prov.stamp(_result())  # 2026-11-23 13:00: the commits of the 24th and later
    assert "**no commit recorded**; 1 commits made since its date" in stamp


def test_every_table_names_its_machine_and_code() -> None:
    """Each table of the report is followed, before the next heading, by the line that says
    where and from which code it came, or has that in a column. Mutation caught: dropping
    the stamp under any one table (the stop-latency table's, say)."""
    generated = markdown(RESULTS)
    chunks = re.split(r"^#{2,3} ", generated, flags=re.MULTILINE)
    checked = 0
    for chunk in chunks:
        if "\n|---" not in chunk:
            continue
        checked += 1
        title = chunk.splitlines()[0]
        assert (
            "_Measured " in chunk  # a stamp
            or "| measured on" in chunk  # a column of stamps
            or "| machine | code |" in chunk  # the index
            or "no date, machine or commit" in chunk  # the search, which recorded none
            or "_23 record(s) predate" in chunk  # the GPU records
        ), f"the table under {title!r} names neither its machine nor its code"
    assert checked >= 12


def test_the_report_calls_no_older_preset_todays(tmp_path: Path) -> None:
    """A GPU record of the ``improved`` preset with another parameter count than today's
    preset (as the accuracy result measures it) is named as the preset as it stood then.
    Mutation caught: the hand-typed ``CURRENT_IMPROVED`` that called the old 361,954-param
    preset today's."""
    results = tmp_path / "results"
    (results / "gpu").mkdir(parents=True)
    accuracy = json.loads((RESULTS / "accuracy-improved.json").read_text(encoding="utf-8"))
    (results / "accuracy-improved.json").write_text(json.dumps(accuracy), encoding="utf-8")
    record = {"variant": "preset=improved", "seed": 0, "params": 361_954, "test_accuracy": 0.9}
    lines = [json.dumps({**record, "history": [{"seconds": 9.0}, {"seconds": 4.0}]})]
    for name in ("improved_tuning_h100_keras_jax.jsonl", "epoch_seconds_h100_keras_jax.jsonl"):
        (results / "gpu" / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = markdown(results)
    rows = [line for line in text.splitlines() if line.startswith("| `improved`") and "361" in line]
    today = f"{accuracy['summary']['trainable_params']:,}"
    assert len(rows) == 2 and all("**as it stood then**" in row for row in rows), rows
    assert all(f"today's: {today}" in row for row in rows)
    assert "Today's `improved` preset is" not in text


def test_the_report_shows_only_what_the_result_files_hold(tmp_path: Path) -> None:
    """With no result files, no table has a row of figures: every figure comes from a file.
    Mutation caught: any figure typed into bench/report.py (the GPU paragraph's mean accuracy
    came from a hand-kept list of variants; the GPU tables read a fixed folder)."""
    text = markdown(tmp_path / "empty")
    assert not re.findall(r"\d\.\d", text), "figures with no result file behind them"
    assert "## GPU" not in text


def test_benchmarks_md_is_the_report_of_the_result_files() -> None:
    """The generated block of BENCHMARKS.md is what ``bench/report.py`` makes of today's
    result files, against the commit it names: a result re-measured and not carried into the
    document, or a figure edited by hand, fails here (``uv run python -m bench --report``
    fixes it)."""
    _, generated, _ = _generated_block()
    fresh = markdown(RESULTS, reference=_reference(generated))
    assert generated.strip() == fresh.strip()


def test_outside_the_generated_block_no_table_holds_results() -> None:
    """The hand-written parts keep only descriptive tables (what each benchmark measures,
    what each side of the backend comparison does). Mutation caught: a results table pasted
    into the notes (the improved search, the side-by-side cost and the time-to-accuracy
    tables were)."""
    head, _, tail = _generated_block()
    lines = (head + tail).splitlines()
    headers = [a for a, b in itertools.pairwise(lines) if b.startswith("|---")]
    assert headers == [
        "| benchmark | what it measures |",
        "| | (a) plain `fit` (`bench/plain_fit.py`) | (b) `fmnist-tui train` "
        "(`core/training.py`) |",
    ]


def test_the_study_table_lists_every_trial_and_marks_the_best() -> None:
    """Mutation: marking the last trial best (not the study's best) fails this."""
    from bench.provenance import Provenance
    from bench.report_training import study_section

    def trial(number: int, state: str, value: float | None, retry_of: int | None = None) -> dict:
        return {
            "number": number, "state": state, "value": value, "epochs_done": 3,
            "duration_s": 120.0, "retry_of": retry_of,
            "params": {"learning_rate": 1e-3 * (number + 1), "weight_decay": 1e-4},
        }  # fmt: skip

    result = {
        "benchmark": "improved-study", "study": "s", "direction": "maximize",
        "objective": "val_accuracy", "best": 1, "date": "2026-12-02T06:00:00+00:00",
        "trials": [trial(2, "running", 0.5), trial(0, "failed", 0.8), trial(1, "complete", 0.9, 0)],
    }  # fmt: skip
    lines = study_section({"improved-study": result}, Provenance("HEAD"))
    rows = [line for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert [row.split("|")[1].strip() for row in rows] == ["0", "1 **best**", "2"]
    assert "complete (retry of 0)" in rows[1] and "0.9000" in rows[1]
    assert "running" in rows[2] and "0.5000" in rows[2]
