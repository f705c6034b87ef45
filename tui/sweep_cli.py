"""``fmnist-tui sweep SPACE.toml``: one worker of an Optuna study, headless.

A line per trial start and end (its number, parameters, value, state and run folder), the
epoch lines as ``train`` prints them between. Run one per GPU on a machine
(``CUDA_VISIBLE_DEVICES=i``) and on as many machines as share the study's storage.

Exit codes: 0 the study has its trials; 2 bad input (the space file, the storage, the data:
one line); 1 the storage stopped answering, or a trial could not write its run folder; 130
Ctrl-C (the trial that was running is carried on by the next worker of the study).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from core.config import TrainConfig
from core.data import DataError
from core.events import (
    BatchProgress,
    EpochEnded,
    RunWarning,
    TrainingEvent,
    TrainingStarted,
    TrainingStopped,
)
from core.logs import native_stderr_to, quiet_tensorflow_env
from core.session import RunSession, Signals
from core.sweeps.errors import SweepError
from core.sweeps.events import StudyOpened, SweepEvent, TrialEnded, TrialStarted, WaitingForTrials
from tui.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from tui.headless import _log_path, _Printer
from tui.sweep_text import format_params

if TYPE_CHECKING:
    from core.sweeps.space import SweepSpace
    from core.sweeps.storage import StorageSpec

PROG = "fmnist-tui sweep"


class _SweepPrinter:
    """Lines for the sweep's events; each trial's training as ``train`` prints it."""

    def __init__(self, out: TextIO) -> None:
        self.training = _Printer(out)
        self.objective = "val_accuracy"
        self._described = False

    def line(self, text: str) -> None:
        self.training.line(text)

    def __call__(self, event: SweepEvent | TrainingEvent) -> None:
        if isinstance(event, StudyOpened):
            self.objective = event.objective
            if event.repaired_bytes:
                self.line(
                    f"repaired {event.storage}: cut off an incomplete last record "
                    f"({event.repaired_bytes} bytes, left by a worker killed while writing)"
                )
            self.line(
                f"study {event.study} in {event.storage}: {event.trials} trial(s) so far, "
                f"{event.target} in all; {event.direction} {event.objective}"
            )
        elif isinstance(event, TrialStarted):
            text = f"trial {event.number}: {format_params(event.params)}"
            if event.retry_of is not None:
                text += f" (retry of trial {event.retry_of}"
                if event.run_dir is not None:
                    text += f": carries on {event.run_dir} after epoch {event.resumed_after}"
                text += ")"
            self.line(text)
        elif isinstance(event, TrialEnded):
            text = f"trial {event.number} {event.state}"
            if event.value is not None:
                text += f": {self.objective} {event.value:.4f}"
            text += f" after {event.epochs} epoch{'s' if event.epochs != 1 else ''}"
            if event.message and event.state != "pruned":
                text += f" ({event.message})"
            if event.run_dir is not None:
                text += f"  run: {event.run_dir}"
            self.line(text)
        elif isinstance(event, WaitingForTrials):
            numbers = ", ".join(str(n) for n in event.running)
            self.line(
                f"every trial is started; waiting for trial(s) {numbers} of other workers "
                "(to carry on any whose worker dies)"
            )
        elif isinstance(event, TrainingStarted):
            self.training.final_epoch = event.final_epoch
            if not self._described:
                self._described = True
                self.training(event)
        elif isinstance(event, BatchProgress | EpochEnded | RunWarning | TrainingStopped):
            self.training(event)


def sweep_command(args: argparse.Namespace, runs_root: Path) -> int:
    from core.sweeps.setup import set_up_sweep

    try:
        setup = set_up_sweep(
            args.space,
            runs_root=runs_root,
            trials=args.trials,
            storage=args.storage,
            study=args.study,
            data_dir=args.data_dir,
            limit_train=args.limit_train,
            limit_test=args.limit_test,
        )
    except SweepError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    space, spec, study, target = setup.space, setup.storage, setup.study, setup.target
    base, first = setup.base, setup.first
    quiet_tensorflow_env()
    log_path = _log_path("sweep")
    if log_path is None:
        return EXIT_USAGE
    printer = _SweepPrinter(sys.stdout)
    with native_stderr_to(log_path) as terminal:
        code = _run_worker(space, spec, study, target, base, first, runs_root, printer, terminal)
        if code == EXIT_FAILED:
            terminal.write(f"{PROG}: log: {log_path}\n")
        return code


def _run_worker(
    space: SweepSpace,
    spec: StorageSpec,
    study: str,
    target: int,
    base: TrainConfig,
    first: TrainConfig,
    runs_root: Path,
    printer: _SweepPrinter,
    terminal: TextIO,
) -> int:
    from core.sweeps.worker import SweepWorker

    def error(message: str, code: int) -> int:
        sys.stdout.flush()
        terminal.write(f"{PROG}: error: {message}\n")
        return code

    signals = Signals()
    session = RunSession(runs_root, signals=signals)
    try:
        # Loaded before the study is joined: bad data starts no trial.
        session.dataset_for(first)
    except DataError as failure:
        return error(str(failure), EXIT_USAGE)
    worker = SweepWorker(
        space, spec, study, session=session, base=base, target=target, on_event=printer
    )

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if not worker.stopping:
            worker.request_stop()  # end the trial after this batch, as train does
            return
        # A second Ctrl-C: leave now. The run folder keeps its newest checkpoint, and the
        # trial (still running in the study) is failed and retried by the next worker.
        signals.request_abort()
        sys.stdout.flush()
        terminal.write(f"{PROG}: interrupted\n")
        terminal.flush()
        os._exit(EXIT_INTERRUPTED)

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        outcome = worker.run()
    except SweepError as failure:
        return error(str(failure), EXIT_USAGE)
    except Exception as failure:  # noqa: BLE001 - a bug: the traceback goes to the log
        traceback.print_exc()
        first_line = str(failure).strip().splitlines()[0] if str(failure).strip() else ""
        return error(f"{type(failure).__name__}: {first_line}", EXIT_FAILED)
    finally:
        signal.signal(signal.SIGINT, previous)
    if outcome.status == "failed":
        return error(outcome.message or "the sweep failed", EXIT_FAILED)
    if outcome.status == "interrupted":
        printer.line(f"interrupted after {outcome.trials_run} trial(s) of this worker")
        return EXIT_INTERRUPTED
    summary = outcome.summary
    if summary is not None:
        printer.line(summary)
    return EXIT_OK
