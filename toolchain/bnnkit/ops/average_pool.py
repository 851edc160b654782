"""AVERAGE_POOL_2D, float32 (bnn_avgpool_f32.c), bit-exact with LCE's interpreter.

LCE's interpreter runs TFLite's optimized float AveragePool (no XNNPACK): every
output starts at 0.0f, each input pixel is added to the outputs whose window
holds it, in input (y, x) order, which for one output is the taps' (ky, kx)
order, one float32 rounding per add; then one division by the number of taps
inside the input (a float), then the fused activation as
``min(max(x, lo), hi)`` with NONE = [-FLT_MAX, FLT_MAX] (an overflow to inf
comes out as FLT_MAX, NaN passes), RELU = [0, FLT_MAX], RELU6 = [0, 6],
RELU_N1_TO_1 = [-1, 1]. Checked bit for bit against the interpreter on 2x2,
3x3 and 3x5 windows with strides 1 and 2 (SAME and VALID), global 4x4 and 6x6
pools, DS-CNN's (25, 5) pool, 1 to 70 channels (x1 and x1000 scaled normal
inputs); multiplying by the reciprocal of the count instead does not match.
"""

from __future__ import annotations

import numpy as np

from ._geometry import inside_windows, out_size, same_pad, window_problem
from .base import Cost, OpKind, prod, register

ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU6": 2, "RELU_N1_TO_1": 3}  # BNN_POOL_ACT_* in the header
FLT_MAX = np.finfo(np.float32).max
RANGES = {0: (-FLT_MAX, FLT_MAX), 1: (0.0, FLT_MAX), 2: (0.0, 6.0), 3: (-1.0, 1.0)}


@register
class AveragePool(OpKind):
    kind = "avgpool"
    tflite = ("AVERAGE_POOL_2D",)
    files = ("bnn_avgpool_f32.c",)

    def lower(self, ctx, op):
        o = op.options
        if o.get("activation") not in ACTIVATIONS:
            return ctx.problem(f"fused activation {o.get('activation')}")
        problem = window_problem((o["filter_h"], o["filter_w"]), (o["stride_h"], o["stride_w"]),
                                 o.get("padding"))
        if problem:
            return ctx.problem(problem)
        if not ctx.need_float(op.inputs[0], *op.outputs):
            return None
        shape = ctx.shapes.get(op.inputs[0], ())
        if len(shape) != 3:
            return ctx.problem(f"input of shape {tuple(shape)} (H, W, C needed)")
        h, w, _ = shape
        if o["padding"] == "VALID" and (o["filter_h"] > h or o["filter_w"] > w):
            return ctx.problem(f"VALID {o['filter_h']}x{o['filter_w']} window larger than "
                               f"the {h}x{w} input")
        return ctx.node(self.kind, [op.inputs[0]], {
            "filter": (o["filter_h"], o["filter_w"]), "stride": (o["stride_h"], o["stride_w"]),
            "padding": o["padding"], "activation": o["activation"]})

    def output_shape(self, n, low):
        h, w, c = low.shapes[n.inputs[0]]
        (fh, fw), (sh, sw), pad = n.params["filter"], n.params["stride"], n.params["padding"]
        return (out_size(h, fh, sh, pad), out_size(w, fw, sw, pad), c)

    def emit(self, b, i, n):
        h, w, c = b.low.shapes[n.inputs[0]]
        oh, ow = b.low.shapes[n.outputs[0]][:2]
        (fh, fw), (sh, sw) = n.params["filter"], n.params["stride"]
        pt, pl = padding(n, (h, w), (oh, ow))
        pname = f"avgpool_p{i:02d}"
        b.struct("bnn_avgpool_params", pname, in_h=h, in_w=w, channels=c, filter_h=fh,
                 filter_w=fw, stride_h=sh, stride_w=sw, pad_top=pt, pad_left=pl, out_h=oh,
                 out_w=ow, activation=ACTIVATIONS[n.params["activation"]])
        return [f"bnn_avgpool_f32(&{pname}, {b.buf(n.inputs[0])}, {b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        fh, fw = n.params["filter"]
        return Cost(macs=prod(low.shapes[n.outputs[0]]) * fh * fw)

    def reference(self, n, inputs, low):
        oh, ow = low.shapes[n.outputs[0]][:2]
        return avg_pool(inputs[0], n.params["filter"], n.params["stride"], n.params["padding"],
                        (oh, ow), ACTIVATIONS[n.params["activation"]])


def padding(n, in_hw, out_hw):
    """(pad_top, pad_left) of TFLite's SAME (0, 0 for VALID)."""
    if n.params["padding"] != "SAME":
        return 0, 0
    (fh, fw), (sh, sw) = n.params["filter"], n.params["stride"]
    return same_pad(in_hw[0], fh, sh, out_hw[0]), same_pad(in_hw[1], fw, sw, out_hw[1])


def avg_pool(x, filt, stride, pad, out_hw, activation=0, pad_tl=None):
    """numpy float32 of bnn_avgpool_f32: x (H, W, C) -> (out_h, out_w, C)."""
    x = np.asarray(x, np.float32)
    h, w, c = x.shape
    (fh, fw), (sh, sw), (oh, ow) = filt, stride, out_hw
    if pad_tl is None:
        pad_tl = ((same_pad(h, fh, sh, oh), same_pad(w, fw, sw, ow)) if pad == "SAME"
                  else (0, 0))
    out = np.empty((oh, ow, c), np.float32)
    lo, hi = (np.float32(v) for v in RANGES[activation])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for oy, ox, ys, xs in inside_windows((h, w), filt, stride, pad_tl, (oh, ow)):
            acc = np.zeros(c, np.float32)
            for y in ys:
                for xx in xs:
                    acc = acc + x[y, xx]  # float32 + float32: one rounding
            v = acc / np.float32(len(ys) * len(xs))
            v = np.where(v < lo, lo, v)
            out[oy, ox] = np.where(hi < v, hi, v)
    return out
