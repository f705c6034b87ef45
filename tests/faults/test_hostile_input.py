"""Property tests: whatever a user types into the train dialog or passes on the command line,
the result is a valid setting or one line that says why not; never a traceback, never a
setting out of range.

The oracle (:func:`whole_number`) is written from the documented rule, not from the parser:
blanks around, an optional sign, ASCII digits.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import fmnist_tui, text_of, wait_for
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static
from tui_fakes import ScriptedEngine, missing_runs_dir

from core.config import (
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    ConfigError,
    parse_batch_size,
    parse_epochs,
    parse_int,
    parse_model,
    parse_val_split,
)
from core.presets import PRESET_NAMES
from core.requests import NewRun
from tui.app import FmnistApp
from tui.cli import build_parser, main
from tui.exit_codes import EXIT_OK, EXIT_USAGE
from tui.screens.train_dialog import ParsedBy, TrainDialog

ROOT = Path(__file__).resolve().parents[2]
MAX_SEED = 2**31 - 1
MAX_MESSAGE = 160
"""Longer than any message about a short input; a long input must not make a long message."""

# --- What users type -----------------------------------------------------------------------

BLANKS = st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2003\u3000", max_size=3)
SIGNS = st.sampled_from(["", "", "+", "-", "++", "+-"])
ZEROS = st.sampled_from(["", "", "0", "000"])
NUMBERS = st.builds(
    lambda left, sign, zeros, number, right: f"{left}{sign}{zeros}{number}{right}",
    BLANKS,
    SIGNS,
    ZEROS,
    st.one_of(st.integers(0, 1100), st.integers(0, 10**40), st.integers(4096, 4200)),
    BLANKS,
)
"""Whole numbers as people type them: blanks, signs and leading zeros, in range or not."""
NEAR_NUMBERS = st.from_regex(r"\A\s*[+-]?\d{1,6}([.,_eE ]\d{0,3})?\s*\Z")
"""Almost numbers: ``\\d`` includes every script's digits, then decimals, 1e3, 1_000."""
HUGE_NUMBERS = st.builds(
    lambda sign, digit, count: f"{sign}{digit * count}",
    SIGNS,
    st.sampled_from(["0", "1", "9"]),
    st.integers(1, 12_000),
)
"""Past Python's 4,300-digit limit for ``int()`` too."""
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-2, 2).map(lambda f: f"{f:.3f}"),
    st.sampled_from(["nan", "-inf", "1e-400", "0x1p-2", "٠.٥", "0_5", ".5", "5."]),
)
ANY_TEXT = st.text()
"""Any Unicode text: control characters, combining marks, emoji, right-to-left scripts."""
TYPED = st.one_of(ANY_TEXT, NUMBERS, NEAR_NUMBERS, HUGE_NUMBERS, FLOATS)


def whole_number(text: str) -> tuple[int, str] | None:
    """``(sign, significant digits)`` if ``text`` is blanks, an optional sign, ASCII digits and
    blanks; otherwise None. Digits, not an int, so that 10,000-digit input needs no ``int()``."""
    match = re.fullmatch(r"([+-]?)([0-9]+)", text.strip())
    if match is None:
        return None
    sign, digits = match.groups()
    return (-1 if sign == "-" else 1), digits.lstrip("0")


def in_range(text: str, minimum: int, maximum: int | None) -> int | None:
    """The value ``text`` stands for when it is a whole number in [minimum, maximum]."""
    number = whole_number(text)
    if number is None:
        return None
    sign, digits = number
    if len(digits) > 18:
        return None  # beyond every maximum; also beyond any limit worth accepting
    value = sign * int(digits or "0")
    if value < minimum or (maximum is not None and value > maximum):
        return None
    return value


def assert_one_short_line(message: str) -> None:
    assert message, "an error must say something"
    assert len(message.splitlines()) == 1, f"not one line: {message!r}"
    assert "\r" not in message and "\n" not in message
    assert len(message) <= MAX_MESSAGE, f"{len(message)} characters: {message[:200]!r}…"


# --- The shared parsers, many examples -------------------------------------------------------

INT_FIELDS: list[tuple[str, Callable[[str], int], int, int | None]] = [
    ("epochs", parse_epochs, 1, MAX_EPOCHS),
    ("batch size", parse_batch_size, 1, MAX_BATCH_SIZE),
    ("seed", lambda text: parse_int(text, name="seed", minimum=0, maximum=MAX_SEED), 0, MAX_SEED),
    ("limit", lambda text: parse_int(text, name="limit", minimum=10), 10, None),
]


@pytest.mark.parametrize(("name", "parse", "minimum", "maximum"), INT_FIELDS)
@settings(max_examples=300, deadline=None)
@given(text=TYPED)
@example(text="1" * 5000)
@example(text="-" + "9" * 5000)
@example(text="0" * 5000 + "7")
@example(text="x" * 100_000)
def test_whole_number_fields_accept_exactly_the_rule(
    name: str,
    parse: Callable[[str], int],
    minimum: int,
    maximum: int | None,
    text: str,
) -> None:
    expected = in_range(text, minimum, maximum)
    try:
        value = parse(text)
    except ConfigError as error:
        assert expected is None, f"{text!r} is {expected}, yet rejected: {error}"
        message = str(error)
        assert_one_short_line(message)
        assert message.startswith(f"{name} ")
        return
    assert value == expected
    assert type(value) is int


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(FLOATS, ANY_TEXT, HUGE_NUMBERS, NEAR_NUMBERS))
@example(text="1" * 5000)
@example(text="0." + "1" * 100_000)
def test_validation_split_is_strictly_between_0_and_1_or_explained(text: str) -> None:
    try:
        value = parse_val_split(text)
    except ConfigError as error:
        assert_one_short_line(str(error))
        assert str(error).startswith("validation split ")
        return
    assert type(value) is float
    assert math.isfinite(value) and 0.0 < value < 1.0


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(ANY_TEXT, st.sampled_from(PRESET_NAMES).map(lambda m: f" {m}\t")))
@example(text="seed" * 10_000)
def test_model_is_a_preset_or_explained(text: str) -> None:
    try:
        value = parse_model(text)
    except ConfigError as error:
        assert text.strip() not in PRESET_NAMES
        assert_one_short_line(str(error))
        return
    assert value == text.strip()
    assert value in PRESET_NAMES or Path(value).expanduser().is_file()


@settings(max_examples=300, deadline=None)
@given(text=TYPED)
@example(text="1" * 5000)
def test_the_dialogs_validator_agrees_with_the_rule(text: str) -> None:
    """What the epochs field runs on every keystroke: a verdict and one short line, never an
    exception (an exception here would take the app down)."""
    result = ParsedBy(parse_epochs).validate(text)
    expected = in_range(text, 1, MAX_EPOCHS)
    assert result.is_valid == (expected is not None)
    if not result.is_valid:
        [description] = result.failure_descriptions
        assert_one_short_line(description)
        assert description.startswith("Epochs ")


# --- The real dialog, driven through the app -------------------------------------------------


TYPEABLE = st.text(
    alphabet=st.one_of(
        st.characters(codec="ascii", categories=("L", "N", "P", "S", "Zs")),
        st.characters(categories=("L", "N")),
    ),
    max_size=16,
)
"""What a keyboard can type into the field: Pilot sends one key per character, and it knows
the keys of ASCII characters and of letters and digits in every script (other symbols come
in by paste below)."""
PASTED = st.one_of(
    ANY_TEXT,
    HUGE_NUMBERS,
    st.builds(lambda piece, count: piece * count, ANY_TEXT, st.integers(1, 3000)),
)
"""What a paste can put there: anything, but only its first line lands in the field."""


async def enter_epochs(pilot: Pilot[Any], text: str, via: str) -> str:
    """Open the dialog, put ``text`` in the epochs field by keys or a paste, press Enter.

    Returns what the field held when Enter was pressed.
    """
    app = pilot.app
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(app.screen, TrainDialog), "the dialog")
    await pilot.pause()
    field = app.screen.query_one("#epochs", Input)
    assert app.focused is field
    await pilot.press("ctrl+u")
    assert field.value == ""
    if via == "keys":
        await pilot.press(*text)
        assert field.value == text, "Pilot could not type the text"
    else:
        app.post_message(events.Paste(text))
        await pilot.pause()
        lines = text.splitlines()
        assert field.value == (lines[0] if lines else "")
    held = field.value
    await pilot.press("enter")
    await pilot.pause()
    return held


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    typed=st.one_of(
        st.tuples(st.one_of(TYPEABLE, NUMBERS.filter(str.isprintable)), st.just("keys")),
        st.tuples(PASTED, st.just("paste")),
    )
)
@example(typed=("1" * 6000, "paste"))
@example(typed=("q?t1", "keys"))
@example(typed=(" +0042 ", "keys"))
@pytest.mark.slow
def test_any_epochs_text_starts_a_valid_run_or_shows_why(typed: tuple[str, str]) -> None:
    text, via = typed
    engine = ScriptedEngine(hold_in_epoch=1)
    app = FmnistApp(engine=engine, runs_dir=missing_runs_dir(), cursor_blink=False)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            dialog_count = len(app.screen_stack)
            held = await enter_epochs(pilot, text, via)
            expected = in_range(held, 1, MAX_EPOCHS)
            if expected is None:
                dialog = app.screen
                assert isinstance(dialog, TrainDialog), "the dialog closed on invalid input"
                assert len(app.screen_stack) == dialog_count + 1
                error = dialog.query_one("#epochs-error", Static)
                assert error.display
                shown = text_of(error).strip()
                assert shown.startswith("Epochs ")
                assert_one_short_line(str(error.render()))
                assert dialog.query_one("#start").disabled
                assert not app.state.training
                assert not any(isinstance(c, NewRun) for c in engine.received)
            else:
                await wait_for(pilot, engine.holding.is_set, "the run to start")
                assert not isinstance(app.screen, TrainDialog)
                [train] = [c for c in engine.received if isinstance(c, NewRun)]
                assert train.config.epochs == expected
                assert app.state.training

    asyncio.run(scenario())


# --- The command line ------------------------------------------------------------------------

CLI_OPTIONS: dict[str, Callable[[Any], bool]] = {
    "epochs": lambda v: type(v) is int and 1 <= v <= MAX_EPOCHS,
    "batch-size": lambda v: type(v) is int and 1 <= v <= MAX_BATCH_SIZE,
    "val-split": lambda v: type(v) is float and 0.0 < v < 1.0,
    "seed": lambda v: type(v) is int and 0 <= v <= MAX_SEED,
    "limit-train": lambda v: type(v) is int and v >= 10,
    "model": lambda v: v in PRESET_NAMES,
}
"""Each option of ``train`` that takes a value, and what a parsed value must satisfy."""


def parse_cli(argv: list[str]) -> tuple[Any, int | str | None, str, str]:
    """Parse ``argv`` in-process: (namespace or None, exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            namespace = build_parser().parse_args(argv)
        except SystemExit as exit:
            return None, exit.code, out.getvalue(), err.getvalue()
    return namespace, None, out.getvalue(), err.getvalue()


def argv_for(option: str, value: str, joined: bool) -> list[str]:
    given = [f"--{option}={value}"] if joined else [f"--{option}", value]
    return ["train", *given] if option == "epochs" else ["train", "--epochs", "3", *given]


@pytest.mark.parametrize("option", list(CLI_OPTIONS))
@settings(max_examples=120, deadline=None)
@given(value=TYPED, joined=st.booleans())
@example(value="1" * 5000, joined=True)
@example(value="-1", joined=False)
@example(value="--help-me", joined=False)
@example(value="1\n2", joined=False)
@example(value="", joined=True)
@example(value="--", joined=True)  # argparse dropped it and gave the option an empty list
def test_cli_values_parse_in_range_or_exit_2_with_one_line(
    option: str, value: str, joined: bool
) -> None:
    namespace, code, out, err = parse_cli(argv_for(option, value, joined))
    if namespace is not None:
        parsed = getattr(namespace, option.replace("-", "_"))
        assert CLI_OPTIONS[option](parsed), f"--{option} {value!r} parsed as {parsed!r}"
        assert (out, err) == ("", "")
        return
    assert code == EXIT_USAGE
    assert out == ""
    assert "Traceback" not in err
    assert err.endswith("\n")
    line = err.removesuffix("\n")
    assert len(line.splitlines()) == 1 and "\n" not in line, f"not one line: {err!r}"
    assert line.startswith("fmnist-tui train: error: ")


@settings(max_examples=60, deadline=None)
@given(value=TYPED)
def test_whole_number_cli_values_agree_with_the_rule(value: str) -> None:
    """Not only in range: exactly the numbers the rule accepts, with their value."""
    namespace, _code, _out, _err = parse_cli(["train", f"--epochs={value}"])
    expected = in_range(value, 1, MAX_EPOCHS)
    assert (namespace.epochs if namespace is not None else None) == expected


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--epochs", "abc"], "epochs must be a whole number, got 'abc'"),
        (["train", "--epochs", "9" * 5000], "epochs must be at most 1000"),
        (["train", "--epochs", "2", "--batch-size", "3\n4"], "batch size must be a whole number"),
    ],
)
@pytest.mark.slow
def test_installed_command_rejects_in_one_line(argv: list[str], fragment: str) -> None:
    result = subprocess.run(
        [*fmnist_tui(), *argv], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == EXIT_USAGE
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert fragment in line
    assert len(line) < 200


@pytest.mark.parametrize(
    ("argv", "variable"),
    [
        (["runs", "--runs-dir", "~nosuchuser-fmnist/runs"], None),
        (["runs"], "FMNIST_RUNS_DIR"),
        (["train", "--epochs", "1", "--data-dir", "/nonexistent-fmnist"], "FMNIST_LOG_DIR"),
    ],
    ids=["runs-dir-option", "runs-dir-environment", "log-dir-environment"],
)
def test_a_folder_under_an_unknown_home_is_not_a_crash(
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    variable: str | None,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # where a literal ~nosuchuser-fmnist folder would go
    if variable is not None:
        monkeypatch.setenv(variable, "~nosuchuser-fmnist/folder")
    code = main(argv)
    _out, err = capfd.readouterr()
    # Taken literally, as the shell leaves ~nosuchuser, or refused in one line.
    assert code in (EXIT_OK, EXIT_USAGE)
    if code == EXIT_USAGE:
        assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_runs_with_an_impossible_runs_dir_is_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["runs", "--runs-dir", "r" * 300])
    out, err = capfd.readouterr()
    assert code == EXIT_USAGE
    assert out == ""
    assert len(err.splitlines()) == 1 and "r" * 300 in err
