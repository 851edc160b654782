"""Threshold encodings read by a float conv as interval indices or bit-planes."""

from __future__ import annotations

import numpy as np

from ..lower import Lowered
from ..ops._bits import words
from ._graph import consumers


def fuse_encode_conv(low: Lowered) -> Lowered:
    """A threshold encoding read only by a float conv is not written as floats.
    Disjoint intervals (interval encoding: one channel set per pixel at most)
    become one byte per pixel, the interval's index, over the conv's padded
    input; the conv adds one weight row per tap (bnn_conv2d_index_f32).
    Overlapping ones (thermometer) become bit-planes, one bit per pixel and
    channel, and the conv adds the weights where bits are set. Both skip LCE's
    0 * w products, which change nothing unless a sum is -0.0: a conv with a
    -0.0 bias keeps the float encoding."""
    from ..ops.conv2d import geometry, single_position

    for enc in [n for n in low.nodes if n.kind == "threshold_encode"]:
        users = consumers(low.nodes, enc.outputs[0])
        if len(users) != 1 or users[0].kind != "conv2d" or single_position(users[0]):
            continue
        conv, out = users[0], enc.outputs[0]
        bias = conv.consts["bias"]
        if np.any((bias == 0) & np.signbit(bias)):
            continue
        h, w, c = low.shapes[out]
        conv.params["encoded"] = (h, w, c)
        lo, hi = enc.consts["lower"], enc.consts["upper"]
        order = np.argsort(lo, kind="stable")
        disjoint = bool(np.all(hi[order][:-1] <= lo[order][1:])) and c < 255
        if disjoint:
            g = geometry(low, conv)
            map_h = (g["conv_h"] - 1) * g["sh"] + g["kh"]
            map_w = (g["conv_w"] - 1) * g["sw"] + g["kw"]
            enc.params["index_map"] = conv.params["index_map"] = (g["pt"], g["pl"], map_h, map_w)
            low.shapes[out] = (words(8 * map_h * map_w),)  # one byte per padded pixel
        else:
            enc.params["planes"] = conv.params["planes"] = True
            low.shapes[out] = (c, words(h * w))
        low.kinds[out] = "bits"
    return low
