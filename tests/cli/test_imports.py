"""Import hygiene: core knows nothing of the UI, and the light core modules not even TensorFlow.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

UI_LIBS = ("textual", "rich", "rich_pixels", "plotext", "textual_plotext")
HEAVY_LIBS = ("tensorflow", "keras")
LIGHT_MODULES = (
    "core.config",
    "core.events",
    "core.evaluation",
    "core.data",
    "core.errors",
    "core.runs",
    "core.export",
    "core.locations",
    "core.logs",
    "core.summary",
    "core.device",
    "core.tensorboard_log",
    "core.history_csv",
    "core.files",
    "core.session",
)
TRAINING_MODULES = ("core.models", "core.training")


def imports_by_module(
    modules: tuple[str, ...], watched: tuple[str, ...], *, preload: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Import ``preload``, then ``modules`` one after another, in a fresh interpreter; for each
    module, the ``watched`` top-level packages that first appeared in ``sys.modules`` with it."""
    script = textwrap.dedent(
        f"""
        import importlib, json, sys
        for name in {list(preload)!r}:
            importlib.import_module(name)
        watched = {list(watched)!r}
        brought = {{}}
        for name in {list(modules)!r}:
            before = {{w for w in watched if w in sys.modules}}
            importlib.import_module(name)
            brought[name] = sorted(w for w in watched if w in sys.modules and w not in before)
        print(json.dumps(brought))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.slow
def test_light_core_modules_import_no_ui_and_no_tensorflow() -> None:
    # matplotlib too: core.export promises to import it only when it draws.
    brought = imports_by_module(LIGHT_MODULES, (*UI_LIBS, *HEAVY_LIBS, "matplotlib"))
    assert brought == {name: [] for name in LIGHT_MODULES}


@pytest.mark.slow
def test_training_modules_import_no_ui() -> None:
    # Keras itself imports rich (for its own summaries); what matters is that core adds none.
    brought = imports_by_module(TRAINING_MODULES, UI_LIBS, preload=("keras",))
    assert brought == {name: [] for name in TRAINING_MODULES}


@pytest.mark.slow
def test_the_app_state_imports_no_textual() -> None:
    """The app's state is tested without Pilot: it must not need Textual."""
    brought = imports_by_module(("tui.state", "tui.progress"), UI_LIBS + HEAVY_LIBS)
    assert brought == {"tui.state": [], "tui.progress": []}


@pytest.mark.slow
def test_import_linter_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports") or str(
        Path(sys.executable).with_name("lint-imports")
    )
    if not Path(lint_imports).is_file():
        pytest.skip("import-linter is not installed")
    result = subprocess.run(
        [lint_imports, "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
