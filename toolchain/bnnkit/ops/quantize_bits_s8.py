"""LceQuantize of an int8 tensor (bnn_quantize_bits_s8.c): bit 1 (-1) where
``x < zero_point``, LCE's rule for quantized input (``bitpack_bitfield_quantized``).

Lowering (:func:`bnnkit.passes.binary.fuse_dequantize_sign`) also makes this node from
``DEQUANTIZE -> [MUL][ADD] -> LceQuantize``: an int8 value has 256 possible
values, and the float chain is monotone in it, so each channel's sign is a
comparison with one int8 threshold (``threshold``), inverted where the chain
decreases (``flip``, packed bits); the float chain never runs on the device."""

from __future__ import annotations

import numpy as np

from ._bits import pack_bits, unpack_bits
from .base import Cost, OpKind, prod, register
from .lce_quantize import LceQuantize


def bits_reference(x, zero_point: int, threshold=None, flip=None) -> np.ndarray:
    """numpy of bnn_quantize_bits_s8: packed bits of ``x < threshold`` XOR flip.

    Example:
        >>> bits_reference(np.int8([[-3, 5, 0]]), 0).tolist()
        [[1]]
        >>> bits_reference(np.int8([[-3, 5, 0]]), 0, np.int8([-5, 6, 1]), pack_bits([1, 0, 0]))
        array([[7]], dtype=uint32)
    """
    x = np.asarray(x, np.int64)
    c = x.shape[-1]
    t = zero_point if threshold is None else np.asarray(threshold, np.int64)
    bit = x < t
    if flip is not None:
        bit = bit ^ unpack_bits(np.asarray(flip, np.uint32), c).astype(bool)
    return pack_bits(bit)


@register
class QuantizeBitsS8(OpKind):
    kind = "quantize_bits_s8"
    dtype = "int8"
    tflite = ("LceQuantize",)
    files = ("bnn_quantize_bits_s8.c",)

    def lower(self, ctx, op):
        if not ctx.need_int8(op.inputs[0]):
            return None
        return ctx.node(self.kind, [op.inputs[0]], {"zp": ctx.quant[op.inputs[0]][1]})

    output_shape = LceQuantize.output_shape  # the sign bits of the last axis, packed

    def emit(self, b, i, n):
        shape = b.low.shapes[n.inputs[0]]
        channels = shape[-1] if shape else 1
        thr = flip = "0"
        if "threshold" in n.consts:
            thr = b.const("sign_thr", "int8_t", n.consts["threshold"],
                          f"{n.name}: int8 sign threshold per channel")
        if "flip" in n.consts:
            flip = b.const("sign_flip", "uint32_t", n.consts["flip"],
                           f"{n.name}: channels whose sign is inverted")
        return [f"bnn_quantize_bits_s8({b.buf(n.inputs[0])}, {prod(shape) // channels}, "
                f"{channels}, {n.params['zp']}, {thr}, {flip}, {b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        return Cost(const_bytes=sum(np.asarray(v).nbytes for v in n.consts.values()))

    def reference(self, n, inputs, low):
        return bits_reference(inputs[0], n.params["zp"], n.consts.get("threshold"),
                              n.consts.get("flip"))
