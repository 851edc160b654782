"""LceQuantize: float -> packed sign bits (bit 1 where x < 0), with the batch norm
before it folded in by ``fuse_affine_sign`` (bnn_quantize.c)."""

from __future__ import annotations

import numpy as np

from .base import OpKind, prod, register
from ._bits import pack_bits, words


@register
class LceQuantize(OpKind):
    kind = "quantize"
    tflite = ("LceQuantize",)
    files = ("bnn_quantize.c",)

    def lower(self, ctx, op):
        return ctx.node(self.kind, [op.inputs[0]]) if ctx.need_float(op.inputs[0]) else None

    def output_shape(self, n, low):
        shape = tuple(low.shapes[n.inputs[0]]) or (1,)
        return shape[:-1] + (words(shape[-1]),)

    def in_place_inputs(self, n, low) -> tuple:
        # word w of position p lands at or below float 32*w of p, and each word's
        # floats are all read before it is stored
        return (0,)

    def emit(self, b, i, n):
        shape = b.low.shapes[n.inputs[0]]
        channels = shape[-1] if shape else 1
        outer = prod(shape) // channels
        args = []
        for kind in ("mul", "add"):
            if kind in n.consts:
                args.append(b.const(f"bn_{kind}", "float", n.consts[kind],
                                    f"{n.name}: batch norm {kind} before the sign"))
            else:
                args.append("0")
        return [f"bnn_quantize_f32({b.buf(n.inputs[0])}, {outer}, {channels}, {args[0]}, "
                f"{args[1]}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        x = inputs[0].astype(np.float32)
        if "mul" in n.consts:
            x = (x * n.consts["mul"]).astype(np.float32)
        if "add" in n.consts:
            x = (x + n.consts["add"]).astype(np.float32)
        return pack_bits(x < 0)
