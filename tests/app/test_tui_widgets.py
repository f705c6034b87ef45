"""Pilot tests for the mistakes gallery and the confusion matrix, on random data.

Each test drives a small app that composes just the widget under test, at 80x24.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import numpy as np
import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.color import Color
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import Static

from core.evaluation import CLASS_NAMES, Evaluation, Mistake, evaluate_probabilities
from tui.widgets.confusion import ConfusionView, confusion_cells
from tui.widgets.halfcell import render_image_strips, rich_pixels_strips
from tui.widgets.mistakes import MistakesView
from tui.widgets.mistakes_list import (
    NO_DATA_MESSAGE,
    NO_MATCH_MESSAGE,
    NO_MISTAKES_MESSAGE,
    Example,
    ExampleFilter,
    describe_view,
)
from tui.widgets.mistakes_pane import MistakesPane

SAMPLES = 2000
SIZE = (80, 24)


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    """Random predictions: about 90% of the 2000 samples are mistakes."""
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), size=SAMPLES)
    labels = rng.integers(0, 10, size=SAMPLES)
    return evaluate_probabilities(probabilities, labels)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, size=(SAMPLES, 28, 28), dtype=np.uint8)


def run(app: App[None], script: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    """Run ``script`` against ``app`` headless (no pytest-asyncio in this project)."""

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await script(pilot)

    asyncio.run(main())


class MistakesApp(App[None]):
    """The gallery alone, recording the messages it posts."""

    def __init__(self, evaluation: Evaluation | None = None, images: np.ndarray | None = None):
        super().__init__()
        self.evaluation = evaluation
        self.images = images
        self.highlighted: list[Example] = []
        self.summaries: list[str] = []

    def compose(self) -> ComposeResult:
        yield MistakesPane()

    def on_mount(self) -> None:
        if self.evaluation is not None and self.images is not None:
            self.query_one(MistakesPane).set_data(self.evaluation, self.images)
        self.query_one(MistakesView).focus()

    def on_mistakes_view_highlighted(self, message: MistakesView.Highlighted) -> None:
        self.highlighted.append(message.example)

    def on_mistakes_view_updated(self, message: MistakesView.Updated) -> None:
        self.summaries.append(message.summary)


def as_mistakes(examples: list[Example]) -> list[Mistake]:
    """The gallery's examples as core's mistakes, to compare with ``Evaluation.mistakes``."""
    return [Mistake(e.index, e.true_label, e.predicted_label, e.confidence) for e in examples]


def visible_positions(view: MistakesView) -> set[int]:
    """Gallery positions with at least one image line on screen (one column)."""
    image_rows = view.item_height - 1
    positions = set()
    for y in range(view.scrollable_content_region.height):
        position, line = divmod(view.scroll_offset.y + y, view.item_height)
        if line < image_rows and position < len(view.examples):
            positions.add(position)
    return positions


def screen_lines(view: MistakesView) -> list[str]:
    return [view.render_line(y).text for y in range(view.scrollable_content_region.height)]


def assert_cursor_visible(view: MistakesView) -> None:
    top = (view.cursor // view.columns) * view.item_height
    assert view.scroll_offset.y <= top
    assert top < view.scroll_offset.y + view.scrollable_content_region.height


# -- mistakes gallery -------------------------------------------------------------------


def test_gallery_holds_every_mistake(evaluation: Evaluation, images: np.ndarray) -> None:
    app = MistakesApp(evaluation, images)
    expected = evaluation.mistakes()
    assert 1700 < len(expected) < 1900

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        assert view.total == len(view.examples) == len(expected)
        assert as_mistakes(view.examples) == expected  # test order by default
        assert view.columns == 1
        assert view.virtual_size.height == len(expected) * view.item_height
        status = str(app.query_one("#mistakes-status", Static).render())
        assert status == f"{len(expected):,} mistakes · by test order"
        lines = screen_lines(view)
        first = expected[0]
        assert any(f"subset #{first.index}" in line for line in lines)
        assert any(f"true: {first.true_name}" in line for line in lines)
        assert any(f"predicted: {first.predicted_name}" in line for line in lines)
        assert any(f"confidence: {first.confidence:.1%}" in line for line in lines)
        assert max(len(line) for line in lines) <= SIZE[0]

    run(app, script)


def test_keys_move_the_cursor_and_scroll(evaluation: Evaluation, images: np.ndarray) -> None:
    app = MistakesApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        count = len(view.examples)
        assert view.cursor == 0 and view.scroll_offset.y == 0

        await pilot.press("j")
        assert view.cursor == 1
        await pilot.press("k")
        assert view.cursor == 0
        await pilot.press("k")  # stays on the first item
        assert view.cursor == 0

        await pilot.press("down", "down", "down")
        await pilot.pause()
        assert view.cursor == 3
        assert view.scroll_offset.y > 0
        assert_cursor_visible(view)

        await pilot.press("end")
        await pilot.pause()
        assert view.cursor == count - 1
        assert view.max_scroll_y - view.scroll_offset.y <= 1  # all but the last spacer
        assert_cursor_visible(view)
        assert any(view.examples[-1].title in line for line in screen_lines(view))

        await pilot.press("home")
        await pilot.pause()
        assert view.cursor == 0 and view.scroll_offset.y == 0

        await pilot.press("pagedown")
        await pilot.pause()
        assert view.cursor >= 1
        assert view.scroll_offset.y > 0
        assert_cursor_visible(view)
        page = view.cursor
        await pilot.press("pagedown", "pageup")
        await pilot.pause()
        assert view.cursor == page
        assert_cursor_visible(view)

        assert app.highlighted[-1] == view.highlighted == view.examples[page]

    run(app, script)


def test_wide_terminal_shows_a_grid(evaluation: Evaluation, images: np.ndarray) -> None:
    app = MistakesApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        await pilot.press("end")
        await pilot.resize_terminal(130, 30)
        await pilot.pause()
        assert view.columns == 2
        rows = -(-len(view.examples) // 2)
        assert view.virtual_size.height == rows * view.item_height
        assert_cursor_visible(view)
        await pilot.press("home", "right")
        assert view.cursor == 1
        await pilot.press("down")
        assert view.cursor == 3
        await pilot.press("left")
        assert view.cursor == 2
        first_line = view.render_line(1).text
        assert view.examples[0].title in first_line
        assert view.examples[1].title in first_line

    run(app, script)


def test_click_highlights_the_item(evaluation: Evaluation, images: np.ndarray) -> None:
    app = MistakesApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        await pilot.click(MistakesView, offset=(10, view.item_height + 2))
        assert view.cursor == 1

    run(app, script)


def test_mouse_wheel_scrolls(evaluation: Evaluation, images: np.ndarray) -> None:
    app = MistakesApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        for _ in range(5):
            view.post_message(events.MouseScrollDown(view, 5, 5, 0, 1, 0, False, False, False))
        await pilot.pause()
        assert view.scroll_offset.y > 0
        assert view.cursor == 0  # the wheel scrolls; the cursor stays put until a key moves it
        scrolled = view.scroll_offset.y
        await pilot.press("j")  # picks up the first item on screen rather than jumping back
        top = (view.cursor // view.columns) * view.item_height
        assert view.cursor > 0 and top >= scrolled
        assert abs(view.scroll_offset.y - scrolled) <= view.item_height
        assert_cursor_visible(view)

    run(app, script)


def test_filter_keeps_only_matching_mistakes(evaluation: Evaluation, images: np.ndarray) -> None:
    app = MistakesApp(evaluation, images)
    shirt, tshirt = CLASS_NAMES.index("Shirt"), CLASS_NAMES.index("T-shirt/top")
    all_mistakes = evaluation.mistakes()

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        view.set_filter(shirt, tshirt)
        await pilot.pause()
        expected = [m for m in all_mistakes if (m.true_label, m.predicted_label) == (6, 0)]
        assert 0 < len(view.examples) == len(expected) < len(all_mistakes)
        assert as_mistakes(view.examples) == expected
        assert view.virtual_size.height == len(expected) * view.item_height
        status = str(app.query_one("#mistakes-status", Static).render())
        assert status.startswith(f"{len(expected)} of {len(all_mistakes):,} mistakes")
        assert "true=Shirt pred=T-shirt/top" in status

        await pilot.press("end")
        kept = view.highlighted
        await pilot.press("x")
        await pilot.pause()
        assert len(view.examples) == len(all_mistakes)
        assert view.filter.true is None and view.filter.predicted is None
        assert view.highlighted == kept  # widening keeps the mistake in view, in context
        assert view.cursor > 0
        assert_cursor_visible(view)

        await pilot.press("f")
        await pilot.pause()
        assert view.filter.true == 0
        assert view.cursor == 0  # a narrower filter starts at the top
        assert view.examples and all(m.true_label == 0 for m in view.examples)
        await pilot.press("f")
        assert view.filter.true == 1

        await pilot.press("F")
        await pilot.pause()
        assert view.filter.predicted == 0  # true class 1 is never predicted as itself
        assert all((m.true_label, m.predicted_label) == (1, 0) for m in view.examples)

        await pilot.press("x")
        await pilot.pause()
        assert len(view.examples) == len(all_mistakes)

    run(app, script)


def test_filter_cycle_wraps_round_to_every_class(
    evaluation: Evaluation, images: np.ndarray
) -> None:
    app = MistakesApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        seen = []
        for _ in range(11):
            await pilot.press("f")
            seen.append(view.filter.true)
        assert seen == [*range(10), None]

    run(app, script)


def test_sort_cycles_through_confidence_orders(evaluation: Evaluation, images: np.ndarray) -> None:
    app = MistakesApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        await pilot.press("end")

        await pilot.press("o")
        await pilot.pause()
        assert str(view.sort_by) == "confidence_desc"
        confidences = [m.confidence for m in view.examples]
        assert confidences == sorted(confidences, reverse=True)
        assert view.cursor == 0 and view.scroll_offset.y == 0  # a new order starts at its top
        assert app.highlighted[-1] == view.examples[0]
        status = str(app.query_one("#mistakes-status", Static).render())
        assert status.endswith("by confidence ↓")

        await pilot.press("o")
        await pilot.pause()
        assert str(view.sort_by) == "confidence_asc"
        confidences = [m.confidence for m in view.examples]
        assert confidences == sorted(confidences)

        await pilot.press("o")
        await pilot.pause()
        assert str(view.sort_by) == "index"
        assert [m.index for m in view.examples] == sorted(m.index for m in view.examples)

    run(app, script)


def test_images_are_rendered_once_and_cached(evaluation: Evaluation, images: np.ndarray) -> None:
    app = MistakesApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        screen_lines(view)
        rendered = view.image_render_count
        assert rendered == len(visible_positions(view)) >= 1
        for _ in range(3):
            screen_lines(view)
            view.refresh()
            await pilot.pause()
        assert view.image_render_count == rendered

    run(app, script)


def test_only_visible_items_are_built(evaluation: Evaluation, images: np.ndarray) -> None:
    """Rough perf check without timing: 50 scroll positions render only what they show."""
    app = MistakesApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        await pilot.pause()
        shown: set[int] = set(visible_positions(view))
        for y in np.linspace(0, view.max_scroll_y, 50).astype(int):
            view.scroll_to(y=int(y), animate=False)
            shown |= visible_positions(view)
            screen_lines(view)
        distinct = {view.examples[p].index for p in shown}
        assert view.image_render_count == len(distinct)
        assert len(distinct) < len(view.examples) // 10

        # Scrolling back over the same positions renders nothing new.
        for y in np.linspace(0, view.max_scroll_y, 50).astype(int)[::-1]:
            view.scroll_to(y=int(y), animate=False)
            screen_lines(view)
        assert view.image_render_count == len(distinct)

    run(app, script)


def test_render_line_far_down_the_gallery(evaluation: Evaluation, images: np.ndarray) -> None:
    app = MistakesApp(evaluation, images)

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)
        far = len(view.examples) - 7
        view.scroll_to(y=far * view.item_height, animate=False)
        await pilot.pause()
        assert view.render_line(1).text.rstrip().endswith(view.examples[far].title)
        assert view.render_line(view.item_height - 1).text.strip() == ""  # the spacer
        assert view.image_render_count >= 1

    run(app, script)


def test_empty_states(evaluation: Evaluation, images: np.ndarray) -> None:
    app = MistakesApp()
    perfect = evaluate_probabilities(np.eye(10), np.arange(10))
    swapped = evaluate_probabilities(np.eye(10)[[1, 0]], np.array([0, 1]))

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(MistakesView)

        def middle() -> str:
            return view.render_line(view.size.height // 2).text.strip()

        assert not view.has_data and middle() == NO_DATA_MESSAGE
        assert str(app.query_one("#mistakes-status", Static).render()) == "No evaluation yet"
        await pilot.press("j", "end", "o", "f")  # nothing to do, nothing breaks
        assert view.sort_by == "index" and view.filter.true is None

        view.set_data(perfect, images[:10])
        await pilot.pause()
        assert middle() == NO_MISTAKES_MESSAGE

        view.set_data(swapped, images[:2])
        view.set_filter(0, 0)
        await pilot.pause()
        assert view.examples == [] and middle() == NO_MATCH_MESSAGE

        view.set_data(evaluation, images)
        view.clear()
        await pilot.pause()
        assert middle() == NO_DATA_MESSAGE

    run(app, script)


def test_set_data_rejects_images_that_do_not_match(evaluation: Evaluation) -> None:
    view = MistakesView()
    with pytest.raises(ValueError, match="N, height, width"):
        view.set_data(evaluation, np.zeros((SAMPLES, 784), dtype=np.uint8))
    with pytest.raises(ValueError, match="images for"):
        view.set_data(evaluation, np.zeros((10, 28, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match="no class"):
        view.set_filter(10, None)


def test_image_strips_are_half_blocks_of_grey() -> None:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[0, :] = 200  # top pixel row of the first line: the cell background
    image[1, :] = 100  # bottom pixel row: the half block's foreground
    strips = render_image_strips(image)
    assert len(strips) == 14
    assert all(strip.cell_length == 28 for strip in strips)
    assert all(set(strip.text) == {"▄"} for strip in strips)
    first = next(iter(strips[0])).style
    assert first is not None and first.color is not None and first.bgcolor is not None
    assert first.color.triplet is not None and first.bgcolor.triplet is not None
    assert tuple(first.color.triplet) == (100, 100, 100)
    assert tuple(first.bgcolor.triplet) == (200, 200, 200)


def test_image_strips_are_what_rich_pixels_draws(images: np.ndarray) -> None:
    """The fast path gives rich-pixels' segments: same text, same colours, same runs."""
    rng = np.random.default_rng(2)
    flat = np.zeros((28, 28), dtype=np.uint8)
    flat[10:20, 5:9] = 255  # long runs of one colour pair merge into one segment
    cases = [
        images[0],
        images[1],
        flat,
        rng.integers(0, 3, size=(28, 28), dtype=np.uint8),
        rng.integers(0, 256, size=(7, 5), dtype=np.uint8),  # odd height: stretched
    ]
    for image in cases:
        fast = render_image_strips(image)
        reference = rich_pixels_strips(image)
        assert [strip.cell_length for strip in fast] == [s.cell_length for s in reference]
        assert [[(seg.text, seg.style) for seg in strip] for strip in fast] == [
            [(seg.text, seg.style) for seg in strip] for strip in reference
        ]
        assert [[str(seg.style) for seg in strip] for strip in fast] == [
            [str(seg.style) for seg in strip] for strip in reference
        ]


def test_describe_view() -> None:
    assert describe_view(412, 412, "confidence_desc", ExampleFilter()) == (
        "412 mistakes · by confidence ↓"
    )
    assert describe_view(12, 1800, "index", ExampleFilter(6, 0)) == (
        "12 of 1,800 mistakes · true=Shirt pred=T-shirt/top · by test order"
    )
    longest = describe_view(1234, 1800, "confidence_desc", ExampleFilter(0, 9))
    assert len(longest) <= 78


# -- confusion matrix -------------------------------------------------------------------


class ConfusionApp(App[None]):
    """The confusion matrix alone, recording the cells it asks to show."""

    def __init__(self, evaluation: Evaluation | None = None) -> None:
        super().__init__()
        self.evaluation = evaluation
        self.selected: list[tuple[int, int, int]] = []

    def compose(self) -> ComposeResult:
        yield ConfusionView()

    def on_mount(self) -> None:
        view = self.query_one(ConfusionView)
        if self.evaluation is not None:
            view.set_data(self.evaluation)
        view.table.focus()

    def on_confusion_view_cell_selected(self, message: ConfusionView.CellSelected) -> None:
        self.selected.append((message.true_label, message.predicted_label, message.count))


def test_confusion_enter_on_off_diagonal_cell_selects_it(evaluation: Evaluation) -> None:
    app = ConfusionApp(evaluation)

    async def script(pilot: Pilot[None]) -> None:
        table = app.query_one(ConfusionView).table
        assert table.row_count == 10 and len(table.columns) == 11
        assert table.outer_size.width <= 78

        table.move_cursor(row=0, column=0)
        await pilot.press("right", "down", "down")
        assert table.cursor_coordinate == Coordinate(2, 1)
        detail = str(app.query_one("#confusion-detail", Static).render())
        assert detail.startswith("Pullover predicted as Trouser:")
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [(2, 1, int(evaluation.confusion[2, 1]))]

    run(app, script)


def test_confusion_enter_on_the_accuracy_column_selects_nothing(evaluation: Evaluation) -> None:
    app = ConfusionApp(evaluation)

    async def script(pilot: Pilot[None]) -> None:
        table = app.query_one(ConfusionView).table
        table.move_cursor(row=3, column=10)
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == []

    run(app, script)


def test_confusion_cursor_starts_on_the_worst_confusion(evaluation: Evaluation) -> None:
    app = ConfusionApp(evaluation)
    masked = evaluation.confusion.copy()
    np.fill_diagonal(masked, -1)
    worst = np.unravel_index(masked.argmax(), masked.shape)

    async def script(pilot: Pilot[None]) -> None:
        table = app.query_one(ConfusionView).table
        assert tuple(table.cursor_coordinate) == tuple(int(i) for i in worst)
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected[0][:2] == tuple(int(i) for i in worst)

    run(app, script)


def test_confusion_empty_state_then_data() -> None:
    app = ConfusionApp()

    async def script(pilot: Pilot[None]) -> None:
        view = app.query_one(ConfusionView)
        assert not view.table.display
        assert view.query_one("#confusion-empty").display
        await pilot.press("enter")
        assert app.selected == []

    run(app, script)


def test_confusion_colours(evaluation: Evaluation) -> None:
    def background(true: int, predicted: int) -> Color:
        text = confusion_cells(evaluation)[true][predicted]
        styles = [span.style for span in text.spans]
        bgcolor = next(s.bgcolor for s in styles if not isinstance(s, str) and s.bgcolor)
        assert bgcolor is not None and bgcolor.triplet is not None
        return Color(*bgcolor.triplet)

    diagonal, off = background(4, 4), background(4, 2)
    assert diagonal.g > diagonal.r and off.r > off.g
    assert len(confusion_cells(evaluation)[0]) == 11


def test_data_set_before_mounting_is_shown(evaluation: Evaluation, images: np.ndarray) -> None:
    class EarlyApp(App[None]):
        def compose(self) -> ComposeResult:
            gallery = MistakesView()
            gallery.set_data(evaluation, images)
            matrix = ConfusionView()
            matrix.set_data(evaluation)
            yield gallery
            yield matrix

    app = EarlyApp()

    async def script(pilot: Pilot[None]) -> None:
        gallery = app.query_one(MistakesView)
        assert len(gallery.examples) == len(evaluation.mistakes())
        assert any("subset #" in line for line in screen_lines(gallery))
        matrix = app.query_one(ConfusionView)
        assert matrix.evaluation is evaluation
        assert matrix.table.display and matrix.table.row_count == 10

    run(app, script)
