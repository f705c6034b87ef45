"""The ``fmnist-tui`` command: the Textual app by default, plus headless subcommands.

Parsing never imports TensorFlow, so ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from core.backend import BACKENDS, BackendError, default_backend, select_backend
from core.config import (
    MODEL_PRESETS,
    ConfigError,
    parse_backend,
    parse_batch_size,
    parse_epochs,
    parse_int,
    parse_model,
    parse_patience,
    parse_val_split,
)
from tui.exit_codes import EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _checked(parse: Callable[[str], object]) -> Callable[[str], object]:
    def convert(text: str) -> object:
        try:
            return parse(text)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = parse.__name__.removeprefix("parse_")
    return convert


def _limit(text: str) -> int:
    return parse_int(text, name="limit", minimum=10)


def _seed(text: str) -> int:
    return parse_int(text, name="seed", minimum=0, maximum=2**31 - 1)


def _add_data_options(parser: argparse.ArgumentParser, *, in_command: bool = False) -> None:
    """Add the options that the app and ``train`` share.

    In a subcommand they default to ``SUPPRESS``: argparse copies a subparser's defaults over
    the values parsed before the command, so ``fmnist-tui --model improved train`` would
    otherwise train the seed model.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if in_command else value

    parser.add_argument(
        "--model",
        type=_checked(parse_model),
        default=default(None),
        metavar="NAME",
        help=f"model preset: {', '.join(MODEL_PRESETS)} (default: seed)",
    )
    parser.add_argument(
        "--data-dir",
        default=default(None),
        metavar="DIR",
        help="folder with the four Fashion-MNIST IDX files (default: $FMNIST_DATA_DIR, "
        "the Keras cache, /usr/share/datasets/fashion-mnist, else download)",
    )
    parser.add_argument(
        "--runs-dir",
        default=default(None),
        metavar="DIR",
        type=Path,
        help="where runs are saved (default: $FMNIST_RUNS_DIR or the XDG data folder)",
    )
    parser.add_argument(
        "--limit-train",
        default=default(None),
        type=_checked(_limit),
        metavar="N",
        help="train on a class-balanced subset of N training images",
    )
    parser.add_argument(
        "--limit-test",
        default=default(None),
        type=_checked(_limit),
        metavar="N",
        help="evaluate on a class-balanced subset of N test images",
    )


def _add_backend_option(parser: argparse.ArgumentParser, *, in_command: bool = False) -> None:
    parser.add_argument(
        "--backend",
        type=_checked(parse_backend),
        default=argparse.SUPPRESS if in_command else None,
        metavar="NAME",
        help=f"framework under Keras: {', '.join(BACKENDS)} "
        "(default: $KERAS_BACKEND, else tensorflow)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fmnist-tui",
        description="Train and inspect a Fashion-MNIST CNN in the terminal. "
        "With no command, opens the app.",
    )
    _add_data_options(parser)
    _add_backend_option(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser(
        "train",
        help="train headless, print one line per epoch",
        description="Train headless, one line per epoch. A checkpoint is saved after every "
        "epoch; --resume RUN_DIR carries on from the newest one.",
    )
    train.add_argument(
        "--epochs",
        type=_checked(parse_epochs),
        metavar="N",
        help="number of epochs, 1-1000 (with --resume: this many more; default: the rest of "
        "the planned epochs)",
    )
    train.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue this saved run from its newest checkpoint, with its own settings",
    )
    train.add_argument(
        "--batch-size", type=_checked(parse_batch_size), metavar="N", help="(default 32)"
    )
    train.add_argument(
        "--val-split",
        type=_checked(parse_val_split),
        metavar="F",
        help="fraction of the training set held out (default 0.2)",
    )
    train.add_argument("--seed", type=_checked(_seed), metavar="N", help="(default 0)")
    train.add_argument(
        "--early-stop",
        type=_checked(parse_patience),
        metavar="N",
        help="stop after N epochs without a lower validation loss and keep the best epoch",
    )
    train.add_argument(
        "--augment",
        action="store_true",
        default=None,
        help="train on randomly mirrored images too (what the improved preset always does)",
    )
    train.add_argument("--no-export", action="store_true", help="do not write the PNG plots")
    _add_data_options(train, in_command=True)
    _add_backend_option(train, in_command=True)

    summary = commands.add_parser("summary", help="print a preset's layers and parameters")
    summary.add_argument(
        "--model", type=_checked(parse_model), default=argparse.SUPPRESS, metavar="NAME"
    )
    _add_backend_option(summary, in_command=True)

    export = commands.add_parser(
        "export",
        help="re-create a saved run's PNG plots (and TensorBoard files)",
        description="Re-create a saved run's PNG plots from its folder, without TensorFlow. "
        "--tensorboard also writes its TensorBoard event files and history.csv (for runs "
        "saved before they were written as training went).",
    )
    export.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    export.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write the PNGs (default: the run folder)"
    )
    export.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write RUN_DIR/tensorboard/ (epochs, test results, images) and history.csv",
    )
    _add_backend_option(export, in_command=True)

    runs = commands.add_parser("runs", help="list saved runs")
    runs.add_argument("--runs-dir", metavar="DIR", type=Path, default=argparse.SUPPRESS)
    _add_backend_option(runs, in_command=True)
    return parser


_RUN_SETTINGS = (
    "model",
    "batch_size",
    "val_split",
    "seed",
    "early_stop",
    "augment",
    "limit_train",
    "limit_test",
)
"""Settings a run keeps for life: ``--resume`` takes them from the run's own config."""


def _check_train(args: argparse.Namespace) -> None:
    """Rules argparse cannot express; exits 2 with one line when one is broken."""

    def fail(message: str) -> NoReturn:
        sys.stderr.write(f"fmnist-tui train: error: {message} (see --help)\n")
        sys.exit(EXIT_USAGE)

    if args.resume is None:
        if args.epochs is None:
            fail("the following arguments are required: --epochs (or --resume RUN_DIR)")
        return
    given = [name for name in _RUN_SETTINGS if getattr(args, name, None) is not None]
    if given:
        option = "--" + given[0].replace("_", "-")
        fail(f"{option} cannot be changed when resuming: a run keeps its settings")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from core.locations import runs_dir

    if args.command in (None, "train", "summary"):
        # Keras reads the backend once, at its first import: choose it before any.
        try:
            select_backend(args.backend or default_backend())
        except BackendError as error:
            sys.stderr.write(f"fmnist-tui: error: {error}\n")
            return EXIT_USAGE

    if args.command == "train":
        _check_train(args)
        from tui.headless import train_command

        return train_command(args, runs_dir(args.runs_dir))
    if args.command == "summary":
        from tui.headless import summary_command

        return summary_command(args.model or "seed")
    if args.command == "export":
        from tui.headless import export_command

        return export_command(args.run_dir, args.out, tensorboard=args.tensorboard)
    if args.command == "runs":
        from tui.headless import runs_command

        return runs_command(runs_dir(args.runs_dir))
    from tui.startup import run_app

    return run_app(
        model=args.model or "seed",
        data_dir=args.data_dir,
        runs_dir=runs_dir(args.runs_dir),
        limit_train=args.limit_train,
        limit_test=args.limit_test,
    )


def entry_point() -> NoReturn:
    """The ``fmnist-tui`` command. Once a command has finished (every file it writes is
    written atomically and closed), the process ends without the interpreter's teardown,
    which takes seconds with an ML framework loaded: ``q`` ends the app at once."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry_point()
