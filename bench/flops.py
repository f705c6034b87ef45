"""How much arithmetic a model does per image: what the presets' cost is compared on."""

from __future__ import annotations

from typing import Any


def count_mflops(model: Any) -> float:
    """Forward MFLOP per image: 2 x the multiply-adds of every Conv2D and Dense layer,
    nested models included (other layers' work is small beside these and not counted)."""
    from keras import layers

    macs = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            k_h, k_w = layer.kernel_size
            c_in = layer.input.shape[-1]
            macs += h * w * k_h * k_w * c_in * c_out
        elif isinstance(layer, layers.Dense):
            macs += layer.input.shape[-1] * layer.units
    return 2 * macs / 1e6
