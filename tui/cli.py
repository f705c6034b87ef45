"""The ``fmnist-tui`` command: the Textual app by default, plus headless subcommands.

Parsing never imports TensorFlow, so ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from core.backend import BACKENDS, BackendError, default_backend, select_backend
from core.compare import COLUMN_NAMES, column_named
from core.config import (
    ConfigError,
    parse_backend,
    parse_batch_size,
    parse_epochs,
    parse_int,
    parse_label_smoothing,
    parse_learning_rate,
    parse_model,
    parse_momentum,
    parse_optimizer,
    parse_patience,
    parse_schedule,
    parse_val_split,
    parse_warmup_epochs,
    parse_weight_decay,
)
from core.hyperparameters import OPTIMIZERS, SETTING_NAMES
from core.presets import DEFAULT_MODEL, PRESET_NAMES
from tui.exit_codes import EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # argparse drops a "--" given as an option's value (``--epochs=--``) and hands the
        # option an empty list instead of converting anything.
        if action.nargs is None and action.option_strings and arg_strings == ["--"]:
            self.error(f"argument {'/'.join(action.option_strings)}: expected a value, got '--'")
        return super()._get_values(action, arg_strings)


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
        help=f"model preset: {', '.join(PRESET_NAMES)} (default: {DEFAULT_MODEL}), or a "
        "model file PATH.py that defines build_model() (see examples/)",
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
        "--batch-size",
        type=_checked(parse_batch_size),
        metavar="N",
        help="(default: the model's own: 32, improved 128, a model file's BATCH_SIZE)",
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
    _add_training_options(train)
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
        "--out",
        type=Path,
        metavar="DIR",
        help="where to write every file (default: the run folder)",
    )
    export.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write tensorboard/ (the run's own events, plus any epochs and test results "
        "they lack) and history.csv",
    )
    _add_backend_option(export, in_command=True)

    runs = commands.add_parser(
        "runs",
        help="saved runs side by side: settings, time, best validation and test accuracy",
        description="Saved runs side by side, a row each: when it started, the settings that "
        "differ between the runs listed (those every run shares are folded into one "
        "'all runs:' line above the table), epochs trained/planned, the best validation "
        "accuracy @ its epoch, the test accuracy, status, time spent training, and the "
        "folder. Newest first unless --sort says otherwise.",
    )
    runs.add_argument("--runs-dir", metavar="DIR", type=Path, default=argparse.SUPPRESS)
    runs.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list, a record per run with every setting in its own type",
    )
    runs.add_argument(
        "--sort",
        type=_column,
        default="started",
        metavar="COLUMN",
        help=f"one of {', '.join(COLUMN_NAMES)}; dates and accuracies sort newest or best "
        "first, the others from the lowest; unknown values last (default: started)",
    )
    runs.add_argument("--reverse", action="store_true", help="the other way round")
    _add_backend_option(runs, in_command=True)

    delete = commands.add_parser(
        "delete",
        help="delete saved runs (asks first)",
        description="Delete run folders and everything in them. Asks first on a terminal; "
        "without one, --yes is required. A run being trained, a symbolic link, or a folder "
        "without config.json or history.json is refused, and then nothing is deleted.",
    )
    delete.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask")
    _add_backend_option(delete, in_command=True)
    _add_inspect_commands(commands)
    _add_sweep_command(commands)
    return parser


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    """The optimizer, schedule and loss settings; each defaults to the model's own."""
    group = parser.add_argument_group(
        "training settings", "each defaults to the model's own (see `fmnist-tui summary`)"
    )
    group.add_argument(
        "--optimizer",
        type=_checked(parse_optimizer),
        metavar="NAME",
        help=f"{', '.join(OPTIMIZERS)} (SGD with Nesterov momentum)",
    )
    group.add_argument(
        "--learning-rate",
        "--lr",
        type=_checked(parse_learning_rate),
        metavar="LR",
        help="the (peak) learning rate, e.g. 0.001 or 3e-3",
    )
    group.add_argument(
        "--weight-decay",
        type=_checked(parse_weight_decay),
        metavar="WD",
        help="decoupled weight decay (AdamW, SGD)",
    )
    group.add_argument(
        "--momentum", type=_checked(parse_momentum), metavar="M", help="SGD's momentum"
    )
    group.add_argument(
        "--label-smoothing", type=_checked(parse_label_smoothing), metavar="S", help="0 to <1"
    )
    group.add_argument(
        "--schedule",
        type=_checked(parse_schedule),
        metavar="NAME",
        help="constant, or cosine: a linear warm-up then cosine decay to the last epoch",
    )
    group.add_argument(
        "--warmup-epochs",
        type=_checked(parse_warmup_epochs),
        metavar="E",
        help="epochs of warm-up before the cosine decay",
    )


def _column(text: str) -> str:
    try:
        return column_named(text).name
    except KeyError as error:
        raise argparse.ArgumentTypeError(error.args[0]) from None


def _index(text: str) -> int:
    return parse_int(text, name="index", minimum=0)


def _add_inspect_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``explain`` and ``predict`` (their bodies: :mod:`tui.inspect_cli`)."""
    explain = commands.add_parser(
        "explain",
        help="why a run's model classified test images as it did (a PNG per image)",
        description="For each test image: the ten class probabilities, an occlusion map of "
        "what drove the prediction (and, for a mistake, what hid the true class) and the "
        "three training images the model found most alike, as a PNG and a few lines. INDEX "
        "counts the standard Fashion-MNIST test set (0-9999), whatever --limit-test the run "
        "was evaluated with.",
    )
    explain.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    explain.add_argument("indices", type=_checked(_index), nargs="+", metavar="INDEX")
    explain.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where to write the PNGs (default: RUN_DIR/explanations)",
    )
    explain.add_argument(
        "--json", action="store_true", help="print the probabilities, maps and neighbours as JSON"
    )
    explain.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="where the IDX files are now (default: where the run found them)",
    )
    _add_backend_option(explain, in_command=True)

    predict = commands.add_parser(
        "predict",
        help="classify your own pictures with a run's model",
        description="Classify pictures (PNG, JPEG, GIF, WebP, BMP, TIFF; a folder stands for "
        "the pictures in it): each is made into what the model was trained on (grey, the "
        "garment light on black, 28x28 as Fashion-MNIST made its images) and gets its three "
        "likeliest classes. Exit 1 when any file could not be read.",
    )
    predict.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    predict.add_argument(
        "--json", action="store_true", help="print the probabilities and the 28x28 as JSON"
    )
    predict.add_argument("--show", action="store_true", help="draw the 28x28 the model saw")
    predict.add_argument(
        "--out", type=Path, metavar="DIR", help="also write a PNG per picture into DIR"
    )
    _add_backend_option(predict, in_command=True)


def _trials(text: str) -> int:
    return parse_int(text, name="trials", minimum=1, maximum=100_000)


def _add_sweep_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``sweep`` (its body: :mod:`tui.sweep_cli`)."""
    sweep = commands.add_parser(
        "sweep",
        help="search training settings with Optuna: one worker of a study",
        description="Run trials of an Optuna study whose space file (TOML) names the settings "
        "to vary, the objective (validation accuracy or loss), the sampler and the pruner. "
        "Each trial is an ordinary run folder tagged with its study and trial number. Start "
        "one worker per GPU (CUDA_VISIBLE_DEVICES=i fmnist-tui sweep ...), on as many "
        "machines as share --storage; they finish the trials between them. See the README's "
        "Sweeps section.",
    )
    sweep.add_argument("space", type=Path, metavar="SPACE.toml")
    sweep.add_argument(
        "--trials",
        type=_checked(_trials),
        metavar="N",
        help="how many trials the study has in all, between every worker (default: the "
        "space file's trials, or a grid's size)",
    )
    sweep.add_argument(
        "--storage",
        metavar="URL",
        help="postgresql://user:password@host:port/db for workers on several machines, or "
        "a journal file (default: RUNS_DIR/sweeps.journal)",
    )
    sweep.add_argument(
        "--study", metavar="NAME", help="the study's name (default: the space file's name)"
    )
    sweep.add_argument("--runs-dir", metavar="DIR", type=Path, default=argparse.SUPPRESS)
    sweep.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS)
    for option in ("--limit-train", "--limit-test"):
        sweep.add_argument(option, type=_checked(_limit), metavar="N", default=argparse.SUPPRESS)
    _add_backend_option(sweep, in_command=True)


_RUN_SETTINGS = (
    *SETTING_NAMES,
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

    if args.command in (None, "train", "summary", "explain", "predict", "sweep"):
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

        return summary_command(args.model or DEFAULT_MODEL)
    if args.command == "export":
        from tui.headless import export_command

        return export_command(args.run_dir, args.out, tensorboard=args.tensorboard)
    if args.command == "runs":
        from tui.headless import runs_command

        return runs_command(
            runs_dir(args.runs_dir), as_json=args.json, sort=args.sort, reverse=args.reverse
        )
    if args.command == "delete":
        from tui.headless import delete_command

        return delete_command(args.run_dirs, yes=args.yes)
    if args.command == "explain":
        from tui.inspect_cli import explain_command

        return explain_command(args)
    if args.command == "predict":
        from tui.inspect_cli import predict_command

        return predict_command(args)
    if args.command == "sweep":
        from tui.sweep_cli import sweep_command

        return sweep_command(args, runs_dir(args.runs_dir))
    from tui.startup import run_app

    return run_app(
        model=args.model or DEFAULT_MODEL,
        data_dir=args.data_dir,
        runs_dir=runs_dir(args.runs_dir),
        limit_train=args.limit_train,
        limit_test=args.limit_test,
    )


EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
"""The reader of the output went away (``fmnist-tui runs | head -3``): the status a program
that SIGPIPE ends has, as the shell reports it."""


def entry_point() -> NoReturn:
    """The ``fmnist-tui`` command. Once a command has finished (every file it writes is
    written atomically and closed), the process ends without the interpreter's teardown,
    which takes seconds with an ML framework loaded: ``q`` ends the app at once.

    When the output's reader goes away (a pipe into ``head``), the command ends quietly
    instead of with a traceback: see "Note on SIGPIPE" in Python's ``signal`` docs.
    """
    try:
        code = main()
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        # Nothing more can reach the reader; send what is still buffered nowhere, so that no
        # later flush raises again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, stream.fileno())
        code = EXIT_BROKEN_PIPE
    os._exit(code)


if __name__ == "__main__":
    entry_point()
