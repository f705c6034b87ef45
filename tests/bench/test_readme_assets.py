"""The README's screenshots show the product as it is: a run on the full data, a model pane
that reads right, and no warning in the log pane."""

from __future__ import annotations

import html
import re
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def screen_lines(svg: Path) -> list[str]:
    """The screen's text, line by line, as an SVG renderer draws it: each text element at its
    x position, a leading space in an element being dropped (as renderers drop it)."""
    content = svg.read_text(encoding="utf-8")
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in re.finditer(r'<text [^>]*x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', content):
        x, y, text = float(match.group(1)), float(match.group(2)), html.unescape(match.group(3))
        rows.setdefault(y, []).append((x, text.replace("\xa0", " ")))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            column = round(x / 12.2)
            line = line.ljust(column) + text.lstrip(" ")
        lines.append(line)
    return lines


def test_the_train_screenshot_is_a_full_data_run_with_a_readable_model_pane() -> None:
    lines = screen_lines(ASSETS / "screenshot-train.svg")
    text = "\n".join(lines)
    assert "48,000 train / 12,000 val / 10,000 test" in text, "the full data set"
    assert re.search(r"seed\s+394,530 trainable params", text), "the header keeps its spaces"
    assert "Warning" not in text and "DeprecationWarning" not in text


def test_the_mistakes_screenshot_shows_images_with_their_names() -> None:
    text = "\n".join(screen_lines(ASSETS / "screenshot-mistakes.svg"))
    assert re.search(r"\d+ mistakes", text)
    assert "true:" in text and "predicted:" in text and "confidence:" in text
