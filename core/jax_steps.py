"""Several training batches in one device-side loop on JAX.

Keras' JAX trainer runs ``steps_per_execution`` batches as a Python loop over a jitted step:
one dispatch per batch, which at batch size 32 on a GPU costs more than the batch itself.
:class:`ScanTrainFunction` gives the trainer a function that stacks the call's batches and
runs them in one jitted ``lax.scan`` over the same ``train_step``: one dispatch per call. A
call with fewer batches, or batches of another size (an epoch's last), takes the per-batch
path, so every batch trains exactly as before.

Imported only under the JAX backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp


def _shapes(batch: Any) -> list[tuple[int, ...]]:
    return [tuple(leaf.shape) for leaf in jax.tree_util.tree_leaves(batch)]


class ScanTrainFunction:
    """A train function for ``model`` (compiled, JAX backend) running ``steps`` batches a
    call; Keras' JAX trainer calls it as ``logs, state = function(state, iterator)``."""

    def __init__(self, model: Any, steps: int) -> None:
        self.steps = steps

        def one(state: Any, data: Any) -> Any:
            return model.train_step(state, data)

        def many(state: Any, stacked: Any) -> Any:
            def body(carry: Any, data: Any) -> Any:
                logs, carry = model.train_step(carry, data)
                return carry, logs

            state, logs = jax.lax.scan(body, state, stacked)
            # The metrics are running means: the last batch's logs hold the whole call's.
            return jax.tree_util.tree_map(lambda value: value[-1], logs), state

        self._one = jax.jit(one, donate_argnums=0)
        self._many = jax.jit(many, donate_argnums=0)

    def __call__(self, state: Any, iterator: Iterator[Any]) -> Any:
        batches = []
        for _ in range(self.steps):
            try:
                batches.append(next(iterator))
            except StopIteration:
                break
        if not batches:
            raise StopIteration
        shapes = _shapes(batches[0])
        if len(batches) == self.steps and all(_shapes(b) == shapes for b in batches[1:]):
            stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *batches)
            return self._many(state, stacked)
        logs = None
        for batch in batches:
            logs, state = self._one(state, batch)
        return logs, state
