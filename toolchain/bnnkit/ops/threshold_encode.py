"""Threshold encoding (paper 001): ``CAST(LOGICAL_AND(GREATER_EQUAL(x, lo),
LESS(x, hi)))`` to float32, as LCE converts :class:`bnnkit.layers.ThresholdEncoding`.
As 0/1 floats, or as interval indices or bit-planes read by the conv after it
(``fuse_encode_conv``)
(bnn_threshold_encode.c)."""

from __future__ import annotations

import numpy as np

from .base import OpKind, prod, register


def find_threshold_encodings(graph, const) -> dict:
    """{index of the CAST: {input, lower, upper, ops}} for every encoding in graph."""
    producer = {t: op for op in graph.ops for t in op.outputs}
    found = {}
    for cast in graph.ops:
        if (cast.type != "CAST" or not cast.outputs or not cast.inputs
                or graph.tensor(cast.outputs[0]).dtype != "float32"):
            continue
        land = producer.get(cast.inputs[0])
        if land is None or land.type != "LOGICAL_AND":
            continue
        parts = {producer[t].type: producer[t] for t in land.inputs if t in producer}
        ge, lt = parts.get("GREATER_EQUAL"), parts.get("LESS")
        if ge is None or lt is None or ge.inputs[0] != lt.inputs[0]:
            continue
        lo, hi = const(ge.inputs[1]), const(lt.inputs[1])
        if lo is None or hi is None or lo.shape != hi.shape or lo.ndim != 1:
            continue
        pixels = graph.tensor(ge.inputs[0]).shape
        if len(pixels) < 2 or pixels[-1] != 1:  # one value per pixel, compared per channel
            continue
        found[cast.index] = {"input": ge.inputs[0], "lower": lo.astype(np.float32).reshape(-1),
                             "upper": hi.astype(np.float32).reshape(-1),
                             "ops": {ge.index, lt.index, land.index}}
    return found


@register
class ThresholdEncode(OpKind):
    kind = "threshold_encode"
    files = ("bnn_threshold_encode.c",)

    def output_shape(self, n, low):
        """One channel per threshold interval in place of the pixel's one value."""
        return tuple(low.shapes[n.inputs[0]][:-1]) + (n.consts["lower"].size,)

    def emit(self, b, i, n):
        shape = b.low.shapes[n.inputs[0]]
        pixels = prod(shape)
        channels = n.consts["lower"].size
        lo = b.const("enc_lo", "float", n.consts["lower"], f"{n.name}: channel lower bounds")
        hi = b.const("enc_hi", "float", n.consts["upper"], f"{n.name}: channel upper bounds")
        if n.params.get("index_map"):
            pt, pl, map_h, map_w = n.params["index_map"]
            return [f"bnn_threshold_encode_index({b.buf(n.inputs[0])}, {shape[0]}, {shape[1]}, "
                    f"{lo}, {hi}, {channels}, {pt}, {pl}, {map_h}, {map_w}, "
                    f"{b.buf(n.outputs[0])});"]
        if n.params["planes"]:
            return [f"bnn_threshold_encode_planes({b.buf(n.inputs[0])}, {pixels}, {lo}, {hi}, "
                    f"{channels}, {b.buf(n.outputs[0])});"]
        return [f"bnn_threshold_encode_f32({b.buf(n.inputs[0])}, {pixels}, {lo}, {hi}, "
                f"{channels}, {b.buf(n.outputs[0])});"]

    def reference(self, n, inputs, low):
        x = inputs[0].astype(np.float32)[..., :1]
        hit = (x >= n.consts["lower"]) & (x < n.consts["upper"])
        # interval indices and bit-planes (fuse_encode_conv) are the C's in-memory
        # layouts of these same 0/1 values, which the conv reference reads
        return hit.astype(np.float32)
