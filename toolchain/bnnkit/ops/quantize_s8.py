"""QUANTIZE, float32 -> int8 (bnn_quantize_s8.c), as LCE 0.16's and TFLite
2.16's x86-64 interpreter computes it: the tensor, flattened, in whole blocks
of 8 takes the vector path, ``rint(x * float32(1 / double(scale)))`` (float32
product, ties to even); the last ``n % 8`` values take the scalar path,
``round(double(x) / double(scale))`` (ties away from zero). Then + zero point
(int32, wrapping) and saturation. LCE writes one where a float part of a
network (a binary layer's float output, a float op) feeds an int8 one.
On a core without a double-precision FPU the scalar tail's division goes
through the compiler's soft-float routines (a few values at most). For a model
whose reference is TFLite's reference kernels (lower.choose_reference), every
value is ``round(float32(x / scale))``, ties away from zero, as TFLite Micro's
AffineQuantize computes it."""

from __future__ import annotations

from math import prod

import numpy as np

from .base import Cost, OpKind, register

INT32_MIN = -(1 << 31)


def _to_i32(v: np.ndarray) -> np.ndarray:
    """x86's conversion of an integral value: NaN and out-of-range -> INT32_MIN."""
    v = np.asarray(v, np.float64)
    bad = ~(np.abs(v) < 2.0 ** 31)
    return np.where(bad, INT32_MIN, np.where(bad, 0, v).astype(np.int64))


def _round_away(d: np.ndarray) -> np.ndarray:
    a = np.abs(d)
    f = np.floor(a)
    return np.copysign(np.where(a - f >= 0.5, f + 1, f), d)


def quantize_reference(x, scale: float, zero_point: int, tflite: bool = False) -> np.ndarray:
    """numpy of bnn_quantize_s8 on the flattened tensor ``x``: LCE's blocks
    and tail, or with ``tflite`` TFLite's reference kernel, round(float32(x /
    scale)) with ties away from zero, for every value.

    Example:
        >>> quantize_reference(np.float32([0.5] * 8 + [0.5]), 1.0, 0).tolist()
        [0, 0, 0, 0, 0, 0, 0, 0, 1]
        >>> quantize_reference(np.float32([0.5] * 8 + [0.5]), 1.0, 0, tflite=True).tolist()
        [1, 1, 1, 1, 1, 1, 1, 1, 1]
    """
    f = np.asarray(x, np.float32).reshape(-1)
    blocked = 0 if tflite else f.size // 8 * 8
    s = np.float32(scale)
    r = np.empty(f.size, np.int64)
    with np.errstate(all="ignore"):
        inv = np.float32(1.0 / np.float64(s))
        r[:blocked] = _to_i32(np.rint((f[:blocked] * inv).astype(np.float32)))
        tail = ((f[blocked:] / s).astype(np.float32).astype(np.float64) if tflite
                else f[blocked:].astype(np.float64) / np.float64(s))
        r[blocked:] = _to_i32(_round_away(tail))
    r = (r + int(zero_point) + (1 << 31)) % (1 << 32) - (1 << 31)  # int32 wrap
    return np.clip(r, -128, 127).astype(np.int8).reshape(np.shape(x))


@register
class QuantizeS8(OpKind):
    kind = "quantize_s8"
    tflite = ("QUANTIZE",)
    files = ("bnn_quantize_s8.c",)

    def lower(self, ctx, op):
        src = ctx.graph.tensor(op.inputs[0])
        if src.dtype != "float32":
            return ctx.problem(f"QUANTIZE from {src.dtype} (float32 -> int8 and "
                               "int8 -> int8 are supported)")
        if not ctx.need_int8(op.outputs[0]):
            return None
        scale, zp = ctx.quant[op.outputs[0]]
        return ctx.node(self.kind, [op.inputs[0]], {"scale": scale, "zp": zp,
                                                   "tflite": ctx.reference == "tflite"})

    def output_shape(self, n, low):
        return tuple(low.shapes[n.inputs[0]])

    def emit(self, b, i, n):
        s = np.float32(n.params["scale"])
        inv = np.float32(1.0 / np.float64(s))
        n_values = prod(b.low.shapes[n.inputs[0]])
        blocked = -1 if n.params["tflite"] else n_values // 8 * 8
        return [f"bnn_quantize_s8({b.buf(n.inputs[0])}, {b.size(n.inputs[0])}, {blocked}, "
                f"{float(inv).hex()}f, {float(s).hex()}, {n.params['zp']}, "
                f"{b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        return Cost()

    def reference(self, n, inputs, low):
        return quantize_reference(inputs[0], n.params["scale"], n.params["zp"],
                                  n.params["tflite"])
