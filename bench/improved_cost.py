"""Side-by-side cost of the new ``improved`` preset, today's reference and the seed (issue 11).

One benchmark run, each program in a fresh process, one at a time, interleaved on the shared
CPU: reference epochs (the pre-issue-11 ``improved`` at batch 32, timed through
``bench.improved_search --stop-after``; its whole 15-epoch run is 15 x the median epoch), then
``fmnist-tui train --model improved`` for each seed, with the seed's 10-epoch run and more
reference epochs between them. Writes ``bench/results/improved_cost.json`` with every run's
epoch seconds, the cost ratios, and each improved run's test accuracy with and without
horizontal-flip averaging (the final recipe only; nothing is chosen on it).

``python -m bench.improved_cost --runs-dir DIR [--seeds 0 1 2] [--batch-size 128]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.time_to_accuracy import THRESHOLDS, seconds_to_reach

RESULTS = Path(__file__).parent / "results" / "improved_cost.json"
DATA_DIR = "/usr/share/datasets/fashion-mnist"


def _train(model: str, epochs: int, batch_size: int, seed: int, runs_dir: Path) -> Path:
    before = set(runs_dir.iterdir()) if runs_dir.exists() else set()
    subprocess.run(
        [
            *("uv", "run", "fmnist-tui", "train", "--model", model, "--epochs", str(epochs)),
            *("--batch-size", str(batch_size), "--seed", str(seed), "--no-export"),
            *("--runs-dir", str(runs_dir), "--data-dir", DATA_DIR),
        ],
        check=True,
    )
    (new,) = set(runs_dir.iterdir()) - before
    return new


def _reference_epochs(epochs: int) -> list[float]:
    out = subprocess.run(
        [
            *(sys.executable, "-m", "bench.improved_search", "--arch", "reference"),
            *("--batch-size", "32", "--lr", "3e-3", "--epochs", "15"),
            *("--stop-after", str(epochs), "--note", "reference timing (improved_cost)"),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [json.loads(line)["seconds"] for line in out.splitlines() if '"epoch"' in line]


def flip_accuracy(run_dir: Path) -> dict[str, float]:
    """Test and validation accuracy of a saved run's model, plain and flip-averaged."""
    from core.logs import quiet_tensorflow_env

    quiet_tensorflow_env()
    import keras

    from bench.improved_search import flip_averaged_accuracy
    from core.data import load_dataset

    data = load_dataset(DATA_DIR)
    model = keras.models.load_model(run_dir / "model.keras", compile=False)
    val, val_flip = flip_averaged_accuracy(model, data.x_val, data.y_val)
    test, test_flip = flip_averaged_accuracy(model, data.x_test, data.y_test)
    return {
        "final_val_accuracy": round(val, 4),
        "final_val_accuracy_flip": round(val_flip, 4),
        "test_accuracy_reloaded": round(test, 4),
        "test_accuracy_flip": round(test_flip, 4),
    }


def _run_summary(run_dir: Path) -> dict[str, Any]:
    history = json.loads((run_dir / "history.json").read_text())["epochs"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {
        "run_dir": str(run_dir),
        "epoch_seconds": [round(e["seconds"], 1) for e in history],
        "run_seconds": round(sum(e["seconds"] for e in history), 1),
        "val_accuracy": [round(e["val_accuracy"], 4) for e in history],
        "seconds_to_val": {f"{t:.2f}": seconds_to_reach(history, t) for t in THRESHOLDS},
        "test_accuracy": metrics["test_accuracy"],
        "trainable_params": metrics.get("trainable_params"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.improved_cost")
    parser.add_argument("--runs-dir", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--reference-epochs", type=int, default=2)
    args = parser.parse_args(argv)
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M"),
        "command": "python -m bench.improved_cost " + " ".join(argv or sys.argv[1:]),
        "reference_epoch_seconds": [],
        "improved": [],
        "seed": None,
        "loads": [],
    }

    def save() -> None:
        ref = result["reference_epoch_seconds"]
        if ref and result["improved"]:
            reference_run = 15 * statistics.median(ref)
            result["reference_run_seconds_estimate"] = round(reference_run, 1)
            runs = [r["run_seconds"] for r in result["improved"]]
            result["improved_run_seconds_median"] = round(statistics.median(runs), 1)
            result["improved_over_reference"] = round(statistics.median(runs) / reference_run, 3)
            if result["seed"]:
                seed_run = result["seed"]["run_seconds"]
                result["improved_over_seed_run"] = round(statistics.median(runs) / seed_run, 2)
                result["reference_over_seed_run"] = round(reference_run / seed_run, 2)
            tests = [r["test_accuracy"] for r in result["improved"]]
            result["improved_test_accuracy_mean"] = round(statistics.fmean(tests), 4)
            flips = [r["test_accuracy_flip"] for r in result["improved"]]
            result["improved_test_accuracy_flip_mean"] = round(statistics.fmean(flips), 4)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")

    for i, seed in enumerate(args.seeds):
        if i != 1:
            result["reference_epoch_seconds"] += _reference_epochs(args.reference_epochs)
        result["loads"].append(os.getloadavg())
        save()
        run_dir = _train("improved", args.epochs, args.batch_size, seed, args.runs_dir)
        summary = _run_summary(run_dir)
        summary.update(seed=seed, **_flip_in_subprocess(run_dir))
        result["improved"].append(summary)
        result["loads"].append(os.getloadavg())
        save()
        if i == 0:
            result["seed"] = _run_summary(_train("seed", 10, 32, 0, args.runs_dir))
            save()
    print(json.dumps({k: v for k, v in result.items() if k not in ("improved", "seed")}, indent=2))
    return 0


def _flip_in_subprocess(run_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.improved_cost", "--flip-only", str(run_dir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.splitlines()[-1])
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--flip-only":
        print(json.dumps(flip_accuracy(Path(sys.argv[2]))))
        raise SystemExit(0)
    raise SystemExit(main())
