"""Keys typed ahead reach the widget that is focused once the keys before them took effect.

Textual 8.2.8's ``App.on_event`` forwards each key from the terminal to whichever widget is
focused *when the app dequeues it* (``forward_target = self.focused or self.screen``) and
moves on at once, while that key is still on its way: the focused widget handles it in its
own message queue, then it bubbles up, one queue per ancestor, to ``App._on_key``, where
bindings such as Train or Tab run. So when keys arrive several to a read:

- ``t 3 Enter``: all three are forwarded to the main screen before ``t`` has pushed the
  Train dialog; ``3`` reaches ``App._on_key`` after the push, finds no binding on the
  dialog and is dropped, and ``Enter`` submits the default epochs.
- ``Tab 6 4`` in a dialog: ``6 4`` are typed into the field that Tab was leaving.

:class:`PacedKeysApp` holds the keys in arrival order and hands the app the next one only
when the one before has been handled (it bubbled back to the app, or a widget stopped it),
any screen it pushed has mounted, and focus changes it asked for have been applied (also
focus an app applies only after the next frame: :meth:`PacedKeysApp.deferred_focus_applied`).
A single key, typed alone, goes straight through.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, Final, TypeVar

from textual import events
from textual.app import App
from textual.dom import DOMNode

ReturnType = TypeVar("ReturnType")

SETTLE_TIMEOUT_S: Final = 1.0
"""Longest wait for one key to take effect before the next is handed over regardless."""


class PacedKeysApp(App[ReturnType]):
    """An ``App`` that hands itself keys from the terminal one at a time, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._typed_ahead: deque[events.Key] = deque()
        self._released: events.Key | None = None
        """The key being handed to ``App.on_event`` by the pacer, recognised by identity."""
        self._handled: events.Key | None = None
        """The last key that came back to the app after going through the widgets."""
        self._pacer: asyncio.Task[None] | None = None

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, events.Key):
            await super().on_event(event)
            return
        if event.is_forwarded:
            # Back from the focused widget and its ancestors: bindings run here.
            await super().on_event(event)
            self._handled = event
            return
        if event is not self._released:
            self._typed_ahead.append(event)
            if self._pacer is None or self._pacer.done():
                self._pacer = asyncio.create_task(self._hand_over_keys())
            return
        self._released = None
        await super().on_event(event)
        if not event.is_forwarded:
            # A priority binding took it, or nothing was there to forward it to.
            self._handled = event

    @property
    def keys_typed_ahead(self) -> int:
        """Keys received from the terminal that the app has not been handed yet."""
        return len(self._typed_ahead)

    async def _hand_over_keys(self) -> None:
        while self._typed_ahead and self.is_running:
            key = self._typed_ahead.popleft()
            self._released = key
            self.post_message(key)
            await self._until_settled(key)

    async def _until_settled(self, key: events.Key) -> None:
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while not (self._handled is key or key._stop_propagation):
            if not await self._drain(deadline):
                return
        # A pushed screen composes and mounts before it can be focused or take keys.
        while not self.screen.is_mounted:
            if not await self._drain(deadline):
                return
        # Focus asked for in a handler (``widget.focus()``) is applied through the app's queue.
        await self._drain(deadline)
        # Focus that waits for the next frame (a tab shown first, focused after).
        if await self.deferred_focus_applied(deadline - time.monotonic()):
            await self._drain(deadline)

    async def deferred_focus_applied(self, timeout: float) -> bool:
        """Wait for focus that a key asked for but that is applied after the next frame.

        Returns whether there was such a focus change (it is then on its way, through the
        app's queue). None here; apps that defer focus override this.
        """
        return False

    async def _drain(self, deadline: float) -> bool:
        """Wait until the app and the focused path have processed what is queued now.

        False once ``deadline`` has passed or the app has stopped.
        """
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not self.is_running:
            return False
        focused = self.screen.focused
        nodes: list[DOMNode] = [self, self.screen]
        if focused is not None:
            nodes += focused.ancestors_with_self
        pending = 0
        drained = asyncio.Event()

        def one_done() -> None:
            nonlocal pending
            pending -= 1
            if pending == 0:
                drained.set()

        for node in dict.fromkeys(nodes):
            if node.call_later(one_done):
                pending += 1
        if pending == 0:
            return False
        try:
            await asyncio.wait_for(drained.wait(), remaining)
        except TimeoutError:
            return False
        return True
