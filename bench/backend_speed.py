"""Speed per backend: (a) a plain ``keras.Model.fit`` script against (b) ``fmnist-tui train``,
on TensorFlow, JAX and PyTorch, interleaved in one run and reported as ratios.

For each round and each backend, (a) and (b) run back to back in fresh processes, in
alternating order (a b, then b a), so that neither always runs first on a shared machine.
Epoch seconds are timed by a Keras callback from ``on_epoch_begin`` to ``on_epoch_end``
(validation included) on both sides. A round's ratio is (b)/(a) of the epochs after the
first (the first includes tracing and compiling on both sides) and of all epochs; the
median over rounds is reported. What each side does is in ``bench/plain_fit.py``'s
docstring and in BENCHMARKS.md.

``python -m bench.backend_speed [--backends tensorflow,jax,torch] [--rounds 3] [--epochs 3]
[--data-dir DIR] [--work-dir DIR] [--limit-train N] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

from bench.common import BenchError, find_data_dir, progress
from bench.machine import describe_machine
from bench.modes import ModeRun, Workload, run_cli, run_plain

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "bench" / "results" / "backend-speed.json"


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _steady(run: ModeRun) -> float:
    return sum(run.epoch_seconds[1:]) if len(run.epoch_seconds) > 1 else run.train_s


def _summary(rounds: list[dict[str, ModeRun]]) -> dict[str, Any]:
    steady = [_steady(r["cli"]) / _steady(r["plain"]) for r in rounds]
    total = [r["cli"].train_s / r["plain"].train_s for r in rounds]
    return {
        "rounds": len(rounds),
        "steady_ratio_cli_plain": median(steady),
        "steady_ratios": steady,
        "ratio_cli_plain": median(total),
        "ratios": total,
        "plain_epoch_s_after_first": median(
            [s for r in rounds for s in r["plain"].epoch_seconds[1:]] or [0.0]
        ),
        "cli_epoch_s_after_first": median(
            [s for r in rounds for s in r["cli"].epoch_seconds[1:]] or [0.0]
        ),
        "plain_first_epoch_s": median([r["plain"].epoch_seconds[0] for r in rounds]),
        "cli_first_epoch_s": median([r["cli"].epoch_seconds[0] for r in rounds]),
        "plain_test_accuracy": [r["plain"].test_accuracy for r in rounds],
        "cli_test_accuracy": [r["cli"].test_accuracy for r in rounds],
        "plain_max_rss_mib": median([r["plain"].max_rss_mib for r in rounds]),
        "cli_max_rss_mib": median([r["cli"].max_rss_mib for r in rounds]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backend_speed")
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--model", default="seed")
    parser.add_argument("--limit-train", type=int)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/fmnist-tui-backend-speed"))
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)

    data_dir = find_data_dir(args.data_dir)
    if data_dir is None:
        raise BenchError("no Fashion-MNIST data: pass --data-dir")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.work_dir.mkdir(parents=True, exist_ok=True)
    by_backend: dict[str, list[dict[str, ModeRun]]] = {b: [] for b in backends}
    runs: list[dict[str, Any]] = []
    started = time.strftime("%Y-%m-%d %H:%M")
    for index in range(args.rounds):
        for backend in backends:
            work = Workload(
                model=args.model,
                epochs=args.epochs,
                data_dir=Path(data_dir),
                limit_train=args.limit_train,
                backend=backend,
            )
            order = ("plain", "cli") if index % 2 == 0 else ("cli", "plain")
            results: dict[str, ModeRun] = {}
            for mode in order:
                progress(f"backend-speed: round {index + 1}/{args.rounds}, {backend}, {mode}")
                runner = run_plain if mode == "plain" else run_cli
                result = runner(work, args.work_dir, f"{backend}-r{index}")
                results[mode] = result
                runs.append({"round": index + 1, "backend": backend, **result.to_dict()})
                progress(
                    f"backend-speed: {backend} {mode}: epochs "
                    + ", ".join(f"{s:.1f}" for s in result.epoch_seconds)
                    + f" s, test accuracy {result.test_accuracy}"
                )
            by_backend[backend].append(results)
            payload = {
                "measured": started,
                "command": "python -m bench.backend_speed " + " ".join(argv or sys.argv[1:]),
                "machine": {
                    **describe_machine(),
                    "versions": {p: _version(p) for p in ("jax", "jaxlib", "torch")},
                },
                "config": {
                    "model": args.model,
                    "epochs": args.epochs,
                    "batch_size": 32,
                    "limit_train": args.limit_train,
                    "rounds_planned": args.rounds,
                },
                "summary": {b: _summary(r) for b, r in by_backend.items() if r},
                "runs": runs,
            }
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    for backend, summary in payload["summary"].items():
        print(
            f"{backend}: (b)/(a) after the 1st epoch {summary['steady_ratio_cli_plain']:.3f} "
            f"(rounds {', '.join(f'{r:.3f}' for r in summary['steady_ratios'])}), all epochs "
            f"{summary['ratio_cli_plain']:.3f}; epoch s plain "
            f"{summary['plain_epoch_s_after_first']:.1f}, "
            f"ours {summary['cli_epoch_s_after_first']:.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
