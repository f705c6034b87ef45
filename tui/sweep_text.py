"""How a sweep's parameters and values read on one line, in the app and on the command line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def format_value(value: Any) -> str:
    """A parameter's value: numbers to four significant digits, anything else as it is."""
    if isinstance(value, float) and not isinstance(value, bool):
        return f"{value:.4g}"
    return str(value)


def format_params(params: Mapping[str, Any]) -> str:
    """``name=value`` pairs, numbers to four significant digits."""
    return " ".join(f"{name}={format_value(value)}" for name, value in params.items())
