"""1-bit dense layer made by ``fuse_binary_dense`` from LCE's
``LceQuantize -> LceDequantize -> FULLY_CONNECTED`` with +-c_j rows, and given
integer thresholds by ``fuse_threshold`` when a sign follows
(bnn_binary_dense.c, bnn_popcount.c).

The float output adds +-c_j in the float order of LCE's FULLY_CONNECTED
(fully_connected.py), not dot * c_j + b_j: bit-exact with LCE.

The bit output is one popcount threshold per output (passes.binary.derive_thresholds,
which assumes dot * c_j + b_j rounded). LCE's value depends on which inputs are
-1, so near the sign boundary the two may disagree: for the outputs where they
can (passes.binary.thresholds_ambiguous, a rigorous rounding bound), consts
``exact_at`` [j, pc_lo, pc_hi] and ``exact_val`` [c_j, b_j, mul_j, add_j] make
the kernel compute, when pc_lo <= popcount <= pc_hi, LCE's own float value (the
row sum in FULLY_CONNECTED's order, its clamp and ReLU, then the batch norm's
MUL (rounded, clamped) and ADD (rounded)) and take its sign: bit-exact with LCE
for every input, at the price of one float row sum for those popcounts only."""

from __future__ import annotations

import numpy as np

from ._bits import pack_bits, unpack_bits, words
from .base import Cost, OpKind, register
from .fully_connected import fc_reference

FLT_MAX = np.finfo(np.float32).max


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


def bits_output_reference(bits, weights, threshold, flip, n_in, relu=False, exact_at=None,
                          exact_val=None):
    """numpy of bnn_binary_dense_bits: packed output bits."""
    n_out = len(threshold)
    _, pc = dot_products(bits, weights, n_in)
    bit = pc > np.asarray(threshold)
    if flip is not None:
        bit ^= unpack_bits(flip, n_out)
    if exact_at is not None and len(exact_at):
        at = np.asarray(exact_at, np.int32).reshape(-1, 3)
        val = np.asarray(exact_val, np.float32).reshape(-1, 4)
        rows = at[:, 0]
        # the whole layer's float output (the order depends on n_out), rows of interest kept
        scale = np.zeros(n_out, np.float32)
        bias = np.zeros(n_out, np.float32)
        scale[rows], bias[rows] = val[:, 0], val[:, 1]
        v = float_output_reference(bits, weights, scale, bias, n_in, relu)[rows]
        with np.errstate(all="ignore"):
            v = (v * val[:, 2]).astype(np.float32)
            v = np.where(-FLT_MAX > v, -FLT_MAX, v).astype(np.float32)
            v = np.where(FLT_MAX < v, FLT_MAX, v).astype(np.float32)
            v = (v + val[:, 3]).astype(np.float32)
        take = (pc[rows] >= at[:, 1]) & (pc[rows] <= at[:, 2])
        bit[rows[take]] = (v < 0)[take]
    return pack_bits(bit)


@register
class BinaryDense(OpKind):
    kind = "binary_dense"
    files = ("bnn_binary_dense.c", "bnn_popcount.c")

    def emit(self, b, i, n):
        n_in, n_out = n.params["n_in"], n.params["n_out"]
        relu = int(n.params.get("relu", False))
        wn = b.const("bin_w", "uint32_t", n.consts["weights"],
                     f"{n.name}: {n_out} rows x {words(n_in)} words, 1 bit per weight")
        if n.params["output"] == "float":
            sn = b.const("bin_scale", "float", n.consts["scale"], f"{n.name}: |w| per row")
            bn = "0"
            if n.params.get("has_bias", True):
                bn = b.const("bin_bias", "float", n.consts["bias"], f"{n.name}: bias")
            return [f"bnn_binary_dense_f32({b.buf(n.inputs[0])}, {n_in}, {wn}, {sn}, {bn}, "
                    f"{n_out}, {relu}, {b.buf(n.outputs[0])});"]
        tn = b.const("bin_thr", "int32_t", n.consts["threshold"],
                     f"{n.name}: output bit = popcount > threshold")
        fn = "0"
        if "flip" in n.consts:
            fn = b.const("bin_flip", "uint32_t", n.consts["flip"],
                         f"{n.name}: outputs whose test is flipped (negative scale)")
        n_exact, an, vn = 0, "0", "0"
        if len(n.consts.get("exact_at", ())):
            n_exact = len(n.consts["exact_at"])
            an = b.const("bin_exact_at", "int32_t", n.consts["exact_at"].reshape(-1),
                         f"{n.name}: {n_exact} outputs computed as LCE's float value for "
                         "popcounts in [pc_lo, pc_hi]: {j, pc_lo, pc_hi}")
            vn = b.const("bin_exact_val", "float", n.consts["exact_val"].reshape(-1),
                         f"{n.name}: {{c_j, b_j, mul_j, add_j}} of those outputs")
        return [f"bnn_binary_dense_bits({b.buf(n.inputs[0])}, {n_in}, {wn}, {tn}, {fn}, "
                f"{n_out}, {relu}, {n_exact}, {an}, {vn}, {b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        # exact outputs may add one float row sum (n_in adds) each, at worst
        return Cost(bops=n.params["n_in"] * n.params["n_out"],
                    macs=(n.params["n_in"] * len(n.consts["exact_at"])
                          if "exact_at" in n.consts else 0),
                    const_bytes=sum(int(v.size) * 4 for v in n.consts.values()))

    def reference(self, n, inputs, low):
        if n.params["output"] == "float":
            return float_output_reference(inputs[0], n.consts["weights"], n.consts["scale"],
                                          n.consts["bias"] if n.params.get("has_bias", True)
                                          else None, n.params["n_in"], n.params.get("relu", False))
        return bits_output_reference(inputs[0], n.consts["weights"], n.consts["threshold"],
                                     n.consts.get("flip"), n.params["n_in"],
                                     n.params.get("relu", False), n.consts.get("exact_at"),
                                     n.consts.get("exact_val"))
