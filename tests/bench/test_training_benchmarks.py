"""The stop-latency and improved-cost benchmarks: what they compute, and what the README
promises from them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import improved_cost, stop_latency
from bench.interleaved_epochs import orders

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_promises_the_stop_latency_measured_on_every_backend() -> None:
    """The README's `s` key and its Ctrl-C sentence promise a stop at the end of the call
    under way, about ``EXECUTION_TARGET_S``; ``stop-latency.json`` measured it on TensorFlow,
    JAX and PyTorch, every stop in the middle of an epoch within twice that. Mutations
    caught: the old "stops within one batch"; a call size changed in core.training and not in
    the README; a result without one of the backends."""
    from core.training import EXECUTION_TARGET_S

    assert stop_latency.PROMISE_S == EXECUTION_TARGET_S
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "within one batch" not in readme
    promise = f"about {EXECUTION_TARGET_S:g} s"
    [key_row] = [line for line in readme.splitlines() if line.startswith("| `s` |")]
    assert "end of the current call into the backend" in key_row and promise in key_row
    ctrl_c = re.search(r"Ctrl-C stops as `s` does, at the end of the current call into the"
                       r"\s+backend \(about\s+([\d.]+) s", readme)  # fmt: skip
    assert ctrl_c and float(ctrl_c.group(1)) == EXECUTION_TARGET_S
    result = json.loads((ROOT / "bench/results/stop-latency.json").read_text(encoding="utf-8"))
    measured = {r["backend"]: r["cases"] for r in result["results"]}
    assert set(measured) == {"tensorflow", "jax", "torch"}
    for backend, cases in measured.items():
        for case in ("epoch 1", "epoch 2"):
            assert cases[case]["stops"] >= 3, (backend, case)
            assert cases[case]["max_s"] <= 2 * EXECUTION_TARGET_S, (backend, case)


def test_stop_latency_summarizes_each_case_with_the_calls_it_waited_on() -> None:
    stops = [
        {"case": "epoch 1", "seconds": 0.05, "steps_per_execution": 8, "step_seconds": 0.01},
        {"case": "epoch 1", "seconds": 0.09, "steps_per_execution": 8, "step_seconds": 0.02},
        {"case": "epoch 2", "seconds": 0.12, "steps_per_execution": 15, "step_seconds": 0.01},
    ]
    summary = stop_latency.summarize_backend({"stops": stops})
    assert summary["epoch 1"] == {
        "stops": 2,
        "median_s": pytest.approx(0.07),
        "max_s": 0.09,
        "steps_per_execution": [8],
        "call_s_median": pytest.approx(0.12),
    }
    assert summary["epoch 2 start"]["stops"] == 0 and summary["epoch 2 start"]["max_s"] is None


def test_the_sides_alternate_so_neither_always_goes_first() -> None:
    """Mutation caught: ``alternate`` running A B every round."""
    assert orders("alternate", ["a", "b"], 4) == [["a", "b"], ["b", "a"], ["a", "b"], ["b", "a"]]
    assert orders("abba", ["a", "b"], 1) == [["a", "b", "b", "a"]]
    with pytest.raises(ValueError, match="unknown order"):
        orders("ab", ["a", "b"], 1)


def _epoch(seconds: float) -> dict[str, float]:
    return {"seconds": seconds, "cpu_s": seconds * 1.5, "val_accuracy": 0.9}


def test_the_cost_ratio_is_the_median_of_rounds_and_a_run_counts_its_first_epochs() -> None:
    """Per round new/old; a run is its traced 1st epoch, its retraced 2nd and 13 steady ones.
    Mutation caught: a run estimated as 15 steady epochs (the tracing left out)."""
    child = {
        "planned_epochs": 15,
        "trainable_params": {"improved": 1, "reference": 2},
        "warmup": {"improved": _epoch(20.0), "reference": _epoch(40.0)},
        "settle": {"improved": _epoch(12.0), "reference": _epoch(35.0)},
        "rounds": [
            {
                "order": ["improved", "reference"],
                "epochs": {"improved": [_epoch(10.0)], "reference": [_epoch(30.0)]},
            },
            {
                "order": ["reference", "improved"],
                "epochs": {"improved": [_epoch(9.0)], "reference": [_epoch(36.0)]},
            },
            {
                "order": ["improved", "reference"],
                "epochs": {"improved": [_epoch(12.0)], "reference": [_epoch(30.0)]},
            },
        ],
    }
    summary = improved_cost.summarize(child)["summary"]
    assert summary["ratios"] == pytest.approx([1 / 3, 0.25, 0.4])
    assert summary["ratio_median"] == pytest.approx(1 / 3)
    assert summary["met"] is True
    assert summary["run_seconds_estimate"] == {
        "improved": 20 + 12 + 13 * 10.0,
        "reference": 40 + 35 + 13 * 30.0,
    }
    assert summary["run_ratio_estimate"] == pytest.approx(162 / 465)


@pytest.mark.slow
def test_both_benchmarks_run_in_quick_mode_and_record_their_code(tmp_path: Path) -> None:
    """Both through the harness on a small subset (synthetic shapes without the real data),
    on the default backend: each result names its machine, commit and load, and its table
    is in the report. (The search script they replace broke unnoticed: nothing ran it.)"""
    results = tmp_path / "results"
    command = [
        sys.executable, "-m", "bench", "--quick", "--results-dir", str(results),
        "--only", "stop-latency", "--only", "improved-cost", "--work-dir", str(tmp_path / "w"),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("stop-latency", "improved-cost"):
        data = json.loads((results / f"{name}.json").read_text(encoding="utf-8"))
        assert data["quick"] is True and data["machine"]["cpu"]
        assert "commit" in data["code"] and data["machine"]["load_average"]
    cost = json.loads((results / "improved-cost.json").read_text(encoding="utf-8"))["summary"]
    assert cost["trainable_params"] == {"improved": 278_890, "reference": 361_954}
    assert len(cost["ratios"]) == 1 and cost["ratio_median"] > 0
    latency = json.loads((results / "stop-latency.json").read_text(encoding="utf-8"))
    assert latency["results"] and latency["results"][0]["stops"]
    assert "### How fast `s` stops training" in done.stdout
    assert (
        "### Cost, side by side" in done.stdout
        and "Not yet run: `uv run python -m bench --only improved-cost`" not in done.stdout
    )
