"""FULLY_CONNECTED, float32: in-order sums from 0, bias last, optional ReLU
(bnn_fc_f32.c). TFLite blocks its dot products in an order we could not
reproduce; the difference stays near 1e-6 (docs/design.md)."""

from __future__ import annotations

import numpy as np

from ..errors import BnnkitError
from .base import Cost, OpKind, prod, register


@register
class FullyConnected(OpKind):
    kind = "fc"
    tflite = ("FULLY_CONNECTED",)
    files = ("bnn_fc_f32.c",)

    def lower(self, ctx, op):
        ins, o = op.inputs, op.options
        w = ctx.const(ins[1])
        if w is None or o["weights_format"] != 0:
            return ctx.problem("non-constant or shuffled weights")
        if o["activation"] not in ("NONE", "RELU"):
            return ctx.problem(f"fused activation {o['activation']}")
        if not ctx.need_float(ins[0], ins[1]):
            return None
        bias = ctx.const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
        return ctx.node(self.kind, [ins[0]], {"relu": o["activation"] == "RELU",
                                              "keep_num_dims": bool(o.get("keep_num_dims"))}, {
            "weights": w.astype(np.float32),
            "bias": (bias if bias is not None else np.zeros(w.shape[0])).astype(np.float32)})

    def output_shape(self, n, low):
        lead = low.shapes[n.inputs[0]][:-1] if n.params.get("keep_num_dims") else ()
        return tuple(lead) + (n.consts["weights"].shape[0],)

    def emit(self, b, i, n):
        w = n.consts["weights"]
        n_out, n_in = w.shape
        if prod(b.low.shapes[n.inputs[0]]) != n_in:
            raise BnnkitError(f"{n.name}: batched fully connected input is not supported")
        wn = b.const("fc_w", "float", np.ascontiguousarray(w.T),
                     f"{n.name} weights [{n_in}][{n_out}], input-major")
        bn = b.const("fc_b", "float", n.consts["bias"], f"{n.name} bias")
        return [f"bnn_fc_f32({b.buf(n.inputs[0])}, {n_in}, {wn}, {bn}, {n_out}, "
                f"{int(n.params['relu'])}, {b.buf(n.outputs[0])});"]

    def cost(self, n, low):
        return Cost(macs=int(n.consts["weights"].size),
                    const_bytes=4 * (n.consts["weights"].size + n.consts["bias"].size))

    def reference(self, n, inputs, low):
        x = inputs[0].reshape(-1).astype(np.float32)
        w = n.consts["weights"]
        acc = np.zeros(w.shape[0], np.float32)
        for k in range(x.size):  # in order, one rounding per multiply and per add
            acc = (acc + (x[k] * w[:, k]).astype(np.float32)).astype(np.float32)
        acc = (acc + n.consts["bias"]).astype(np.float32)
        return np.maximum(acc, np.float32(0)) if n.params["relu"] else acc
