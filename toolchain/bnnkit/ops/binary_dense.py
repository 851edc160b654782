"""1-bit dense layer made by ``fuse_binary_dense`` from LCE's
``LceQuantize -> LceDequantize -> FULLY_CONNECTED`` with +-c_j rows, and given
integer thresholds by ``fuse_threshold`` when a sign follows
(bnn_binary_dense.c, bnn_popcount.c).

The float output adds +-c_j in the float order of LCE's FULLY_CONNECTED
(fully_connected.py), not dot * c_j + b_j: bit-exact with LCE. (The bit output's
thresholds come from lower.derive_thresholds, which assumes dot * c_j + b_j.)"""

from __future__ import annotations

import numpy as np

from ._bits import pack_bits, unpack_bits, words
from .base import Cost, OpKind, register
from .fully_connected import fc_reference


def dot_products(bits, weights, n_in):
    """+-1 dot products of packed input (words) with each packed row."""
    x = unpack_bits(np.asarray(bits).reshape(-1), n_in)
    w = unpack_bits(weights, n_in)
    popcount = (x[None, :] ^ w).sum(axis=1)
    return n_in - 2 * popcount, popcount


def float_output_reference(bits, weights, scale, bias, n_in, relu):
    """The float output exactly as LCE's FULLY_CONNECTED computes it on the
    +-1.0f inputs and +-scale_j weights (see fully_connected.fc_reference)."""
    x = np.where(unpack_bits(np.asarray(bits).reshape(-1), n_in), np.float32(-1), np.float32(1))
    c = np.asarray(scale, np.float32)[:, None]
    w = np.where(unpack_bits(weights, n_in), -c, c).astype(np.float32)
    return fc_reference(x, w, None if bias is None else np.asarray(bias, np.float32), relu)


@register
class BinaryDense(OpKind):
    kind = "binary_dense"
    files = ("bnn_binary_dense.c", "bnn_popcount.c")

    def emit(self, b, i, n):
        n_in, n_out = n.params["n_in"], n.params["n_out"]
        wn = b.const("bin_w", "uint32_t", n.consts["weights"],
                     f"{n.name}: {n_out} rows x {words(n_in)} words, 1 bit per weight")
        if n.params["output"] == "float":
            sn = b.const("bin_scale", "float", n.consts["scale"], f"{n.name}: |w| per row")
            bn = "0"
            if n.params.get("has_bias", True):
                bn = b.const("bin_bias", "float", n.consts["bias"], f"{n.name}: bias")
            return [f"bnn_binary_dense_f32({b.buf(n.inputs[0])}, {n_in}, {wn}, {sn}, {bn}, "
                    f"{n_out}, {int(n.params.get('relu', False))}, {b.buf(n.outputs[0])});"]
        tn = b.const("bin_thr", "int32_t", n.consts["threshold"],
                     f"{n.name}: output bit = popcount > threshold")
        fn = "0"
        if "flip" in n.consts:
            fn = b.const("bin_flip", "uint32_t", n.consts["flip"],
                         f"{n.name}: outputs whose test is flipped (negative scale)")
        return [f"bnn_binary_dense_bits({b.buf(n.inputs[0])}, {n_in}, {wn}, {tn}, {fn}, "
                f"{n_out}, {b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        return Cost(bops=n.params["n_in"] * n.params["n_out"],
                    const_bytes=sum(int(v.size) * 4 for v in n.consts.values()))

    def reference(self, n, inputs, low):
        dot, pc = dot_products(inputs[0], n.consts["weights"], n.params["n_in"])
        if n.params["output"] == "float":
            return float_output_reference(inputs[0], n.consts["weights"], n.consts["scale"],
                                          n.consts["bias"] if n.params.get("has_bias", True)
                                          else None, n.params["n_in"], n.params.get("relu", False))
        bit = pc > n.consts["threshold"]
        if "flip" in n.consts:
            bit ^= unpack_bits(n.consts["flip"], n.params["n_out"])
        return pack_bits(bit)
