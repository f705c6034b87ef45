"""How the app answers while it trains at batch size 32.

The app runs on a 120x40 pseudo-terminal with its real driver (``bench.app_probe``) and trains
the seed preset. Meanwhile:

- event-loop lag: an asyncio task in the app's loop asks to wake every 10 ms on a fixed
  schedule and records how late every scheduled tick was served, so a stall of L ms counts
  as the L / 10 ticks it held up, each late by its own amount; p50 and p99 over the training
  phase (a late tick is exactly the delay a key press, a timer or a message would see);
- key to screen: every second the parent types ``2`` (Mistakes tab) and 0.4 s later ``1``
  (back to Train) on the terminal, and the app reports when it handed the terminal the first
  frame whose compositor map holds the newly active pane. Both sides read the same monotonic
  clock, so the figure runs from the byte written on the terminal to the frame written back,
  input parsing, bindings, layout and rendering included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.common import Settings, data_dir_for, median, progress, summarize, write_result
from bench.modes import TabSwitching, Workload, run_app

NAME = "responsiveness"
LAG_SAMPLES = "every scheduled tick"
"""How the lag percentiles are sampled (``bench.app_probe.tick_lags``); result files without
this key took one sample per late wake-up, which under-weights stalls and reads p99 low."""


@dataclass(frozen=True, slots=True)
class Plan:
    epochs: int
    rounds: int
    limit_train: int | None = None
    limit_test: int | None = None


FULL = Plan(epochs=2, rounds=1)
QUICK = Plan(epochs=1, rounds=1, limit_train=2000, limit_test=500)


def run(settings: Settings) -> dict[str, Any]:
    plan = QUICK if settings.quick else FULL
    rounds = settings.rounds or plan.rounds
    data_dir, data = data_dir_for(settings, NAME)
    work = Workload(
        model="seed",
        epochs=plan.epochs,
        data_dir=data_dir,
        limit_train=plan.limit_train,
        limit_test=plan.limit_test,
    )
    switching = TabSwitching()
    runs: list[dict[str, Any]] = []
    for index in range(rounds):
        progress(f"{NAME}: run {index + 1}/{rounds}")
        result = run_app(work, settings.work_dir, f"{NAME}-{index}", tab_switching=switching)
        runs.append(result.to_dict())
    keys = [k for r in runs for k in r["keys"] if k["during_training"]]
    lag = [r["lag_ms"]["training"] for r in runs if r["lag_ms"]["training"].get("count")]
    frames = [r["frame_ms"]["training"] for r in runs if r["frame_ms"]["training"].get("count")]
    idle = [r["lag_ms"]["idle"] for r in runs if r["lag_ms"]["idle"].get("count")]
    summary = {
        "lag_training_ms": {
            stat: median([float(s[stat]) for s in lag]) for stat in ("p50", "p99", "max")
        },
        "lag_idle_ms": {
            stat: median([float(s[stat]) for s in idle]) for stat in ("p50", "p99", "max")
        },
        "frame_training_ms": {
            stat: median([float(s[stat]) for s in frames]) for stat in ("p50", "p99", "max")
        },
        "key_to_frame_ms": summarize([k["key_to_frame_ms"] for k in keys]),
        "key_to_action_ms": summarize(
            [k["key_to_action_ms"] for k in keys if k["key_to_action_ms"] is not None]
        ),
        "key_presses": len(keys),
        "tab_switch_frame_cpu_ms": {
            tab: summarize(
                [
                    t["frame_cpu_ms"]
                    for r in runs
                    for t in r["tabs"]
                    if t["tab"] == tab and t["phase"] == "training" and "frame_cpu_ms" in t
                ]
            )
            for tab in ("mistakes", "train")
        },
        "gc_full_training": {
            "count": median([r["gc_training"]["gen2"]["count"] for r in runs]),
            "max_ms": median([r["gc_training"]["gen2"]["max_ms"] for r in runs]),
            "max_cpu_ms": median([r["gc_training"]["gen2"]["max_cpu_ms"] for r in runs]),
        },
    }
    payload = {
        "config": {
            **work.describe(),
            "rounds": rounds,
            "data": data,
            "screen": "120x40",
            "lag_interval_ms": 10,
            "lag_samples": LAG_SAMPLES,
            "tab_switch_every_s": switching.every_s,
            "mistakes_tab_for_s": switching.stay_s,
        },
        "summary": summary,
        "runs": runs,
    }
    write_result(settings, NAME, payload)
    return payload
