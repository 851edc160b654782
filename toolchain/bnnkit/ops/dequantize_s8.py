"""DEQUANTIZE, int8 -> float32 (bnn_dequantize_s8.c), as LCE 0.16's and
TFLite 2.16's x86-64 interpreter computes it: the tensor, flattened, in whole
blocks of 8 takes the vector path, ``float32(q) * scale`` then ``+
float32(-zero_point * scale)`` (two roundings); the last ``n % 8`` values,
``float32(q - zero_point) * scale`` (one rounding). LCE writes one where an
int8 part of a network feeds a float one (a batch norm before a binary
layer); lowering folds it, with that batch norm and the sign, into int8
thresholds (:func:`bnnkit.passes.binary.fuse_dequantize_sign`) when it can."""

from __future__ import annotations

from math import prod

import numpy as np

from .base import Cost, OpKind, register


def neg_zero_point_scale(scale: float, zero_point: int) -> np.float32:
    return np.float32(np.float64(-int(zero_point)) * np.float64(np.float32(scale)))


def dequantize_reference(q, scale: float, zero_point: int, tflite: bool = False) -> np.ndarray:
    """numpy of bnn_dequantize_s8 on the flattened tensor ``q``: LCE's blocks
    of 8 and tail, or with ``tflite`` TFLite's reference kernel, every value
    float32(q - zero_point) * scale (one rounding, as the tail).

    Example:
        >>> dequantize_reference(np.int8([-128, 0, 127]), 0.5, -128).tolist()
        [0.0, 64.0, 127.5]
    """
    f = np.asarray(q, np.int64).reshape(-1)
    block, out = dequantize_paths(f, scale, zero_point)
    blocked = 0 if tflite else f.size // 8 * 8
    out[:blocked] = block[:blocked]
    return out.reshape(np.shape(q))


def dequantize_paths(q, scale: float, zero_point: int) -> tuple:
    """The values the vector path (blocks of 8) and the scalar tail give for ``q``.

    Example:
        >>> [v.tolist() for v in dequantize_paths(np.int8([1]), 0.5, 0)]
        [[0.5], [0.5]]
    """
    q = np.asarray(q, np.int64)
    s = np.float32(scale)
    block = (q.astype(np.float32) * s).astype(np.float32) + neg_zero_point_scale(scale, zero_point)
    return block.astype(np.float32), (q - int(zero_point)).astype(np.float32) * s


@register
class DequantizeS8(OpKind):
    kind = "dequantize_s8"
    dtype = "int8"
    tflite = ("DEQUANTIZE",)
    files = ("bnn_dequantize_s8.c",)

    def lower(self, ctx, op):
        if not (ctx.need_int8(op.inputs[0]) and ctx.need_float(op.outputs[0])):
            return None
        scale, zp = ctx.quant[op.inputs[0]]
        return ctx.node(self.kind, [op.inputs[0]], {"scale": scale, "zp": zp,
                                                   "tflite": ctx.reference == "tflite"})

    def output_shape(self, n, low):
        return tuple(low.shapes[n.inputs[0]])

    def emit(self, b, i, n):
        s, zp = n.params["scale"], n.params["zp"]
        blocked = 0 if n.params.get("tflite") else prod(b.low.shapes[n.inputs[0]]) // 8 * 8
        return [f"bnn_dequantize_s8({b.buf(n.inputs[0])}, {b.size(n.inputs[0])}, {blocked}, "
                f"{float(np.float32(s)).hex()}f, {float(neg_zero_point_scale(s, zp)).hex()}f, "
                f"{zp}, {b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        return Cost()

    def reference(self, n, inputs, low):
        return dequantize_reference(inputs[0], n.params["scale"], n.params["zp"],
                                    n.params.get("tflite", False))
