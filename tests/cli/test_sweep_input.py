"""``fmnist-tui sweep`` refuses bad input before any trial: one line on stderr, exit 2, and
never a password, whether the space file, the storage or the study is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import env_for, fmnist_tui, write_data_dir

from core.data import synthetic_raw

pytestmark = pytest.mark.slow

SECRET = "Pw-n0t-shown"
SPACE = """\
trials = 2
[params]
epochs = 1
learning_rate = [0.001, 0.002]
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sweep-input-data")
    return write_data_dir(folder, synthetic_raw(train=100, test=20, seed=0))


def sweep(tmp_path: Path, data_dir: Path, text: str, *args: str) -> tuple[int, str, str]:
    space = tmp_path / "space.toml"
    space.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [*fmnist_tui(), "sweep", str(space), "--runs-dir", str(tmp_path / "runs"),
         "--data-dir", str(data_dir), *args],
        env=env_for(tmp_path, "tensorflow"),
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fmnist-tui sweep: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("trials = 2\n[params\n", "space.toml:2: invalid TOML"),
        (SPACE + "learn_rate = [0.1, 0.2]\n", "space.toml:5: unknown parameter 'learn_rate'"),
        (SPACE.replace("[0.001, 0.002]", "{ low = 0.01, high = 0.001 }"), ":4: learning_rate"),
        (SPACE.replace("[0.001, 0.002]", "{ low = nan, high = 0.01 }"), "finite number"),
        (SPACE.replace("[0.001, 0.002]", "[]"), "the list of choices is empty"),
    ],
    ids=["syntax", "unknown-parameter", "empty-range", "nan", "empty-choices"],
)
def test_a_bad_space_file_is_one_line_and_exit_2(
    tmp_path: Path, data_dir: Path, text: str, words: str
) -> None:
    code, _, err = sweep(tmp_path, data_dir, text)
    assert code == 2
    assert words in one_line(err)
    assert not (tmp_path / "runs").exists()  # nothing started


def test_an_unreachable_database_is_one_line_without_the_password(
    tmp_path: Path, data_dir: Path
) -> None:
    url = f"postgresql://me:{SECRET}@127.0.0.1:1/sweeps"
    code, out, err = sweep(tmp_path, data_dir, SPACE, "--storage", url)
    assert code == 2
    line = one_line(err)
    assert "cannot open postgresql+psycopg://me:***@127.0.0.1:1/sweeps" in line
    assert "Connection refused" in line
    assert SECRET not in out + err


def test_a_refused_password_is_one_line_without_it(
    tmp_path: Path, data_dir: Path, postgres: Any
) -> None:
    code, out, err = sweep(
        tmp_path, data_dir, SPACE, "--storage", postgres.url_with_password(SECRET)
    )
    assert code == 2
    assert "password authentication failed" in one_line(err)
    assert SECRET not in out + err


def test_a_study_run_with_another_space_is_refused(tmp_path: Path, data_dir: Path) -> None:
    code, _, err = sweep(tmp_path, data_dir, SPACE, "--trials", "1", "--study", "s")
    assert code == 0, err
    changed = SPACE.replace("[0.001, 0.002]", "[0.001, 0.003]")
    code, _, err = sweep(tmp_path, data_dir, changed, "--study", "s")
    assert code == 2
    assert "study s was run with another learning_rate" in one_line(err)


def test_an_unsupported_storage_and_a_missing_trial_count_are_refused(
    tmp_path: Path, data_dir: Path
) -> None:
    code, _, err = sweep(tmp_path, data_dir, SPACE, "--storage", f"mysql://a:{SECRET}@h/d")
    assert code == 2 and "unsupported storage" in one_line(err) and SECRET not in err
    code, _, err = sweep(tmp_path, data_dir, SPACE.replace("trials = 2\n", ""))
    assert code == 2 and "how many trials?" in one_line(err)


def test_help_and_the_watch_api_import_no_optuna(tmp_path: Path) -> None:
    # Optuna (0.6 s, and SQLAlchemy with it) loads when a sweep runs or a study is read,
    # never with --help or the modules the app's first frame imports.
    probe = (
        "import contextlib, io, sys\n"
        "import core.sweeps.space, core.sweeps.watch, core.sweeps.storage, tui.sweep_cli\n"
        "from tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['sweep', '--help'])\n"
        "print(sorted(m for m in ('optuna', 'sqlalchemy', 'tensorflow') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env_for(tmp_path, "tensorflow"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
