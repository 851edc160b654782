"""LceDequantize: packed sign bits -> +-1.0f (bnn_dequantize.c)."""

from __future__ import annotations

import numpy as np

from .base import OpKind, prod, register
from ._bits import unpack_bits, words


@register
class LceDequantize(OpKind):
    kind = "dequantize"
    tflite = ("LceDequantize",)
    files = ("bnn_dequantize.c",)

    def lower(self, ctx, op):
        return ctx.node(self.kind, [op.inputs[0]])

    def output_shape(self, n, low):
        shape, out = tuple(low.shapes[n.inputs[0]]), tuple(low.shapes[n.outputs[0]])
        if not shape or not out or words(out[-1]) != shape[-1]:
            return shape  # a mismatch that lowering reports
        return shape[:-1] + out[-1:]

    def emit(self, b, i, n):
        shape = b.low.shapes[n.outputs[0]]
        channels = shape[-1] if shape else 1
        return [f"bnn_dequantize({b.buf(n.inputs[0])}, {prod(shape) // channels}, "
                f"{channels}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        shape = low.shapes[n.outputs[0]]
        neg = unpack_bits(inputs[0], shape[-1] if shape else 1)
        return np.where(neg, np.float32(-1), np.float32(1)).reshape(shape)
