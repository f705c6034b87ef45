"""What a sweep trial costs beyond the same ``fmnist-tui train`` run, side by side.

Each round runs (a) ``fmnist-tui train`` and (b) ``fmnist-tui sweep`` of a one-trial study
with the same settings (model, epochs, batch size, learning rate, seed, data, limits), each in
a fresh process with a fresh runs folder (so the sweep starts a new journal and study, as a
first worker does); the order alternates every round (A B, B A, ...) so that neither always
runs first on a shared machine. ``train`` runs with ``--no-export`` since a sweep writes no
PNGs; both evaluate on the test set and save the model.

Two ratios per round, sweep over train, their medians reported: the processes' wall times
(everything a trial adds: importing Optuna, the journal, the study, the liveness lock and
heartbeat thread, reporting each epoch, pruning checks) and the training times (the sum of
the epochs' seconds from ``history.json``). The promise: the wall ratio is at most 1.03.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import (
    BenchError,
    Settings,
    child_env,
    cli_command,
    data_dir_for,
    median,
    progress,
    run_child,
    write_result,
)

NAME = "sweep-cost"
MAX_RATIO = 1.03
LEARNING_RATE = 0.001
SPACE = f"""\
# One trial: the grid's seed 1 starts with the first rate, {LEARNING_RATE}.
[params]
model = "seed"
epochs = {{epochs}}
batch_size = 32
learning_rate = [{LEARNING_RATE}, 0.002]
[sampler]
type = "grid"
seed = 1
"""


def _plan(settings: Settings) -> dict[str, Any]:
    if settings.quick:
        return {"epochs": 1, "rounds": 1, "limit_train": 2000, "limit_test": 500}
    return {"epochs": 2, "rounds": 4, "limit_train": 6000, "limit_test": 2000}


def run(settings: Settings) -> dict[str, Any]:
    plan = _plan(settings)
    rounds = settings.rounds or plan["rounds"]
    data_dir, data = data_dir_for(settings, NAME)
    scratch = settings.work_dir / NAME
    scratch.mkdir(parents=True, exist_ok=True)
    space = scratch / "one_trial.toml"
    space.write_text(SPACE.format(epochs=plan["epochs"]), encoding="utf-8")
    common = [
        "--data-dir", str(data_dir),
        "--limit-train", str(plan["limit_train"]), "--limit-test", str(plan["limit_test"]),
    ]  # fmt: skip
    runs: list[dict[str, Any]] = []
    pairs: list[dict[str, dict[str, Any]]] = []
    for round_index in range(rounds):
        order = ("train", "sweep") if round_index % 2 == 0 else ("sweep", "train")
        pair: dict[str, dict[str, Any]] = {}
        for mode in order:
            runs_dir = scratch / f"runs-{mode}-r{round_index}"
            if mode == "train":
                argv = [
                    *cli_command(), "train", "--epochs", str(plan["epochs"]), "--model", "seed",
                    "--batch-size", "32", "--learning-rate", str(LEARNING_RATE), "--seed", "0",
                    "--no-export", "--runs-dir", str(runs_dir), *common,
                ]  # fmt: skip
            else:
                argv = [
                    *cli_command(), "sweep", str(space), "--trials", "1",
                    "--runs-dir", str(runs_dir), *common,
                ]  # fmt: skip
            progress(f"{NAME}: round {round_index + 1}/{rounds}, {mode}")
            result = run_child(
                argv,
                env=child_env(settings.work_dir),
                timeout=3600,
                log=scratch / f"{mode}-r{round_index}.log",
            )
            if result.returncode != 0:
                raise BenchError(
                    f"{mode} failed (code {result.returncode}): {result.stderr[-400:]}"
                )
            record = {
                "round": round_index + 1,
                "mode": mode,
                "wall_s": result.seconds,
                "max_rss_mib": result.max_rss_mib,
                **_run_of(runs_dir),
            }
            if record["learning_rate"] != LEARNING_RATE:
                raise BenchError(
                    f"{mode} trained at {record['learning_rate']}, not {LEARNING_RATE}"
                )
            pair[mode] = record
            runs.append(record)
            progress(
                f"{NAME}: {mode} took {result.seconds:.1f} s, trained {record['train_s']:.1f} s"
            )
        pairs.append(pair)
    wall = [p["sweep"]["wall_s"] / p["train"]["wall_s"] for p in pairs]
    training = [p["sweep"]["train_s"] / p["train"]["train_s"] for p in pairs]
    extra = [p["sweep"]["wall_s"] - p["train"]["wall_s"] for p in pairs]
    summary = {
        "ratio_wall_sweep_train": median(wall),
        "ratios_wall_sweep_train": wall,
        "ratio_train_sweep_train": median(training),
        "ratios_train_sweep_train": training,
        "extra_wall_s_median": median(extra),
        "wall_s_median": {m: median([p[m]["wall_s"] for p in pairs]) for m in ("train", "sweep")},
        "max_ratio": MAX_RATIO,
        "within_goal": median(wall) <= MAX_RATIO,
    }
    payload = {
        "config": {
            **plan,
            "model": "seed",
            "batch_size": 32,
            "learning_rate": LEARNING_RATE,
            "rounds": rounds,
            "data": data,
        },
        "summary": summary,
        "runs": runs,
    }
    write_result(settings, NAME, payload)
    return payload


def _run_of(runs_dir: Path) -> dict[str, Any]:
    """The one run folder's training time, epochs and settings, to check both ran the same."""
    folders = [p for p in runs_dir.iterdir() if (p / "history.json").is_file()]
    if len(folders) != 1:
        raise BenchError(f"expected one run folder in {runs_dir}, found {len(folders)}")
    history = json.loads((folders[0] / "history.json").read_text(encoding="utf-8"))
    config = json.loads((folders[0] / "config.json").read_text(encoding="utf-8"))
    epochs = [float(e["seconds"]) for e in history["epochs"]]
    return {
        "train_s": sum(epochs),
        "epoch_seconds": epochs,
        "learning_rate": config["hyperparameters"]["learning_rate"],
        "study": config.get("study"),
        "status": history["status"],
    }
