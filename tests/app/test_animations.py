"""Animations are off unless the user asks for them (over SSH each is a stream of frames)."""

from __future__ import annotations

from typing import Any

from textual import constants
from tui_fakes import ScriptedEngine, missing_runs_dir

from tui.app import ANIMATIONS_ENV, FmnistApp


def test_animations_are_off_by_default(monkeypatch: Any) -> None:
    monkeypatch.delenv(ANIMATIONS_ENV, raising=False)
    app = FmnistApp(engine=ScriptedEngine(), runs_dir=missing_runs_dir())
    assert app.animation_level == "none"


def test_textual_animations_setting_is_honoured(monkeypatch: Any) -> None:
    monkeypatch.setenv(ANIMATIONS_ENV, "full")
    app = FmnistApp(engine=ScriptedEngine(), runs_dir=missing_runs_dir())
    assert app.animation_level == constants.TEXTUAL_ANIMATIONS
