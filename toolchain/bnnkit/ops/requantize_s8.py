"""QUANTIZE, int8 -> int8 (bnn_requantize_s8.c): a change of scale and zero
point, as TFLite 2.16's Requantize computes it (the converter writes one where
an int8 tensor feeds an op that needs another quantization, e.g. an average
pool whose output range differs):

    out = clamp(round_shift(srdhm((x - z_in) << left, m), right) + z_out, -128, 127)

with ``m, shift = QuantizeMultiplier(double(scale_in) / double(scale_out))``.
TFLite runs its NEON code (NEON_2_SSE on x86) on whole blocks of 16 values,
whose rounding shift (vrshl) breaks ties upward, and gemmlowp's
RoundingDivideByPOT (ties away from zero) on the rest: measured, the two
differ on about one value in twelve when the ratio of the scales is 1/4.
TFLite's reference kernel (TFLite Micro's) rounds every value away from zero."""

from __future__ import annotations

from math import prod

import numpy as np

from ._quant import quantize_multiplier, requantize
from .base import Cost, OpKind, inputs_of_output_shape, register


BLOCK = 16  # values per NEON block of TFLite's int8 Requantize


def requantize_s8(x, multiplier: int, shift: int, zp_in: int, zp_out: int,
                  tflite: bool = False) -> np.ndarray:
    """numpy of bnn_requantize_tensor_s8 on the flattened tensor ``x``: whole
    blocks of 16 round ties up, the rest away from zero (with ``tflite``, as
    TFLite's reference kernel, every value away from zero).

    Example:
        >>> m, s = quantize_multiplier(0.25)
        >>> requantize_s8(np.int8([-2] * 17), m, s, 0, 0).tolist()[15:]
        [0, -1]
    """
    v = np.asarray(x, np.int64).reshape(-1) - zp_in
    blocked = 0 if tflite else v.size // BLOCK * BLOCK
    out = np.concatenate([requantize(v[:blocked], multiplier, shift, "up"),
                          requantize(v[blocked:], multiplier, shift, "away")]) + zp_out
    return np.clip(out, -128, 127).astype(np.int8).reshape(np.shape(x))


@register
class RequantizeS8(OpKind):
    kind = "requantize_s8"
    dtype = "int8"
    tflite = ("QUANTIZE",)
    files = ("bnn_requantize_s8.c",)

    def lower(self, ctx, op):
        if not ctx.need_int8(op.inputs[0], op.outputs[0]):
            return None
        (s_in, z_in), (s_out, z_out) = ctx.quant[op.inputs[0]], ctx.quant[op.outputs[0]]
        mult, shift = quantize_multiplier(float(np.float32(s_in)) / float(np.float32(s_out)))
        return ctx.node(self.kind, [op.inputs[0]], {"mult": mult, "shift": shift,
                                                   "zp_in": z_in, "zp_out": z_out,
                                                   "tflite": ctx.reference == "tflite"})

    def output_shape(self, n, low):
        return tuple(low.shapes[n.inputs[0]])

    def in_place_inputs(self, n, low) -> tuple:
        return inputs_of_output_shape(n, low)

    def emit(self, b, i, n):
        p = n.params
        blocked = 0 if p.get("tflite") else prod(b.low.shapes[n.inputs[0]]) // BLOCK * BLOCK
        return [f"bnn_requantize_tensor_s8({b.buf(n.inputs[0])}, {b.size(n.inputs[0])}, "
                f"{blocked}, {p['mult']}, {p['shift']}, {p['zp_in']}, {p['zp_out']}, "
                f"{b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        return Cost()

    def reference(self, n, inputs, low):
        p = n.params
        return requantize_s8(inputs[0], p["mult"], p["shift"], p["zp_in"], p["zp_out"],
                             p.get("tflite", False))
