"""LceDequantize: packed sign bits -> +-1.0f (bnn_dequantize.c)."""

from __future__ import annotations

import numpy as np

from .base import OpKind, prod, register
from ._bits import unpack_bits


@register
class LceDequantize(OpKind):
    kind = "dequantize"
    tflite = ("LceDequantize",)
    files = ("bnn_dequantize.c",)

    def lower(self, ctx, op):
        return ctx.node(self.kind, [op.inputs[0]])

    def emit(self, b, i, n):
        shape = b.low.shapes[n.outputs[0]]
        channels = shape[-1] if shape else 1
        return [f"bnn_dequantize({b.buf(n.inputs[0])}, {prod(shape) // channels}, "
                f"{channels}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        shape = low.shapes[n.outputs[0]]
        neg = unpack_bits(inputs[0], shape[-1] if shape else 1)
        return np.where(neg, np.float32(-1), np.float32(1)).reshape(shape)
