"""A footer that builds each set of keys once, so that switching tabs does not rebuild it.

Textual's ``Footer`` removes and re-mounts all its keys whenever the screen's bindings may
have changed: on every focus change (each tab focuses its own widget), and once more after
that because mounting the new keys announces new bindings. Each rebuild mounts a dozen
widgets, applies the stylesheet to each and lays the footer out again: two extra frames on
the UI thread after every tab switch, while training competes for the same cores.

:class:`KeysFooter` keeps one row of keys per distinct set of keys shown (a tab's keys,
dimmed or not), builds a row the first time its set is needed, and afterwards only shows
that row and hides the others. A set that has not changed does nothing at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from textual.app import ComposeResult
from textual.compose import compose
from textual.containers import HorizontalGroup
from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen

MAX_ROWS: Final = 8
"""Rows kept: one per tab, dimmed and not, and a few filter states; the oldest go first."""

KeySet = tuple[object, ...]
"""What a row shows: every key with its label, action, state and tooltip."""


class KeyRow(HorizontalGroup):
    """One set of keys, laid out as ``Footer`` lays out its own children."""

    DEFAULT_CSS = """
    KeyRow {
        width: 1fr;
        height: 1;
    }
    """


class KeysFooter(Footer):
    """``Footer`` with its key rows built once per set of keys and then swapped."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[KeySet, KeyRow] = {}
        """Built rows by the keys they show, least recently shown first."""
        self._shown: KeySet | None = None
        self.rows_built = 0
        """How many rows were built (not reused): for tests."""

    def compose(self) -> ComposeResult:
        # The rows are mounted by _show_keys, never by Textual's compose.
        return iter(())

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._show_built_row():
            self.call_after_refresh(self._show_keys)

    def _show_built_row(self) -> bool:
        """Show an already built row for the current keys now, in the frame being prepared.

        A tab switch then draws its footer in the same frame (and layout) as the new tab,
        instead of laying the screen out a second time after it. False when the row has
        still to be built (that needs mounting, which waits for the frame).
        """
        if self._pruning or not self._bindings_ready:
            return False
        keys = self._key_set()
        if keys == self._shown:
            return True
        row = self._rows.pop(keys, None)
        if row is None:
            return False
        self._rows[keys] = row
        for other in self._rows.values():
            other.display = other is row
        self._shown = keys
        return True

    async def recompose(self) -> None:
        """Build the rows again (the palette key or the theme changed)."""
        if not self.is_attached or self._pruning:
            return
        rows, self._rows, self._shown = list(self._rows.values()), {}, None
        await self.remove_children(rows)
        await self._show_keys()

    def _key_set(self) -> KeySet:
        keys = tuple(
            (
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                binding.group,
                enabled,
                tooltip,
            )
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )
        palette = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        return (*keys, self.show_command_palette, palette and palette[2])

    async def _show_keys(self) -> None:
        if not self.is_attached or self._pruning or not self._bindings_ready:
            return
        keys = self._key_set()
        if keys == self._shown:
            return
        row = self._rows.pop(keys, None)
        built = row is None
        if row is None:
            row = KeyRow(*compose(self, Footer.compose(self)))
            self.rows_built += 1
        self._rows[keys] = row
        with self.app.batch_update():
            for other in self._rows.values():
                other.display = other is row
            if built:
                await self.mount(row)
            self._shown = keys
            while len(self._rows) > MAX_ROWS:
                oldest = next(iter(self._rows))
                await self._rows.pop(oldest).remove()
