"""SOFTMAX, float32, bit-exact with LCE 0.16's interpreter on x86-64
(bnn_softmax_f32.c).

TFLite 2.16's optimized float softmax is Eigen (AVX, no FMA): v = (x - max) *
beta; exp by Eigen's pexp_float on the 8-wide packets (the first n - n % 8
values) and by the C library's expf on the scalar tail (glibc 2.36 here,
whose FMA variant is reproduced in double arithmetic for those <= 7 values);
the sum by Eigen's packet reduction; then e * (1 / sum). The interpreter runs
with flush-to-zero, so subnormal exponentials and outputs become 0.
Measured: 100 % identical over lengths 2..1000 and logits of scale 0.1..30
(tests/kernels/test_bnn_softmax_f32.py). NaN inputs are not reproduced; a
result that would round up from below FLT_MIN to FLT_MIN may differ (FTZ's
tininess test), and another C library's expf may differ in the last bit
for the tail values.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ._numeric import hex_float
from .base import OpKind, prod, register

F32 = np.float32
TINY = F32(np.finfo(np.float32).tiny)


def _h(s):
    return F32(float.fromhex(s))


def _pow2(k):
    return ((np.asarray(k, np.int64) + 127) << 23).astype(np.uint32).view(F32)


def eigen_expf(x0):
    """Eigen's pexp_float without FMA (float32 numpy)."""
    x0 = np.asarray(x0, F32)
    with np.errstate(all="ignore"):
        x = np.minimum(x0, _h("0x1.62e45ap+6"))
        t = (x * _h("0x1.715476p+0") + F32(0.5)).astype(F32)
        m = np.floor(t).astype(F32)
        r = (m * _h("-0x1.63p-1") + x).astype(F32)
        r = (m * _h("0x1.bd0106p-13") + r).astype(F32)
        r2 = r * r
        pe = (r2 * _h("0x1.6850e4p-10") + _h("0x1.555b98p-5")).astype(F32)
        po = (r2 * _h("0x1.123bccp-7") + _h("0x1.55548ep-3")).astype(F32)
        pe = (r2 * pe + _h("0x1.fffff8p-2")).astype(F32)
        pl = r + F32(1)
        y = (r * po + pe).astype(F32)
        y = (r2 * y + pl).astype(F32)
        e = np.clip(np.nan_to_num(m), -255, 255).astype(np.int64)
        b = e // 4
        c = _pow2(b)
        out = (((y * c).astype(F32) * c).astype(F32) * c).astype(F32)
        out = (out * _pow2(e - 3 * b)).astype(F32)
        out = np.where(out > x0, out, x0)
        return np.where(x0 < F32(-104), F32(0), out).astype(F32)


_TAB = [2.0 ** (i / 32) for i in range(32)]


def _fma(a, b, c):
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def glibc_expf(x, fused: bool = True):
    """glibc's expf (e_expf.c), for one float32 value: the FMA build (as on an
    x86-64 host with FMA), or with ``fused=False`` each product and sum
    rounded (bnn_expf.h's ``fused = 0``)."""
    fma = _fma if fused else (lambda a, b, c: a * b + c)
    x = F32(x)
    if np.isnan(x):
        return x
    if x < _h("-0x1.9fe368p6"):
        return F32(0)
    if x > _h("0x1.62e42ep6"):
        return F32(np.inf)
    z = float.fromhex("0x1.71547652b82fep+5") * float(x)
    kd = z + 6755399441055744.0  # 0x1.8p+52
    ki = np.array(kd).view(np.uint64).item()
    kd -= 6755399441055744.0
    r = z - kd
    s = np.array(_TAB[ki % 32]).view(np.uint64).item() - ((ki % 32) << 47) + ((ki << 47) % 2**64)
    s = np.array(s % 2**64, np.uint64).view(np.float64).item()
    zz = fma(float.fromhex("0x1.c6af84b912394p-20"), r, float.fromhex("0x1.ebfce50fac4f3p-13"))
    y = fma(float.fromhex("0x1.62e42ff0c52d6p-6"), r, 1.0)
    y = fma(zz, r * r, y)
    return F32(y * s)


def _ftz(v):
    v = np.asarray(v, F32)
    return np.where(np.abs(v) < TINY, F32(0) * v, v).astype(F32)


def eigen_sum(e):
    """Eigen's redux of a contiguous float column (8-wide packets)."""
    n = len(e)
    n8, n16 = n // 8 * 8, n // 16 * 16
    if n8 == 0:
        s = e[0]
        for v in e[1:]:
            s = F32(s + v)
        return F32(s)
    p0 = e[0:8].copy()
    if n8 > 8:
        p1 = e[8:16].copy()
        for i in range(16, n16, 16):
            p0 = (p0 + e[i:i + 8]).astype(F32)
            p1 = (p1 + e[i + 8:i + 16]).astype(F32)
        p0 = (p0 + p1).astype(F32)
        if n8 > n16:
            p0 = (p0 + e[n16:n16 + 8]).astype(F32)
    q = (p0[:4] + p0[4:]).astype(F32)
    q = (q[:2] + q[2:]).astype(F32)
    s = F32(q[0] + q[1])
    for v in e[n8:]:
        s = F32(s + v)
    return s


def softmax_reference(x, beta):
    x = np.asarray(x, F32).reshape(-1)
    n8 = len(x) // 8 * 8
    with np.errstate(all="ignore"):
        v = ((x - x.max()).astype(F32) * F32(beta)).astype(F32)
        e = np.concatenate([eigen_expf(v[:n8]),
                            np.array([glibc_expf(t) for t in v[n8:]], F32)]).astype(F32)
        e = _ftz(e)
        scale = F32(F32(1) / eigen_sum(e))
        return _ftz((e * scale).astype(F32))


@register
class Softmax(OpKind):
    kind = "softmax"
    tflite = ("SOFTMAX",)
    files = ("bnn_softmax_f32.c",)

    def lower(self, ctx, op):
        if not ctx.need_float(*op.inputs):
            return None
        shape = ctx.shapes.get(op.inputs[0]) or tuple(ctx.graph.tensor(op.inputs[0]).shape)
        if prod(shape[:-1]) > 1:  # TFLite normalises each row of the last axis
            return ctx.problem(f"softmax over {prod(shape[:-1])} rows of {shape}: only one row "
                               "(the class scores) is supported")
        return ctx.node(self.kind, [op.inputs[0]], {"beta": op.options["beta"]})

    def output_shape(self, n, low):
        return tuple(low.shapes[n.inputs[0]])

    def lce_depends_on_cpu(self, n) -> bool:
        return True  # Eigen's vector exp and blocked sum (8 lanes on AVX2)

    def emit(self, b, i, n):
        size = prod(b.low.shapes[n.outputs[0]])
        return [f"bnn_softmax_f32({b.buf(n.inputs[0])}, {size}, {hex_float(n.params['beta'])}, "
                f"{b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        return softmax_reference(inputs[0], n.params["beta"]).reshape(inputs[0].shape)
