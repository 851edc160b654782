"""MAX_POOL_2D, float32, optional fused ReLU (bnn_maxpool_f32.c). A max is exact:
any order gives LCE's bytes."""

from __future__ import annotations

import numpy as np

from ._geometry import pool_geometry, pool_output_shape, same_pad, window_problem
from .base import OpKind, register


@register
class MaxPool(OpKind):
    kind = "maxpool"
    tflite = ("MAX_POOL_2D",)
    files = ("bnn_maxpool_f32.c",)

    def lower(self, ctx, op):
        o = op.options
        if o["activation"] not in ("NONE", "RELU"):
            return ctx.problem(f"fused activation {o['activation']}")
        if not ctx.need_float(*op.inputs):
            return None
        filt, stride = (o["filter_h"], o["filter_w"]), (o["stride_h"], o["stride_w"])
        problem = window_problem(filt, stride, o["padding"])
        if problem:
            return ctx.problem(problem)
        return ctx.node(self.kind, [op.inputs[0]], {
            "filter": filt, "stride": stride, "padding": o["padding"],
            "relu": o["activation"] == "RELU"})

    def output_shape(self, n, low):
        return pool_output_shape(low.shapes[n.inputs[0]], n.params)

    def emit(self, b, i, n):
        pname = f"pool_p{i:02d}"
        b.struct("bnn_maxpool_params", pname, **pool_geometry(b.low, n), relu=n.params["relu"])
        return [f"bnn_maxpool_f32(&{pname}, {b.buf(n.inputs[0])}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        oh, ow = low.shapes[n.outputs[0]][:2]
        out = window_reduce(inputs[0], n.params["filter"], n.params["stride"],
                            n.params["padding"], (oh, ow), -np.inf, np.maximum)
        return np.maximum(out, np.float32(0)) if n.params["relu"] else out


def window_reduce(x, filt, stride, padding, out_hw, pad_value, fn):
    """Reduce every pooling window of x (H, W, C) with ``fn``; taps outside the
    input take ``pad_value``."""
    h, w, c = x.shape
    (fh, fw), (sh, sw), (oh, ow) = filt, stride, out_hw
    pt = same_pad(h, fh, sh, oh) if padding == "SAME" else 0
    pl = same_pad(w, fw, sw, ow) if padding == "SAME" else 0
    xp = np.full((oh * sh + fh + h, ow * sw + fw + w, c), pad_value, np.float32)
    xp[pt:pt + h, pl:pl + w] = x
    out = None
    for ky in range(fh):
        for kx in range(fw):
            win = xp[ky:ky + sh * oh:sh, kx:kx + sw * ow:sw]
            out = win.copy() if out is None else fn(out, win)
    return out.astype(np.float32)
