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

Keys typed before the app has set up the terminal (``fmnist-tui`` Enter, then ``t 3 Enter``
at once, as over SSH) wait in the terminal's input, where the line discipline has already
turned each Enter (``\r``) into a newline (``\n``, ICRNL). Textual reads that as ``ctrl+j``,
which nothing here binds, so the dialog never started: :class:`PacedKeysApp` reads it as Enter.
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

SETTLE_TIMEOUT_S: Final = 3.0
"""Longest wait for one key to take effect before the next is handed over regardless (a key
that never settles must not hold the others). 1 s was too short on a loaded 2-core machine:
at a load average of 6, one run in 12 of the tab-switch burst test handed a key over early."""
MAX_SETTLE_ROUNDS: Final = 8
"""Rounds of waiting for what one key set off (messages, a pushed screen, focus) to stop
changing; two or three are the most any key here takes."""

TYPED_AHEAD_ENTER: Final = "ctrl+j"
"""Enter as it reaches the app when it was typed before the terminal was set up (a newline)."""


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
            if event.key == TYPED_AHEAD_ENTER:
                event = events.Key("enter", "\r")
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
    def keys_pending(self) -> int:
        """Keys received from the terminal that have not all taken effect yet: those waiting
        to be handed over, and the one being handled."""
        in_flight = self._pacer is not None and not self._pacer.done()
        return len(self._typed_ahead) + (1 if in_flight and not self._typed_ahead else 0)

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
        # What the key set off can take several rounds: its binding may post a message that
        # an ancestor handles by pushing a screen (r in the Runs table: the table posts
        # ResumeRun, the Runs tab pushes the Resume dialog), and that screen then mounts and
        # asks for its focus. Each round lets all of it move on; the key has settled once a
        # round changed neither the screen nor the focus and left nothing queued on the way.
        for _ in range(MAX_SETTLE_ROUNDS):
            screen, focused = self.screen, self.screen.focused
            # Where a message posted by a binding bubbles to a handler: the focused widget and
            # its ancestors below the screen (whose own queue is busy with every repaint).
            widgets = [] if focused is None else focused.ancestors_with_self[:-2]
            # A pushed screen composes and mounts before it can be focused or take keys.
            while not self.screen.is_mounted:
                if not await self._drain(deadline):
                    return
            # Focus asked for in a handler (``widget.focus()``) is applied through the app's
            # queue, as are messages bubbling up from the focused widget.
            if not await self._drain(deadline):
                return
            # Focus that waits for the next frame (a tab shown first, focused after).
            if await self.deferred_focus_applied(deadline - time.monotonic()):
                await self._drain(deadline)
            if (
                self.screen is screen
                and self.screen.focused is focused
                and not any(widget._message_queue.qsize() for widget in widgets)
            ):
                return

    def _focus_path(self) -> list[DOMNode]:
        """The app, the screen and the focused widget with its ancestors: where a key goes and
        what its messages bubble through."""
        focused = self.screen.focused
        nodes: list[DOMNode] = [self, self.screen]
        if focused is not None:
            nodes += focused.ancestors_with_self
        return list(dict.fromkeys(nodes))

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
        pending = 0
        drained = asyncio.Event()

        def one_done() -> None:
            nonlocal pending
            pending -= 1
            if pending == 0:
                drained.set()

        for node in self._focus_path():
            if node.call_later(one_done):
                pending += 1
        if pending == 0:
            return False
        try:
            await asyncio.wait_for(drained.wait(), remaining)
        except TimeoutError:
            return False
        return True
