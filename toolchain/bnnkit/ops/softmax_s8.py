"""SOFTMAX, int8 in and out (bnn_softmax_s8.c), as LCE 0.16's and TFLite
2.16's x86-64 interpreter computes it (the optimized kernel's float table):
table[255 - d] = expf(float32(-in_scale * beta) * d) for d = 0..255; per row
the float sum of table[255 - (max - x_j)] in order, inv = 1 / (sum *
out_scale), out_j = round(entry_j * inv) + zero_point, saturated.

The table is computed here with the C library's own expf (glibc on Linux,
the one the interpreter calls). When glibc's algorithm evaluated without FMA
(bnn_expf.h, double precision) gives the same 256 floats, which is checked
here, the device computes each entry instead and the model carries no table
(1 KiB less, about a thousand instructions more per class on a core without
a double-precision FPU); otherwise the table is a model constant. The rest is
float arithmetic, one rounding per step: on a core without an FPU these few
operations per class go through the compiler's soft-float routines.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from .base import Cost, OpKind, register
from .softmax import glibc_expf


def _libm_expf():
    name = ctypes.util.find_library("m") or "libm.so.6"
    f = ctypes.CDLL(name).expf
    f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float]
    return f


def softmax_table(in_scale: float, beta: float) -> np.ndarray:
    """The 256 floats of TFLite's PopulateSoftmaxLookupTable.

    Example:
        >>> t = softmax_table(0.25, 1.0)
        >>> float(t[255]), float(t[254]) == float(np.float32(np.exp(-0.25)))
        (1.0, True)
    """
    expf = _libm_expf()
    scale = exp_scale(in_scale, beta)
    table = np.empty(256, np.float32)
    for d in range(256):
        table[255 - d] = expf(float(np.float32(scale * np.float32(d))))
    return table


def exp_scale(in_scale: float, beta: float) -> np.float32:
    return np.float32(-np.float32(in_scale) * np.float32(beta))


def computable(table: np.ndarray, in_scale: float, beta: float) -> bool:
    """True if bnn_expf.h without FMA gives every entry of ``table``.

    Example:
        >>> computable(softmax_table(0.02, 1.0), 0.02, 1.0)
        True
    """
    scale = exp_scale(in_scale, beta)
    mine = np.array([glibc_expf(np.float32(scale * np.float32(d)), fused=False)
                     for d in range(256)], np.float32)[::-1]
    return bool(np.array_equal(mine.view(np.uint32), np.asarray(table, np.float32).view(np.uint32)))


@register
class SoftmaxS8(OpKind):
    kind = "softmax_s8"
    dtype = "int8"
    tflite = ("SOFTMAX",)
    files = ("bnn_softmax_s8.c",)

    def lower(self, ctx, op):
        if not ctx.need_int8(op.inputs[0], op.outputs[0]):
            return None
        beta = float(op.options.get("beta", 1.0))
        if not np.isfinite(beta) or beta <= 0:
            return ctx.problem(f"beta {beta!r} (a positive finite number needed)")
        s_in, _ = ctx.quant[op.inputs[0]]
        s_out, zp_out = ctx.quant[op.outputs[0]]
        table = softmax_table(s_in, beta)
        if not np.all(np.isfinite(table)):
            return ctx.problem("the input scale makes exp overflow")
        params = {"out_scale": s_out, "zp_out": zp_out,
                  "exp_scale": float(exp_scale(s_in, beta)),
                  "computed": computable(table, s_in, beta)}
        return ctx.node(self.kind, [op.inputs[0]], params, {"table": table})

    def output_shape(self, n, low):
        return tuple(low.shapes[n.inputs[0]])

    def emit(self, b, i, n):
        shape = b.low.shapes[n.inputs[0]]
        depth = shape[-1] if shape else 1
        rows = b.size(n.inputs[0]) // depth
        tn = "0" if n.params["computed"] else \
            b.const("softmax_t", "float", n.consts["table"], f"{n.name} exp table")
        scale = float(np.float32(n.params["out_scale"])).hex() + "f"
        e_scale = float(np.float32(n.params["exp_scale"])).hex() + "f"
        src, dst = b.buf(n.inputs[0]), b.buf(n.outputs[0])
        call = (f"bnn_softmax_s8({{src}}, {depth}, {tn}, {e_scale}, {scale}, "
                f"{n.params['zp_out']}, {{dst}});")
        if rows == 1:
            return [call.format(src=src, dst=dst)]
        return [f"{{ int32_t r; for (r = 0; r < {rows}; r++) "
                + call.format(src=f"{src} + r * {depth}", dst=f"{dst} + r * {depth}") + " }"]

    def cost(self, n, low):
        return Cost(const_bytes=0 if n.params["computed"] else 4 * 256)

    def reference(self, n, inputs, low):
        x = inputs[0].astype(np.int64)
        flat = x.reshape(-1, x.shape[-1] if x.ndim else 1)
        table = n.consts["table"]
        out = np.empty(flat.shape, np.int8)
        out_scale = np.float32(n.params["out_scale"])
        for r, row in enumerate(flat):
            entries = table[255 - (row.max() - row)]
            s = np.float32(0)
            for e in entries:
                s = np.float32(s + e)
            inv = np.float32(np.float32(1) / np.float32(s * out_scale))
            p = (entries * inv).astype(np.float32)
            q = np.floor(p).astype(np.int64)
            q += (p - q.astype(np.float32)) >= np.float32(0.5)
            out[r] = np.clip(q + n.params["zp_out"], -128, 127)
        return out.reshape(x.shape)
