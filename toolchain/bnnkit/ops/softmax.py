"""SOFTMAX, float32 (bnn_softmax_f32.c): max-subtracted exponentials."""

from __future__ import annotations

import numpy as np

from ._numeric import hex_float
from .base import OpKind, prod, register


@register
class Softmax(OpKind):
    kind = "softmax"
    tflite = ("SOFTMAX",)
    files = ("bnn_softmax_f32.c",)

    def lower(self, ctx, op):
        if not ctx.need_float(*op.inputs):
            return None
        return ctx.node(self.kind, [op.inputs[0]], {"beta": op.options["beta"]})

    def output_shape(self, n, low):
        return tuple(low.shapes[n.inputs[0]])

    def emit(self, b, i, n):
        size = prod(b.low.shapes[n.outputs[0]])
        return [f"bnn_softmax_f32({b.buf(n.inputs[0])}, {size}, {hex_float(n.params['beta'])}, "
                f"{b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        x = inputs[0].reshape(-1).astype(np.float32)
        e = np.exp(((x - x.max()) * np.float32(n.params["beta"])).astype(np.float32))
        total = np.float32(0)
        for v in e.astype(np.float32):  # in order, as the C loop
            total = np.float32(total + v)
        # np.exp and the target's expf may differ in the last bit
        return (e.astype(np.float32) / total).astype(np.float32).reshape(inputs[0].shape)
