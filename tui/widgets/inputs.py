"""Text fields that apply keys in the order they were typed, however fast they arrive.

Textual 8.2.8's ``Input`` inserts a printable key in its own ``_on_key`` handler, but its
editing keys (backspace, delete, arrows, home/end, ...) are bindings. A binding only runs
when the key event has bubbled from the focused ``Input`` through every ancestor's message
queue up to ``App._on_key``, which resolves it with ``App._check_bindings``. When several
keys arrive in one read (a paste, a fast typist, an SSH session), they are all queued at the
``Input`` before the first has bubbled back: the printable keys that follow a backspace or an
arrow are inserted before it runs. Typing ``Backspace Backspace 4`` after ``12`` left ``1``.
This is Textualize/textual#6605 (open upstream; PR #6631 proposes the same remedy).

:class:`OrderedInput` runs the field's own bindings inline, as the key reaches the field:
the focused widget is the first namespace the app would try anyway, and priority bindings
have already run before the key is forwarded, so what runs is unchanged, only when.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual import events
from textual.validation import Validator
from textual.widgets import Input


class OrderedInput(Input):
    """An ``Input`` whose editing keys take effect in order with the characters typed."""

    async def _on_key(self, event: events.Key) -> None:
        # Called before Input._on_key (handlers run down the MRO until prevent_default).
        if event.is_printable or self.screen.focused is not self:
            return
        if await self._run_own_binding(event.key):
            event.stop()
            event.prevent_default()

    async def _run_own_binding(self, key: str) -> bool:
        """Run this field's non-priority binding for ``key`` as the app would; True if it ran."""
        for namespace, bindings in self.screen._modal_binding_chain:
            if namespace is not self:
                continue
            for binding in bindings.key_to_bindings.get(key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    return True
        return False


class NumberInput(OrderedInput):
    """A numeric field: focusing it selects its value, so typing replaces the default.

    Textual's default, set here explicitly because the dialogs rely on it: typing ``3`` into
    a focused epochs field holding ``10`` must give ``3``, not ``103``.
    """

    def __init__(
        self,
        value: str | None = None,
        placeholder: str = "",
        *,
        id: str | None = None,
        validators: Iterable[Validator] | None = None,
        compact: bool = True,
    ) -> None:
        super().__init__(
            value,
            placeholder,
            id=id,
            validators=validators,
            compact=compact,
            select_on_focus=True,
        )
