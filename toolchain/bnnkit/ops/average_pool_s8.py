"""AVERAGE_POOL_2D, int8 (bnn_avgpool_s8.c), bit-exact with LCE's interpreter.

TFLite 2.16's int8 average pool (optimized_integer_ops::AveragePool: int16
sums for windows of up to 16x16 taps, the reference kernel's int32 sums
beyond; the same arithmetic) sums the window's values inside the input, and
divides by their number ``n`` rounding half away from zero:
``acc > 0 ? (acc + n/2) / n : (acc - n/2) / n`` (C's truncating division),
then clamps to the fused activation's range. It does not rescale: TFLite
expects input and output to share one quantization, and bnnkit refuses a file
where they differ. Checked against the interpreter on random windows (1x1 to
3x3, strides 1 and 2, SAME and VALID, 1 to 40 channels, any zero point), and
end to end on a converted Keras model (tests/kernels/test_bnn_avgpool_s8.py).
"""

from __future__ import annotations

import numpy as np

from ._geometry import inside_windows, window_layout
from .base import Cost, prod, register
from .maxpool_s8 import MaxPoolS8, lower_pool_s8

MAX_WINDOW = 1 << 16  # filter and stride sizes accepted (the C's int32 sums stay exact)
MAX_TAPS = 1 << 23  # input values one output may average: |sum| < 2^30


@register
class AveragePoolS8(MaxPoolS8):
    """The max pool's geometry, shape and call, another kernel and its own checks."""

    kind = "avgpool_s8"
    tflite = ("AVERAGE_POOL_2D",)
    files = ("bnn_avgpool_s8.c",)
    c_function, param_prefix = "bnn_avgpool_s8", "avgpool_s8"

    def lower(self, ctx, op):
        params = lower_pool_s8(ctx, op)
        if params is None:
            return None
        o, filt, stride = op.options, params["filter"], params["stride"]
        if max(*filt, *stride) > MAX_WINDOW:
            return ctx.problem(f"filter {filt[0]}x{filt[1]}, stride {stride[0]}x{stride[1]} "
                               f"(at most {MAX_WINDOW} each)")
        shape = tuple(ctx.shapes.get(op.inputs[0], ()))
        if len(shape) != 3:
            return ctx.problem(f"input of shape {shape} (H, W, C needed)")
        h, w, _ = shape
        if o["padding"] == "VALID" and (filt[0] > h or filt[1] > w):
            return ctx.problem(f"VALID {filt[0]}x{filt[1]} window larger than the {h}x{w} input")
        if min(filt[0], h) * min(filt[1], w) > MAX_TAPS:
            return ctx.problem(f"{filt[0]}x{filt[1]} window over a {h}x{w} input "
                               f"(at most {MAX_TAPS} values per output)")
        return ctx.node(self.kind, [op.inputs[0]], params)

    def cost(self, n, low):
        fh, fw = n.params["filter"]
        return Cost(macs=prod(low.shapes[n.outputs[0]]) * fh * fw)

    def reference(self, n, inputs, low):
        oh, ow = low.shapes[n.outputs[0]][:2]
        p = n.params
        return avgpool_s8_reference(inputs[0], p["filter"], p["stride"], p["padding"], (oh, ow),
                                    p["act"])


def avgpool_s8_reference(x, filt, stride, padding, out_hw, act=(-128, 127)):
    """numpy of bnn_avgpool_s8: x (H, W, C) int8 -> (out_h, out_w, C) int8.

    Example:
        >>> x = np.array([[1, 2], [4, -8]], np.int8).reshape(2, 2, 1)
        >>> avgpool_s8_reference(x, (2, 2), (1, 1), "SAME", (2, 2))[..., 0].tolist()
        [[0, -3], [-2, -8]]
    """
    x = np.asarray(x).astype(np.int64)
    h, w, c = x.shape
    (fh, fw), (oh, ow) = filt, out_hw
    _, _, pt, pl = window_layout(h, w, fh, fw, stride, padding)
    out = np.empty((oh, ow, c), np.int64)
    for oy, ox, ys, xs in inside_windows((h, w), filt, stride, (pt, pl), (oh, ow)):
        n = len(ys) * len(xs)
        acc = x[ys.start:ys.stop, xs.start:xs.stop].sum(axis=(0, 1))
        out[oy, ox] = np.where(acc > 0, (acc + n // 2) // n, -((-acc + n // 2) // n))
    return np.clip(out, act[0], act[1]).astype(np.int8)
