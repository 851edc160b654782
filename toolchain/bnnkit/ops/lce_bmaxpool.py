"""LceBMaxPool2d: max pool of +-1 values = AND of their bits (bnn_bmaxpool.c)."""

from __future__ import annotations

import numpy as np

from ._geometry import pool_geometry, pool_output_shape, window_problem
from .base import OpKind, register
from .maxpool import window_reduce


def lce_padding(value) -> str:
    """LCE stores padding as TFLite's enum (0 SAME, 1 VALID) or as a string."""
    if isinstance(value, str):
        return value.upper()
    return {0: "SAME", 1: "VALID"}.get(int(value), "?")


@register
class LceBMaxPool(OpKind):
    kind = "bmaxpool"
    tflite = ("LceBMaxPool2d",)
    files = ("bnn_bmaxpool.c",)

    def lower(self, ctx, op):
        o = op.options
        filt = (int(o["filter_height"]), int(o["filter_width"]))
        stride = (int(o["stride_height"]), int(o["stride_width"]))
        problem = window_problem(filt, stride, lce_padding(o["padding"]))
        if problem:
            return ctx.problem(problem)
        return ctx.node(self.kind, [op.inputs[0]], {
            "filter": filt, "stride": stride, "padding": lce_padding(o["padding"])})

    def output_shape(self, n, low):
        return pool_output_shape(low.shapes[n.inputs[0]], n.params)

    def emit(self, b, i, n):
        pname = f"bpool_p{i:02d}"
        b.struct("bnn_bmaxpool_params", pname, **pool_geometry(b.low, n))
        return [f"bnn_bmaxpool(&{pname}, {b.buf(n.inputs[0])}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        x = np.asarray(inputs[0]).astype(np.uint32)
        oh, ow = low.shapes[n.outputs[0]][:2]
        # AND of words; outside taps are all-ones (ignored)
        out = window_reduce(x.view(np.float32), n.params["filter"], n.params["stride"],
                            n.params["padding"], (oh, ow), np.uint32(0xFFFFFFFF).view(np.float32),
                            lambda a, b: (a.view(np.uint32) & b.view(np.uint32)).view(np.float32))
        return out.view(np.uint32)
