"""Unary float32 activations (bnn_activation_f32.c): RELU, RELU6, RELU_N1_TO_1,
RELU_0_TO_1, LEAKY_RELU, ABS, NEG, ROUND, FLOOR, CEIL, LOGISTIC, TANH,
HARD_SWISH; one node kind ``activation`` with the function in ``params["fn"]``.

Each is what LCE's interpreter (TFLite 2.16 on x86-64, which runs several of
these through XNNPACK's AVX2/FMA3 microkernels) computes, checked bit for bit
against it on normal values, zeros of both signs, infinities and NaN
(tests/kernels/test_bnn_activation_f32.py):

- RELU family: a clamp ``v = lo > v ? lo : v; v = hi < v ? hi : v`` (RELU has
  no upper bound; -0.0 and NaN pass unchanged).
- LEAKY_RELU: ``signbit(v) ? v * alpha : v`` (XNNPACK's blend on the sign bit;
  differs from ``v > 0 ? v : v * alpha`` at +0.0 with a negative alpha).
- ABS: ``fabsf``, except that a NaN keeps its sign bit. NEG: ``-v``.
- ROUND: TFLite's RoundToNearest, half to even by ``floor``: ``f = floorf(v);
  d = v - f; d < 0.5 || (d == 0.5 && f even) ? f : f + 1`` (so -0.3 rounds to
  +0.0, not -0.0 as ``rintf`` would). FLOOR, CEIL: ``floorf``, ``ceilf``.
- LOGISTIC: XNNPACK's ``f32-vsigmoid avx2_rr1_p5_div`` (exp on -|x| by a
  degree-5 polynomial with fused multiply-adds, e / (e + 1), mirrored for x > 0).
- TANH: XNNPACK's ``f32-vtanh avx2_expm1minus_rr1_lut4_p4h3ts_perm_div``
  (expm1 of -2|x| from a 4-entry table and a degree-4 polynomial).
- HARD_SWISH: XNNPACK's ``fma3``: ``a = fmaf(v, 1/6, 0.5)`` clamped to [0, 1]
  (``a > 0 ? a : 0``, ``a < 1 ? a : 1``), times v.

The fused multiply-adds are ``fmaf`` in the C and exact (``fma_f32``) in the
references. Not reproduced: LCE's process flushes subnormal inputs and results
to zero (measured); the C keeps IEEE subnormals, so a result can differ only
where the input or the result is subnormal (|v| < 2^-126). NaN payloads and
the sign of a NaN made from non-NaN operands follow the machine (x86 gives
LCE's). On other CPUs (AVX-512) LCE itself would pick other XNNPACK kernels
for LOGISTIC and TANH; the C keeps the AVX2 formulas everywhere.
"""

from __future__ import annotations

import numpy as np

from ._numeric import fma_f32, hex_float
from .base import OpKind, inputs_of_output_shape, prod, register

FUNCS = ("RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LEAKY_RELU", "ABS", "NEG", "ROUND",
         "FLOOR", "CEIL", "LOGISTIC", "TANH", "HARD_SWISH")
CLAMPS = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0),
          "RELU_0_TO_1": (0.0, 1.0)}

# LCE runs these through XNNPACK microkernels chosen by the CPU (AVX2 here)
XNNPACK_AVX2 = ("LOGISTIC", "TANH", "HARD_SWISH")

F32 = np.float32
U32 = np.uint32


def _h(s: str) -> np.float32:
    return F32(float.fromhex(s))


def clamp(v, lo, hi):
    v = np.asarray(v, F32)
    if lo is not None:
        v = np.where(F32(lo) > v, F32(lo), v)
    if hi is not None:
        v = np.where(F32(hi) < v, F32(hi), v)
    return v.astype(F32)


def round_tflite(v):
    v = np.asarray(v, F32)
    f = np.floor(v)
    d = (v - f).astype(F32)
    even = np.fmod(np.where(np.isfinite(f), f, F32(1)), F32(2)) == 0
    return np.where((d < F32(0.5)) | ((d == F32(0.5)) & even), f, (f + F32(1))).astype(F32)


def logistic_xnn(x):
    """XNNPACK f32-vsigmoid avx2_rr1_p5_div, element by element."""
    x = np.asarray(x, F32)
    magic = _h("0x1.8000FEp23")
    z = (x.view(U32) | U32(0x80000000)).view(F32)
    n = fma_f32(z, _h("0x1.715476p0"), magic)
    s = (n.view(U32) << U32(23)).astype(U32).view(F32)
    n = (n - magic).astype(F32)
    t = fma_f32(n, _h("-0x1.62E430p-1"), z)
    p = fma_f32(_h("0x1.0F9F9Cp-7"), t, _h("0x1.573A1Ap-5"))
    for c in ("0x1.555A80p-3", "0x1.FFFDC6p-2", "0x1.FFFFF6p-1"):
        p = fma_f32(p, t, _h(c))
    t = (t * s).astype(F32)
    e = fma_f32(t, p, s)
    f = (e / (e + F32(1)).astype(F32)).astype(F32)
    f = np.where(z < _h("-0x1.5D589Ep+6"), F32(0), f)
    neg = (x.view(U32) >> U32(31)) == 1
    return np.where(neg, f, (F32(1) - f).astype(F32)).astype(F32)


TANH_TABLE = np.array([_h("0x1.000000p+0"), _h("0x1.F06FE0p-1"), _h("0x1.EA09E6p-1"),
                       _h("0x1.EE89FAp-1")], F32).view(U32)


def tanh_xnn(x):
    """XNNPACK f32-vtanh avx2_expm1minus_rr1_lut4_p4h3ts_perm_div, element by element."""
    x = np.asarray(x, F32)
    zb = x.view(U32) | U32(0x80000000)
    invsign = x.view(U32) ^ zb
    cut = _h("-0x1.205968p+3")
    z = zb.view(F32)
    z = np.where(cut > z, cut, z).astype(F32)
    magic = _h("0x1.8p20")
    n = fma_f32(z, _h("0x1.715476p+0"), magic)
    nb = n.view(U32)
    s = (TANH_TABLE[nb & U32(3)] + (nb << U32(21))).astype(U32).view(F32)
    n = (n - magic).astype(F32)
    t = fma_f32(n, _h("-0x1.62E430p-1"), z)
    p = fma_f32(_h("0x1.554F9Ap-1"), t, _h("0x1.557082p+0"))
    p = fma_f32(p, t, _h("0x1.000002p+1"))
    p = fma_f32(p, t, F32(2))
    ts = (t * s).astype(F32)
    smo = (s + F32(-1)).astype(F32)
    emo = fma_f32(p, ts, smo)
    y = (emo / (emo + F32(2)).astype(F32)).astype(F32)
    return (y.view(U32) ^ invsign).view(F32)


def hard_swish_xnn(x):
    x = np.asarray(x, F32)
    a = fma_f32(x, _h("0x1.555556p-3"), F32(0.5))
    a = np.where(a > 0, a, F32(0))
    a = np.where(a < 1, a, F32(1)).astype(F32)
    return (a * x).astype(F32)


def activation_reference(fn: str, x, alpha: float = 0.0):
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        if fn in CLAMPS:
            return clamp(x, *CLAMPS[fn])
        if fn == "LEAKY_RELU":
            return np.where(np.signbit(x), (x * F32(alpha)).astype(F32), x).astype(F32)
        if fn == "ABS":
            return np.where(np.isnan(x), x, np.abs(x)).astype(F32)
        if fn == "NEG":
            return (-x).astype(F32)
        if fn == "ROUND":
            return round_tflite(x)
        if fn == "FLOOR":
            return np.floor(x).astype(F32)
        if fn == "CEIL":
            return np.ceil(x).astype(F32)
        if fn == "LOGISTIC":
            return logistic_xnn(x)
        if fn == "TANH":
            return tanh_xnn(x)
        if fn == "HARD_SWISH":
            return hard_swish_xnn(x)
    raise ValueError(fn)


@register
class Activation(OpKind):
    kind = "activation"
    tflite = FUNCS
    files = ("bnn_activation_f32.c",)

    def lower(self, ctx, op):
        if not ctx.need_float(op.inputs[0]):
            return None
        if ctx.const(op.inputs[0]) is not None:
            return ctx.problem("constant input")
        ctx.activation(op.inputs[0])
        params = {"fn": op.type}
        if op.type == "LEAKY_RELU":
            params["alpha"] = float(np.float32(op.options.get("alpha", 0.0)))
        return ctx.node(self.kind, [op.inputs[0]], params)

    def lce_depends_on_cpu(self, n) -> bool:
        return n.params["fn"] in XNNPACK_AVX2

    def output_shape(self, n, low):
        return low.shapes[n.inputs[0]]

    def in_place_inputs(self, n, low) -> tuple:
        return inputs_of_output_shape(n, low)

    def emit(self, b, i, n):
        size = prod(b.low.shapes[n.outputs[0]])
        alpha = hex_float(n.params.get("alpha", 0.0))
        return [f"bnn_activation_f32(BNN_ACT_{n.params['fn']}, {b.buf(n.inputs[0])}, {size}, "
                f"{alpha}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        return activation_reference(n.params["fn"], inputs[0], n.params.get("alpha", 0.0))
