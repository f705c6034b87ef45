"""What ``--backend torch`` tells a user whose box lacks PyTorch: the README's CPU wheel."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from core.backend import BackendError, select_backend

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_cpu_install(framework: str) -> str:
    """The command in the README's install table, CPU column, for ``framework``."""
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] == framework:
            found = re.match(r"`([^`]+)`", cells[1])
            assert found, f"the README's {framework} row names no command: {line}"
            return found.group(1)
    raise AssertionError(f"no {framework} row in the README's install table")


def test_a_missing_torch_suggests_the_cpu_wheel_the_readme_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mutation caught: the old hint, ``uv sync --extra torch`` (PyPI's multi-GB CUDA build)
    first, or any hint that drifts from the README's CPU command."""
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.setattr("core.backend.installed", lambda name: False)
    with pytest.raises(BackendError) as raised:
        select_backend("torch")
    message = str(raised.value)
    cpu = readme_cpu_install("PyTorch")
    assert "download.pytorch.org/whl/cpu" in cpu
    assert message.startswith(f"the torch backend is not installed: {cpu} ")
    assert "\n" not in message
