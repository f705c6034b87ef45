"""Record an Optuna study that ``fmnist-tui sweep`` ran into ``bench/results/<name>.json``, for
BENCHMARKS.md's table of it (``bench.report_training.study_section``).

    uv run python -m bench.improved_study STORAGE STUDY [--runs-dir DIR] [--name NAME]

STORAGE is what the sweep was given (a journal file or a PostgreSQL URL). Every trial is kept
as the study holds it: its state, parameters, objective (the best value reported so far for
one that is not complete), epochs and seconds. It reads through the same code as the Sweep tab
(``core.sweeps.watch.study_snapshot``); nothing is trained here.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from bench.common import ROOT, code_version, now_iso, result_path
from core.files import write_json_file

RESULTS = ROOT / "bench" / "results"


def record(storage: str, study: str, runs_dir: Path | None) -> dict[str, Any]:
    from bench.machine import describe_machine
    from core.sweeps.watch import study_snapshot

    snapshot = study_snapshot(storage, study, runs_dir=runs_dir)
    trials = [
        {
            "number": t.number,
            "state": t.state,
            "params": dict(t.params),
            "value": t.value,
            "epochs_done": t.epochs_done,
            "duration_s": t.duration_s,
            "retry_of": t.retry_of,
        }
        for t in snapshot.trials
    ]
    return {
        "date": now_iso(),
        "command": "python -m bench.improved_study " + " ".join(sys.argv[1:]),
        "code": code_version(),
        "machine": describe_machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "study": snapshot.name,
        "direction": snapshot.direction,
        "objective": snapshot.objective,
        "best": None if snapshot.best is None else snapshot.best.number,
        "importances": None if snapshot.importances is None else dict(snapshot.importances),
        "trials": trials,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.improved_study")
    parser.add_argument("storage")
    parser.add_argument("study")
    parser.add_argument("--runs-dir", type=Path)
    parser.add_argument("--name", default="improved-study", help="the result file's name")
    args = parser.parse_args(argv)
    payload = {"benchmark": args.name, **record(args.storage, args.study, args.runs_dir)}
    path = result_path(RESULTS, args.name)
    write_json_file(path, payload)
    print(f"wrote {path}: {len(payload['trials'])} trials")
    return 0


if __name__ == "__main__":
    sys.exit(main())
