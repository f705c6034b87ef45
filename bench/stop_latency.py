"""How long `s` (or Ctrl-C) takes: from a stop request to the end of training, on each backend.

A stop is checked between calls into the backend, and each call runs as many batches as take
about ``core.training.EXECUTION_TARGET_S`` (0.15 s) by the step time measured so far; the
first epoch runs ``FIRST_STEPS_PER_EXECUTION`` batches a call, and Keras' PyTorch trainer one.
So the promise is "within one call into the backend, about 0.15 s", and this measures it: the
seed at batch 32 on the real data (12,000 training images), a stop asked for from another
thread at a random moment (as a key press lands, anywhere in a call) in the middle of the 1st
and of the 2nd epoch, and just as the 2nd epoch begins (where a call may be compiled anew:
the batches per call follow the step time measured in the 1st), the time until
``TrainingStopped`` arrives. Each stop also records the batches per call in force and the
measured step time, so a long wait can be told from a long call.

    uv run python -m bench --only stop-latency            # every backend installed
    uv run python -m bench.stop_latency --backends tensorflow,jax,torch --rounds 3

Each backend runs in a child process of its own (Keras takes one backend per process); a
backend that is not installed is skipped and named in the result. The result goes to
``bench/results/stop-latency.json`` with the machine, the commit and the load.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import (
    DEFAULT_RESULTS_DIR,
    BenchError,
    Settings,
    child_env,
    data_dir_for,
    find_data_dir,
    progress,
    python,
    run_child,
    scratch_dir,
    write_result,
)

NAME = "stop-latency"
BACKENDS = ("tensorflow", "jax", "torch")
ROUNDS = 3
CASES = {"epoch 1": ("middle", 1), "epoch 2": ("middle", 2), "epoch 2 start": ("start", 2)}
"""Where the stop is asked: in the middle of an epoch, or just after the one before ended."""
PROMISE_S = 0.15
"""What the README promises: a stop lands within one call, about ``EXECUTION_TARGET_S``."""
FULL = {"limit_train": 12_000, "limit_test": 1_000}
QUICK = {"limit_train": 1_500, "limit_test": 500}
LATEST_ASK_S = 0.3
"""The stop is asked this long at most after the epoch passes its chosen fraction: longer than
a call, so the request lands at any point of one."""


def measure(rounds: int, data_dir: str, limits: dict[str, int]) -> dict[str, Any]:
    """In this process (its backend chosen already): ``rounds`` stops of each case."""
    from core.backend import active_backend
    from core.config import TrainConfig
    from core.data import load_dataset_for
    from core.events import BatchProgress, EpochEnded, TrainingEvent, TrainingStopped
    from core.training import train

    config = TrainConfig(
        epochs=3,
        data_dir=data_dir,
        limit_train=limits["limit_train"],
        limit_test=limits["limit_test"],
    )
    dataset = load_dataset_for(config)
    stops: list[dict[str, Any]] = []
    rng = random.Random(0)
    for round_number in range(rounds):
        for case, (where, epoch) in CASES.items():
            stop = threading.Event()
            asked: list[float] = []
            ended: list[float] = []
            timers: list[threading.Timer] = []
            # Somewhere in the middle half of the epoch (or at its start), then a random delay
            # within a call.
            at, delay = rng.uniform(0.25, 0.75), rng.uniform(0.0, LATEST_ASK_S)

            def ask(stop: threading.Event = stop, asked: list[float] = asked) -> None:
                asked.append(time.perf_counter())
                stop.set()

            def on_event(
                event: TrainingEvent,
                timers: list[threading.Timer] = timers,
                ended: list[float] = ended,
                epoch: int = epoch,
                where: str = where,
                at: float = at,
                delay: float = delay,
                ask: Any = ask,
            ) -> None:
                if timers:
                    due = False
                elif where == "start":
                    due = isinstance(event, EpochEnded) and event.metrics.epoch == epoch - 1
                else:
                    due = isinstance(event, BatchProgress) and event.epoch == epoch
                    due = due and event.batch / event.batches >= at  # type: ignore[union-attr]
                if due:
                    timers.append(threading.Timer(delay, ask))
                    timers[0].start()
                if isinstance(event, TrainingStopped):
                    ended.append(time.perf_counter())

            state = train(config.with_changes(seed=round_number), on_event, stop, dataset=dataset)
            for timer in timers:
                timer.join()
            if not (asked and ended and state.status == "stopped"):
                continue  # the epoch ended before the timer fired: no stop to time
            stops.append(
                {
                    "case": case,
                    "round": round_number + 1,
                    "seconds": ended[0] - asked[0],
                    "steps_per_execution": int(state.model.steps_per_execution),
                    "step_seconds": state.step_seconds,
                }
            )
    return {"backend": active_backend(), "train_samples": dataset.train_samples, "stops": stops}


def summarize_backend(measured: dict[str, Any]) -> dict[str, Any]:
    """Per case: how many stops, their median and longest wait, the calls they waited on."""
    summary: dict[str, Any] = {}
    for case in CASES:
        chosen = [s for s in measured["stops"] if s["case"] == case]
        seconds = [s["seconds"] for s in chosen]
        calls = [s["steps_per_execution"] * s["step_seconds"] for s in chosen if s["step_seconds"]]
        summary[case] = {
            "stops": len(chosen),
            "median_s": statistics.median(seconds) if seconds else None,
            "max_s": max(seconds) if seconds else None,
            "steps_per_execution": sorted({s["steps_per_execution"] for s in chosen}),
            "call_s_median": statistics.median(calls) if calls else None,
        }
    return summary


def default_backend() -> str:
    from core.backend import default_backend as chosen

    return chosen()


def installed_backends(wanted: list[str]) -> tuple[list[str], list[str]]:
    """The wanted backends that are installed here, and those that are not."""
    from core.backend import installed

    present = [name for name in wanted if installed(name)]  # type: ignore[arg-type]
    return present, [name for name in wanted if name not in present]


def run(settings: Settings) -> dict[str, Any]:
    """Every backend installed (or ``extra["backends"]``), each in a child process."""
    data_dir, data = data_dir_for(settings, NAME)
    limits = QUICK if settings.quick else FULL
    rounds = settings.rounds or (1 if settings.quick else ROUNDS)
    # A smoke test (quick) runs the default backend only.
    wanted = list(
        settings.extra.get("backends", (default_backend(),) if settings.quick else BACKENDS)
    )
    backends, missing = installed_backends(wanted)
    if not backends:
        raise BenchError(f"{NAME}: none of {', '.join(wanted)} is installed")
    results: list[dict[str, Any]] = []
    for backend in backends:
        progress(f"{NAME}: {backend}, {rounds} round(s) of a stop in each of {', '.join(CASES)}")
        out = settings.work_dir / f"{NAME}-{backend}.json"
        argv = [
            python(), "-m", "bench.stop_latency", "--one", backend, "--out", str(out),
            "--rounds", str(rounds), "--data-dir", str(data_dir),
            "--limit-train", str(limits["limit_train"]),
            "--limit-test", str(limits["limit_test"]),
        ]  # fmt: skip
        done = run_child(
            argv,
            env=child_env(settings.work_dir, TF_CPP_MIN_LOG_LEVEL="3"),
            timeout=3600,
            log=settings.work_dir / f"{NAME}-{backend}.log",
        )
        if done.returncode != 0 or not out.is_file():
            raise BenchError(f"{NAME}: {backend} exited with {done.returncode}")
        measured = json.loads(out.read_text(encoding="utf-8"))
        summary = summarize_backend(measured)
        progress(
            f"{NAME}: {backend}: "
            + "; ".join(
                f"{case}: median {_s(s['median_s'])}, max {_s(s['max_s'])} "
                f"({s['stops']} stops, {s['steps_per_execution']} batches a call)"
                for case, s in summary.items()
            )
        )
        results.append({**measured, "cases": summary})
    stops = [s["seconds"] for r in results for s in r["stops"] if s["case"] != "epoch 2 start"]
    payload = {
        "config": {
            "model": "seed",
            "batch_size": 32,
            "rounds": rounds,
            "cases": {
                "epoch 1": "0-0.3 s after the 1st epoch passes a random 25-75% point",
                "epoch 2": "0-0.3 s after the 2nd epoch passes a random 25-75% point",
                "epoch 2 start": "0-0.3 s after the 1st epoch ends",
            },
            "ask": "from a timer thread, the delay random",
            "measured": "stop requested (Event.set) to TrainingStopped received",
            "data": data,
            **limits,
        },
        "backends_missing": missing,
        "summary": {
            "mid_epoch_max_s": max(stops) if stops else None,
            "mid_epoch_median_s": statistics.median(stops) if stops else None,
            "promise_s": PROMISE_S,
        },
        "results": results,
    }
    write_result(settings, NAME, payload)
    return payload


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stop_latency")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR)
    parser.add_argument("--quick", action="store_true")
    # The child process: one backend, its figures to --out.
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit-train", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--limit-test", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        from core.backend import select_backend

        select_backend(args.one)
        limits = {"limit_train": args.limit_train, "limit_test": args.limit_test}
        measured = measure(args.rounds or ROUNDS, str(args.data_dir), limits)
        args.out.write_text(json.dumps(measured), encoding="utf-8")
        return 0
    from bench.__main__ import recorded_command

    data_dir = find_data_dir(args.data_dir)
    with scratch_dir() as work_dir:
        settings = Settings(
            results_dir=args.results_dir,
            quick=args.quick,
            command=recorded_command(argv).replace("-m bench ", "-m bench.stop_latency ", 1),
            data_dir=data_dir,
            work_dir=work_dir,
            rounds=args.rounds,
            extra={"backends": [b for b in args.backends.split(",") if b]},
        )
        try:
            run(settings)
        except BenchError as error:
            print(f"python -m bench.stop_latency: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
