"""The training settings on the command line: any text gives a value in range or one line.

The oracle is the documented rule, not the parser: a decimal number (``0.001``, ``3e-3``,
``.5``) written in ASCII digits, finite, inside the setting's range, with any white space
around it dropped as whole numbers drop it (``str.strip``)."""

from __future__ import annotations

import contextlib
import io
import math
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.config import MAX_LEARNING_RATE
from tui.cli import build_parser
from tui.exit_codes import EXIT_USAGE

DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
RANGES: dict[str, tuple[float, float, bool, bool]] = {
    # option: (minimum, maximum, minimum excluded, maximum excluded)
    "learning-rate": (0.0, MAX_LEARNING_RATE, True, False),
    "weight-decay": (0.0, 1.0, True, False),
    "momentum": (0.0, 1.0, False, True),
    "label-smoothing": (0.0, 1.0, False, True),
    "warmup-epochs": (0.0, 1000.0, False, False),
}


def expected(option: str, text: str) -> float | None:
    stripped = text.strip()
    if len(stripped) > 40 or not DECIMAL.fullmatch(stripped):
        return None
    value = float(stripped)
    low, high, low_open, high_open = RANGES[option]
    if not math.isfinite(value) or value < low or value > high:
        return None
    if (low_open and value == low) or (high_open and value == high):
        return None
    return value


def parse(argv: list[str]) -> tuple[Any, int | str | None, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            return build_parser().parse_args(argv), None, err.getvalue()
        except SystemExit as exit:
            return None, exit.code, err.getvalue()


NUMBERISH = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-2, max_value=2000).map(lambda v: f"{v:g}"),
    st.sampled_from(
        [
            "0",
            "-1",
            "nan",
            "inf",
            "-inf",
            "1e308",
            "abc",
            "",
            " ",
            "0x10",
            "1_0",
            "٣",
            "1e-3",
            ".5",
            "5.",
            "3e-3",
            "1e",
            "--1",
            "1,5",
        ]
    ),
    st.text(max_size=12),
)


@pytest.mark.parametrize("option", list(RANGES))
@settings(max_examples=150, deadline=None)
@given(text=NUMBERISH)
@example(text="0")
@example(text="1e308")
@example(text="nan")
@example(text="inf")
@example(text="-0.001")
@example(text="abc")
@example(text="1\x1f")
@example(text="\u00a00.5 ")
@example(text="٣")
@example(text="0.٥")
def test_a_setting_parses_in_range_or_exits_2_with_one_line(option: str, text: str) -> None:
    namespace, code, err = parse(["train", "--epochs", "1", f"--{option}={text}"])
    want = expected(option, text)
    if namespace is not None:
        value = getattr(namespace, option.replace("-", "_"))
        assert want is not None, f"--{option} {text!r} was taken as {value!r}"
        assert value == pytest.approx(want)
        return
    assert want is None, f"--{option} {text!r} was refused: {err!r}"
    assert code == EXIT_USAGE and "Traceback" not in err
    line = err.removesuffix("\n")
    assert "\n" not in line and line.startswith("fmnist-tui train: error: ")
    assert len(line) < 200


@pytest.mark.parametrize(
    ("argv", "value"),
    [
        (["--optimizer", "SGD"], "sgd"),
        (["--optimizer", " adamw "], "adamw"),
        (["--schedule", "Cosine"], "cosine"),
    ],
)
def test_names_are_taken_in_any_case(argv: list[str], value: str) -> None:
    namespace, code, _ = parse(["train", "--epochs", "1", *argv])
    assert code is None and value in vars(namespace).values()


@pytest.mark.parametrize("argv", [["--optimizer", "rmsprop"], ["--schedule", "step"]])
def test_unknown_names_are_one_line(argv: list[str]) -> None:
    namespace, code, err = parse(["train", "--epochs", "1", *argv])
    assert namespace is None and code == EXIT_USAGE
    assert "choose one of" in err and err.count("\n") == 1


def test_the_help_says_the_batch_size_is_the_models_own() -> None:
    """Issue: `train --help` said the batch size defaults to 32, though improved's is 128."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(out.getvalue().split())
    assert "(default 32)" not in text
    assert "the model's own: 32, improved 128" in text


def test_settings_cannot_change_when_resuming(tmp_path: Any) -> None:
    from tui.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit:
        main(["train", "--resume", str(tmp_path), "--learning-rate", "0.01"])
    assert exit.value.code == EXIT_USAGE
    assert "--learning-rate cannot be changed when resuming" in err.getvalue()
