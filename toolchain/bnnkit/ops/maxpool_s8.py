"""MAX_POOL_2D, int8 (bnn_maxpool_s8.c): the largest value of each window,
clamped to the fused activation's range. Input and output share one
quantization in TFLite, so no rescaling: exact."""

from __future__ import annotations

import numpy as np

from ._geometry import pool_geometry, pool_output_shape, window_problem
from ._quant import activation_range
from .base import OpKind, register
from .maxpool import window_reduce


def lower_pool_s8(ctx, op):
    """The params of an int8 pool (MAX_POOL_2D, AVERAGE_POOL_2D), or None after
    ``ctx.problem``: TFLite's int8 pools do not rescale, so input and output
    must share one quantization; the fused activation becomes an int8 clamp."""
    o = op.options
    if not ctx.need_int8(op.inputs[0], op.outputs[0]):
        return None
    if ctx.quant[op.inputs[0]] != ctx.quant[op.outputs[0]]:
        return ctx.problem(f"input and output quantization differ (TFLite's int8 {op.type} "
                           "does not rescale)")
    rng = activation_range(o.get("activation"), *ctx.quant[op.outputs[0]])
    if rng is None:
        return ctx.problem(f"fused activation {o.get('activation')}")
    filt, stride = (o["filter_h"], o["filter_w"]), (o["stride_h"], o["stride_w"])
    problem = window_problem(filt, stride, o.get("padding"))
    if problem:
        return ctx.problem(problem)
    return {"filter": filt, "stride": stride, "padding": o["padding"], "act": rng}


@register
class MaxPoolS8(OpKind):
    kind = "maxpool_s8"
    dtype = "int8"
    tflite = ("MAX_POOL_2D",)
    files = ("bnn_maxpool_s8.c",)

    def lower(self, ctx, op):
        params = lower_pool_s8(ctx, op)
        return None if params is None else ctx.node(self.kind, [op.inputs[0]], params)

    c_function, param_prefix = "bnn_maxpool_s8", "pool_s8"  # the average pool's differ

    def output_shape(self, n, low):
        return pool_output_shape(low.shapes[n.inputs[0]], n.params)

    def emit(self, b, i, n):
        pname = f"{self.param_prefix}_p{i:02d}"
        b.struct("bnn_maxpool_params", pname, **pool_geometry(b.low, n), relu=0)
        lo, hi = n.params["act"]
        return [f"{self.c_function}(&{pname}, {int(lo)}, {int(hi)}, {b.buf(n.inputs[0])}, "
                f"{b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        oh, ow = low.shapes[n.outputs[0]][:2]
        lo, hi = n.params["act"]
        out = window_reduce(inputs[0].astype(np.float32), n.params["filter"], n.params["stride"],
                            n.params["padding"], (oh, ow), -np.inf, np.maximum)
        return np.clip(out, lo, hi).astype(np.int8)
