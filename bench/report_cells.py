"""How the report writes a figure, a goal and a benchmark not yet run (shared by its sections)."""

from __future__ import annotations

import math
from typing import Any

ACCURACY = ("accuracy-seed", "accuracy-seed-augment", "accuracy-seed-deep", "accuracy-improved")
"""The accuracy benchmarks, in the order their rows appear."""


def fmt(value: Any, spec: str = ".1f", missing: str = "–") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    return format(value, spec)


def goal(met: bool) -> str:
    return "met" if met else "**not met**"


def not_run(name: str) -> str:
    return f"_Not yet run: `uv run python -m bench --only {name}`._"
